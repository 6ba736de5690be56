package models

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by the store. Callers test them with errors.Is;
// the store wraps driver errors into these at its boundary.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrExpired       = errors.New("expired")
	// ErrConsumed means a single-use record (code, link, ceremony) was
	// already used; the conditional update that consumes it affected no row.
	ErrConsumed = errors.New("already consumed")
	// ErrCeremonySpent is the ErrConsumed of a sign-in's start whose
	// WebAuthn ceremony another request spent (or which expired) since it
	// was read.
	ErrCeremonySpent = fmt.Errorf("ceremony %w", ErrConsumed)
	// ErrUnavailable means the database could not be reached or did not
	// answer in time (connection refused or lost, a deadline, SQLite still
	// locked after its busy timeout): a transient outage, not a fault of
	// the request. Endpoints answer 503 with Retry-After.
	ErrUnavailable = errors.New("database unavailable")
)

// IsGone says whether err means a single-use record can no longer be
// used: consumed, expired or not found.
func IsGone(err error) bool {
	return errors.Is(err, ErrConsumed) || errors.Is(err, ErrExpired) || errors.Is(err, ErrNotFound)
}
