package storetest

import (
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var clientTests = []subtest{
	{"CreateGet", func(t *testing.T, s *store.Store) {
		c := newClient()
		c.JWKS = `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`
		c.JWKSURI = "https://app.example/jwks.json"
		must(t, s.CreateClient(t.Context(), c))
		if c.CreatedAt.IsZero() || c.UpdatedAt.IsZero() {
			t.Errorf("timestamps not set: created %v updated %v", c.CreatedAt, c.UpdatedAt)
		}
		got, err := s.GetClient(t.Context(), c.ID)
		must(t, err)
		sameRow(t, c, got)
	}},
	{"DuplicateID", func(t *testing.T, s *store.Store) {
		c := createClient(t, s)
		dup := newClient()
		dup.ID = c.ID
		wantErr(t, "create client with taken id", s.CreateClient(t.Context(), dup), models.ErrAlreadyExists)
	}},
	{"Missing", func(t *testing.T, s *store.Store) {
		_, err := s.GetClient(t.Context(), newID("missing"))
		wantErr(t, "get missing client", err, models.ErrNotFound)
		c := newClient()
		wantErr(t, "update missing client", s.UpdateClient(t.Context(), c), models.ErrNotFound)
		wantErr(t, "delete missing client", s.DeleteClient(t.Context(), c.ID), models.ErrNotFound)
	}},
	{"List", func(t *testing.T, s *store.Store) {
		// Names chosen so name order differs from id and creation order.
		prefix := newID("list")
		b := newClient()
		b.Name = prefix + " b"
		a := newClient()
		a.Name = prefix + " a"
		must(t, s.CreateClient(t.Context(), b))
		must(t, s.CreateClient(t.Context(), a))
		list, err := s.ListClients(t.Context())
		must(t, err)
		var mine []models.Client
		for _, c := range list {
			if c.ID == a.ID || c.ID == b.ID {
				mine = append(mine, c)
			}
		}
		if len(mine) != 2 {
			t.Fatalf("listed %d of the 2 new clients", len(mine))
		}
		sameRow(t, a, &mine[0])
		sameRow(t, b, &mine[1])
	}},
	// The stored form of a secret is upgraded only while it is unchanged:
	// a rotation that lands first wins.
	{"ReplaceClientSecretHash", func(t *testing.T, s *store.Store) {
		c, other := createClient(t, s), newClient()
		other.SecretHash = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXI$aGFzaA"
		must(t, s.CreateClient(t.Context(), other))
		must(t, s.ReplaceClientSecretHash(t.Context(), c.SecretHash, "$hmac-sha256$new"))
		got, err := s.GetClient(t.Context(), c.ID)
		must(t, err)
		if got.SecretHash != "$hmac-sha256$new" {
			t.Errorf("secret hash %q after the upgrade", got.SecretHash)
		}
		if o, _ := s.GetClient(t.Context(), other.ID); o.SecretHash != other.SecretHash {
			t.Errorf("another client's hash changed to %q", o.SecretHash)
		}
		wantErr(t, "upgrade of a replaced hash", s.ReplaceClientSecretHash(t.Context(), c.SecretHash, "$hmac-sha256$late"), models.ErrConsumed)
	}},
	{"UpdateAllFields", func(t *testing.T, s *store.Store) {
		c := createClient(t, s)
		created := c.CreatedAt
		upd := &models.Client{
			ID:                      c.ID,
			Name:                    "Renamed",
			SecretHash:              "",
			Public:                  true,
			RedirectURIs:            models.StringList{"http://localhost:8080/callback"},
			PostLogoutRedirectURIs:  nil,
			GrantTypes:              models.StringList{"authorization_code"},
			ResponseTypes:           models.StringList{"code", "code id_token"},
			Scopes:                  models.StringList{},
			TokenEndpointAuthMethod: "none",
			IDTokenSignedAlg:        "EdDSA",
			JWKS:                    `{"keys":[]}`,
			JWKSURI:                 "https://renamed.example/jwks",
			SkipConsent:             false,
			AllowedLoginMethods:     models.StringList{models.MethodPasswordKey},
			Disabled:                true,
			LogoURI:                 "data:image/svg+xml;base64,PHN2Zy8+",
			AccessTokenTTL:          300,
			RefreshTokenTTL:         7200,
			IDTokenTTL:              120,
			MinACR:                  models.ACRPhishingResistant,
			UserVerification:        "required",
			// A caller cannot move the creation time.
			CreatedAt: at(-24 * time.Hour),
		}
		must(t, s.UpdateClient(t.Context(), upd))
		got, err := s.GetClient(t.Context(), c.ID)
		must(t, err)
		want := *upd
		want.CreatedAt = created
		sameRow(t, &want, got)
		if got.UpdatedAt.Before(c.UpdatedAt) {
			t.Errorf("UpdatedAt went back: %v before %v", got.UpdatedAt, c.UpdatedAt)
		}

		// And back to non-zero values (booleans and lists both ways).
		c2 := newClient()
		c2.ID = c.ID
		must(t, s.UpdateClient(t.Context(), c2))
		got, err = s.GetClient(t.Context(), c.ID)
		must(t, err)
		c2.CreatedAt = created
		sameRow(t, c2, got)
	}},
	{"DeleteCascades", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		c, keep := createClient(t, s), createClient(t, s)
		code, access, refresh := grantTokens(t, s, c.ID, u.ID, "")
		keepCode, keepAccess, keepRefresh := grantTokens(t, s, keep.ID, u.ID, "")
		in := createInteraction(t, s, c.ID, time.Hour)
		keepIn := createInteraction(t, s, keep.ID, time.Hour)
		must(t, s.SaveConsent(t.Context(), &models.Consent{UserID: u.ID, ClientID: c.ID, Scopes: models.StringList{"openid"}}))
		must(t, s.SaveConsent(t.Context(), &models.Consent{UserID: u.ID, ClientID: keep.ID, Scopes: models.StringList{"openid"}}))

		must(t, s.DeleteClient(t.Context(), c.ID))

		_, err := s.GetClient(t.Context(), c.ID)
		wantErr(t, "get deleted client", err, models.ErrNotFound)
		wantRequests(t, s, false, code, access, refresh)
		_, err = s.GetInteraction(t.Context(), in.ID)
		wantErr(t, "interaction of deleted client", err, models.ErrNotFound)
		_, err = s.GetConsent(t.Context(), u.ID, c.ID)
		wantErr(t, "consent to deleted client", err, models.ErrNotFound)

		_, err = s.GetClient(t.Context(), keep.ID)
		wantErr(t, "other client", err, nil)
		wantRequests(t, s, true, keepCode, keepAccess, keepRefresh)
		_, err = s.GetInteraction(t.Context(), keepIn.ID)
		wantErr(t, "other client's interaction", err, nil)
		_, err = s.GetConsent(t.Context(), u.ID, keep.ID)
		wantErr(t, "consent to other client", err, nil)

		wantErr(t, "delete client again", s.DeleteClient(t.Context(), c.ID), models.ErrNotFound)
	}},
}
