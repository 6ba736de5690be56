package authn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

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
