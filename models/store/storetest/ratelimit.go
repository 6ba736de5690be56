package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models/store"
)

var rateLimitTests = []subtest{
	{"CountsPerWindow", func(t *testing.T, s *store.Store) {
		key := randHex(32)
		w1 := at(0).Truncate(time.Minute)
		w2 := w1.Add(time.Minute)
		n, err := s.RateLimitCount(t.Context(), key, w1)
		must(t, err)
		if n != 0 {
			t.Fatalf("count before any hit = %d, want 0", n)
		}
		for want := 1; want <= 3; want++ {
			got, err := s.HitRateLimit(t.Context(), key, w1, w1.Add(time.Minute))
			must(t, err)
			if got != want {
				t.Fatalf("hit %d returned count %d", want, got)
			}
		}
		// The next window starts from one; the first keeps its count.
		got, err := s.HitRateLimit(t.Context(), key, w2, w2.Add(time.Minute))
		must(t, err)
		if got != 1 {
			t.Errorf("first hit in the next window returned %d, want 1", got)
		}
		if n, err := s.RateLimitCount(t.Context(), key, w1); err != nil || n != 3 {
			t.Errorf("first window count = %d, %v; want 3", n, err)
		}
		// Keys are independent.
		if n, err := s.RateLimitCount(t.Context(), randHex(32), w1); err != nil || n != 0 {
			t.Errorf("other key count = %d, %v; want 0", n, err)
		}
	}},
	{"WindowStartInAnyZone", func(t *testing.T, s *store.Store) {
		// The same instant given in two zones is the same window.
		key := randHex(32)
		w := at(0).Truncate(time.Hour)
		_, err := s.HitRateLimit(t.Context(), key, w.In(east), w.Add(time.Hour))
		must(t, err)
		got, err := s.HitRateLimit(t.Context(), key, w.In(west), w.Add(time.Hour))
		must(t, err)
		if got != 2 {
			t.Errorf("second hit (same instant, other zone) returned %d, want 2", got)
		}
	}},
	{"ConcurrentHitsExact", func(t *testing.T, s *store.Store) {
		// Replicas counting at once: every hit gets its own count, none
		// is lost (the upsert is atomic).
		const hits = 50
		key := randHex(32)
		w := at(0).Truncate(time.Hour)
		counts := make([]int, hits)
		next := make(chan int, hits)
		for i := range hits {
			next <- i
		}
		errs := race(hits, func() error {
			i := <-next
			n, err := s.HitRateLimit(t.Context(), key, w, w.Add(time.Hour))
			counts[i] = n
			return err
		})
		for _, err := range errs {
			must(t, err)
		}
		slices.Sort(counts)
		for i, n := range counts {
			if n != i+1 {
				t.Fatalf("counts returned = %v, want 1…%d each once", counts, hits)
			}
		}
		if n, err := s.RateLimitCount(t.Context(), key, w); err != nil || n != hits {
			t.Errorf("final count = %d, %v; want %d", n, err, hits)
		}
	}},
	{"SweepExpiredWindows", func(t *testing.T, s *store.Store) {
		dead, live := randHex(32), randHex(32)
		w := at(-2 * time.Hour).Truncate(time.Hour)
		_, err := s.HitRateLimit(t.Context(), dead, w, w.Add(time.Hour))
		must(t, err)
		wl := at(0).Truncate(time.Hour)
		_, err = s.HitRateLimit(t.Context(), live, wl, wl.Add(time.Hour))
		must(t, err)
		_, err = s.SweepExpired(t.Context(), 0)
		must(t, err)
		if n, err := s.RateLimitCount(t.Context(), dead, w); err != nil || n != 0 {
			t.Errorf("expired window count = %d, %v; want 0 (swept)", n, err)
		}
		if n, err := s.RateLimitCount(t.Context(), live, wl); err != nil || n != 1 {
			t.Errorf("live window count = %d, %v; want 1", n, err)
		}
	}},
}
