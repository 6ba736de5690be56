package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestOutagesAreErrUnavailable: a database that cannot be reached or does
// not answer in time is models.ErrUnavailable (endpoints answer 503 and
// Retry-After), never a not-found or an unrecognized error; a caller's own
// cancellation and a missing row are not outages.
func TestOutagesAreErrUnavailable(t *testing.T) {
	t.Parallel()
	open := map[string]func(testing.TB) (*store.Store, string){
		storetest.SQLite.Name: storetest.OpenSQLiteURL, storetest.Postgres.Name: storetest.OpenPostgresURL,
	}
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		st, dbURL := open[d.Name](t)
		ctx := t.Context()
		wantUnavailable := func(t *testing.T, what string, err error) {
			t.Helper()
			if !errors.Is(err, models.ErrUnavailable) {
				t.Fatalf("%s: %v, want ErrUnavailable", what, err)
			}
		}

		_, err := st.GetOAuth2Request(ctx, models.KindRefreshToken, "missing")
		if !errors.Is(err, models.ErrNotFound) || errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("missing row: %v, want only ErrNotFound", err)
		}

		expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		_, err = st.GetOAuth2Request(expired, models.KindRefreshToken, "x")
		wantUnavailable(t, "deadline passed", err)

		cancelled, cancelNow := context.WithCancel(ctx)
		cancelNow()
		_, err = st.GetOAuth2Request(cancelled, models.KindRefreshToken, "x")
		if err == nil || errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("cancelled by the caller: %v, want an error that is not ErrUnavailable", err)
		}

		closed, err := store.Open(ctx, dbURL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = closed.Close()
		_, err = closed.GetOAuth2Request(ctx, models.KindRefreshToken, "x")
		wantUnavailable(t, "closed pool", err)
		_, err = closed.BeginTx(ctx)
		wantUnavailable(t, "begin on a closed pool", err)

		if d.Name != storetest.Postgres.Name {
			return
		}
		// The server goes away under an open pool: pooled connections
		// break, new ones are refused.
		proxied, proxy := storetest.ProxiedURL(t, dbURL)
		gone, err := store.Open(ctx, proxied, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer gone.Close()
		if _, err := gone.GetOAuth2Request(ctx, models.KindRefreshToken, "x"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("through the proxy: %v", err)
		}
		proxy.Cut()
		for i := range 3 {
			_, err = gone.GetOAuth2Request(ctx, models.KindRefreshToken, "x")
			wantUnavailable(t, "database gone", err)
			txCtx, err := gone.BeginTx(ctx)
			if err == nil {
				_ = gone.Rollback(txCtx)
				t.Fatalf("begin %d with the database gone: no error", i)
			}
			wantUnavailable(t, "begin with the database gone", err)
		}
	})
}
