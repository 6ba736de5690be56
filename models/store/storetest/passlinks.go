package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func newPasslink(userID string, expiresIn time.Duration) *models.Passlink {
	id := newID("pl")
	return &models.Passlink{
		ID:                 id,
		TokenHash:          randHex(32),
		Purpose:            models.PasslinkLogin,
		Email:              id + "@Example.test",
		EmailNormalized:    id + "@example.test",
		UserID:             userID,
		InteractionID:      newID("ia"),
		ClientID:           newID("client"),
		BrowserHash:        randHex(32),
		CodeHash:           randHex(32),
		RequesterUserAgent: "storetest/1.0",
		RequesterIP:        "192.0.2.7",
		ExpiresAt:          at(expiresIn),
	}
}

func createPasslink(t *testing.T, s *store.Store, userID string, expiresIn time.Duration) *models.Passlink {
	t.Helper()
	p := newPasslink(userID, expiresIn)
	must(t, s.CreatePasslink(t.Context(), p))
	return p
}

// passlinkTests: a passlink is single use by a conditional update
// (RowsAffected == 1 wins), its code attempts are capped even under
// concurrent guesses, and an approval is taken once.
var passlinkTests = []subtest{
	// A new link ends the pending sign-in links it replaces: the same
	// interaction's, or (without one) the same browser's for the address;
	// used, reset and other links stay as they are.
	{"Supersede", func(t *testing.T, s *store.Store) {
		now := store.Now()
		old := createPasslink(t, s, "", 10*time.Minute)
		otherIA := createPasslink(t, s, "", 10*time.Minute)
		reset := newPasslink("", 10*time.Minute)
		reset.Purpose, reset.InteractionID = models.PasslinkReset, old.InteractionID
		must(t, s.CreatePasslink(t.Context(), reset))
		next := newPasslink("", 10*time.Minute)
		next.InteractionID = old.InteractionID
		must(t, s.CreatePasslink(t.Context(), next))
		n, err := s.SupersedePasslinks(t.Context(), next, now)
		must(t, err)
		if n != 1 {
			t.Fatalf("superseded %d, want 1", n)
		}
		for _, tc := range []struct {
			p    *models.Passlink
			want string
		}{{old, models.PasslinkSuperseded}, {otherIA, ""}, {reset, ""}, {next, ""}} {
			got, err := s.GetPasslink(t.Context(), tc.p.ID)
			must(t, err)
			if got.Outcome != tc.want || (tc.want == "") != (got.UsedAt == nil) {
				t.Errorf("passlink %s: outcome %q used %v, want %q", tc.p.ID, got.Outcome, got.UsedAt, tc.want)
			}
		}
		// Without an interaction: the same browser and address only.
		a := newPasslink("", 10*time.Minute)
		a.InteractionID = ""
		must(t, s.CreatePasslink(t.Context(), a))
		b := *a
		b.ID, b.TokenHash = newID("pl"), randHex(32)
		must(t, s.CreatePasslink(t.Context(), &b))
		if n, err := s.SupersedePasslinks(t.Context(), &b, now); err != nil || n != 1 {
			t.Fatalf("superseded %d, %v; want the same browser's older link", n, err)
		}
	}},
	{"CreateGet", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		p := createPasslink(t, s, u.ID, 10*time.Minute)
		if p.CreatedAt.IsZero() {
			t.Error("CreatedAt not set")
		}
		got, err := s.GetPasslink(t.Context(), p.ID)
		must(t, err)
		sameRow(t, p, got)
		got, err = s.GetPasslinkByTokenHash(t.Context(), p.TokenHash)
		must(t, err)
		sameRow(t, p, got)
		_, err = s.GetPasslinkByTokenHash(t.Context(), randHex(32))
		wantErr(t, "unknown token hash", err, models.ErrNotFound)
		_, err = s.GetPasslink(t.Context(), newID("pl"))
		wantErr(t, "unknown id", err, models.ErrNotFound)
	}},
	{"TokenHashUnique", func(t *testing.T, s *store.Store) {
		p := createPasslink(t, s, "", time.Minute)
		q := newPasslink("", time.Minute)
		q.TokenHash = p.TokenHash
		wantErr(t, "second link with the same token hash", s.CreatePasslink(t.Context(), q), models.ErrAlreadyExists)
	}},
	{"UseOnce", func(t *testing.T, s *store.Store) {
		p := createPasslink(t, s, "", 10*time.Minute)
		now := store.Now()
		must(t, s.UsePasslink(t.Context(), p.ID, models.PasslinkSignedIn, now))
		wantErr(t, "replay", s.UsePasslink(t.Context(), p.ID, models.PasslinkSignedIn, now), models.ErrConsumed)
		got, err := s.GetPasslink(t.Context(), p.ID)
		must(t, err)
		if got.Outcome != models.PasslinkSignedIn || got.UsedAt == nil || !got.UsedAt.Equal(now) {
			t.Errorf("after use: outcome %q used_at %v", got.Outcome, got.UsedAt)
		}
		wantErr(t, "unknown", s.UsePasslink(t.Context(), newID("pl"), models.PasslinkSignedIn, now), models.ErrNotFound)
	}},
	{"UseExpired", func(t *testing.T, s *store.Store) {
		p := createPasslink(t, s, "", -time.Second)
		wantErr(t, "expired", s.UsePasslink(t.Context(), p.ID, models.PasslinkSignedIn, store.Now()), models.ErrExpired)
		// Expiry is judged by the caller's clock.
		q := createPasslink(t, s, "", time.Minute)
		wantErr(t, "expired by the clock", s.UsePasslink(t.Context(), q.ID, models.PasslinkApproved, at(2*time.Minute)), models.ErrExpired)
	}},
	{"UseRace", func(t *testing.T, s *store.Store) {
		p := createPasslink(t, s, "", 10*time.Minute)
		errs := race(racers, func() error {
			return s.UsePasslink(t.Context(), p.ID, models.PasslinkSignedIn, store.Now())
		})
		exactlyOneWins(t, errs, models.ErrConsumed)
	}},
	{"AttemptsCapped", func(t *testing.T, s *store.Store) {
		p := createPasslink(t, s, "", 10*time.Minute)
		for want := 1; want <= 5; want++ {
			n, err := s.SpendPasslinkAttempt(t.Context(), p.ID, 5, store.Now())
			must(t, err)
			if n != want {
				t.Fatalf("attempt %d counted as %d", want, n)
			}
		}
		_, err := s.SpendPasslinkAttempt(t.Context(), p.ID, 5, store.Now())
		wantErr(t, "sixth attempt", err, models.ErrConsumed)

		used := createPasslink(t, s, "", 10*time.Minute)
		must(t, s.UsePasslink(t.Context(), used.ID, models.PasslinkDenied, store.Now()))
		_, err = s.SpendPasslinkAttempt(t.Context(), used.ID, 5, store.Now())
		wantErr(t, "attempt on a used link", err, models.ErrConsumed)

		old := createPasslink(t, s, "", -time.Second)
		_, err = s.SpendPasslinkAttempt(t.Context(), old.ID, 5, store.Now())
		wantErr(t, "attempt on an expired link", err, models.ErrExpired)
	}},
	{"AttemptsCappedUnderRace", func(t *testing.T, s *store.Store) {
		p := createPasslink(t, s, "", 10*time.Minute)
		errs := race(racers, func() error {
			_, err := s.SpendPasslinkAttempt(t.Context(), p.ID, 5, store.Now())
			return err
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, models.ErrConsumed):
				t.Errorf("racer: %v", err)
			}
		}
		got, err := s.GetPasslink(t.Context(), p.ID)
		must(t, err)
		if ok != 5 || got.CodeAttempts != 5 {
			t.Errorf("%d racers spent an attempt, %d stored; want 5 and 5", ok, got.CodeAttempts)
		}
	}},
	{"CompleteOnce", func(t *testing.T, s *store.Store) {
		p := createPasslink(t, s, "", 10*time.Minute)
		now := store.Now()
		wantErr(t, "complete a pending link", s.CompletePasslink(t.Context(), p.ID, now.Add(-time.Minute), now), models.ErrConsumed)
		must(t, s.UsePasslink(t.Context(), p.ID, models.PasslinkApproved, now))
		errs := race(racers, func() error {
			return s.CompletePasslink(t.Context(), p.ID, now.Add(-time.Minute), store.Now())
		})
		exactlyOneWins(t, errs, models.ErrConsumed)

		late := createPasslink(t, s, "", 10*time.Minute)
		must(t, s.UsePasslink(t.Context(), late.ID, models.PasslinkApproved, now))
		wantErr(t, "complete a stale approval", s.CompletePasslink(t.Context(), late.ID, now.Add(time.Second), now.Add(time.Minute)), models.ErrExpired)

		denied := createPasslink(t, s, "", 10*time.Minute)
		must(t, s.UsePasslink(t.Context(), denied.ID, models.PasslinkDenied, now))
		wantErr(t, "complete a denied link", s.CompletePasslink(t.Context(), denied.ID, now.Add(-time.Minute), now), models.ErrConsumed)
		wantErr(t, "complete unknown", s.CompletePasslink(t.Context(), newID("pl"), now, now), models.ErrNotFound)
	}},
	{"SetUserAndVerify", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		p := createPasslink(t, s, "", 10*time.Minute)
		must(t, s.SetPasslinkUser(t.Context(), p.ID, u.ID))
		got, err := s.GetPasslink(t.Context(), p.ID)
		must(t, err)
		if got.UserID != u.ID {
			t.Errorf("user %q, want %q", got.UserID, u.ID)
		}
		proof, err := s.ProveUserEmail(t.Context(), u.ID)
		must(t, err)
		gu, err := s.GetUser(t.Context(), u.ID)
		must(t, err)
		if !gu.EmailVerified || !proof.FirstProof || proof.Removed() {
			t.Errorf("verified %v, proof %+v; want verified, a first proof that removed nothing", gu.EmailVerified, proof)
		}
		_, err = s.ProveUserEmail(t.Context(), newID("user"))
		wantErr(t, "verify unknown user", err, models.ErrNotFound)
	}},
	// Account pre-hijacking: what an account held before its address was
	// ever proven goes at the first proof; later proofs remove nothing.
	{"FirstAddressProofEndsEarlierCredentials", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, other := createUser(t, s), createUser(t, s)
		c := createClient(t, s)
		for _, owner := range []string{u.ID, u.ID, other.ID} {
			must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: owner, Kind: models.CredentialPasskey, PublicKey: "pk"}))
		}
		must(t, s.SetUserPassword(ctx, u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"))
		ls := createLoginSession(t, s, u.ID, time.Hour)
		_, access, refresh := grantTokens(t, s, c.ID, u.ID, ls.ID)
		must(t, s.SaveConsent(ctx, &models.Consent{UserID: u.ID, ClientID: c.ID, Scopes: models.StringList{"openid"}}))

		proof, err := s.ProveUserEmail(ctx, u.ID)
		must(t, err)
		want := models.AddressProof{FirstProof: true, Credentials: 2, Password: true, Sessions: 1}
		if *proof != want {
			t.Errorf("proof %+v, want %+v", *proof, want)
		}
		creds, err := s.ListUserCredentials(ctx, u.ID)
		must(t, err)
		if len(creds) != 0 {
			t.Errorf("%d credentials left, want 0", len(creds))
		}
		_, err = s.GetUserPassword(ctx, u.ID)
		wantErr(t, "password after proof", err, models.ErrNotFound)
		_, err = s.GetLoginSession(ctx, ls.ID)
		wantErr(t, "login session after the first proof", err, models.ErrNotFound)
		wantRequests(t, s, false, access, refresh)
		_, err = s.GetConsent(ctx, u.ID, c.ID)
		wantErr(t, "consent after proof", err, models.ErrNotFound)
		if oc, err := s.ListUserCredentials(ctx, other.ID); err != nil || len(oc) != 1 {
			t.Errorf("another user's credentials: %d, %v; want 1 untouched", len(oc), err)
		}

		// Made after the proof: kept by every later proof.
		must(t, s.CreateCredential(ctx, &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: models.CredentialPasskey, PublicKey: "pk"}))
		again, err := s.ProveUserEmail(ctx, u.ID)
		must(t, err)
		if again.FirstProof || again.Removed() {
			t.Errorf("second proof %+v, want nothing removed", *again)
		}
		if creds, _ := s.ListUserCredentials(ctx, u.ID); len(creds) != 1 {
			t.Errorf("%d credentials after a second proof, want 1", len(creds))
		}
	}},
	{"Sweep", func(t *testing.T, s *store.Store) {
		dead := createPasslink(t, s, "", -time.Hour)
		live := createPasslink(t, s, "", time.Hour)
		_, err := s.SweepExpired(t.Context(), 10*time.Minute)
		must(t, err)
		_, err = s.GetPasslink(t.Context(), dead.ID)
		wantErr(t, "swept passlink", err, models.ErrNotFound)
		_, err = s.GetPasslink(t.Context(), live.ID)
		wantErr(t, "live passlink", err, nil)
	}},
}
