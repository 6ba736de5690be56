package storetest

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models/store"
)

// EnvPostgresURL names the environment variable holding the base URL of a
// PostgreSQL database the tests may create schemas in, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgresURL = "TEST_DATABASE_URL"

// EnvRequirePostgres, when set (CI sets it), turns the PostgreSQL skip into
// a failure.
const EnvRequirePostgres = "SESAME_REQUIRE_POSTGRES"

// OpenSQLite opens a migrated store on a fresh SQLite file in t.TempDir()
// and closes it when the test ends.
func OpenSQLite(t testing.TB) *store.Store {
	t.Helper()
	s, _ := OpenSQLiteURL(t)
	return s
}

// OpenSQLiteURL is OpenSQLite that also returns the database's URL, for a
// second store on the same database (another replica's pool).
func OpenSQLiteURL(t testing.TB) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sesame.db")
	s, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate sqlite store: %v", err)
	}
	return s, path
}

// OpenPostgres opens a migrated store in a fresh schema of the database
// named by TEST_DATABASE_URL and drops the schema when the test ends. It
// skips the test when TEST_DATABASE_URL is unset.
func OpenPostgres(t testing.TB) *store.Store {
	t.Helper()
	s, _ := OpenPostgresURL(t)
	return s
}

// OpenPostgresURL is OpenPostgres that also returns the URL of the fresh
// schema, for a second store on it (another replica's pool, or one behind
// a proxy a test can cut).
func OpenPostgresURL(t testing.TB) (*store.Store, string) {
	t.Helper()
	dbURL := EmptyPostgresURL(t)
	s, err := store.Open(t.Context(), dbURL, store.Options{})
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate postgres schema: %v", err)
	}
	return s, dbURL
}

// EmptyPostgresURL is the URL of a fresh, unmigrated schema of the
// database named by TEST_DATABASE_URL, dropped when the test ends (skips
// like OpenPostgres).
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		if os.Getenv(EnvRequirePostgres) != "" {
			t.Fatalf("%s is set but %s is not: the PostgreSQL tests must run here", EnvRequirePostgres, EnvPostgresURL)
		}
		t.Skipf("%s is not set: skipping the PostgreSQL run "+
			"(set it to e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvPostgresURL)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgresURL, err)
	}

	admin, err := store.Open(t.Context(), base, store.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("open postgres %s: %v", u.Redacted(), err)
	}
	adminDB, err := admin.SQLDB()
	if err != nil {
		t.Fatalf("postgres pool: %v", err)
	}
	schema := "sesame_test_" + randHex(8)
	if _, err := adminDB.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	// Registered first, so it runs last: after the store below is closed.
	t.Cleanup(func() {
		defer func() { _ = admin.Close() }()
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := adminDB.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	// Names this test's backends in pg_stat_activity (the flow benchmarks
	// add up their CPU time).
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
