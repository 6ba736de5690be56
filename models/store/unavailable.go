package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// sqliteBusy and sqliteLocked are SQLite's primary result codes for a
// database another connection holds (SQLITE_BUSY, SQLITE_LOCKED); the
// extended codes keep them in their low byte.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// unavailable reports whether err means the database could not be reached
// or did not answer in time, rather than that it refused the statement:
// connection refused, reset or lost, a pool or driver that gave up on its
// connection, a deadline, PostgreSQL shutting down or out of connections,
// SQLite still locked after busy_timeout. A caller's own cancellation
// (context.Canceled) is not an outage.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var (
		connectErr *pgconn.ConnectError
		pgErr      *pgconn.PgError
		netErr     net.Error
		liteErr    *sqlite.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &connectErr),
		errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-03: the server is shutting
		// down, crashed or starting; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") ||
			slices.Contains([]string{"57P01", "57P02", "57P03", "53300"}, pgErr.Code)
	case errors.As(err, &liteErr):
		code := liteErr.Code() & 0xff
		return code == sqliteBusy || code == sqliteLocked
	}
	// database/sql's "sql: database is closed" and pgx's "conn closed"
	// have no exported sentinel.
	msg := err.Error()
	return strings.Contains(msg, "sql: database is closed") || strings.Contains(msg, "conn closed")
}
