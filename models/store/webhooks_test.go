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

// openTwo opens two stores (two replicas' pools) on one fresh database.
func openTwo(t *testing.T, d storetest.Dialect) (*store.Store, *store.Store) {
	t.Helper()
	var a *store.Store
	var url string
	if d.Name == "sqlite" {
		a, url = storetest.OpenSQLiteURL(t)
	} else {
		a, url = storetest.OpenPostgresURL(t)
	}
	b, err := store.Open(t.Context(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return a, b
}

func signinFailed(i int) *models.AuthEvent {
	return &models.AuthEvent{ID: fmt.Sprintf("ev-%d-%d", time.Now().UnixNano(), i), UserID: "u", ClientID: "app",
		Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultFailure, Reason: "unknown_credential"}
}

func subscribe(t testing.TB, st *store.Store, types ...string) *models.WebhookEndpoint {
	t.Helper()
	ep := &models.WebhookEndpoint{ID: fmt.Sprintf("wh-%d", time.Now().UnixNano()), URL: "https://hooks.example.test/in",
		EventTypes: strings.Join(types, " "), SecretSealed: "v1.x", Enabled: true}
	if err := st.CreateWebhookEndpoint(context.Background(), ep); err != nil {
		t.Fatal(err)
	}
	return ep
}

// TestWebhookSubscriptionsReachEveryReplica: an endpoint registered
// through one replica's store gets the facts another replica records,
// at once (the change feed drops the other's cache), and stops getting
// them once disabled.
func TestWebhookSubscriptionsReachEveryReplica(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		a, b := openTwo(t, d)
		ctx := t.Context()
		// b's cache is loaded (and empty) before the endpoint exists.
		if err := b.RecordAuthEvent(ctx, signinFailed(0)); err != nil {
			t.Fatal(err)
		}
		ep := subscribe(t, a, models.WebhookSigninFailed)
		count := func() int {
			ds, err := a.ListWebhookDeliveries(ctx, ep.ID, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(ds)
		}
		deadline := time.Now().Add(10 * time.Second)
		for i := 1; count() == 0; i++ {
			if time.Now().After(deadline) {
				t.Fatal("the other replica never queued a delivery for the new endpoint")
			}
			if err := b.RecordAuthEvent(ctx, signinFailed(i)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := a.UpdateWebhookEndpoint(ctx, ep.ID, store.WebhookEndpointUpdate{URL: ep.URL, EventTypes: ep.EventTypes}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the notification's way to b (PostgreSQL)
		n := count()
		if err := b.RecordAuthEvent(ctx, signinFailed(-1)); err != nil {
			t.Fatal(err)
		}
		if count() != n {
			t.Error("a disabled endpoint still got a delivery from the other replica")
		}
	})
}

// TestSignInPaysNothingForWebhooksNobodyWants_Statements: recording a
// sign-in's event runs the same statements with webhooks unused, or with
// endpoints that subscribe to other types, as it did before webhooks:
// the insert (PostgreSQL's announcement comes from the table's trigger,
// migration 00049). One subscriber adds exactly one insert, in the same
// transaction.
func TestSignInPaysNothingForWebhooksNobodyWants_Statements(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		count := storetest.CountStatements(t, st)
		record := func(i int) (stmts, tx int64) {
			count.Reset()
			if err := st.RecordAuthEvent(ctx, signinFailed(i)); err != nil {
				t.Fatal(err)
			}
			return count.Total(), count.Transactions()
		}
		record(0) // loads the (empty) subscription cache
		base, baseTx := record(1)
		const want = 1
		if base != want || baseTx != 1 {
			t.Fatalf("no endpoint: %d statements in %d transactions, want %d in 1:\n%s", base, baseTx, want, count.Report(1))
		}
		// After an endpoint change the cache reloads once, when the
		// change's announcement arrives (asynchronously on PostgreSQL).
		settle := func(i int) {
			time.Sleep(300 * time.Millisecond)
			record(i)
		}
		subscribe(t, st, models.WebhookUserDeleted) // not a sign-in's type
		settle(2)
		if n, _ := record(3); n != base {
			t.Errorf("an endpoint of other types: %d statements, want %d:\n%s", n, base, count.Report(1))
		}
		subscribe(t, st, models.WebhookSigninFailed)
		settle(4)
		if n, tx := record(5); n != base+1 || tx != 1 {
			t.Errorf("one subscriber: %d statements in %d transactions, want %d in 1:\n%s", n, tx, base+1, count.Report(1))
		}
	})
}

// BenchmarkRecordAuthEventWebhooks: what a sign-in's event costs with no
// endpoint, with endpoints subscribed to other types, and with one
// subscriber (one more insert in the same transaction).
//
//	go test -run '^$' -bench RecordAuthEventWebhooks -benchtime 300x ./models/store/
func BenchmarkRecordAuthEventWebhooks(b *testing.B) {
	for _, c := range []struct {
		name  string
		types []string
	}{
		{"none", nil},
		{"other_types", []string{models.WebhookUserDeleted}},
		{"subscribed", []string{models.WebhookSigninFailed}},
	} {
		b.Run(c.name, func(b *testing.B) {
			storetest.EachDialect(b, func(b *testing.B, st *store.Store) {
				ctx := context.Background()
				if c.types != nil {
					subscribe(b, st, c.types...)
				}
				count := storetest.CountStatements(b, st)
				_ = st.RecordAuthEvent(ctx, signinFailed(-1))
				count.Reset()
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := st.RecordAuthEvent(ctx, signinFailed(i)); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(count.Total())/float64(b.N), "stmts/op")
			})
		})
	}
}
