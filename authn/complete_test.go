package authn_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn"
	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/templates"
)

// countingStore counts the reads of interactions and clients.
type countingStore struct {
	authn.Store
	interactions, clients atomic.Int32
}

func (s *countingStore) GetInteraction(ctx context.Context, id string) (*models.Interaction, error) {
	s.interactions.Add(1)
	return s.Store.GetInteraction(ctx, id)
}

func (s *countingStore) GetClient(ctx context.Context, id string) (*models.Client, error) {
	s.clients.Add(1)
	return s.Store.GetClient(ctx, id)
}

// A passkey sign-in reads its interaction with its ceremony, and the
// interaction's client once per request: completeSignIn marks the
// interaction and the event takes its client id from that copy, not from
// a re-read (DESIGN.md, performance: a handful of statements per flow
// step).
func TestPasskeyVerifyReadsInteractionAndClientOnce(t *testing.T) {
	f := newFixture(t)
	env := f.env
	b, id := f.loginPage(t)
	o := b.options("/webauthn/login/options", map[string]string{"interaction": id})

	// The hosted pages again, over a counting store, sharing the running
	// server's database, cookies and WebAuthn relying party.
	sessions := websession.New(env.Store, websession.Config{SessionTTL: env.Config.LoginSessionTTL,
		CSRFKey: secret.Derive(env.Secret, server.PurposeCookies)})
	passkeys, err := passkey.New(passkey.Config{RPID: env.Config.WebAuthnRPID(), RPName: env.Config.RPName,
		Origins: env.Config.WebAuthnOrigins(), UserVerification: env.Config.UserVerification,
		FakeCredentialKey: secret.Derive(env.Secret, server.PurposeFakeCreds),
		CeremonyKey:       secret.Derive(env.Secret, server.PurposeCeremonies)}, env.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: env.Store}
	h := authn.New(authn.Deps{Store: cs, Events: env.Store, Sessions: sessions, Pages: pages, Passkeys: passkeys,
		ResumeURL: func(id string) string { return "/resume?interaction=" + url.QueryEscape(id) }})
	r := gin.New()
	h.Mount(r)

	body := mustJSON(t, verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, env.Issuer)))
	req := httptest.NewRequest(http.MethodPost, env.Issuer+"/webauthn/login/verify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", env.Issuer)
	iss, _ := url.Parse(env.Issuer)
	for _, c := range b.c.Jar.Cookies(iss) {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"/resume?interaction=`+id) {
		t.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	if n := cs.interactions.Load(); n != 0 {
		t.Errorf("GetInteraction read %d times, want none: the interaction comes with the ceremony", n)
	}
	if n := cs.clients.Load(); n != 1 {
		t.Errorf("GetClient read %d times, want 1", n)
	}
	in, err := env.Store.GetInteraction(t.Context(), id)
	if err != nil || in.LoginSessionID == "" {
		t.Fatalf("the interaction is not marked: %+v %v", in, err)
	}
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var events int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM auth_events WHERE event = 'login' AND result = $1 AND client_id = $2 AND method = $3",
		models.ResultSuccess, in.ClientID, models.MethodPasskey).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Errorf("%d passkey login events for the interaction's client, want 1", events)
	}
}
