package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestPoolServesInArrivalOrder: requests that wait for a database
// connection get one in the order they came (database/sql alone picks a
// random waiter), and a transaction gives its place back however it ends
// — commit, rollback, both, or its context ending without either.
func TestPoolServesInArrivalOrder(t *testing.T) {
	// One connection: one place through the gate.
	withPoolOf(t, 1, func(t *testing.T, _, st *store.Store) {
		holder, err := st.BeginTx(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var (
			mu    sync.Mutex
			order []int
			wg    sync.WaitGroup
			errs  = make(chan error, n)
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- st.WithTx(t.Context(), func(ctx context.Context) error {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
					return nil
				})
			}()
			// The next one comes only once this one stands in line.
			storetest.WaitFor(t, func() bool { return st.PoolQueue().Waiting == int64(i+1) })
		}
		if err := st.Rollback(holder); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if want := []int{0, 1, 2, 3, 4, 5, 6, 7}; !slices.Equal(order, want) {
			t.Fatalf("served in the order %v, want %v", order, want)
		}
		if q := st.PoolQueue(); q.Waiting != 0 || q.Waits < n || q.Waited <= 0 {
			t.Fatalf("queue after: %+v, want none waiting and at least %d waits", q, n)
		}

		// Commit then Rollback (as fosite may do): one place back, not two
		// (the semaphore would panic), and the place is free again.
		tx, err := st.BeginTx(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(tx); err != nil {
			t.Fatal(err)
		}
		_ = st.Rollback(tx)

		// A transaction abandoned without Commit or Rollback gives its
		// place back when its context ends.
		ctx, cancel := context.WithCancel(t.Context())
		if _, err := st.BeginTx(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		bounded, stop := context.WithTimeout(t.Context(), 10*time.Second)
		defer stop()
		if err := st.WithTx(bounded, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("after an abandoned transaction: %v", err)
		}

		// A request whose context ends while it waits leaves the line
		// with its context's error.
		holder, err = st.BeginTx(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		short, stopShort := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer stopShort()
		err = st.WithTx(short, func(context.Context) error { return nil })
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, models.ErrUnavailable) {
			t.Fatalf("waiting past its deadline: %v", err)
		}
		if q := st.PoolQueue(); q.Waiting != 0 {
			t.Fatalf("still waiting after its deadline: %+v", q)
		}
		if err := st.Rollback(holder); err != nil {
			t.Fatal(err)
		}
	})
}

// withPoolOf runs fn on each dialect with a fresh, migrated database: seed
// is its store with the default pool, st a second store on it whose pool
// has maxOpen connections.
func withPoolOf[T storetest.TB[T]](t T, maxOpen int, fn func(t T, seed, st *store.Store)) {
	for _, d := range []struct {
		name string
		open func(testing.TB) (*store.Store, string)
	}{{"sqlite", storetest.OpenSQLiteURL}, {"postgres", storetest.OpenPostgresURL}} {
		t.Run(d.name, func(t T) {
			seed, url := d.open(t)
			st, err := store.Open(t.Context(), url, store.Options{MaxOpenConns: maxOpen})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			fn(t, seed, st)
		})
	}
}
