package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func createUpstreamProvider(t *testing.T, s *store.Store) *models.UpstreamProvider {
	t.Helper()
	p := &models.UpstreamProvider{ID: newID("up"), Name: "Acme", Kind: models.UpstreamOIDC, Issuer: "https://idp.example",
		ClientID: "sesame", ClientSecretSealed: "v1.sealed", Scopes: models.StringList{"openid", "email"},
		Claims: models.StringMap{"email": "mail"}, Provisioning: models.ProvisionCreate,
		GroupMap: models.StringMap{"eng": "engineers"}, Domains: models.StringList{"acme.example"}}
	must(t, s.CreateUpstreamProvider(t.Context(), p))
	return p
}

func createUpstreamFlow(t *testing.T, s *store.Store, providerID string, expiresIn time.Duration) *models.UpstreamFlow {
	t.Helper()
	f := &models.UpstreamFlow{ID: newID("uf"), StateHash: randHex(32), ProviderID: providerID, InteractionID: newID("ia"),
		BrowserHash: randHex(32), Nonce: randHex(16), VerifierSealed: "v1.x", CreatedAt: at(0), ExpiresAt: at(expiresIn)}
	must(t, s.CreateUpstreamFlow(t.Context(), f))
	return f
}

// upstreamTests: an upstream identity is one account's by (provider,
// subject); a redirect's state is used once, even by racing callbacks; a
// pending link ends once.
var upstreamTests = []subtest{
	{"ProviderRoundTrip", func(t *testing.T, s *store.Store) {
		p := createUpstreamProvider(t, s)
		got, err := s.GetUpstreamProvider(t.Context(), p.ID)
		must(t, err)
		if got.Claims["email"] != "mail" || got.GroupMap["eng"] != "engineers" || !got.Domains.Has("acme.example") || got.ClientSecretSealed != "v1.sealed" {
			t.Fatalf("read back %+v", got)
		}
		got.Name, got.Disabled, got.LocalMethods = "Acme Corp", true, true
		must(t, s.UpdateUpstreamProvider(t.Context(), got))
		again, err := s.GetUpstreamProvider(t.Context(), p.ID)
		must(t, err)
		if again.Name != "Acme Corp" || !again.Disabled || !again.LocalMethods || !again.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("after update %+v", again)
		}
		if err := s.CreateUpstreamProvider(t.Context(), &models.UpstreamProvider{ID: p.ID, Name: "x", Kind: "oidc", ClientID: "y"}); !errors.Is(err, models.ErrAlreadyExists) {
			t.Fatalf("duplicate id: %v", err)
		}
		if err := s.UpdateUpstreamProvider(t.Context(), &models.UpstreamProvider{ID: "missing"}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		list, err := s.ListUpstreamProviders(t.Context())
		must(t, err)
		found := false
		for _, q := range list {
			found = found || q.ID == p.ID
		}
		if !found {
			t.Fatal("provider not listed")
		}
	}},
	{"IdentityKeyedByProviderAndSubject", func(t *testing.T, s *store.Store) {
		p := createUpstreamProvider(t, s)
		u1, u2 := createUser(t, s), createUser(t, s)
		i := &models.UpstreamIdentity{ID: newID("ui"), ProviderID: p.ID, Subject: "sub-1", UserID: u1.ID, Email: u1.Email}
		must(t, s.CreateUpstreamIdentity(t.Context(), i))
		// The same subject of the same provider cannot belong to another account.
		dup := &models.UpstreamIdentity{ID: newID("ui"), ProviderID: p.ID, Subject: "sub-1", UserID: u2.ID}
		if err := s.CreateUpstreamIdentity(t.Context(), dup); !errors.Is(err, models.ErrAlreadyExists) {
			t.Fatalf("second link of (provider, subject): %v", err)
		}
		got, err := s.GetUpstreamIdentity(t.Context(), p.ID, "sub-1")
		must(t, err)
		if got.UserID != u1.ID {
			t.Fatalf("identity of %s, want %s", got.UserID, u1.ID)
		}
		if _, err := s.GetUpstreamIdentity(t.Context(), p.ID, "SUB-1"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("subjects are exact: %v", err)
		}
		must(t, s.TouchUpstreamIdentity(t.Context(), i.ID, at(0)))
		list, err := s.ListUserUpstreamIdentities(t.Context(), u1.ID)
		must(t, err)
		if len(list) != 1 || list[0].LastUsedAt == nil {
			t.Fatalf("list %+v", list)
		}
		if err := s.DeleteUpstreamIdentity(t.Context(), u2.ID, i.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another user's unlink: %v", err)
		}
		must(t, s.DeleteUpstreamIdentity(t.Context(), u1.ID, i.ID))
		if list, _ := s.ListUserUpstreamIdentities(t.Context(), u1.ID); len(list) != 0 {
			t.Fatalf("still linked: %+v", list)
		}
	}},
	{"DeleteProviderCascades", func(t *testing.T, s *store.Store) {
		p := createUpstreamProvider(t, s)
		u := createUser(t, s)
		must(t, s.CreateUpstreamIdentity(t.Context(), &models.UpstreamIdentity{ID: newID("ui"), ProviderID: p.ID, Subject: "s", UserID: u.ID}))
		createUpstreamFlow(t, s, p.ID, time.Minute)
		must(t, s.DeleteUpstreamProvider(t.Context(), p.ID))
		if list, _ := s.ListUserUpstreamIdentities(t.Context(), u.ID); len(list) != 0 {
			t.Fatalf("identities left: %+v", list)
		}
		if err := s.DeleteUpstreamProvider(t.Context(), p.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	}},
	// RFC 6749 §10.12 / RFC 9700 §4.7: the state of a redirect is single
	// use, so a replayed callback finds it spent.
	{"FlowConsumedOnce", func(t *testing.T, s *store.Store) {
		p := createUpstreamProvider(t, s)
		f := createUpstreamFlow(t, s, p.ID, time.Minute)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() {
				got, err := s.ConsumeUpstreamFlow(t.Context(), f.StateHash, store.Now())
				switch {
				case err == nil:
					if got.ID != f.ID || got.Nonce != f.Nonce {
						t.Errorf("consumed %+v", got)
					}
					wins.Add(1)
				case !errors.Is(err, models.ErrConsumed):
					t.Errorf("loser: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d winners", wins.Load())
		}
		expired := createUpstreamFlow(t, s, p.ID, -time.Second)
		if _, err := s.ConsumeUpstreamFlow(t.Context(), expired.StateHash, store.Now()); !errors.Is(err, models.ErrExpired) {
			t.Fatalf("expired: %v", err)
		}
		if _, err := s.ConsumeUpstreamFlow(t.Context(), randHex(32), store.Now()); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
	}},
	{"PendingLinkEndsOnce", func(t *testing.T, s *store.Store) {
		p := createUpstreamProvider(t, s)
		u := createUser(t, s)
		f := createUpstreamFlow(t, s, p.ID, time.Minute)
		_, err := s.ConsumeUpstreamFlow(t.Context(), f.StateHash, store.Now())
		must(t, err)
		must(t, s.HoldUpstreamLink(t.Context(), f.ID, "sub-9", u.Email, "Pat", u.ID, at(10*time.Minute)))
		if _, err := s.ConsumeUpstreamFlow(t.Context(), f.StateHash, store.Now()); !errors.Is(err, models.ErrConsumed) {
			t.Fatalf("held flow consumed again: %v", err)
		}
		got, err := s.FinishUpstreamLink(t.Context(), f.ID, store.Now())
		must(t, err)
		if got.Subject != "sub-9" || got.LinkUserID != u.ID || got.Email != u.Email {
			t.Fatalf("finished %+v", got)
		}
		if _, err := s.FinishUpstreamLink(t.Context(), f.ID, store.Now()); !errors.Is(err, models.ErrNotFound) && !errors.Is(err, models.ErrConsumed) {
			t.Fatalf("finished twice: %v", err)
		}
		late := createUpstreamFlow(t, s, p.ID, time.Minute)
		_, err = s.ConsumeUpstreamFlow(t.Context(), late.StateHash, store.Now())
		must(t, err)
		must(t, s.HoldUpstreamLink(t.Context(), late.ID, "s", u.Email, "", u.ID, at(-time.Second)))
		if _, err := s.FinishUpstreamLink(t.Context(), late.ID, store.Now()); !errors.Is(err, models.ErrExpired) {
			t.Fatalf("expired link: %v", err)
		}
	}},
}
