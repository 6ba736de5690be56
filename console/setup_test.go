package console_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
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
// the passkey at the hosted /login (sent there by a console page, and
// back), confirms a destructive action with it (step-up), and a
// non-admin's passkey does not open the console.
func TestSetupLinkMakesFirstAdmin(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails())...)
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

		// Sign in to the console with the passkey in a fresh browser: a
		// console page sends it to the hosted /login, which comes back.
		admin := browser(t, env)
		admin.headers = map[string]string{"Accept": "text/html"}
		resp, _, _ := admin.do("GET", "/console/users?q=a", nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || loc != console.PathLogin+"?return="+url.QueryEscape("/console/users?q=a") {
			t.Fatalf("console page without a session: %d to %q, want the hosted sign-in with the way back", resp.StatusCode, loc)
		}
		admin.do("GET", loc, nil)
		admin.headers = nil
		if got := admin.passkeySignIn(dev); got != "/console/users?q=a" {
			t.Errorf("login redirect %q, want /console/users?q=a", got)
		}
		// A return path to another site is never followed.
		evil := browser(t, env)
		evil.do("GET", console.PathLogin+"?return="+url.QueryEscape("//evil.example/"), nil)
		if got := evil.passkeySignIn(dev); got != "/account" {
			t.Errorf("login redirect %q, want /account", got)
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

		// A non-admin's passkey signs in at /login but does not open the
		// console: its pages say so, its API refuses.
		plain := newAuthenticator()
		nb := browser(t, env)
		nb.signIn("", models.ACRPhishingResistant) // an account to add a passkey to
		o = nb.json("POST", "/webauthn/register/options", map[string]any{}, http.StatusOK)
		nb.json("POST", "/webauthn/register/verify", map[string]any{"ceremony": o.Ceremony, "credential": plain.create(t, env, o.PublicKey)}, http.StatusOK)
		fresh := browser(t, env)
		fresh.do("GET", console.PathLogin+"?return=%2Fconsole", nil)
		if got := fresh.passkeySignIn(plain); got != console.PathHome {
			t.Errorf("non-admin login redirect %q, want %q", got, console.PathHome)
		}
		fresh.headers = map[string]string{"Accept": "text/html"}
		if resp, body, _ := fresh.do("GET", console.PathHome, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "no access to the console") {
			t.Errorf("console page for a non-admin: %d %.300s", resp.StatusCode, body)
		}
		fresh.headers = nil
		if resp, _, _ := fresh.do("GET", console.APIPrefix+"/users", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("admin API for a non-admin: %d, want 403", resp.StatusCode)
		}
		// A passkey Sesame does not know signs nobody in.
		stranger := newAuthenticator()
		sb := browser(t, env)
		o = sb.json("POST", "/webauthn/login/options", map[string]any{}, http.StatusOK)
		if resp, _, _ := sb.do("POST", "/webauthn/login/verify", map[string]any{"ceremony": o.Ceremony, "credential": stranger.get(t, env, o.PublicKey)}); resp.StatusCode < 400 {
			t.Errorf("unknown passkey at sign-in: %d", resp.StatusCode)
		}
	})
}

// passkeySignIn signs in with dev's passkey through the hosted sign-in's
// JSON API (what /login's button does) and returns where the page goes.
func (c *caller) passkeySignIn(dev *authenticator) string {
	c.t.Helper()
	o := c.json("POST", "/webauthn/login/options", map[string]any{}, http.StatusOK)
	v := c.json("POST", "/webauthn/login/verify", map[string]any{"ceremony": o.Ceremony, "credential": dev.get(c.t, c.env, o.PublicKey)}, http.StatusOK)
	return v.Redirect
}
