package storetest

import (
	"testing"

	"github.com/sesame-idp/sesame/models/store"
)

// Dialect is one database the tests run on.
type Dialect struct {
	// Name is the subtest's name: "sqlite" or "postgres".
	Name string
	// Open returns a fresh, migrated store, closed when the test ends.
	Open func(testing.TB) *store.Store
}

var (
	// SQLite runs on a fresh file in the test's temporary directory.
	SQLite = Dialect{"sqlite", OpenSQLite}
	// Postgres runs in a fresh schema of the database named by
	// TEST_DATABASE_URL; without it, it skips (or fails when
	// SESAME_REQUIRE_POSTGRES is set). See OpenPostgres.
	Postgres = Dialect{"postgres", OpenPostgres}
)

// Dialects are the databases every store-backed test runs on, in order:
// SQLite always, PostgreSQL when TEST_DATABASE_URL is set.
func Dialects() []Dialect { return []Dialect{SQLite, Postgres} }

// TB is *testing.T or *testing.B: a test that runs subtests of its own kind.
type TB[T any] interface {
	testing.TB
	Run(name string, f func(T)) bool
}

// ForEachDialect runs fn as a subtest (or sub-benchmark) per dialect, named
// after it. fn opens stores itself with d.Open: none, one, or several.
func ForEachDialect[T TB[T]](t T, fn func(t T, d Dialect)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d.Name, func(t T) { fn(t, d) })
	}
}

// EachDialect runs fn as a subtest (or sub-benchmark) per dialect, on a
// fresh, migrated store of that dialect.
func EachDialect[T TB[T]](t T, fn func(t T, st *store.Store)) {
	t.Helper()
	ForEachDialect(t, func(t T, d Dialect) { fn(t, d.Open(t)) })
}
