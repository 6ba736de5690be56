package storetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func newDeviceCode(interval int, expiresIn time.Duration) *models.DeviceCode {
	return &models.DeviceCode{
		ID:             newID("dc"),
		DeviceCodeHash: randHex(32),
		UserCodeHash:   randHex(32),
		ClientID:       newID("client"),
		Scopes:         models.StringList{"openid", "offline_access"},
		Resources:      models.StringList{"https://api.example.com/orders"},
		Status:         models.DevicePending,
		PollInterval:   interval,
		UserAgent:      "storetest-tv/1.0",
		IP:             "192.0.2.8",
		CreatedAt:      store.Now(),
		ExpiresAt:      at(expiresIn),
	}
}

func createDeviceCode(t *testing.T, s *store.Store, interval int, expiresIn time.Duration) *models.DeviceCode {
	t.Helper()
	d := newDeviceCode(interval, expiresIn)
	must(t, s.CreateDeviceCode(t.Context(), d))
	return d
}

// deviceTests: a device authorization (RFC 8628) is decided once and
// redeemed once, by conditional updates; its poll pace (§3.5) is kept on
// the row, so it holds on every replica, and concurrent polls cannot both
// pass.
var deviceTests = []subtest{
	{"CreateAndLookUp", func(t *testing.T, s *store.Store) {
		d := createDeviceCode(t, s, 5, 10*time.Minute)
		got, err := s.GetDeviceCode(t.Context(), d.ID)
		must(t, err)
		sameRow(t, d, got)
		got, err = s.GetDeviceCodeByUserCode(t.Context(), d.UserCodeHash)
		must(t, err)
		sameRow(t, d, got)
		_, err = s.GetDeviceCodeByUserCode(t.Context(), randHex(32))
		wantErr(t, "unknown user code", err, models.ErrNotFound)
		_, _, err = s.PollDeviceCode(t.Context(), randHex(32), 0, store.Now())
		wantErr(t, "unknown device code", err, models.ErrNotFound)
		// A user code drawn twice is refused, so the caller draws again.
		dup := newDeviceCode(5, 10*time.Minute)
		dup.UserCodeHash = d.UserCodeHash
		wantErr(t, "duplicate user code", s.CreateDeviceCode(t.Context(), dup), models.ErrAlreadyExists)
	}},
	{"PollPace", func(t *testing.T, s *store.Store) {
		d := createDeviceCode(t, s, 5, 10*time.Minute)
		got, slow, err := s.PollDeviceCode(t.Context(), d.DeviceCodeHash, time.Second, store.Now())
		must(t, err)
		if slow || got.Status != models.DevicePending {
			t.Fatalf("first poll: slow_down %v, status %s", slow, got.Status)
		}
		// At once again: too fast; the interval grows by 5 s and stays.
		got, slow, err = s.PollDeviceCode(t.Context(), d.DeviceCodeHash, time.Second, store.Now())
		must(t, err)
		if !slow || got.PollInterval != 10 {
			t.Fatalf("second poll: slow_down %v, interval %d, want true, 10", slow, got.PollInterval)
		}
		row, err := s.GetDeviceCode(t.Context(), d.ID)
		must(t, err)
		if row.PollInterval != 10 || row.LastPolledAt == nil {
			t.Fatalf("stored interval %d, last poll %v", row.PollInterval, row.LastPolledAt)
		}
		// A pace kept passes: interval 1 s less 0.4 s slack, polled 0.7 s apart.
		e := createDeviceCode(t, s, 1, 10*time.Minute)
		for i := range 3 {
			_, slow, err := s.PollDeviceCode(t.Context(), e.DeviceCodeHash, 400*time.Millisecond, store.Now())
			must(t, err)
			if slow {
				t.Fatalf("poll %d at the pace: slow_down", i)
			}
			time.Sleep(700 * time.Millisecond)
		}
	}},
	{"ConcurrentPollsOneSlowedDown", func(t *testing.T, s *store.Store) {
		d := createDeviceCode(t, s, 5, 10*time.Minute)
		var passed atomic.Int32
		errs := race(racers, func() error {
			_, slow, err := s.PollDeviceCode(t.Context(), d.DeviceCodeHash, time.Second, store.Now())
			if err == nil && !slow {
				passed.Add(1)
			}
			return err
		})
		for _, err := range errs {
			must(t, err)
		}
		if passed.Load() != 1 {
			t.Fatalf("%d of %d concurrent polls passed, want exactly 1", passed.Load(), racers)
		}
	}},
	{"DecideOnce", func(t *testing.T, s *store.Store) {
		d := createDeviceCode(t, s, 5, 10*time.Minute)
		errs := race(racers, func() error {
			return s.DecideDeviceCode(t.Context(), d.ID, models.DeviceApproved, "user-1", `{"x":1}`, store.Now())
		})
		exactlyOneWins(t, errs, models.ErrConsumed)
		wantErr(t, "deny after approval", s.DecideDeviceCode(t.Context(), d.ID, models.DeviceDenied, "user-2", "", store.Now()), models.ErrConsumed)
		got, err := s.GetDeviceCode(t.Context(), d.ID)
		must(t, err)
		if got.Status != models.DeviceApproved || got.Subject != "user-1" || got.Grant != `{"x":1}` || got.DecidedAt == nil {
			t.Fatalf("after approval: %+v", got)
		}
		// A decided code is answered at any pace: no slow_down, no write.
		for range 2 {
			p, slow, err := s.PollDeviceCode(t.Context(), d.DeviceCodeHash, 0, store.Now())
			must(t, err)
			if slow || p.Status != models.DeviceApproved {
				t.Fatalf("poll of an approved code: slow_down %v, status %s", slow, p.Status)
			}
		}
		// Denial is final too.
		e := createDeviceCode(t, s, 5, 10*time.Minute)
		must(t, s.DecideDeviceCode(t.Context(), e.ID, models.DeviceDenied, "user-1", "", store.Now()))
		wantErr(t, "approve after denial", s.DecideDeviceCode(t.Context(), e.ID, models.DeviceApproved, "user-1", "{}", store.Now()), models.ErrConsumed)
		wantErr(t, "consume a denied code", s.ConsumeDeviceCode(t.Context(), e.ID), models.ErrConsumed)
		// Expired and unknown codes.
		old := createDeviceCode(t, s, 5, -time.Second)
		wantErr(t, "approve expired", s.DecideDeviceCode(t.Context(), old.ID, models.DeviceApproved, "user-1", "{}", store.Now()), models.ErrExpired)
		wantErr(t, "approve unknown", s.DecideDeviceCode(t.Context(), "dc-missing", models.DeviceApproved, "user-1", "{}", store.Now()), models.ErrNotFound)
		if err := s.DecideDeviceCode(t.Context(), d.ID, models.DeviceConsumed, "user-1", "", store.Now()); err == nil {
			t.Fatal("a decision other than approved or denied was accepted")
		}
	}},
	{"ConsumeOnce", func(t *testing.T, s *store.Store) {
		d := createDeviceCode(t, s, 5, 10*time.Minute)
		wantErr(t, "consume a pending code", s.ConsumeDeviceCode(t.Context(), d.ID), models.ErrConsumed)
		must(t, s.DecideDeviceCode(t.Context(), d.ID, models.DeviceApproved, "user-1", "{}", store.Now()))
		exactlyOneWins(t, race(racers, func() error { return s.ConsumeDeviceCode(t.Context(), d.ID) }), models.ErrConsumed)
		got, err := s.GetDeviceCode(t.Context(), d.ID)
		must(t, err)
		if got.Status != models.DeviceConsumed {
			t.Fatalf("status %s, want consumed", got.Status)
		}
	}},
	{"Swept", func(t *testing.T, s *store.Store) {
		old := createDeviceCode(t, s, 5, -time.Hour)
		live := createDeviceCode(t, s, 5, time.Hour)
		_, err := s.SweepExpired(t.Context(), 0)
		must(t, err)
		_, err = s.GetDeviceCode(t.Context(), old.ID)
		wantErr(t, "expired code after sweep", err, models.ErrNotFound)
		_, err = s.GetDeviceCode(t.Context(), live.ID)
		must(t, err)
	}},
}
