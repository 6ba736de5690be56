package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func newKey(state string, created time.Time, expires *time.Time) *models.SigningKey {
	k := &models.SigningKey{
		KID:        newID("kid"),
		Alg:        "RS256",
		State:      state,
		PrivateJWK: "enc:" + randHex(32),
		PublicJWK:  `{"kty":"RSA","n":"` + randHex(16) + `","e":"AQAB"}`,
		CreatedAt:  created,
		ExpiresAt:  expires,
	}
	if state != models.KeyNext {
		k.ActivatedAt = ptr(created.Add(time.Minute))
	}
	if state == models.KeyRetired {
		k.RetiredAt = ptr(created.Add(time.Hour))
	}
	return k
}

func keyIDs(ks []models.SigningKey) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.KID
	}
	return out
}

var keyTests = []subtest{
	{"CreateList", func(t *testing.T, s *store.Store) {
		next := newKey(models.KeyNext, at(2*time.Second), nil)
		cur := newKey(models.KeyCurrent, at(time.Second), nil)
		retired := newKey(models.KeyRetired, at(0), ptr(at(time.Hour)))
		gone := newKey(models.KeyRetired, at(-time.Hour), ptr(at(-time.Minute)))
		for _, k := range []*models.SigningKey{cur, next, retired, gone} {
			must(t, s.CreateSigningKey(t.Context(), k))
		}
		dup := newKey(models.KeyNext, at(0), nil)
		dup.KID = cur.KID
		wantErr(t, "create key with taken kid", s.CreateSigningKey(t.Context(), dup), models.ErrAlreadyExists)

		list, err := s.ListSigningKeys(t.Context())
		must(t, err)
		// Other tests' keys may be listed too: look at ours only.
		var mine []models.SigningKey
		for _, k := range list {
			if slices.Contains([]string{next.KID, cur.KID, retired.KID, gone.KID}, k.KID) {
				mine = append(mine, k)
			}
		}
		if got, want := keyIDs(mine), []string{next.KID, cur.KID, retired.KID}; !slices.Equal(got, want) {
			t.Fatalf("listed keys = %v, want %v (unexpired, newest first)", got, want)
		}
		sameRow(t, next, &mine[0])
		sameRow(t, cur, &mine[1])
		sameRow(t, retired, &mine[2])
	}},
	{"SetStateConditional", func(t *testing.T, s *store.Store) {
		k := newKey(models.KeyNext, at(0), nil)
		must(t, s.CreateSigningKey(t.Context(), k))
		get := func() models.SigningKey {
			t.Helper()
			list, err := s.ListSigningKeys(t.Context())
			must(t, err)
			for _, l := range list {
				if l.KID == k.KID {
					return l
				}
			}
			t.Fatalf("key %s not listed", k.KID)
			return models.SigningKey{}
		}

		wantErr(t, "retire a next key as if current",
			s.SetSigningKeyState(t.Context(), k.KID, models.KeyCurrent, models.KeyRetired, at(0), ptr(at(time.Hour))),
			models.ErrNotFound)
		if got := get(); got.State != models.KeyNext || got.RetiredAt != nil {
			t.Errorf("failed transition changed the key: state %s retired %v", got.State, got.RetiredAt)
		}

		activated := at(time.Second)
		must(t, s.SetSigningKeyState(t.Context(), k.KID, models.KeyNext, models.KeyCurrent, activated, nil))
		got := get()
		if got.State != models.KeyCurrent || got.ActivatedAt == nil || !got.ActivatedAt.Equal(activated) {
			t.Errorf("after activation: state %s activated %v, want %s at %v", got.State, got.ActivatedAt, models.KeyCurrent, activated)
		}
		wantErr(t, "activate twice",
			s.SetSigningKeyState(t.Context(), k.KID, models.KeyNext, models.KeyCurrent, at(0), nil), models.ErrNotFound)

		retired, expires := at(2*time.Second), at(time.Hour)
		must(t, s.SetSigningKeyState(t.Context(), k.KID, models.KeyCurrent, models.KeyRetired, retired, &expires))
		got = get()
		if got.State != models.KeyRetired || got.RetiredAt == nil || !got.RetiredAt.Equal(retired) ||
			got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) {
			t.Errorf("after retirement: state %s retired %v expires %v", got.State, got.RetiredAt, got.ExpiresAt)
		}
		if got.ActivatedAt == nil || !got.ActivatedAt.Equal(activated) {
			t.Errorf("retirement changed ActivatedAt to %v", got.ActivatedAt)
		}

		wantErr(t, "set state of missing key",
			s.SetSigningKeyState(t.Context(), newID("kid"), models.KeyNext, models.KeyCurrent, at(0), nil), models.ErrNotFound)
	}},
	{"SetStateRace", func(t *testing.T, s *store.Store) {
		k := newKey(models.KeyNext, at(0), nil)
		must(t, s.CreateSigningKey(t.Context(), k))
		errs := race(racers, func() error {
			return s.SetSigningKeyState(t.Context(), k.KID, models.KeyNext, models.KeyCurrent, at(0), nil)
		})
		exactlyOneWins(t, errs, models.ErrNotFound)
	}},
	{"DeleteExpired", func(t *testing.T, s *store.Store) {
		expired := newKey(models.KeyRetired, at(-2*time.Hour), ptr(at(-time.Minute)))
		live := newKey(models.KeyRetired, at(-2*time.Hour), ptr(at(time.Hour)))
		// Only retired keys go, whatever their expiry says.
		oddCurrent := newKey(models.KeyCurrent, at(-2*time.Hour), ptr(at(-time.Minute)))
		for _, k := range []*models.SigningKey{expired, live, oddCurrent} {
			must(t, s.CreateSigningKey(t.Context(), k))
		}
		n, err := s.DeleteExpiredSigningKeys(t.Context())
		must(t, err)
		if n < 1 {
			t.Errorf("deleted %d keys, want at least 1", n)
		}
		// The current key is past its expiry so it is not listed; the
		// conditional update proves it still exists.
		list, err := s.ListSigningKeys(t.Context())
		must(t, err)
		ids := keyIDs(list)
		if !slices.Contains(ids, live.KID) {
			t.Error("unexpired retired key deleted")
		}
		wantErr(t, "current key after sweep",
			s.SetSigningKeyState(t.Context(), oddCurrent.KID, models.KeyCurrent, models.KeyCurrent, at(0), nil), nil)
		wantErr(t, "expired key after sweep",
			s.SetSigningKeyState(t.Context(), expired.KID, models.KeyRetired, models.KeyRetired, at(0), expired.ExpiresAt), models.ErrNotFound)
	}},
}
