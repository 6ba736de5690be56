package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// BenchmarkRecordAuthEvent: what a sign-in pays for its statistics now —
// one pending row (and the change feed's notification).
//
//	go test -run '^$' -bench RecordAuthEvent ./models/store/
func BenchmarkRecordAuthEvent(b *testing.B) {
	storetest.EachDialect(b, func(b *testing.B, st *store.Store) {
		ctx := context.Background()
		b.ReportAllocs()
		for i := range b.N {
			if err := st.RecordAuthEvent(ctx, benchEvent(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRollUpPending: the aggregator counting one batch of
// RollupBatch pending sign-ins of 100 users across 10 apps per op (the
// events are recorded with the timer stopped); µs/event is the time of the
// aggregation alone, per event.
//
//	go test -run '^$' -bench RollUpPending -benchtime 5x ./models/store/
func BenchmarkRollUpPending(b *testing.B) {
	storetest.EachDialect(b, func(b *testing.B, st *store.Store) {
		ctx := context.Background()
		var spent time.Duration
		b.ReportAllocs()
		for i := range b.N {
			b.StopTimer()
			err := st.WithTx(ctx, func(ctx context.Context) error {
				for j := range store.RollupBatch {
					if err := st.RecordAuthEvent(ctx, benchEvent(i*store.RollupBatch+j)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			n, err := st.RollUpPending(ctx, 1)
			spent += time.Since(t0)
			if err != nil || n != store.RollupBatch {
				b.Fatalf("counted %d (%v), want %d", n, err, store.RollupBatch)
			}
		}
		b.ReportMetric(float64(spent.Microseconds())/float64(b.N*store.RollupBatch), "µs/event")
	})
}

func benchEvent(i int) *models.AuthEvent {
	return &models.AuthEvent{ID: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), At: time.Now().UTC(),
		UserID: fmt.Sprintf("user-%d", i%100), ClientID: fmt.Sprintf("app-%d", i%10),
		Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}
}

// TestPendingProbeUsesItsIndex: the aggregator's probe, run every second
// on every replica, reads the partial index of pending events on both
// dialects, however many counted events the table holds and whatever the
// planner's statistics say — not the whole table.
func TestPendingProbeUsesItsIndex(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for i := range 3000 {
			if err := st.RecordAuthEvent(ctx, benchEvent(i)); err != nil {
				t.Fatal(err)
			}
		}
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		// Statistics gathered during a burst (as autovacuum does) say most
		// events are pending; by the time of the probe none is.
		if _, err := db.ExecContext(ctx, "ANALYZE auth_events"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RollUpPending(ctx, 0); err != nil {
			t.Fatal(err)
		}
		plan := explain(t, st, store.PendingProbe)
		if !strings.Contains(plan, "auth_events_pending") || strings.Contains(plan, "Seq Scan") {
			t.Fatalf("the probe does not read the pending index:\n%s", plan)
		}
	})
}
