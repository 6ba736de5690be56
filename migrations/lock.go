package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3/lock"
)

// advisoryLock serialises migration runs on PostgreSQL: several replicas
// starting at once (a Deployment rollout with migrate at start) would
// otherwise race to apply the same migration and all but one fail halfway.
// The first takes a session-level advisory lock and migrates; the others
// wait for it, then find nothing pending.
//
// The key is derived from the current schema, so migrators of one schema
// exclude each other while separate schemas of one database (tests, or
// two installations side by side) do not wait for each other. The wait is
// pg_advisory_lock's own (no polling) and ends with ctx.
type advisoryLock struct{}

var _ lock.SessionLocker = advisoryLock{}

// lockKey is the bigint key for the current schema.
const lockKey = `hashtextextended('sesame migrations ' || current_schema(), 0)`

func (advisoryLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+lockKey+")"); err != nil {
		return fmt.Errorf("migrations: take the migration lock: %w", err)
	}
	return nil
}

func (advisoryLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock("+lockKey+")").Scan(&released); err != nil {
		return fmt.Errorf("migrations: release the migration lock: %w", err)
	}
	if !released {
		return fmt.Errorf("migrations: release the migration lock: it was not held")
	}
	return nil
}
