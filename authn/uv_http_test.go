package authn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestClientRequiringUserVerification: for a client whose
// user_verification is "required", the passkey options over HTTP ask for
// it (WebAuthn §5.4.6 userVerification) and an assertion without the UV
// flag is refused (§7.2 step 15: "If user verification is required …
// verify that the UV bit … is set"), while the same passkey still signs
// in to a client that follows the global policy ("preferred").
func TestClientRequiringUserVerification(t *testing.T) {
	servertest.EachDialect(t, clientRequiringUV)
}

func clientRequiringUV(t *testing.T, opts ...servertest.Option) {
	env := servertest.New(t, opts...)
	strict := newRelyingParty(t, env, clients.Spec{Name: "Strict", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none", UserVerification: "required"})
	lax := newRelyingParty(t, env, clients.Spec{Name: "Lax", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})

	// A passkey that only tests presence, registered under the global
	// policy.
	dev := newAuthenticator()
	dev.auth.Options.UserNotVerified = true
	b := newBrowser(t, env)
	b.page("/signup")
	if r := b.signUp("", "ada@example.com", "Ada Lovelace", dev); r != "/account" {
		t.Fatalf("sign-up redirected to %q", r)
	}

	for _, email := range []string{"", "ada@example.com", "nobody@example.com"} {
		b := newBrowser(t, env)
		ia := b.openAuthorization(strict.start())
		o := b.options("/webauthn/login/options", map[string]string{"interaction": ia, "email": email})
		var pk struct {
			UserVerification string `json:"userVerification"`
		}
		if err := json.Unmarshal(o.PublicKey, &pk); err != nil {
			t.Fatal(err)
		}
		if pk.UserVerification != "required" {
			t.Fatalf("options for %q = %s, want userVerification required", email, o.PublicKey)
		}
		if email == "nobody@example.com" {
			continue
		}
		before := snapshot(t, env)
		res := b.post("/webauthn/login/verify", verifyBody(o.Ceremony, dev.get(t, o.PublicKey, env.Issuer)))
		wantAPIError(t, res, http.StatusForbidden, "user_verification_required")
		// The refused assertion changed nothing but the counter the
		// authenticator advanced; the server's stored state is intact.
		if after := snapshot(t, env); after != before {
			t.Fatalf("a refused assertion wrote:\n%s\n%s", before, after)
		}
	}

	// Sign-up for the strict client asks for UV too.
	b2 := newBrowser(t, env)
	ia := b2.openAuthorization(strict.start())
	o := b2.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"})
	ao, err := virtualwebauthn.ParseAttestationOptions(string(o.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	var sel struct {
		AuthenticatorSelection struct {
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	}
	if err := json.Unmarshal(o.PublicKey, &sel); err != nil || sel.AuthenticatorSelection.UserVerification != "required" || ao == nil {
		t.Fatalf("creation options = %s, want userVerification required (%v)", o.PublicKey, err)
	}
	eve := newAuthenticator()
	eve.auth.Options.UserNotVerified = true
	wantAPIError(t, b2.post("/webauthn/register/verify", verifyBody(o.Ceremony, eve.create(t, o.PublicKey, env.Issuer))), http.StatusForbidden, "user_verification_required")
	if _, err := env.Store.GetUserByEmail(context.Background(), "eve@example.com"); err == nil {
		t.Fatal("a sign-up refused for missing UV created the account")
	}

	// The lax client follows the global policy: the same passkey works.
	b3 := newBrowser(t, env)
	ia = b3.openAuthorization(lax.start())
	if r := b3.signIn(ia, "ada@example.com", dev); !strings.HasPrefix(r, "/oauth2/authorize/resume") {
		t.Fatalf("sign-in for the lax client redirected to %q", r)
	}
}

// TestPasskeyWithoutUserVerificationIsOneFactor: under the default
// "preferred" policy a passkey assertion without the UV flag still signs
// in, but as one factor — amr without "mfa", acr basic — so it never
// satisfies a request for the phishing-resistant level; such a request
// asks the authenticator for user verification (WebAuthn §5.4.6) and an
// assertion without it is refused. With UV the same client gets phr.
func TestPasskeyWithoutUserVerificationIsOneFactor(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		rp := newRelyingParty(t, env, clients.Spec{Name: "Notes", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		presence := newAuthenticator()
		presence.auth.Options.UserNotVerified = true
		b := newBrowser(t, env)
		b.page("/signup")
		b.signUp("", "ada@example.com", "Ada Lovelace", presence)

		// Plain request (another browser): signed in, one factor.
		b = newBrowser(t, env)
		a := rp.start()
		claims := a.finish(t, b.follow(b.signIn(b.openAuthorization(a), "ada@example.com", presence)))
		if claims.ACR != models.ACRBasic || slices.Contains(claims.AMR, "mfa") || !slices.Contains(claims.AMR, "pop") {
			t.Fatalf("claims %+v, want acr basic and amr pop without mfa", claims)
		}

		// acr_values phr: UV is required, and presence alone is refused.
		b2 := newBrowser(t, env)
		ia := b2.openAuthorization(rp.start(oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant)))
		o := b2.options("/webauthn/login/options", map[string]string{"interaction": ia, "email": "ada@example.com"})
		var pk struct {
			UserVerification string `json:"userVerification"`
		}
		if err := json.Unmarshal(o.PublicKey, &pk); err != nil || pk.UserVerification != "required" {
			t.Fatalf("options for a phr request = %s, want userVerification required", o.PublicKey)
		}
		wantAPIError(t, b2.post("/webauthn/login/verify", verifyBody(o.Ceremony, presence.get(t, o.PublicKey, env.Issuer))),
			http.StatusForbidden, "user_verification_required")

		// A user-verified passkey passes a phr request, at its own level:
		// this one is synced (BE=1), so passkey:uv (models/acr.go).
		verified := newAuthenticator()
		b3 := newBrowser(t, env)
		b3.page("/signup")
		b3.signUp("", "grace@example.com", "Grace Hopper", verified)
		b3 = newBrowser(t, env)
		a = rp.start(oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant))
		claims = a.finish(t, b3.follow(b3.signIn(b3.openAuthorization(a), "grace@example.com", verified)))
		if claims.ACR != models.ACRUserVerified || !slices.Contains(claims.AMR, "mfa") {
			t.Fatalf("claims %+v, want acr passkey:uv with mfa", claims)
		}
	})
}

// TestSignupOptionsErrorIsAnswered: when the passkey service refuses to
// begin a sign-up (here: a client whose stored user-verification setting
// is corrupt), the page gets a 4xx JSON error — never 200 with no options.
func TestSignupOptionsErrorIsAnswered(t *testing.T) {
	env := servertest.New(t)
	rp := newRelyingParty(t, env, clients.Spec{Name: "Broken", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	sqlDB, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec(`UPDATE clients SET user_verification = 'bogus' WHERE id = ?`, rp.clientID); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, env)
	ia := b.openAuthorization(rp.start())
	res := b.post("/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"})
	if res.status == http.StatusOK {
		t.Fatalf("sign-up options for a broken client answered 200: %s", res.body)
	}
	if res.status < 400 || res.status >= 500 {
		t.Fatalf("status %d, want a 4xx", res.status)
	}
}
