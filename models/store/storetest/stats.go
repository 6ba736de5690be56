package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// pastMinute is a random whole minute in 2001, so tests sharing a database
// count only their own rollups.
func pastMinute() time.Time {
	return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rand.IntN(360*24*60)) * time.Minute)
}

func recordEvent(t *testing.T, s *store.Store, e models.AuthEvent) {
	t.Helper()
	if e.ID == "" {
		e.ID = newID("event")
	}
	must(t, s.RecordAuthEvent(t.Context(), &e))
}

func hasPasskeyFlag(t *testing.T, s *store.Store, userID string) bool {
	t.Helper()
	_, has, err := s.LastActive(t.Context(), userID)
	must(t, err)
	return has
}

func lastDay(t *testing.T, s *store.Store, userID string) time.Time {
	t.Helper()
	d, _, err := s.LastActive(t.Context(), userID)
	must(t, err)
	return d
}

var statsTests = []subtest{
	{"RollupCountsEachEvent", func(t *testing.T, s *store.Store) {
		m := pastMinute().Truncate(time.Hour)
		client := newID("client")
		u := createUser(t, s)
		for i := range 3 {
			recordEvent(t, s, models.AuthEvent{At: m.Add(time.Duration(i) * 10 * time.Second), UserID: u.ID, ClientID: client,
				Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		}
		recordEvent(t, s, models.AuthEvent{At: m.Add(90 * time.Second), ClientID: client,
			Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultFailure, Reason: "timeout"})
		recordEvent(t, s, models.AuthEvent{At: m.Add(2 * time.Minute), UserID: u.ID, ClientID: client,
			Method: models.MethodPasslink, Event: models.EventLogin, Result: models.ResultSuccess})

		perMinute, err := s.CountAuthEvents(t.Context(), store.CountQuery{From: m, To: m.Add(time.Hour),
			By: []string{"bucket", "client_id", "method", "result", "reason"}})
		must(t, err)
		got := map[string]int64{}
		for _, r := range perMinute {
			if r.ClientID == client {
				got[r.Bucket.Sub(m).String()+" "+r.Method+" "+r.Result+" "+r.Reason] += r.Total
				if r.Bucket.Location() != time.UTC {
					t.Errorf("bucket read back in %v", r.Bucket.Location())
				}
			}
		}
		want := map[string]int64{"0s passkey success ": 3, "1m0s passkey failure timeout": 1, "2m0s passlink success ": 1}
		if len(got) != len(want) {
			t.Errorf("per-minute counters %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("per-minute %q = %d, want %d", k, got[k], v)
			}
		}
		hourly, err := s.CountAuthEvents(t.Context(), store.CountQuery{Grain: time.Hour, From: m, To: m.Add(time.Hour),
			Event: models.EventLogin, Result: models.ResultSuccess, By: []string{"client_id"}})
		must(t, err)
		for _, r := range hourly {
			if r.ClientID == client && r.Total != 4 {
				t.Errorf("hourly successes = %d, want 4", r.Total)
			}
		}
		// Outside the range: nothing.
		none, err := s.CountAuthEvents(t.Context(), store.CountQuery{From: m.Add(-time.Hour), To: m, By: []string{"client_id"}})
		must(t, err)
		for _, r := range none {
			if r.ClientID == client {
				t.Errorf("counted before the events: %+v", r)
			}
		}
	}},
	{"AggregatorCountsEachEventOnce", func(t *testing.T, s *store.Store) {
		// More events than one batch, recorded in one transaction; then
		// aggregators racing each other and new events: every committed
		// event is counted exactly once, a rolled-back one never.
		m := pastMinute()
		client := newID("client")
		ev := func() *models.AuthEvent {
			return &models.AuthEvent{ID: newID("event"), At: m, ClientID: client, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}
		}
		const bulk = store.RollupBatch + 100
		must(t, s.WithTx(t.Context(), func(ctx context.Context) error {
			for range bulk {
				if err := s.RecordAuthEvent(ctx, ev()); err != nil {
					return err
				}
			}
			return nil
		}))
		rollback := errors.New("roll back")
		if err := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.RecordAuthEvent(ctx, ev()))
			return rollback
		}); !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		var counted atomic.Int64
		errs := race(racers, func() error {
			if err := s.RecordAuthEvent(t.Context(), ev()); err != nil {
				return err
			}
			n, err := s.RollUpPending(t.Context(), 0)
			counted.Add(int64(n))
			return err
		})
		for _, err := range errs {
			must(t, err)
		}
		n, err := s.RollUpPending(t.Context(), 0)
		must(t, err)
		if total := counted.Load() + int64(n); total != bulk+racers {
			t.Errorf("aggregators counted %d events, want %d", total, bulk+racers)
		}
		if n, err := s.RollUpPending(t.Context(), 0); err != nil || n != 0 {
			t.Errorf("a second run counted %d (%v), want nothing left", n, err)
		}
		for _, grain := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour} {
			rows, err := s.CountAuthEvents(t.Context(), store.CountQuery{Grain: grain, From: m.Truncate(24 * time.Hour), To: m.Add(24 * time.Hour), By: []string{"client_id"}})
			must(t, err)
			var got int64
			for _, r := range rows {
				if r.ClientID == client {
					got += r.Total
				}
			}
			if got != bulk+racers {
				t.Errorf("rollup per %v counts %d, want %d", grain, got, bulk+racers)
			}
		}
	}},
	{"DeletedUserDoesNotStallTheAggregator", func(t *testing.T, s *store.Store) {
		// A user deleted between the sign-in and the aggregation: the
		// event is counted, the user is not made active again (the
		// deletion removed that), and the events after it are counted.
		m := pastMinute()
		client := newID("client")
		gone, kept := createUser(t, s), createUser(t, s)
		for _, u := range []*models.User{gone, kept} {
			must(t, s.RecordAuthEvent(t.Context(), &models.AuthEvent{ID: newID("event"), At: m, UserID: u.ID, ClientID: client,
				Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}))
		}
		must(t, s.DeleteUser(t.Context(), gone.ID))
		rows, err := s.CountAuthEvents(t.Context(), store.CountQuery{From: m, To: m.Add(time.Minute), By: []string{"client_id"}})
		must(t, err)
		var got int64
		for _, r := range rows {
			if r.ClientID == client {
				got += r.Total
			}
		}
		if got != 2 {
			t.Errorf("counted %d sign-ins, want 2", got)
		}
		if d := lastDay(t, s, kept.ID); !d.Equal(m.Truncate(24 * time.Hour)) {
			t.Errorf("the remaining user's last day = %v", d)
		}
		if d := lastDay(t, s, gone.ID); !d.IsZero() {
			t.Errorf("the deleted user is active again (%v)", d)
		}
		if n, err := s.RollUpPending(t.Context(), 0); err != nil || n != 0 {
			t.Errorf("left pending: %d (%v)", n, err)
		}
	}},
	{"ConcurrentEventsAllCounted", func(t *testing.T, s *store.Store) {
		m := pastMinute()
		client := newID("client")
		errs := race(racers, func() error {
			return s.RecordAuthEvent(t.Context(), &models.AuthEvent{ID: newID("event"), At: m, ClientID: client,
				Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		})
		for _, err := range errs {
			must(t, err)
		}
		rows, err := s.CountAuthEvents(t.Context(), store.CountQuery{From: m, To: m.Add(time.Minute), By: []string{"client_id"}})
		must(t, err)
		for _, r := range rows {
			if r.ClientID == client && r.Total != racers {
				t.Errorf("counted %d of %d concurrent events", r.Total, racers)
			}
		}
	}},
	{"ActiveUsersAndPasskeyShare", func(t *testing.T, s *store.Store) {
		day := pastMinute().Truncate(24 * time.Hour)
		a, b := createUser(t, s), createUser(t, s)
		credID := newID("cred")
		must(t, s.CreateCredential(t.Context(), &models.WebAuthnCredential{ID: credID, UserID: a.ID, Kind: models.CredentialPasskey, PublicKey: "pk"}))
		for _, e := range []models.AuthEvent{
			{At: day.Add(time.Hour), UserID: a.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess},
			{At: day.Add(2 * time.Hour), UserID: a.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess},
			{At: day.Add(25 * time.Hour), UserID: b.ID, Method: models.MethodPasslink, Event: models.EventLogin, Result: models.ResultSuccess},
			{At: day.Add(26 * time.Hour), UserID: b.ID, Method: models.MethodPasslink, Event: models.EventLogin, Result: models.ResultFailure},
		} {
			recordEvent(t, s, e)
		}
		// Other tests may share these days only if they drew the same
		// random day; assert on lower bounds and per-day maps.
		n, err := s.CountActiveUsers(t.Context(), day, day.Add(48*time.Hour), false)
		must(t, err)
		if n < 2 {
			t.Errorf("active users over two days = %d, want 2", n)
		}
		perDay, err := s.ActiveUsersPerDay(t.Context(), day, day.Add(48*time.Hour))
		must(t, err)
		if perDay[day] < 1 || perDay[day.Add(24*time.Hour)] < 1 {
			t.Errorf("active users per day = %v, want one on each day", perDay)
		}
		withPasskey, err := s.CountActiveUsers(t.Context(), day, day.Add(48*time.Hour), true)
		must(t, err)
		if withPasskey < 1 || withPasskey >= n {
			t.Errorf("active users with a passkey = %d of %d, want 1 of 2", withPasskey, n)
		}
		// Removing a's only passkey clears the flag at once.
		must(t, s.DeleteCredential(t.Context(), a.ID, credID))
		if after, err := s.CountActiveUsers(t.Context(), day, day.Add(48*time.Hour), true); err != nil || after != withPasskey-1 {
			t.Errorf("active users with a passkey after removing a's = %d (%v), want %d", after, err, withPasskey-1)
		}
		if n, err := s.CountActiveUsersSince(t.Context(), day, true); err != nil || n < 0 {
			t.Fatal(err)
		}
		if hasPasskeyFlag(t, s, a.ID) {
			t.Error("a is still flagged as having a passkey")
		}
		// The last day counts: a signed in on day, b a day later.
		if got := lastDay(t, s, a.ID); !got.Equal(day) {
			t.Errorf("a's last active day = %v, want %v", got, day)
		}
		if got := lastDay(t, s, b.ID); !got.Equal(day.Add(24 * time.Hour)) {
			t.Errorf("b's last active day = %v, want %v", got, day.Add(24*time.Hour))
		}
		// An older sign-in recorded late does not move the last day back.
		recordEvent(t, s, models.AuthEvent{At: day.Add(-48 * time.Hour), UserID: b.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		if got := lastDay(t, s, b.ID); !got.Equal(day.Add(24 * time.Hour)) {
			t.Errorf("b's last active day moved back to %v", got)
		}
	}},
	{"PasskeyAfterFallback", func(t *testing.T, s *store.Store) {
		m := pastMinute()
		client := newID("client")
		soon, late := createUser(t, s), createUser(t, s)
		for _, u := range []*models.User{soon, late} {
			recordEvent(t, s, models.AuthEvent{At: m, UserID: u.ID, ClientID: client, Method: models.MethodPasslink, Event: models.EventLogin, Result: models.ResultSuccess})
		}
		recordEvent(t, s, models.AuthEvent{At: m.Add(3 * time.Minute), UserID: soon.ID, ClientID: client, Method: models.MethodPasskey, Event: models.EventRegister, Result: models.ResultSuccess})
		recordEvent(t, s, models.AuthEvent{At: m.Add(models.FallbackWindow + time.Minute), UserID: late.ID, ClientID: client, Method: models.MethodPasskey, Event: models.EventRegister, Result: models.ResultSuccess})
		rows, err := s.CountAuthEvents(t.Context(), store.CountQuery{Grain: time.Hour, From: m.Truncate(time.Hour), To: m.Add(2 * time.Hour),
			Event: models.EventPasskeyAfterFallback, By: []string{"client_id"}})
		must(t, err)
		var got int64
		for _, r := range rows {
			if r.ClientID == client {
				got += r.Total
			}
		}
		if got != 1 {
			t.Errorf("passkeys after a fallback = %d, want 1 (the one within %v)", got, models.FallbackWindow)
		}
	}},
	{"NewAccountsPerHour", func(t *testing.T, s *store.Store) {
		h := pastMinute().Truncate(time.Hour)
		for i := range 3 {
			u := &models.User{ID: newID("user"), Email: newID("new") + "@example.test", CreatedAt: h.Add(time.Duration(i*35) * time.Minute)}
			must(t, s.CreateUser(t.Context(), u))
		}
		got, err := s.NewAccountsPerHour(t.Context(), h, h.Add(2*time.Hour))
		must(t, err)
		if got[h] < 3-1 || got[h.Add(time.Hour)] < 1 {
			t.Errorf("new accounts per hour = %v, want 2 at %v and 1 an hour later", got, h)
		}
		day := h.Truncate(24 * time.Hour)
		perDay, err := s.NewAccountsPerDay(t.Context(), day, day.Add(48*time.Hour))
		must(t, err)
		if perDay[day]+perDay[day.Add(24*time.Hour)] < 3 {
			t.Errorf("new accounts per day = %v, want 3 over %v and the day after", perDay, day)
		}
	}},
	{"CountCredentials", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		aaguid := "0ea242b4-43c4-4a1b-8b17-" + randHex(6)
		for i, be := range []bool{true, true, false} {
			must(t, s.CreateCredential(t.Context(), &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: models.CredentialPasskey,
				PublicKey: "pk", AAGUID: aaguid, BackupEligible: be, Name: string(rune('a' + i))}))
		}
		rows, err := s.CountCredentials(t.Context())
		must(t, err)
		synced, bound := int64(0), int64(0)
		for _, r := range rows {
			if r.AAGUID != aaguid {
				continue
			}
			if r.BackupEligible {
				synced += r.Total
			} else {
				bound += r.Total
			}
		}
		if synced != 2 || bound != 1 {
			t.Errorf("synced %d, device-bound %d; want 2 and 1", synced, bound)
		}
	}},
	{"UsersWithOnlySyncedPasskeys", func(t *testing.T, s *store.Store) {
		before, _, err := s.UsersWithOnlySyncedPasskeys(t.Context(), 0)
		must(t, err)
		passkey := func(u *models.User, be bool) {
			must(t, s.CreateCredential(t.Context(), &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: models.CredentialPasskey,
				PublicKey: "pk", BackupEligible: be, BackupState: be}))
		}
		onlySynced := createUser(t, s) // locked out by a block
		passkey(onlySynced, true)
		passkey(onlySynced, true)
		mixed := createUser(t, s) // keeps a device-bound passkey
		passkey(mixed, true)
		passkey(mixed, false)
		createUser(t, s) // no passkey: nothing to lose
		disabled := createUser(t, s)
		passkey(disabled, true)
		must(t, s.SetUserDisabled(t.Context(), disabled.ID, true))
		keyOnly := createUser(t, s) // a synced security key is not a passkey
		must(t, s.CreateCredential(t.Context(), &models.WebAuthnCredential{ID: newID("cred"), UserID: keyOnly.ID, Kind: models.CredentialSecurityKey,
			PublicKey: "pk", BackupEligible: true}))
		n, users, err := s.UsersWithOnlySyncedPasskeys(t.Context(), 100000)
		must(t, err)
		if n != before+1 {
			t.Fatalf("count %d, want %d", n, before+1)
		}
		var ids []string
		for _, u := range users {
			ids = append(ids, u.ID)
		}
		if !slices.Contains(ids, onlySynced.ID) || slices.Contains(ids, mixed.ID) || slices.Contains(ids, disabled.ID) || slices.Contains(ids, keyOnly.ID) {
			t.Fatalf("listed %v; want %s and not %s, %s, %s", ids, onlySynced.ID, mixed.ID, disabled.ID, keyOnly.ID)
		}
		if _, few, err := s.UsersWithOnlySyncedPasskeys(t.Context(), 1); err != nil || len(few) != 1 {
			t.Fatalf("limit 1 listed %d (%v)", len(few), err)
		}
	}},
	{"RecentAuthEvents", func(t *testing.T, s *store.Store) {
		base := at(time.Hour) // after anything else in a shared database
		var ids []string
		for i := range 3 {
			id := newID("event")
			ids = append(ids, id)
			recordEvent(t, s, models.AuthEvent{ID: id, At: base.Add(time.Duration(i) * time.Second), Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		}
		got, err := s.RecentAuthEvents(t.Context(), base.Add(time.Second), 10)
		must(t, err)
		if len(got) != 2 || got[0].ID != ids[2] || got[1].ID != ids[1] {
			t.Errorf("recent events = %v, want the last two newest first", got)
		}
	}},
}
