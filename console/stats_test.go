package console_test

import (
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// statsFixture is a small, fully known history around a fixed clock.
type statsFixture struct {
	st  *store.Store
	svc *console.StatsService
	now time.Time
}

var statsNow = time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)

func newStatsFixture(t *testing.T, st *store.Store) *statsFixture {
	t.Helper()
	ctx := t.Context()
	f := &statsFixture{st: st, now: statsNow}
	f.svc = console.NewStatsService(st, console.StatsOptions{Now: func() time.Time { return f.now }})
	must(t, st.CreateClient(ctx, &models.Client{ID: "notes", Name: "Acme Notes", TokenEndpointAuthMethod: "none", Public: true}))
	users := map[string]*models.User{}
	for _, u := range []struct {
		id      string
		created time.Time
	}{
		{"ada", statsNow.Add(-40 * 24 * time.Hour)},
		{"bob", statsNow.Add(-35 * time.Minute)},
		{"cy", statsNow.Add(-3 * time.Hour)},
	} {
		users[u.id] = &models.User{ID: u.id, Email: u.id + "@example.test", CreatedAt: u.created}
		must(t, st.CreateUser(ctx, users[u.id]))
	}
	// ada: a synced passkey in iCloud Keychain; bob: a device-bound one
	// of an unknown model; cy: none.
	must(t, st.CreateCredential(ctx, &models.WebAuthnCredential{ID: "c1", UserID: "ada", Kind: models.CredentialPasskey, PublicKey: "k",
		AAGUID: "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", BackupEligible: true, BackupState: true}))
	must(t, st.CreateCredential(ctx, &models.WebAuthnCredential{ID: "c2", UserID: "bob", Kind: models.CredentialPasskey, PublicKey: "k",
		AAGUID: "00000000-0000-0000-0000-000000000000"}))
	ago := func(d time.Duration) time.Time { return statsNow.Add(-d) }
	for i, e := range []models.AuthEvent{
		{At: ago(10 * time.Minute), UserID: "ada", ClientID: "notes", Method: models.MethodPasskey, Event: "login", Result: "success"},
		{At: ago(2 * time.Hour), UserID: "ada", ClientID: "notes", Method: models.MethodPasskey, Event: "login", Result: "success"},
		{At: ago(3 * 24 * time.Hour), UserID: "ada", Method: models.MethodPasskey, Event: "login", Result: "success"},
		{At: ago(30 * time.Minute), UserID: "bob", ClientID: "notes", Method: models.MethodPasslink, Event: "login", Result: "success", Reason: "signup"},
		{At: ago(25 * time.Minute), UserID: "bob", ClientID: "notes", Method: models.MethodPasskey, Event: "register", Result: "success"},
		{At: ago(20 * time.Minute), UserID: "bob", ClientID: "notes", Method: models.MethodPasskey, Event: "login", Result: "failure", Reason: "timeout"},
		{At: ago(40 * time.Minute), UserID: "cy", Method: models.MethodPasslink, Event: "login", Result: "success"},
		{At: ago(41 * time.Minute), UserID: "cy", Method: models.MethodPasslink, Event: "request", Result: "success"},
	} {
		e.ID = "e" + string(rune('a'+i))
		must(t, st.RecordAuthEvent(ctx, &e))
	}
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func seriesTotals(c console.TimeChart) map[string]int64 {
	out := map[string]int64{}
	for _, s := range c.Series {
		if s.Total > 0 {
			out[s.Name] = s.Total
		}
	}
	return out
}

func sameMap(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
	}
}

// TestStatsFromSeededEvents checks every number of the dashboard against a
// hand-counted history, on each range.
func TestStatsFromSeededEvents(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		f := newStatsFixture(t, st)
		ctx := t.Context()

		h, err := f.svc.Headline(ctx)
		must(t, err)
		want := console.Headline{SignInsToday: 4, FailuresToday: 1, ActiveToday: 3, ActiveMonth: 3,
			PasskeySignInsToday: 2.0 / 4, PasskeyUsers: 2.0 / 3}
		if h != want {
			t.Errorf("headline = %+v, want %+v", h, want)
		}

		for _, tc := range []struct {
			rng              string
			byMethod         map[string]int64
			byClient         map[string]int64
			newAccounts      int64
			failures         int
			fallbacks, toKey int64
			active, withKey  int64
		}{
			{"1h", map[string]int64{"Passkey": 1, "Email link": 2}, map[string]int64{"Acme Notes": 2, "Account page": 1}, 1, 1, 2, 1, 3, 2},
			{"24h", map[string]int64{"Passkey": 2, "Email link": 2}, map[string]int64{"Acme Notes": 3, "Account page": 1}, 2, 1, 2, 1, 3, 2},
			{"7d", map[string]int64{"Passkey": 3, "Email link": 2}, map[string]int64{"Acme Notes": 3, "Account page": 2}, 2, 1, 2, 1, 3, 2},
			{"30d", map[string]int64{"Passkey": 3, "Email link": 2}, map[string]int64{"Acme Notes": 3, "Account page": 2}, 2, 1, 2, 1, 3, 2},
		} {
			t.Run(tc.rng, func(t *testing.T) {
				r := console.RangeByName(tc.rng)
				dash, err := f.svc.Dashboard(ctx, r)
				must(t, err)
				if n := len(dash.ByMethod.Times); n != int(r.Span/r.Step) {
					t.Errorf("%d buckets, want %d", n, r.Span/r.Step)
				}
				if last := dash.ByMethod.Times[len(dash.ByMethod.Times)-1]; last.After(f.now) || !last.Add(r.Step).After(f.now) {
					t.Errorf("last bucket starts %v: does not hold now (%v)", last, f.now)
				}
				sameMap(t, "sign-ins by method", seriesTotals(dash.ByMethod), tc.byMethod)
				sameMap(t, "sign-ins by app", seriesTotals(dash.ByClient), tc.byClient)
				if got := dash.NewAccounts.Total(); got != tc.newAccounts {
					t.Errorf("new accounts = %d, want %d", got, tc.newAccounts)
				}
				if len(dash.Failures) != tc.failures || dash.Failures[0].Name != "Passkey: timed out" || dash.Failures[0].Total != 1 {
					t.Errorf("failures = %+v, want one Passkey: timed out", dash.Failures)
				}
				a := dash.Adoption
				if a.Fallbacks != tc.fallbacks || a.FallbackToKey != tc.toKey {
					t.Errorf("fallbacks %d → passkey %d, want %d → %d", a.Fallbacks, a.FallbackToKey, tc.fallbacks, tc.toKey)
				}
				if a.ActiveUsers != tc.active || a.WithPasskey != tc.withKey {
					t.Errorf("active users %d with a passkey %d, want %d and %d", a.ActiveUsers, a.WithPasskey, tc.active, tc.withKey)
				}
				c := dash.Credentials
				if c.Synced != 1 || c.DeviceBound != 1 || c.Passkeys != 2 {
					t.Errorf("credentials = %+v, want 1 synced and 1 device-bound passkey", c)
				}
				models := map[string]int64{}
				for _, m := range c.TopModels {
					models[m.Name] = m.Total
				}
				sameMap(t, "top models", models, map[string]int64{"iCloud Keychain": 1, "Unknown model": 1})
			})
		}

		feed, err := f.svc.Feed(ctx, 10)
		must(t, err)
		var got []string
		for _, it := range feed {
			got = append(got, it.User+" "+it.Event)
		}
		wantFeed := []string{"ada@example.test Signed in", "bob@example.test Sign-in failed", "bob@example.test Passkey added",
			"bob@example.test Signed up", "cy@example.test Signed in", "ada@example.test Signed in", "ada@example.test Signed in"}
		if len(got) != len(wantFeed) {
			t.Fatalf("feed = %q, want %q", got, wantFeed)
		}
		for i := range got {
			if got[i] != wantFeed[i] {
				t.Errorf("feed[%d] = %q, want %q", i, got[i], wantFeed[i])
			}
		}
	})
}

// TestStatsRangesWithinRetention: every dashboard range reads a rollup the
// janitor keeps at least as long as the range spans (models/store
// SweepExpired), so no range shows a hole where swept rows were.
func TestStatsRangesWithinRetention(t *testing.T) {
	retention := map[time.Duration]time.Duration{
		time.Minute:    store.MinuteRollupRetention,
		time.Hour:      store.HourRollupRetention,
		24 * time.Hour: 1 << 62, // per-day counters are kept for good
	}
	for _, r := range console.StatsRanges {
		keep, ok := retention[r.Grain]
		if !ok {
			t.Errorf("range %s reads grain %v, which has no rollup", r.Name, r.Grain)
			continue
		}
		// The first bucket starts up to one step before now-span.
		if need := r.Span + r.Step; need > keep {
			t.Errorf("range %s needs %v of %v rollups, the janitor keeps %v", r.Name, need, r.Grain, keep)
		}
	}
}
