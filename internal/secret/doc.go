// Package secret resolves Sesame's system secret and derives one key per
// purpose from it.
//
// The system secret comes from configuration (the value itself or a 0600
// file); only in dev mode is one generated, and then it is kept beside the
// SQLite database so restarts can still decrypt what the last run stored.
// No component uses the secret directly: each derives its own key with
// Derive (HKDF-SHA-256), so a key leaked from one use (say, a cookie key)
// reveals nothing about another (say, the signing-key encryption key).
package secret
