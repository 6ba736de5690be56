package store_test

import (
	"testing"

	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestSQLite runs the conformance suite on a fresh SQLite file.
func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *store.Store { return storetest.OpenSQLite(t) })
}

// TestPostgres runs the conformance suite in a fresh schema of the database
// named by TEST_DATABASE_URL; it skips when that is unset.
func TestPostgres(t *testing.T) {
	storetest.OpenPostgres(t) // skips early, before any subtest, when unset
	storetest.Run(t, func(t *testing.T) *store.Store { return storetest.OpenPostgres(t) })
}
