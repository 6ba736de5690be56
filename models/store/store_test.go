package store_test

import (
	"testing"

	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestConformance runs the conformance suite on each dialect: a fresh
// SQLite file, and a fresh schema of the database named by
// TEST_DATABASE_URL (skipped when that is unset).
func TestConformance(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		d.Open(t) // skips early, before any subtest, when the database is missing
		storetest.Run(t, func(t *testing.T) *store.Store { return d.Open(t) })
	})
}
