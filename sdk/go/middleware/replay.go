package middleware

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// DPoPReplayStore remembers the DPoP proofs an API has accepted, so that
// none is accepted twice. Spend records key (a fixed-length digest of
// the proof's key and jti) until until, the last moment the proof could
// pass the iat check, and reports whether it was unseen. An error fails
// the request (503): a proof is never accepted unchecked.
//
// The default (Config.DPoPReplay nil) is a bounded cache in the process's
// memory. Behind several replicas give every replica the same shared
// store, e.g. NewSQLReplayStore over the database they share, or your own
// over Redis (SET key 1 NX PXAT until).
type DPoPReplayStore interface {
	Spend(ctx context.Context, key string, until time.Time) (bool, error)
}

// replayKey is the store key of a proof: its key thumbprint and jti,
// hashed to 43 characters whatever the jti's length.
func replayKey(jkt, jti string) string {
	sum := sha256.Sum256([]byte(jkt + "\x00" + jti))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// memoryReplay is the default store: an expiring LRU per process.
type memoryReplay struct {
	mu   sync.Mutex
	seen *expirable.LRU[string, struct{}]
}

// newMemoryReplay remembers up to size proofs, each for ttl (as long as
// any proof could pass the iat check). When more than size proofs arrive
// within ttl the oldest are forgotten first.
func newMemoryReplay(size int, ttl time.Duration) *memoryReplay {
	return &memoryReplay{seen: expirable.NewLRU[string, struct{}](size, nil, ttl)}
}

func (m *memoryReplay) Spend(_ context.Context, key string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen.Contains(key) {
		return false, nil
	}
	m.seen.Add(key, struct{}{})
	return true, nil
}

var sqlIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// SQLReplayStore keeps accepted proofs in a table of a database every
// replica of the API shares, so a proof replayed to another replica is
// refused too. It works with PostgreSQL and SQLite through database/sql
// (the statements are an upsert with $n placeholders); the caller opens
// db with its driver. Expired rows are deleted now and then by Spend. Each
// accepted proof costs one insert: on SQLite open the file in WAL mode
// with synchronous=NORMAL so that is not a sync to disk per request.
type SQLReplayStore struct {
	db                  *sql.DB
	insert, sweep, make string
	calls               atomic.Uint64
}

// NewSQLReplayStore creates table (if it does not exist) and returns a
// store over it. table must be a plain SQL identifier.
func NewSQLReplayStore(ctx context.Context, db *sql.DB, table string) (*SQLReplayStore, error) {
	if !sqlIdent.MatchString(table) {
		return nil, fmt.Errorf("middleware: replay table name %q is not a plain SQL identifier", table)
	}
	s := &SQLReplayStore{db: db,
		make: `CREATE TABLE IF NOT EXISTS ` + table + ` (proof_key VARCHAR(64) PRIMARY KEY, expires_at BIGINT NOT NULL)`,
		// A row left by an expired proof is taken over; a live one is not.
		insert: `INSERT INTO ` + table + ` (proof_key, expires_at) VALUES ($1, $2)
			ON CONFLICT (proof_key) DO UPDATE SET expires_at = excluded.expires_at WHERE ` + table + `.expires_at < $3`,
		sweep: `DELETE FROM ` + table + ` WHERE expires_at < $1`}
	// On PostgreSQL the table is UNLOGGED: a proof record need not survive
	// a crash (its proof expires within minutes), and skipping the WAL
	// makes each insert several times cheaper. Databases without UNLOGGED
	// (SQLite) refuse the first statement and get the plain table.
	if _, err := db.ExecContext(ctx, strings.Replace(s.make, "CREATE TABLE", "CREATE UNLOGGED TABLE", 1)); err != nil {
		if _, err := db.ExecContext(ctx, s.make); err != nil {
			return nil, fmt.Errorf("middleware: create replay table: %w", err)
		}
	}
	return s, nil
}

// sqlSweepEvery is how many spends pass between two deletions of expired
// rows, so the table holds about one window's proofs.
const sqlSweepEvery = 1024

// Spend inserts key; false when a live row for it exists.
func (s *SQLReplayStore) Spend(ctx context.Context, key string, until time.Time) (bool, error) {
	now := time.Now().Unix()
	if s.calls.Add(1)%sqlSweepEvery == 0 {
		if _, err := s.db.ExecContext(ctx, s.sweep, now); err != nil {
			return false, fmt.Errorf("middleware: sweep replay table: %w", err)
		}
	}
	res, err := s.db.ExecContext(ctx, s.insert, key, until.Unix(), now)
	if err != nil {
		return false, fmt.Errorf("middleware: record DPoP proof: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("middleware: record DPoP proof: %w", err)
	}
	return n == 1, nil
}
