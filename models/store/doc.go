// Package store is Sesame's one data-access layer: a gorm store over SQLite
// (embedded, the default) or PostgreSQL. It speaks models and sentinel
// errors only — no HTTP, no fosite types. Transactions travel in the
// context (WithTx), so a caller composes several store calls atomically
// without holding a second pooled connection. Single-use records are
// consumed with conditional updates (RowsAffected == 1 wins).
package store
