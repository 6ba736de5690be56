package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Retention of the statistics rollups (see SweepExpired).
const (
	MinuteRollupRetention = 2 * 24 * time.Hour
	HourRollupRetention   = 90 * 24 * time.Hour
	UserDayRetention      = 400 * 24 * time.Hour
)

// SweepBatch is how many rows one janitor statement deletes at most. Each
// batch is its own statement (an implicit transaction of its own), so a
// large backlog is worked off in many short locks instead of one long one
// that would stall sign-ins (SQLite has a single writer).
const SweepBatch = 1000

// Retention says how long the janitor keeps rows that have no expiry of
// their own. A zero duration keeps them for good.
type Retention struct {
	// AuthEvents keeps raw auth events (the per-user activity list, the
	// console's feed). The statistics live on in the rollups, which have
	// their own retention, so old raw events are not needed for them.
	AuthEvents time.Duration
	// Audit keeps audit log entries; zero (the default) keeps the log
	// forever.
	Audit time.Duration
	// Batch overrides SweepBatch (tests); zero or less means SweepBatch.
	Batch int
}

func (r Retention) batch() int {
	if r.Batch > 0 {
		return r.Batch
	}
	return SweepBatch
}

// sweepStep is one table the janitor sweeps: rows matching where (with
// arg) are deleted, batch by batch, by their primary key.
type sweepStep struct {
	op    string
	table string
	key   string // primary key column(s), comma-separated
	where string
	arg   time.Time
}

// SweepExpired deletes rows past their expiry in every table that has one.
// grace keeps expired rows a little longer (e.g. so a reused, expired
// refresh token is still recognised as reuse for a while). Rows go in
// batches of SweepBatch, each its own short statement.
func (s *Store) SweepExpired(ctx context.Context, grace time.Duration) (int64, error) {
	if err := s.catchUpAll(ctx); err != nil {
		return 0, err
	}
	return s.sweepExpired(ctx, grace, SweepBatch)
}

// catchUpAll counts every pending auth event before a sweep, so no event
// is deleted, nor a rollup bucket swept, before it was counted.
func (s *Store) catchUpAll(ctx context.Context) error {
	if _, err := s.RollUpPending(ctx, 0); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return nil
}

func (s *Store) sweepExpired(ctx context.Context, grace time.Duration, batch int) (int64, error) {
	now := Now()
	cut := now.Add(-grace)
	const rollupKey = "bucket, method, client_id, event, result, reason"
	steps := []sweepStep{
		{"sweep oauth2 requests", "oauth2_requests", "kind, signature", "expires_at < ?", cut},
		{"sweep jtis", "used_jtis", "jti_hash", "expires_at < ?", now},
		{"sweep webauthn ceremonies", "webauthn_ceremonies", "id", "expires_at < ?", cut},
		{"sweep interactions", "interactions", "id", "expires_at < ?", cut},
		{"sweep device codes", "device_codes", "id", "expires_at < ?", cut},
		{"sweep login sessions", "login_sessions", "id", "expires_at < ?", cut},
		{"sweep passlinks", "passlinks", "id", "expires_at < ?", cut},
		{"sweep upstream flows", "upstream_flows", "id", "expires_at < ?", cut},
		{"sweep signing keys", "signing_keys", "kid", "state = 'retired' AND expires_at < ?", now},
		{"sweep rate limits", "rate_limits", "key_hash, window_start", "expires_at < ?", now},
		{"sweep session clients", "session_clients", "session_id, client_id", "expires_at < ?", cut},
		{"sweep logout outbox", "logout_outbox", "id", "status IN ('sent', 'failed') AND created_at < ?", now.Add(-LogoutRetention)},
		{"sweep webhook deliveries", "webhook_deliveries", "id", "status IN ('sent', 'failed') AND created_at < ?", now.Add(-WebhookRetention)},
		{"sweep mail outbox", "mail_outbox", "id", "status IN ('sent', 'failed') AND created_at < ?", now.Add(-MailRetention)},
		// Initial access tokens that can register nothing more, kept a
		// while for the console's list and the audit trail. The table is
		// small (admins mint each row), so these conditions need no index.
		{"sweep expired initial access tokens", "initial_access_tokens", "id", "expires_at < ?", now.Add(-InitialTokenRetention)},
		{"sweep revoked initial access tokens", "initial_access_tokens", "id", "revoked_at < ?", now.Add(-InitialTokenRetention)},
		{"sweep used-up initial access tokens", "initial_access_tokens", "id", "uses >= max_uses AND last_used_at < ?", now.Add(-InitialTokenRetention)},
		// Statistics rollups: each grain is kept as long as the dashboard
		// ranges that read it need (console/stats.go: 1 h reads minutes,
		// 24 h and 7 d read hours, 30 d and the headline read days).
		// Per-day counters are kept for good; they are small.
		{"sweep minute rollups", "auth_event_minutes", rollupKey, "bucket < ?", now.Add(-MinuteRollupRetention)},
		{"sweep hour rollups", "auth_event_hours", rollupKey, "bucket < ?", now.Add(-HourRollupRetention)},
		{"sweep user days", "user_days", "day, user_id", "day < ?", now.Add(-UserDayRetention)},
	}
	return s.sweep(ctx, steps, batch)
}

// SweepRetained deletes raw auth events and audit entries older than r
// says, in batches like SweepExpired. The console's statistics read only
// the rollups (stats.go), so raw events may go long before the rollups do.
func (s *Store) SweepRetained(ctx context.Context, r Retention) (int64, error) {
	if err := s.catchUpAll(ctx); err != nil {
		return 0, err
	}
	return s.sweepRetained(ctx, r)
}

func (s *Store) sweepRetained(ctx context.Context, r Retention) (int64, error) {
	now := Now()
	var steps []sweepStep
	if r.AuthEvents > 0 {
		steps = append(steps, sweepStep{"sweep auth events", "auth_events", "id", "at < ? AND NOT pending", now.Add(-r.AuthEvents)})
	}
	if r.Audit > 0 {
		steps = append(steps, sweepStep{"sweep audit log", "audit_log", "id", "at < ?", now.Add(-r.Audit)})
	}
	return s.sweep(ctx, steps, r.batch())
}

// sweep runs each step's deletes until a batch comes back short. The
// statement is the portable form of a bounded delete (neither dialect
// takes DELETE … LIMIT): the keys of at most batch matching rows, then
// the rows with those keys; the where column is indexed, so each batch
// reads only what it deletes.
func (s *Store) sweep(ctx context.Context, steps []sweepStep, batch int) (int64, error) {
	var total int64
	for _, st := range steps {
		lhs := st.key
		if strings.Contains(st.key, ",") {
			lhs = "(" + st.key + ")"
		}
		q := fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s LIMIT %d)",
			st.table, lhs, st.key, st.table, st.where, batch)
		arg := dbTime(st.arg)
		for {
			if err := ctx.Err(); err != nil {
				return total, fmt.Errorf("%s: %w", st.op, err)
			}
			res := s.conn(ctx).Exec(q, arg)
			if res.Error != nil {
				return total, mapErr(st.op, res.Error)
			}
			total += res.RowsAffected
			if res.RowsAffected < int64(batch) {
				break
			}
		}
	}
	return total, nil
}

// janitorLockID is the PostgreSQL advisory lock key of the janitor.
const janitorLockID = 0x5e5a3e01

// SweepExpiredOnce runs SweepExpired and SweepRetained on at most one
// replica at a time: on PostgreSQL it takes the janitor's advisory lock and
// skips the round when another replica holds it; SQLite has a single
// process.
//
// The lock is session-scoped, held on one pinned connection that also runs
// every batch: a transaction-scoped lock would need one transaction around
// the whole sweep, the long lock the batches exist to avoid, and a second
// pooled connection is never waited for while the lock is held.
func (s *Store) SweepExpiredOnce(ctx context.Context, grace time.Duration, r Retention) (int64, error) {
	run := func(ctx context.Context) (int64, error) {
		n, err := s.sweepExpired(ctx, grace, r.batch())
		if err != nil {
			return n, err
		}
		m, err := s.sweepRetained(ctx, r)
		return n + m, err
	}
	// Before the pinned connection below: the aggregator runs its own
	// transactions on the pool.
	if err := s.catchUpAll(ctx); err != nil {
		return 0, err
	}
	if s.dialect != "postgres" {
		return run(ctx)
	}
	var n int64
	err := s.db.WithContext(ctx).Connection(func(tx *gorm.DB) error {
		pinned := tx.Session(&gorm.Session{NewDB: true})
		var got bool
		if err := pinned.Raw("SELECT pg_try_advisory_lock(?)", janitorLockID).Scan(&got).Error; err != nil {
			return mapErr("janitor lock", err)
		}
		if !got {
			return nil
		}
		defer func() {
			// Unlock even when ctx has ended; a connection that cannot be
			// unlocked is dropped from the pool, which releases the lock.
			err := pinned.WithContext(context.WithoutCancel(ctx)).Exec("SELECT pg_advisory_unlock(?)", janitorLockID).Error
			if err != nil {
				if c, ok := tx.Statement.ConnPool.(*sql.Conn); ok {
					_ = c.Raw(func(any) error { return driver.ErrBadConn })
				}
			}
		}()
		var err error
		n, err = run(context.WithValue(ctx, txKey{}, pinned))
		return err
	})
	return n, err
}
