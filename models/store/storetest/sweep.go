package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var sweepTests = []subtest{
	{"RemovesOnlyExpired", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		clientID := newID("client")

		deadReq := newRequest(models.KindAccessToken, newID("req"), clientID, u.ID, "")
		deadReq.ExpiresAt = at(-time.Hour)
		graceReq := newRequest(models.KindRefreshToken, newID("req"), clientID, u.ID, "")
		graceReq.ExpiresAt = at(-time.Minute) // within the grace below
		liveReq := newRequest(models.KindAccessToken, newID("req"), clientID, u.ID, "")
		for _, r := range []*models.OAuth2Request{deadReq, graceReq, liveReq} {
			must(t, s.CreateOAuth2Request(t.Context(), r))
		}

		deadJTI, liveJTI := newID("jti"), newID("jti")
		must(t, s.MarkJTIUsed(t.Context(), deadJTI, at(-time.Minute)))
		must(t, s.MarkJTIUsed(t.Context(), liveJTI, at(time.Hour)))

		deadIn := createInteraction(t, s, clientID, -time.Hour)
		liveIn := createInteraction(t, s, clientID, time.Hour)
		deadLS := createLoginSession(t, s, u.ID, -time.Hour)
		liveLS := createLoginSession(t, s, u.ID, time.Hour)

		deadKey := newKey(models.KeyRetired, at(-48*time.Hour), ptr(at(-time.Minute)))
		liveKey := newKey(models.KeyRetired, at(-48*time.Hour), ptr(at(time.Hour)))
		curKey := newKey(models.KeyCurrent, at(-48*time.Hour), nil)
		for _, k := range []*models.SigningKey{deadKey, liveKey, curKey} {
			must(t, s.CreateSigningKey(t.Context(), k))
		}

		n, err := s.SweepExpired(t.Context(), 10*time.Minute)
		must(t, err)
		// A shared database may hold other expired rows: at least ours.
		if n < 4 {
			t.Errorf("swept %d rows, want at least 4", n)
		}

		wantRequests(t, s, false, deadReq)
		wantRequests(t, s, true, graceReq, liveReq)
		// An expired jti is a leftover (it may be reused); a live one stays.
		must(t, s.MarkJTIUsed(t.Context(), deadJTI, at(time.Hour)))
		if used, err := s.JTIUsed(t.Context(), liveJTI); err != nil || !used {
			t.Errorf("live jti swept (used %v, err %v)", used, err)
		}

		_, err = s.GetInteraction(t.Context(), deadIn.ID)
		wantErr(t, "swept interaction", err, models.ErrNotFound)
		_, err = s.GetInteraction(t.Context(), liveIn.ID)
		wantErr(t, "live interaction", err, nil)

		// An expired session is never returned; a revoke proves it is gone.
		wantErr(t, "revoke swept login session", s.RevokeLoginSession(t.Context(), deadLS.ID), models.ErrNotFound)
		_, err = s.GetLoginSession(t.Context(), liveLS.ID)
		wantErr(t, "live login session", err, nil)

		wantErr(t, "swept key", s.SetSigningKeyState(t.Context(), deadKey.KID, models.KeyRetired, models.KeyRetired, at(0), deadKey.ExpiresAt), models.ErrNotFound)
		list, err := s.ListSigningKeys(t.Context())
		must(t, err)
		for _, k := range []*models.SigningKey{liveKey, curKey} {
			if !slices.Contains(keyIDs(list), k.KID) {
				t.Errorf("%s key %s swept", k.State, k.KID)
			}
		}

		// Without grace the recently expired record goes too.
		_, err = s.SweepExpired(t.Context(), 0)
		must(t, err)
		wantRequests(t, s, false, graceReq)
		wantRequests(t, s, true, liveReq)
	}},
	{"RollupRetention", func(t *testing.T, s *store.Store) {
		// Per-minute counters live 2 days, per-hour 90, per-day for good;
		// user_days 400 days. Each event is counted in all three rollups.
		client := newID("client")
		u := createUser(t, s)
		now := store.Now()
		ages := []time.Duration{time.Hour, 3 * 24 * time.Hour, 100 * 24 * time.Hour, 500 * 24 * time.Hour}
		for _, age := range ages {
			recordEvent(t, s, models.AuthEvent{At: now.Add(-age), UserID: u.ID, ClientID: client,
				Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		}
		_, err := s.SweepExpired(t.Context(), 0)
		must(t, err)

		count := func(grain time.Duration) int64 {
			rows, err := s.CountAuthEvents(t.Context(), store.CountQuery{Grain: grain,
				From: now.Add(-600 * 24 * time.Hour), To: now.Add(24 * time.Hour), By: []string{"client_id"}})
			must(t, err)
			var n int64
			for _, r := range rows {
				if r.ClientID == client {
					n += r.Total
				}
			}
			return n
		}
		for _, c := range []struct {
			name  string
			grain time.Duration
			want  int64
		}{{"minute", time.Minute, 1}, {"hour", time.Hour, 2}, {"day", 24 * time.Hour, 4}} {
			if got := count(c.grain); got != c.want {
				t.Errorf("%s rollups after sweep count %d events, want %d", c.name, got, c.want)
			}
		}
		perDay, err := s.ActiveUsersPerDay(t.Context(), now.Add(-600*24*time.Hour), now.Add(24*time.Hour))
		must(t, err)
		if old := now.Add(-500 * 24 * time.Hour).Truncate(24 * time.Hour); perDay[old] != 0 {
			t.Errorf("user day 500 days ago kept (%d active), want swept", perDay[old])
		}
		if recent := now.Add(-100 * 24 * time.Hour).Truncate(24 * time.Hour); perDay[recent] < 1 {
			t.Errorf("user day 100 days ago swept, want kept")
		}
	}},
	{"OnceConcurrently", func(t *testing.T, s *store.Store) {
		// Replicas sweeping at once: none fails, and the rows are gone.
		dead := createInteraction(t, s, newID("client"), -time.Hour)
		live := createInteraction(t, s, dead.ClientID, time.Hour)
		errs := race(4, func() error {
			_, err := s.SweepExpiredOnce(t.Context(), 0, store.Retention{})
			return err
		})
		for _, err := range errs {
			must(t, err)
		}
		// The PostgreSQL advisory lock is database-wide: another test's
		// janitor on a shared database may have held it, so retry briefly.
		_, err := s.GetInteraction(t.Context(), dead.ID)
		for i := 0; i < 50 && !errors.Is(err, models.ErrNotFound); i++ {
			time.Sleep(20 * time.Millisecond)
			_, err = s.SweepExpiredOnce(t.Context(), 0, store.Retention{})
			must(t, err)
			_, err = s.GetInteraction(t.Context(), dead.ID)
		}
		wantErr(t, "swept interaction", err, models.ErrNotFound)
		_, err = s.GetInteraction(t.Context(), live.ID)
		wantErr(t, "live interaction", err, nil)
	}},
}
