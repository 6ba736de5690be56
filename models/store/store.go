package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// Options tune the connection pool.
type Options struct {
	MaxOpenConns int
	MaxIdleConns int
	Logger       *slog.Logger
}

// Store is the gorm-backed data layer.
type Store struct {
	db      *gorm.DB
	gate    *fifoGate
	dialect string
	feed    *Feed
	// txs counts the transactions begun (Transactions).
	txs atomic.Int64
	// hooks caches the webhook subscriptions (webhooks.go).
	hooks webhookSubs
	// aliased caches select lists of aliased columns (columnsAs).
	aliased sync.Map
	// handoff keeps a sign-in's writes for the resume (handoff.go).
	handoff *handoffs
}

// Open connects to dsn: a postgres:// or postgresql:// URL selects
// PostgreSQL; sqlite://PATH, file:PATH or a plain path selects SQLite.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	dialect, conn, err := dialector(dsn)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := gorm.Open(conn, &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return Now() },
		Logger:                 logger.Discard,
	})
	if err != nil {
		return nil, openErr("open "+dialect+" database", err)
	}
	if err := registerTimeNormalizer(db); err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	maxOpen, maxIdle := opts.MaxOpenConns, opts.MaxIdleConns
	if maxOpen <= 0 {
		maxOpen = 10
	}
	if dialect == migrations.SQLite && maxOpen > 4 {
		// SQLite has one writer at a time; a few connections serve
		// concurrent readers in WAL mode, more only queue on the lock.
		maxOpen = 4
	}
	if maxIdle <= 0 || maxIdle > maxOpen {
		maxIdle = maxOpen
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	gate := installGate(db, sqlDB, maxOpen)
	sqlDB.SetMaxIdleConns(maxIdle)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, openErr("ping "+dialect+" database", err)
	}
	st := &Store{db: db, gate: gate, dialect: dialect, feed: &Feed{dialect: dialect, dsn: dsn, log: log}, handoff: newHandoffs()}
	if dialect == migrations.Postgres {
		var schema string
		if err := db.WithContext(ctx).Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("open %s database: current schema: %w", dialect, err)
		}
		st.feed.channel = changeChannel(schema)
	} else {
		st.feed.local = joinLocalHub(sqlitePath(dsn), st.feed)
	}
	return st, nil
}

func dialector(dsn string) (string, gorm.Dialector, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		// pgx returns timestamptz values in time.Local; scan them in UTC
		// like SQLite does, so both dialects hand out the same times.
		utc := stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
			c.TypeMap().RegisterType(&pgtype.Type{
				Name:  "timestamptz",
				OID:   pgtype.TimestamptzOID,
				Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
			})
			return nil
		})
		return migrations.Postgres, postgres.New(postgres.Config{DSN: dsn, OptionOpenDB: []stdlib.OptionOpenDB{utc}}), nil
	case dsn == "":
		return "", nil, errors.New("open database: empty database URL")
	}
	path := sqlitePath(dsn)
	if path == "" || strings.Contains(path, ":memory:") {
		return "", nil, errors.New("open database: SQLite needs a file path (an in-memory database is one per connection)")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("open database: create %s: %w", dir, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// SQLite keeps timestamps as text and compares them as text: write every
	// time in UTC (whatever zone the caller's time.Time is in), so the order
	// of the text is the order of the instants, and read them back in UTC.
	q.Add("_timezone", "UTC")
	// Immediate transactions take the write lock up front, so two
	// read-then-write transactions never deadlock upgrading their locks.
	q.Add("_txlock", "immediate")
	return migrations.SQLite, sqlite.Open(path + "?" + q.Encode()), nil
}

// sqlitePath is the file of a SQLite database URL.
func sqlitePath(dsn string) string {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path
}

// Now is the store's clock: UTC, truncated to microseconds so both dialects
// round-trip timestamps identically.
func Now() time.Time { return clock.Now().UTC().Truncate(time.Microsecond) }

// dbTime is t as the store writes it: UTC, microseconds (see Now).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// registerTimeNormalizer makes every create and update write the model's
// time fields as dbTime. PostgreSQL keeps microseconds (rounding finer
// digits) while SQLite would keep nanoseconds; truncating first makes both
// store, and hand back, the same instant. The caller's struct is updated,
// so it matches what was stored.
func registerTimeNormalizer(db *gorm.DB) error {
	if err := db.Callback().Create().Before("gorm:create").Register("sesame:db_time", normalizeTimes); err != nil {
		return err
	}
	return db.Callback().Update().Before("gorm:update").Register("sesame:db_time", normalizeTimes)
}

func normalizeTimes(db *gorm.DB) {
	st := db.Statement
	if st.Schema == nil {
		return
	}
	fix := func(v reflect.Value) {
		v = reflect.Indirect(v)
		if v.Kind() != reflect.Struct || v.Type() != st.Schema.ModelType || !v.CanAddr() {
			return
		}
		for _, f := range st.Schema.Fields {
			fv := f.ReflectValueOf(st.Context, v)
			switch t := fv.Interface().(type) {
			case time.Time:
				fv.Set(reflect.ValueOf(dbTime(t)))
			case *time.Time:
				if t != nil {
					fv.Set(reflect.ValueOf(dbTimePtr(t)))
				}
			}
		}
	}
	each := func(v reflect.Value) {
		v = reflect.Indirect(v)
		switch v.Kind() {
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				fix(v.Index(i))
			}
		case reflect.Struct:
			fix(v)
		}
	}
	each(st.ReflectValue)
	// Updates(model) with a separate Model(...) reads its values from Dest.
	if st.Dest != nil && st.Dest != st.Model {
		if dv := reflect.ValueOf(st.Dest); dv.Kind() == reflect.Pointer {
			each(dv)
		}
	}
}

// Transactions is how many transactions this store has begun (WithTx,
// BeginTx): with the statements a gorm plugin counts, the round trips of a
// flow (storetest.CountStatements).
func (s *Store) Transactions() int64 { return s.txs.Load() }

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// SQLDB exposes the pool for migrations and health checks.
func (s *Store) SQLDB() (*sql.DB, error) { return s.db.DB() }

// Use installs a gorm plugin on the store's connection (the server's
// tracing: a span per statement).
func (s *Store) Use(p gorm.Plugin) error { return s.db.Use(p) }

// Migrate applies pending migrations.
func (s *Store) Migrate(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	if _, err = migrations.Up(ctx, sqlDB, s.dialect); err != nil {
		return openErr("migrate", err)
	}
	return nil
}

// openErr wraps an error of opening or migrating the database, marking
// it models.ErrUnavailable when the database could not be reached (so
// serve waits for it rather than exiting).
func openErr(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, models.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close stops the change feed's listener and closes the pool.
func (s *Store) Close() error {
	s.feed.close()
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

type txKey struct{}

// conn returns the transaction in ctx, or the pool.
func (s *Store) conn(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return s.db.WithContext(ctx)
}

// inTx says whether ctx carries a caller's transaction.
func inTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*gorm.DB)
	return ok
}

// WithTx runs fn in a transaction carried by the context it is given. A
// WithTx inside another joins the outer transaction.
func (s *Store) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	s.txs.Add(1)
	pending := new([]Change)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(context.WithValue(ctx, txKey{}, tx), pendingKey{}, pending))
	})
	if err == nil {
		s.publishPending(pending)
	}
	return err
}

// BeginTx starts a transaction and returns a context carrying it; finish it
// with Commit or Rollback. It exists for fosite's storage.Transactional.
func (s *Store) BeginTx(ctx context.Context) (context.Context, error) {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return ctx, errors.New("begin transaction: already in a transaction")
	}
	s.txs.Add(1)
	tx := s.db.WithContext(ctx).Begin()
	if tx.Error != nil {
		return ctx, mapErr("begin transaction", tx.Error)
	}
	return context.WithValue(context.WithValue(ctx, txKey{}, tx), pendingKey{}, new([]Change)), nil
}

// Commit commits the transaction in ctx.
func (s *Store) Commit(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("commit: no transaction in context")
	}
	if err := tx.Commit().Error; err != nil {
		return mapErr("commit", err)
	}
	if p, ok := ctx.Value(pendingKey{}).(*[]Change); ok {
		s.publishPending(p)
	}
	return nil
}

// Rollback rolls back the transaction in ctx.
func (s *Store) Rollback(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("rollback: no transaction in context")
	}
	if err := tx.Rollback().Error; err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// mapErr turns driver errors into models' sentinels, wrapped with op.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, models.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, models.ErrAlreadyExists)
	case unavailable(err):
		return fmt.Errorf("%s: %w: %w", op, models.ErrUnavailable, err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// affected reports ErrNotFound when an update or delete touched no row.
func affected(op string, res *gorm.DB) error {
	if res.Error != nil {
		return mapErr(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, models.ErrNotFound)
	}
	return nil
}
