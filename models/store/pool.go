package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
	"gorm.io/gorm"
)

// The store's requests for a database connection queue in arrival order.
//
// database/sql hands a freed connection to a random waiter (Go 1.23+), so
// when more requests want the database than the pool has connections, an
// unlucky one waits through many hand-outs: at 64 concurrent token
// requests on 10 connections, p50 12 ms but p99 55–62 ms. A FIFO gate in
// front of the pool (golang.org/x/sync/semaphore queues its waiters in
// order, and TryAcquire never overtakes them) keeps the wait of every
// request near the average: with 20 connections, p99 28–29 ms at a higher
// rate (README, "Connections: kept, and served in arrival order").
//
// The gate admits a few fewer statements and transactions than the pool
// has connections: a row read (QueryRow, Rows) keeps its connection until
// the caller has scanned it, after the gate has let the next one in, and
// the janitor pins one connection of its own. Those few then wait in
// database/sql's own queue, briefly; the pool's size stays what
// db_max_open_conns says.

// fifoGate is gorm's connection pool with a FIFO gate in front.
type fifoGate struct {
	db  *sql.DB
	sem *semaphore.Weighted
	// What the queue has seen: requests waiting now, waits so far and
	// their total length (PoolQueue, the metrics).
	waiting atomic.Int64
	waits   atomic.Uint64
	waited  atomic.Int64
}

// enter takes a place through the gate, waiting in line when there is
// none (ctx's error if it ends first).
func (g *fifoGate) enter(ctx context.Context) error {
	if g.sem.TryAcquire(1) {
		return nil
	}
	g.waiting.Add(1)
	start := time.Now()
	err := g.sem.Acquire(ctx, 1)
	g.waited.Add(int64(time.Since(start)))
	g.waits.Add(1)
	g.waiting.Add(-1)
	return err
}

// gateSize is how many statements or transactions the gate admits at once
// to a pool of maxOpen connections.
func gateSize(maxOpen int) int {
	return max(1, maxOpen-maxOpen/5)
}

// installGate puts the gate in front of db's connection pool.
func installGate(db *gorm.DB, sqlDB *sql.DB, maxOpen int) *fifoGate {
	g := &fifoGate{db: sqlDB, sem: semaphore.NewWeighted(int64(gateSize(maxOpen)))}
	db.ConnPool = g
	db.Statement.ConnPool = g
	return g
}

// PoolQueue is what the line for database connections has seen: requests
// waiting in it now, how many waited so far and for how long in all.
type PoolQueue struct {
	Waiting int64
	Waits   uint64
	Waited  time.Duration
}

// PoolQueue reports the line for the store's database connections.
func (s *Store) PoolQueue() PoolQueue {
	return PoolQueue{Waiting: s.gate.waiting.Load(), Waits: s.gate.waits.Load(), Waited: time.Duration(s.gate.waited.Load())}
}

// GetDBConn implements gorm.GetDBConnector (gorm's DB()).
func (g *fifoGate) GetDBConn() (*sql.DB, error) { return g.db, nil }

func (g *fifoGate) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	// A prepared statement takes a connection per use, not now.
	return g.db.PrepareContext(ctx, query)
}

func (g *fifoGate) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := g.enter(ctx); err != nil {
		return nil, err
	}
	defer g.sem.Release(1)
	return g.db.ExecContext(ctx, query, args...)
}

func (g *fifoGate) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := g.enter(ctx); err != nil {
		return nil, err
	}
	defer g.sem.Release(1)
	return g.db.QueryContext(ctx, query, args...)
}

func (g *fifoGate) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := g.enter(ctx); err != nil {
		// ctx has ended: database/sql returns a Row that carries its error.
		return g.db.QueryRowContext(ctx, query, args...)
	}
	defer g.sem.Release(1)
	return g.db.QueryRowContext(ctx, query, args...)
}

// BeginTx implements gorm.ConnPoolBeginner: a transaction holds its place
// through the gate until it commits or rolls back.
func (g *fifoGate) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if err := g.enter(ctx); err != nil {
		return nil, err
	}
	tx, err := g.db.BeginTx(ctx, opts)
	if err != nil {
		g.sem.Release(1)
		return nil, err
	}
	// database/sql rolls a transaction back when its context ends, even
	// if nobody calls Rollback: its place goes back then too.
	t := &gatedTx{Tx: tx, release: sync.OnceFunc(func() { g.sem.Release(1) })}
	t.stop = context.AfterFunc(ctx, t.release)
	return t, nil
}

// gatedTx is a transaction that gives its place back when it ends.
type gatedTx struct {
	*sql.Tx
	release func()
	stop    func() bool
}

func (t *gatedTx) end() {
	t.stop()
	t.release()
}

// Commit implements gorm.TxCommitter.
func (t *gatedTx) Commit() error {
	defer t.end()
	return t.Tx.Commit()
}

// Rollback implements gorm.TxCommitter.
func (t *gatedTx) Rollback() error {
	defer t.end()
	return t.Tx.Rollback()
}
