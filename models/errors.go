package models

import "errors"

// Sentinel errors returned by the store. Callers test them with errors.Is;
// the store wraps driver errors into these at its boundary.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrExpired       = errors.New("expired")
	// ErrConsumed means a single-use record (code, link, ceremony) was
	// already used; the conditional update that consumes it affected no row.
	ErrConsumed = errors.New("already consumed")
)
