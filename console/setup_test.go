package console_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// authenticator is a virtual passkey authenticator with one credential.
type authenticator struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newAuthenticator() *authenticator {
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
	c := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key())
	a.AddCredential(c)
	return &authenticator{auth: a, cred: c}
}

// p256Key returns a P-256 key whose coordinates are both 32 bytes (see
// authn's api_test.go: virtualwebauthn would encode a short one).
func p256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return der
	}
}

func (d *authenticator) rp(env *servertest.Env) virtualwebauthn.RelyingParty {
	return virtualwebauthn.RelyingParty{ID: "localhost", Name: "Sesame", Origin: env.Issuer}
}

func (d *authenticator) create(t *testing.T, env *servertest.Env, publicKey json.RawMessage) json.RawMessage {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(string(publicKey))
	if err != nil {
		t.Fatalf("parse creation options: %v\n%s", err, publicKey)
	}
	d.auth.Options.UserHandle = []byte(ao.UserID)
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(d.rp(env), d.auth, d.cred, *ao))
}

func (d *authenticator) get(t *testing.T, env *servertest.Env, publicKey json.RawMessage) json.RawMessage {
	t.Helper()
	ao, err := virtualwebauthn.ParseAssertionOptions(string(publicKey))
	if err != nil {
		t.Fatalf("parse request options: %v\n%s", err, publicKey)
	}
	d.cred.Counter++
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(d.rp(env), d.auth, d.cred, *ao))
}

type ceremony struct {
	PublicKey json.RawMessage `json:"publicKey"`
	Ceremony  string          `json:"ceremony"`
	Redirect  string          `json:"redirect"`
}

func (c *caller) json(method, path string, body any, want int) ceremony {
	c.t.Helper()
	resp, b, _ := c.do(method, path, body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	var out ceremony
	_ = json.Unmarshal(b, &out)
	return out
}

// The first admin: the dev bootstrap prints a one-time link; registering
// a passkey through it makes a new admin account, signed in to the
// console; the link then stops working; the admin signs in again with
// the passkey, confirms a destructive action with it (step-up), and a
// non-admin's passkey does not open the console.
func TestSetupLinkMakesFirstAdmin(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		email := console.DevAdminEmail
		var link string
		var err error
		if n, _ := env.Store.CountAdmins(ctx); n > 0 {
			// A shared PostgreSQL database already has admins from other
			// tests: invite a fresh address instead.
			email = "first-" + strings.ToLower(rand.Text()) + "@example.test"
			link, err = console.Invite(ctx, env.Store, env.Issuer, email)
		} else {
			link, err = console.EnsureSetupLink(ctx, env.Store, env.Issuer)
		}
		if err != nil || !strings.HasPrefix(link, env.Issuer+console.PathSetup) {
			t.Fatalf("setup link = %q, %v", link, err)
		}
		path := strings.TrimPrefix(link, env.Issuer)

		b := browser(t, env)
		b.headers = map[string]string{"Accept": "text/html"}
		if resp, body, _ := b.do("GET", path, nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), email) {
			t.Fatalf("setup page: %d %s", resp.StatusCode, body)
		}
		b.headers = nil
		dev := newAuthenticator()
		o := b.json("POST", path+"/options", map[string]any{}, http.StatusOK)
		v := b.json("POST", path+"/verify", map[string]any{"ceremony": o.Ceremony, "credential": dev.create(t, env, o.PublicKey)}, http.StatusOK)
		if v.Redirect != console.PathHome {
			t.Errorf("setup redirect %q", v.Redirect)
		}
		u, err := env.Store.GetUserByEmail(ctx, email)
		if err != nil || !u.IsAdmin() {
			t.Fatalf("setup did not make an admin: %+v %v", u, err)
		}
		if rows, _ := env.Store.ListAuditEntries(ctx, store.AuditFilter{Action: "admin.setup", TargetID: u.ID}, 5); len(rows) != 1 {
			t.Errorf("admin.setup audit entries: %d", len(rows))
		}
		// Signed in: the API answers with the console session.
		if resp, body, _ := b.do("GET", console.APIPrefix+"/users", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("API after setup: %d %s", resp.StatusCode, body)
		}
		// Single use.
		again := browser(t, env)
		if resp, _, _ := again.do("POST", path+"/options", map[string]any{}); resp.StatusCode != http.StatusGone {
			t.Errorf("second use of the link: %d, want 410", resp.StatusCode)
		}
		if l, _ := console.EnsureSetupLink(ctx, env.Store, env.Issuer); l != "" {
			t.Error("a setup link is minted although an admin exists")
		}

		// Sign in to the console with the passkey in a fresh browser.
		admin := browser(t, env)
		o = admin.json("POST", "/console/login/options", map[string]any{}, http.StatusOK)
		v = admin.json("POST", "/console/login/verify", map[string]any{"ceremony": o.Ceremony,
			"credential": dev.get(t, env, o.PublicKey), "return": "//evil.example/"}, http.StatusOK)
		if v.Redirect != console.PathHome {
			t.Errorf("login redirect %q, want %q", v.Redirect, console.PathHome)
		}
		id, _ := env.CreateClient(clients.Spec{Name: "Doomed", RedirectURIs: []string{"https://d.example/cb"}})
		if resp, _, _ := admin.do("DELETE", console.APIPrefix+"/clients/"+id, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("delete before step-up: %d", resp.StatusCode)
		}
		// A touch without user verification is not a confirmation.
		dev.auth.Options.UserNotVerified = true
		o = admin.json("POST", "/console/stepup/options", map[string]any{}, http.StatusOK)
		admin.json("POST", "/console/stepup/verify", map[string]any{"ceremony": o.Ceremony, "credential": dev.get(t, env, o.PublicKey)}, http.StatusForbidden)
		dev.auth.Options.UserNotVerified = false
		o = admin.json("POST", "/console/stepup/options", map[string]any{}, http.StatusOK)
		admin.json("POST", "/console/stepup/verify", map[string]any{"ceremony": o.Ceremony, "credential": dev.get(t, env, o.PublicKey)}, http.StatusOK)
		if resp, body, _ := admin.do("DELETE", console.APIPrefix+"/clients/"+id, nil); resp.StatusCode != http.StatusNoContent {
			t.Errorf("delete after step-up: %d %s", resp.StatusCode, body)
		}

		// Invite a second admin who already has an account: they must sign
		// in first; opening the link anonymously is refused.
		other := env.CreateUser("second-" + strings.ToLower(rand.Text()) + "@example.test")
		link2, err := console.Invite(ctx, env.Store, env.Issuer, other.Email)
		if err != nil {
			t.Fatal(err)
		}
		anon := browser(t, env)
		if resp, _, _ := anon.do("POST", strings.TrimPrefix(link2, env.Issuer)+"/options", map[string]any{}); resp.StatusCode != http.StatusConflict {
			t.Errorf("setup for an existing account without signing in: %d, want 409", resp.StatusCode)
		}

		// A non-admin's passkey does not open the console.
		plain := newAuthenticator()
		nb := browser(t, env)
		nb.signIn("", models.ACRPhishingResistant) // an account to add a passkey to
		_ = plain
		o = nb.json("POST", "/console/login/options", map[string]any{}, http.StatusOK)
		if resp, _, _ := nb.do("POST", "/console/login/verify", map[string]any{"ceremony": o.Ceremony, "credential": plain.get(t, env, o.PublicKey)}); resp.StatusCode < 400 {
			t.Errorf("unknown passkey at console sign-in: %d", resp.StatusCode)
		}
	})
}
