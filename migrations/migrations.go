// Package migrations holds Sesame's versioned SQL schema, one directory per
// dialect with the same version numbers, embedded into the binary and run
// with goose.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialects Sesame supports.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Provider returns a goose provider for db in the given dialect.
func Provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	var gd goose.Dialect
	var opts []goose.ProviderOption
	switch dialect {
	case SQLite:
		// One file, one writer: SQLite's own locking serialises migrators.
		gd = goose.DialectSQLite3
	case Postgres:
		gd = goose.DialectPostgres
		opts = append(opts, goose.WithSessionLocker(advisoryLock{}))
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: new provider: %w", err)
	}
	return p, nil
}

// Up applies every pending migration. On PostgreSQL it holds an advisory
// lock while it does (see advisoryLock), so concurrent callers on one
// schema apply each migration once.
func Up(ctx context.Context, db *sql.DB, dialect string) ([]*goose.MigrationResult, error) {
	p, err := Provider(db, dialect)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("migrations: up: %w", err)
	}
	return res, nil
}
