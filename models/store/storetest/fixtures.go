package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

func createUser(t *testing.T, s *store.Store) *models.User {
	t.Helper()
	id := newID("user")
	u := &models.User{ID: id, Email: id + "@Example.test", DisplayName: "User " + id}
	must(t, s.CreateUser(t.Context(), u))
	return u
}

func newClient() *models.Client {
	id := newID("client")
	return &models.Client{
		ID:                      id,
		Name:                    "Client " + id,
		SecretHash:              "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		RedirectURIs:            models.StringList{"https://app.example/cb", "https://app.example/cb2"},
		PostLogoutRedirectURIs:  models.StringList{"https://app.example/bye"},
		GrantTypes:              models.StringList{"authorization_code", "refresh_token"},
		ResponseTypes:           models.StringList{"code"},
		Scopes:                  models.StringList{"openid", "profile", "email", "offline_access"},
		TokenEndpointAuthMethod: "client_secret_basic",
		IDTokenSignedAlg:        "ES256",
		SkipConsent:             true,
		AllowedLoginMethods:     models.StringList{models.MethodPasskey, models.MethodPasslink},
	}
}

func createClient(t *testing.T, s *store.Store) *models.Client {
	t.Helper()
	c := newClient()
	must(t, s.CreateClient(t.Context(), c))
	return c
}

// newRequest is an active record expiring in an hour.
func newRequest(kind, requestID, clientID, subject, sessionID string) *models.OAuth2Request {
	return &models.OAuth2Request{
		Kind:        kind,
		Signature:   newID("sig"),
		RequestID:   requestID,
		ClientID:    clientID,
		Subject:     subject,
		SessionID:   sessionID,
		Active:      true,
		RequestedAt: at(-time.Second),
		ExpiresAt:   at(time.Hour),
		Data:        `{"scopes":["openid"]}`,
	}
}

func createRequest(t *testing.T, s *store.Store, kind, requestID, clientID, subject, sessionID string) *models.OAuth2Request {
	t.Helper()
	r := newRequest(kind, requestID, clientID, subject, sessionID)
	must(t, s.CreateOAuth2Request(t.Context(), r))
	return r
}

// grantTokens creates a code, an access and a refresh token of one grant.
func grantTokens(t *testing.T, s *store.Store, clientID, subject, sessionID string) (code, access, refresh *models.OAuth2Request) {
	t.Helper()
	rid := newID("req")
	return createRequest(t, s, models.KindAuthorizeCode, rid, clientID, subject, sessionID),
		createRequest(t, s, models.KindAccessToken, rid, clientID, subject, sessionID),
		createRequest(t, s, models.KindRefreshToken, rid, clientID, subject, sessionID)
}

// requestExists reports whether the record is still stored.
func requestExists(t *testing.T, s *store.Store, r *models.OAuth2Request) bool {
	t.Helper()
	_, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
	switch {
	case err == nil:
		return true
	case errors.Is(err, models.ErrNotFound):
		return false
	default:
		t.Fatalf("get %s %s: %v", r.Kind, r.Signature, err)
		return false
	}
}

// wantRequests fails unless each record's presence matches.
func wantRequests(t *testing.T, s *store.Store, present bool, rs ...*models.OAuth2Request) {
	t.Helper()
	for _, r := range rs {
		if got := requestExists(t, s, r); got != present {
			t.Errorf("%s record (session %q, subject %q, client %q): present = %v, want %v",
				r.Kind, r.SessionID, r.Subject, r.ClientID, got, present)
		}
	}
}

func newLoginSession(userID string, expiresIn time.Duration) *models.LoginSession {
	return &models.LoginSession{
		ID:         newID("sid"),
		TokenHash:  randHex(32),
		UserID:     userID,
		AuthTime:   at(-time.Minute),
		AMR:        models.StringList{"pop", "hwk", "mfa"},
		ACR:        "urn:sesame:acr:mfa",
		UserAgent:  "storetest/1.0",
		IP:         "192.0.2.1",
		LastSeenAt: at(-time.Second),
		ExpiresAt:  at(expiresIn),
	}
}

func createLoginSession(t *testing.T, s *store.Store, userID string, expiresIn time.Duration) *models.LoginSession {
	t.Helper()
	ls := newLoginSession(userID, expiresIn)
	must(t, s.CreateLoginSession(t.Context(), ls))
	return ls
}

func newInteraction(clientID string, expiresIn time.Duration) *models.Interaction {
	return &models.Interaction{
		ID:          newID("ia"),
		BrowserHash: randHex(32),
		ClientID:    clientID,
		Query:       "response_type=code&client_id=" + clientID + "&scope=openid+email",
		Scopes:      models.StringList{"openid", "email"},
		RedirectURI: "https://app.example.test/callback",
		Prompt:      "login",
		MaxAge:      ptr(300),
		LoginHint:   "someone@example.test",
		ACRValues:   "urn:sesame:acr:mfa",
		ExpiresAt:   at(expiresIn),
	}
}

func createInteraction(t *testing.T, s *store.Store, clientID string, expiresIn time.Duration) *models.Interaction {
	t.Helper()
	in := newInteraction(clientID, expiresIn)
	must(t, s.CreateInteraction(t.Context(), in))
	return in
}
