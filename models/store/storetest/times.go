package storetest

import (
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Zones far from UTC on both sides, with an odd offset, so a timestamp
// written or compared in local time instead of UTC cannot pass by luck.
var (
	east = time.FixedZone("UTC+10:30", 10*3600+30*60)
	west = time.FixedZone("UTC-08:00", -8*3600)
)

var timeTests = []subtest{
	{"NowIsUTCMicroseconds", func(t *testing.T, s *store.Store) {
		now := store.Now()
		if now.Location() != time.UTC || now.Nanosecond()%1000 != 0 {
			t.Errorf("store.Now() = %s, want UTC with microsecond precision", now.Format(time.RFC3339Nano))
		}
	}},
	{"RoundTripUTCMicroseconds", func(t *testing.T, s *store.Store) {
		created := time.Date(2031, 7, 14, 23, 59, 58, 123456000, east)
		u := &models.User{ID: newID("user"), CreatedAt: created, UpdatedAt: created.In(west)}
		u.Email = u.ID + "@example.test"
		must(t, s.CreateUser(t.Context(), u))
		got, err := s.GetUser(t.Context(), u.ID)
		must(t, err)
		sameTime(t, "CreatedAt", created, got.CreatedAt)
		sameTime(t, "UpdatedAt", created, got.UpdatedAt)
		if got.CreatedAt.Nanosecond() != 123456000 {
			t.Errorf("CreatedAt fraction = %dns, want 123456000", got.CreatedAt.Nanosecond())
		}
	}},
	{"SubMicrosecondsTruncated", func(t *testing.T, s *store.Store) {
		// Both dialects keep microseconds; finer digits are cut the same way
		// on both (not rounded by one and kept by the other).
		u := createUser(t, s)
		auth := time.Date(2030, 1, 2, 3, 4, 5, 999999999, west)
		ls := newLoginSession(u.ID, time.Hour)
		ls.AuthTime = auth
		must(t, s.CreateLoginSession(t.Context(), ls))
		got, err := s.GetLoginSession(t.Context(), ls.ID)
		must(t, err)
		sameTime(t, "AuthTime", auth.Truncate(time.Microsecond), got.AuthTime)
	}},
	{"ExpiryComparedAsInstants", func(t *testing.T, s *store.Store) {
		// Expiries given in non-UTC zones must compare as instants with the
		// store's UTC clock.
		u := createUser(t, s)
		live := newLoginSession(u.ID, 0)
		live.ExpiresAt = time.Now().Add(2 * time.Minute).In(west).Truncate(time.Microsecond)
		dead := newLoginSession(u.ID, 0)
		dead.ExpiresAt = time.Now().Add(-2 * time.Minute).In(east).Truncate(time.Microsecond)
		must(t, s.CreateLoginSession(t.Context(), live))
		must(t, s.CreateLoginSession(t.Context(), dead))
		_, err := s.GetLoginSessionByTokenHash(t.Context(), live.TokenHash)
		wantErr(t, "session expiring in 2 minutes (given in UTC-8)", err, nil)
		_, err = s.GetLoginSessionByTokenHash(t.Context(), dead.TokenHash)
		wantErr(t, "session expired 2 minutes ago (given in UTC+10:30)", err, models.ErrNotFound)

		jti := newID("jti")
		must(t, s.MarkJTIUsed(t.Context(), jti, time.Now().Add(2*time.Minute).In(west)))
		if used, err := s.JTIUsed(t.Context(), jti); err != nil || !used {
			t.Errorf("jti expiring in 2 minutes (given in UTC-8): used %v, err %v", used, err)
		}

		seen := time.Now().Add(time.Minute).In(east).Truncate(time.Microsecond)
		must(t, s.TouchLoginSession(t.Context(), live.ID, seen))
		got, err := s.GetLoginSession(t.Context(), live.ID)
		must(t, err)
		sameTime(t, "LastSeenAt", seen, got.LastSeenAt)
	}},
}
