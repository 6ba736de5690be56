package ratelimit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/ratelimit"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

var _ ratelimit.Store = (*store.Store)(nil)

// hour is a window boundary; tests start a little after it, in a zone far
// from UTC so the windows must be computed in UTC.
var hour = time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)

func newLimiter(t *testing.T, st *store.Store, at time.Time, opts ...ratelimit.Option) (*ratelimit.Limiter, *storetest.Clock) {
	t.Helper()
	clk := storetest.NewClockAt(at.In(time.FixedZone("UTC+05:45", 5*3600+45*60)))
	return ratelimit.New(st, clk.Now, opts...), clk
}

func allow(t *testing.T, l *ratelimit.Limiter, key string, limit int, window time.Duration) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := l.Allow(t.Context(), key, limit, window)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return ok, retry
}

func peek(t *testing.T, l *ratelimit.Limiter, key string, limit int, window time.Duration) int {
	t.Helper()
	n, err := l.Peek(t.Context(), key, limit, window)
	if err != nil {
		t.Fatalf("Peek(%q): %v", key, err)
	}
	return n
}

func TestAllowUpToLimitThenRefuse(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		l, _ := newLimiter(t, st, hour.Add(15*time.Minute))
		const key = "passlink:email:zoe@example.test"
		if n := peek(t, l, key, 5, time.Hour); n != 5 {
			t.Fatalf("Peek before any attempt = %d, want 5", n)
		}
		for i := range 5 {
			if ok, _ := allow(t, l, key, 5, time.Hour); !ok {
				t.Fatalf("attempt %d refused, want allowed", i+1)
			}
			if n := peek(t, l, key, 5, time.Hour); n != 4-i {
				t.Errorf("Peek after %d attempts = %d, want %d", i+1, n, 4-i)
			}
		}
		ok, retry := allow(t, l, key, 5, time.Hour)
		if ok {
			t.Fatal("6th attempt in the hour allowed")
		}
		if retry != 45*time.Minute {
			t.Errorf("retryAfter = %s, want 45m (the window ends on the hour)", retry)
		}
		if n := peek(t, l, key, 5, time.Hour); n != 0 {
			t.Errorf("Peek when over the limit = %d, want 0", n)
		}
		// Other keys are not affected.
		if ok, _ := allow(t, l, "passlink:email:other@example.test", 5, time.Hour); !ok {
			t.Error("another address refused")
		}
	})
}

func TestWindowRollsOver(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		l, clk := newLimiter(t, st, hour.Add(59*time.Minute+59*time.Second))
		const key = "passlink:ip:192.0.2.7"
		for range 3 {
			allow(t, l, key, 3, time.Hour)
		}
		ok, retry := allow(t, l, key, 3, time.Hour)
		if ok || retry != time.Second {
			t.Fatalf("4th attempt: allowed %v retryAfter %s; want refused, 1s", ok, retry)
		}
		clk.Set(hour.Add(time.Hour)) // the next window
		if n := peek(t, l, key, 3, time.Hour); n != 3 {
			t.Errorf("Peek in the new window = %d, want 3", n)
		}
		for i := range 3 {
			if ok, _ := allow(t, l, key, 3, time.Hour); !ok {
				t.Fatalf("attempt %d in the new window refused", i+1)
			}
		}
		if ok, _ := allow(t, l, key, 3, time.Hour); ok {
			t.Error("4th attempt in the new window allowed")
		}
		// Back in the old window (a replica with a lagging clock) the old
		// count still holds.
		clk.Set(hour.Add(30 * time.Minute))
		if n := peek(t, l, key, 3, time.Hour); n != 0 {
			t.Errorf("Peek in the old window = %d, want 0", n)
		}
	})
}

// TestConcurrentAttemptsExactLimit: 50 attempts at once (as from several
// replicas) let exactly limit through.
func TestConcurrentAttemptsExactLimit(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		const attempts, limit = 50, 10
		l, _ := newLimiter(t, st, hour.Add(time.Minute))
		var allowed atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, attempts)
		for range attempts {
			wg.Go(func() {
				<-start
				ok, _, err := l.Allow(t.Context(), "passlink:email:flood@example.test", limit, time.Hour)
				if err != nil {
					errs <- err
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if allowed.Load() != limit {
			t.Errorf("%d of %d concurrent attempts allowed, want exactly %d", allowed.Load(), attempts, limit)
		}
	})
}

// TestKeysStoredOnlyHashed: the table never holds the address or IP.
func TestKeysStoredOnlyHashed(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		plain, _ := newLimiter(t, st, hour)
		keyed, _ := newLimiter(t, st, hour, ratelimit.WithSecret([]byte("0123456789abcdef0123456789abcdef")))
		allow(t, plain, "passlink:email:zoe@example.test", 5, time.Hour)
		allow(t, keyed, "passlink:email:zoe@example.test", 5, time.Hour)
		// Same key, two secrets: two independent counts.
		if n := peek(t, keyed, "passlink:email:zoe@example.test", 5, time.Hour); n != 4 {
			t.Errorf("keyed Peek = %d, want 4", n)
		}

		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(t.Context(), "SELECT key_hash FROM rate_limits")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var hashes []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, h)
		}
		if len(hashes) != 2 || hashes[0] == hashes[1] {
			t.Fatalf("stored keys %q, want two distinct hashes", hashes)
		}
		for _, h := range hashes {
			if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
				t.Errorf("stored key %q is not a hex SHA-256", h)
			}
		}
	})
}

// TestWindowsOfOneKeyIndependent: one key limited per minute and per hour
// keeps two counts, even where both windows start at the same instant.
func TestWindowsOfOneKeyIndependent(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		l, _ := newLimiter(t, st, hour)
		const key = "passlink:ip:198.51.100.1"
		if ok, _ := allow(t, l, key, 1, time.Minute); !ok {
			t.Fatal("first attempt per minute refused")
		}
		if ok, _ := allow(t, l, key, 1, time.Hour); !ok {
			t.Error("first attempt per hour refused: the minute's count leaked into the hour's")
		}
		if ok, _ := allow(t, l, key, 1, time.Minute); ok {
			t.Error("second attempt per minute allowed")
		}
	})
}

func TestInvalidArguments(t *testing.T) {
	l := ratelimit.New(failingStore{}, nil)
	for _, tc := range []struct {
		key    string
		limit  int
		window time.Duration
	}{
		{"", 5, time.Hour},
		{"k", 0, time.Hour},
		{"k", 5, time.Millisecond},
	} {
		if _, _, err := l.Allow(t.Context(), tc.key, tc.limit, tc.window); !errors.Is(err, ratelimit.ErrInvalid) {
			t.Errorf("Allow(%q, %d, %s) = %v, want ErrInvalid", tc.key, tc.limit, tc.window, err)
		}
		if _, err := l.Peek(t.Context(), tc.key, tc.limit, tc.window); !errors.Is(err, ratelimit.ErrInvalid) {
			t.Errorf("Peek(%q, %d, %s) = %v, want ErrInvalid", tc.key, tc.limit, tc.window, err)
		}
	}
	// A store error neither allows nor silently refuses.
	ok, _, err := l.Allow(t.Context(), "k", 5, time.Hour)
	if ok || !errors.Is(err, errStore) {
		t.Errorf("Allow with a failing store = %v, %v; want false and the error", ok, err)
	}
}

var errStore = errors.New("database down")

type failingStore struct{}

func (failingStore) HitRateLimit(context.Context, string, time.Time, time.Time) (int, error) {
	return 0, errStore
}

func (failingStore) RateLimitCount(context.Context, string, time.Time) (int, error) {
	return 0, errStore
}
