package console_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// The dashboard over a million auth events: 30 days of history from 50,000
// users of 10 apps, inserted in bulk into auth_events and, as the recorder
// would have, into the rollups. Then each dashboard query is timed:
//
//	go test -run '^$' -bench Dashboard -benchtime 20x ./console/
//	TEST_DATABASE_URL=postgres://… go test -run '^$' -bench Dashboard ./console/
//
// SESAME_BENCH_EVENTS changes the number of events (default 1,000,000).

func BenchmarkDashboard(b *testing.B) { storetest.EachDialect(b, benchDashboard) }

const (
	benchUsers   = 50_000
	benchClients = 10
	benchDays    = 30
)

func benchDashboard(b *testing.B, st *store.Store) {
	events := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("SESAME_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	now := time.Now().UTC()
	start := time.Now()
	seedEvents(b, st, now, events)
	b.Logf("seeded %d events in %v", events, time.Since(start).Round(time.Millisecond))
	svc := console.NewStatsService(st, console.StatsOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	for _, r := range console.StatsRanges {
		b.Run("Dashboard"+r.Name, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Dashboard(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Headline", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Headline(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The parts, to see where the time goes.
	day := now.Truncate(24 * time.Hour)
	for name, fn := range map[string]func() error{
		"Part/Credentials": func() error { _, err := st.CountCredentials(ctx); return err },
		"Part/ActiveMonth": func() error { _, err := st.CountActiveUsersSince(ctx, day.Add(-29*24*time.Hour), false); return err },
		"Part/ActiveMonthWithPasskey": func() error {
			_, err := st.CountActiveUsersSince(ctx, day.Add(-29*24*time.Hour), true)
			return err
		},
		"Part/NewAccounts30d": func() error { _, err := st.NewAccountsPerHour(ctx, day.Add(-30*24*time.Hour), now); return err },
		"Part/SignIns7dHourly": func() error {
			_, err := st.CountAuthEvents(ctx, store.CountQuery{Grain: time.Hour, From: now.Add(-7 * 24 * time.Hour), To: now,
				Event: models.EventLogin, Result: models.ResultSuccess, By: []string{"bucket", "method", "client_id"}})
			return err
		},
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("Feed", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Feed(ctx, 20); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// seedEvents writes users, credentials, clients, n events and their
// rollups with multi-row INSERTs in one transaction per table.
func seedEvents(b *testing.B, st *store.Store, now time.Time, n int) {
	b.Helper()
	ctx := context.Background()
	db, err := st.SQLDB()
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	created := now.Add(-90 * 24 * time.Hour)
	bulk(b, db, "users", []string{"id", "email", "email_normalized", "created_at", "updated_at"}, benchUsers, func(i int) []any {
		e := fmt.Sprintf("user%d@example.test", i)
		c := created.Add(time.Duration(i) * (90 * 24 * time.Hour / benchUsers))
		return []any{fmt.Sprintf("u%d", i), e, e, c, c}
	})
	aaguids := []string{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "adce0002-35bc-c60a-648b-0b25f1f05503", "00000000-0000-0000-0000-000000000000"}
	bulk(b, db, "webauthn_credentials", []string{"id", "user_id", "kind", "public_key", "aaguid", "backup_eligible", "created_at", "updated_at"}, benchUsers*6/10, func(i int) []any {
		return []any{fmt.Sprintf("cred%d", i), fmt.Sprintf("u%d", i), models.CredentialPasskey, "k", aaguids[i%len(aaguids)], i%3 != 0, created, created}
	})
	for i := range benchClients {
		must(b, st.CreateClient(ctx, &models.Client{ID: fmt.Sprintf("app%d", i), Name: fmt.Sprintf("App %d", i), TokenEndpointAuthMethod: "none", Public: true}))
	}

	type key struct {
		bucket                                time.Time
		method, client, event, result, reason string
	}
	minutes, hours, daily := map[key]int64{}, map[key]int64{}, map[key]int64{}
	days := map[[2]string]bool{}
	last := map[string]time.Time{}
	methods := []string{models.MethodPasskey, models.MethodPasskey, models.MethodPasskey, models.MethodPasslink, models.MethodPasswordKey}
	reasons := []string{"timeout", "not_allowed", "expired"}
	span := benchDays * 24 * time.Hour
	type ev struct {
		at                                          time.Time
		user, client, method, event, result, reason string
	}
	evs := make([]ev, n)
	for i := range evs {
		e := ev{at: now.Add(-time.Duration(rng.Int64N(int64(span)))).Truncate(time.Microsecond),
			user: fmt.Sprintf("u%d", rng.IntN(benchUsers)), client: fmt.Sprintf("app%d", rng.IntN(benchClients)),
			method: methods[rng.IntN(len(methods))], event: models.EventLogin, result: models.ResultSuccess}
		if rng.IntN(20) == 0 {
			e.result, e.reason = models.ResultFailure, reasons[rng.IntN(len(reasons))]
		}
		evs[i] = e
		k := key{e.at.Truncate(time.Minute), e.method, e.client, e.event, e.result, e.reason}
		minutes[k]++
		k.bucket = e.at.Truncate(time.Hour)
		hours[k]++
		k.bucket = e.at.Truncate(24 * time.Hour)
		daily[k]++
		if e.result == models.ResultSuccess {
			d := e.at.Truncate(24 * time.Hour)
			days[[2]string{d.Format(time.DateOnly), e.user}] = true
			if d.After(last[e.user]) {
				last[e.user] = d
			}
		}
	}
	bulk(b, db, "auth_events", []string{"id", "at", "user_id", "client_id", "method", "event", "result", "reason"}, n, func(i int) []any {
		e := evs[i]
		return []any{fmt.Sprintf("ev%d", i), e.at, e.user, e.client, e.method, e.event, e.result, e.reason}
	})
	for _, t := range []struct {
		name string
		m    map[key]int64
	}{{"auth_event_minutes", minutes}, {"auth_event_hours", hours}, {"auth_event_days", daily}} {
		keys := make([]key, 0, len(t.m))
		for k := range t.m {
			keys = append(keys, k)
		}
		bulk(b, db, t.name, []string{"bucket", "method", "client_id", "event", "result", "reason", "total"}, len(keys), func(i int) []any {
			k := keys[i]
			return []any{k.bucket, k.method, k.client, k.event, k.result, k.reason, t.m[k]}
		})
		b.Logf("%s: %d rows", t.name, len(keys))
	}
	dayKeys := make([][2]string, 0, len(days))
	for k := range days {
		dayKeys = append(dayKeys, k)
	}
	bulk(b, db, "user_days", []string{"day", "user_id"}, len(dayKeys), func(i int) []any {
		d, _ := time.Parse(time.DateOnly, dayKeys[i][0])
		return []any{d, dayKeys[i][1]}
	})
	users := make([]string, 0, len(last))
	for u := range last {
		users = append(users, u)
	}
	credentialed := benchUsers * 6 / 10 // users u0 … u29999 have a passkey
	bulk(b, db, "user_last_active", []string{"user_id", "last_day", "has_passkey"}, len(users), func(i int) []any {
		n, _ := strconv.Atoi(strings.TrimPrefix(users[i], "u"))
		return []any{users[i], last[users[i]], n < credentialed}
	})
	// What autovacuum would have done by now (PostgreSQL: statistics and
	// the visibility map that lets counts read the index alone).
	analyze := "ANALYZE"
	if st.Dialect() == "postgres" {
		analyze = "VACUUM ANALYZE"
	}
	if _, err := db.ExecContext(ctx, analyze); err != nil {
		b.Fatal(err)
	}
}

// bulk inserts n rows made by row, 500 to a statement, in one transaction.
func bulk(b *testing.B, db *sql.DB, table string, cols []string, n int, row func(i int) []any) {
	b.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	const batch = 500
	var stmt *sql.Stmt
	stmtFor := func(rows int) string {
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		p := 1
		for r := range rows {
			if r > 0 {
				sb.WriteString(", ")
			}
			sb.WriteByte('(')
			for c := range cols {
				if c > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("$" + strconv.Itoa(p))
				p++
			}
			sb.WriteByte(')')
		}
		return sb.String()
	}
	args := make([]any, 0, batch*len(cols))
	for i := 0; i < n; i += batch {
		args = args[:0]
		end := min(i+batch, n)
		for j := i; j < end; j++ {
			args = append(args, row(j)...)
		}
		if end-i == batch {
			if stmt == nil {
				if stmt, err = tx.PrepareContext(ctx, stmtFor(batch)); err != nil {
					b.Fatal(err)
				}
			}
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, stmtFor(end-i), args...)
		}
		if err != nil {
			b.Fatalf("insert into %s: %v", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
