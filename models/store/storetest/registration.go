package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func createInitialAccessToken(t *testing.T, s *store.Store, maxUses int, expiresIn time.Duration) *models.InitialAccessToken {
	t.Helper()
	tok := &models.InitialAccessToken{ID: newID("iat"), TokenHash: randHex(32), Label: "storetest", CreatedBy: "cli:test",
		MaxUses: maxUses, ExpiresAt: at(expiresIn), CreatedAt: store.Now()}
	must(t, s.CreateInitialAccessToken(t.Context(), tok))
	return tok
}

// initialAccessTokenTests: an initial access token (RFC 7591 §3) is found
// by its hash, spent one use per registration by a conditional update
// (never more uses than it has, however many registrations race), and
// stops working when expired or revoked; a registration access token
// (RFC 7592) rotates only from the value presented.
var initialAccessTokenTests = []subtest{
	{"CreateLookUpList", func(t *testing.T, s *store.Store) {
		tok := createInitialAccessToken(t, s, 3, time.Hour)
		got, err := s.InitialAccessTokenByHash(t.Context(), tok.TokenHash)
		must(t, err)
		sameRow(t, tok, got)
		_, err = s.InitialAccessTokenByHash(t.Context(), randHex(32))
		wantErr(t, "unknown hash", err, models.ErrNotFound)
		dup := &models.InitialAccessToken{ID: newID("iat"), TokenHash: tok.TokenHash, MaxUses: 1, ExpiresAt: at(time.Hour), CreatedAt: store.Now()}
		wantErr(t, "duplicate hash", s.CreateInitialAccessToken(t.Context(), dup), models.ErrAlreadyExists)
		list, err := s.ListInitialAccessTokens(t.Context())
		must(t, err)
		found := false
		for _, l := range list {
			found = found || l.ID == tok.ID
		}
		if !found {
			t.Fatalf("list lacks %s", tok.ID)
		}
	}},
	{"ConsumeUntilUsedUp", func(t *testing.T, s *store.Store) {
		tok := createInitialAccessToken(t, s, 2, time.Hour)
		must(t, s.ConsumeInitialAccessToken(t.Context(), tok.ID, store.Now()))
		must(t, s.ConsumeInitialAccessToken(t.Context(), tok.ID, store.Now()))
		wantErr(t, "third use of a two-use token", s.ConsumeInitialAccessToken(t.Context(), tok.ID, store.Now()), models.ErrConsumed)
		got, err := s.GetInitialAccessToken(t.Context(), tok.ID)
		must(t, err)
		if got.Uses != 2 || got.LastUsedAt == nil || got.Usable(store.Now()) || got.State(store.Now()) != "used up" {
			t.Fatalf("after two uses: %+v (state %s)", got, got.State(store.Now()))
		}
		wantErr(t, "unknown token", s.ConsumeInitialAccessToken(t.Context(), newID("iat"), store.Now()), models.ErrNotFound)
	}},
	{"ConsumeRaceSpendsEachUseOnce", func(t *testing.T, s *store.Store) {
		tok := createInitialAccessToken(t, s, 3, time.Hour)
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.ConsumeInitialAccessToken(t.Context(), tok.ID, store.Now()) == nil {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 3 {
			t.Fatalf("%d of %d racing registrations spent a use of a 3-use token, want 3", ok.Load(), racers)
		}
	}},
	{"ExpiredAndRevokedRefused", func(t *testing.T, s *store.Store) {
		old := createInitialAccessToken(t, s, 5, time.Minute)
		wantErr(t, "expired token", s.ConsumeInitialAccessToken(t.Context(), old.ID, at(2*time.Minute)), models.ErrConsumed)
		tok := createInitialAccessToken(t, s, 5, time.Hour)
		must(t, s.RevokeInitialAccessToken(t.Context(), tok.ID, store.Now()))
		first, err := s.GetInitialAccessToken(t.Context(), tok.ID)
		must(t, err)
		must(t, s.RevokeInitialAccessToken(t.Context(), tok.ID, at(time.Minute))) // idempotent
		again, err := s.GetInitialAccessToken(t.Context(), tok.ID)
		must(t, err)
		if first.RevokedAt == nil || !again.RevokedAt.Equal(*first.RevokedAt) || again.State(store.Now()) != "revoked" {
			t.Fatalf("revoked at %v then %v, state %s", first.RevokedAt, again.RevokedAt, again.State(store.Now()))
		}
		wantErr(t, "revoked token", s.ConsumeInitialAccessToken(t.Context(), tok.ID, store.Now()), models.ErrConsumed)
		wantErr(t, "revoke unknown", s.RevokeInitialAccessToken(t.Context(), newID("iat"), store.Now()), models.ErrNotFound)
	}},
	{"DynamicClientFieldsAndTokenRotation", func(t *testing.T, s *store.Store) {
		c := newClient()
		c.Dynamic, c.InitialAccessTokenID, c.RegisteredIP = true, newID("iat"), "192.0.2.7"
		c.ClientURI, c.PolicyURI, c.TOSURI = "https://app.example", "https://app.example/privacy", "https://app.example/terms"
		c.Contacts = models.StringList{"dev@app.example"}
		c.RegistrationTokenHash = randHex(32)
		must(t, s.CreateClient(t.Context(), c))
		got, err := s.GetClient(t.Context(), c.ID)
		must(t, err)
		sameRow(t, c, got)
		next := randHex(32)
		wantErr(t, "rotate from a wrong token", s.ReplaceRegistrationToken(t.Context(), c.ID, randHex(32), next), models.ErrConsumed)
		wantErr(t, "rotate from none", s.ReplaceRegistrationToken(t.Context(), c.ID, "", next), models.ErrConsumed)
		must(t, s.ReplaceRegistrationToken(t.Context(), c.ID, c.RegistrationTokenHash, next))
		wantErr(t, "rotate twice from the same token", s.ReplaceRegistrationToken(t.Context(), c.ID, c.RegistrationTokenHash, randHex(32)), models.ErrConsumed)
		got, err = s.GetClient(t.Context(), c.ID)
		must(t, err)
		if got.RegistrationTokenHash != next {
			t.Fatalf("hash after rotation %q, want %q", got.RegistrationTokenHash, next)
		}
	}},
	{"SweepUnusableAfterRetention", func(t *testing.T, s *store.Store) {
		// Each state twice: unusable for longer than the retention (swept)
		// and for less (kept); an active token is always kept.
		long, short := -store.InitialTokenRetention-time.Hour, -store.InitialTokenRetention+time.Hour
		mk := func(mut func(tok *models.InitialAccessToken)) string {
			tok := &models.InitialAccessToken{ID: newID("iat"), TokenHash: randHex(32), Label: "sweep", MaxUses: 2,
				ExpiresAt: at(time.Hour), CreatedAt: at(2 * long)}
			mut(tok)
			must(t, s.CreateInitialAccessToken(t.Context(), tok))
			return tok.ID
		}
		ptr := func(d time.Duration) *time.Time { v := at(d); return &v }
		swept := []string{
			mk(func(tok *models.InitialAccessToken) { tok.ExpiresAt = at(long) }),
			mk(func(tok *models.InitialAccessToken) { tok.RevokedAt = ptr(long) }),
			mk(func(tok *models.InitialAccessToken) { tok.Uses, tok.LastUsedAt = 2, ptr(long) }),
		}
		kept := []string{
			mk(func(tok *models.InitialAccessToken) {}),
			mk(func(tok *models.InitialAccessToken) { tok.ExpiresAt = at(short) }),
			mk(func(tok *models.InitialAccessToken) { tok.RevokedAt = ptr(short) }),
			mk(func(tok *models.InitialAccessToken) { tok.Uses, tok.LastUsedAt = 2, ptr(short) }),
			// Used once of two, long ago, still unexpired: still usable.
			mk(func(tok *models.InitialAccessToken) { tok.Uses, tok.LastUsedAt = 1, ptr(long) }),
		}
		n, err := s.SweepExpired(t.Context(), 0)
		must(t, err)
		if n < int64(len(swept)) {
			t.Errorf("swept %d rows, want at least %d", n, len(swept))
		}
		for _, id := range swept {
			_, err := s.GetInitialAccessToken(t.Context(), id)
			wantErr(t, "token unusable beyond the retention", err, models.ErrNotFound)
		}
		for _, id := range kept {
			if _, err := s.GetInitialAccessToken(t.Context(), id); err != nil {
				t.Errorf("token %s swept too early: %v", id, err)
			}
		}
	}},
}
