package store_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// BenchmarkPoolUnderContention: 64 requests at once on a pool of 10
// connections (8 through the FIFO gate), each a short transaction that
// reads a user — far more requests than connections, as under a burst.
// Beside ns/op it reports the latency of one request at the median and
// the 99th percentile: served in arrival order, the tail stays near the
// median (database/sql alone hands a freed connection to a random waiter).
//
//	go test -run '^$' -bench PoolUnderContention -benchtime 20000x ./models/store/
func BenchmarkPoolUnderContention(b *testing.B) {
	withPoolOf(b, 10, func(b *testing.B, seed, st *store.Store) {
		u := &models.User{ID: "bench-user", Email: "bench@example.com", DisplayName: "Bench"}
		if err := seed.CreateUser(b.Context(), u); err != nil {
			b.Fatal(err)
		}
		var (
			mu    sync.Mutex
			taken []time.Duration
		)
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // 64 requests at once
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				start := time.Now()
				err := st.WithTx(b.Context(), func(ctx context.Context) error {
					_, err := st.GetUser(ctx, u.ID)
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			taken = append(taken, mine...)
			mu.Unlock()
		})
		b.StopTimer()
		if len(taken) == 0 {
			return
		}
		slices.Sort(taken)
		at := func(q float64) float64 { return float64(taken[int(q*float64(len(taken)-1))]) / 1e6 }
		b.ReportMetric(at(0.5), "p50-ms")
		b.ReportMetric(at(0.99), "p99-ms")
		b.ReportMetric(float64(st.PoolQueue().Waits)/float64(b.N), "queued/op")
	})
}
