package authn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestPolicyChangesApplyWithoutRestart: a global policy saved through the
// console's service governs the next request of the running server —
// closing sign-up refuses the next sign-up ceremony, reopening it allows
// it again, and requiring user verification shows in the next passkey
// options (WebAuthn §5.4.6) — with no restart.
func TestPolicyChangesApplyWithoutRestart(t *testing.T) {
	servertest.EachDialect(t, policyChangesApplyLive)
}

func policyChangesApplyLive(t *testing.T, opts ...servertest.Option) {
	env := servertest.New(t, opts...)
	rp := newRelyingParty(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	pols := env.Server.Console().Policies
	ctx := context.Background()
	set := func(edit func(p *policy.Policy)) {
		t.Helper()
		p, err := pols.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		edit(&p)
		if _, err := pols.Update(ctx, p); err != nil {
			t.Fatalf("update policy: %v", err)
		}
	}
	signUp := func(b *browser, ia string) apiResponse {
		return b.post("/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"})
	}

	b := newBrowser(t, env)
	ia := b.openAuthorization(rp.start())
	if res := signUp(b, ia); res.status != http.StatusOK {
		t.Fatalf("sign-up with the configuration's open sign-up: %s", res)
	}

	set(func(p *policy.Policy) { p.SignupOpen = false })
	for _, in := range []string{ia, ""} {
		wantAPIError(t, signUp(b, in), http.StatusForbidden, "signup_closed")
	}
	if _, body := b.page("/login?interaction=" + ia); containsSignupLink(body) {
		t.Error("the login page still offers sign-up after it was closed")
	}

	set(func(p *policy.Policy) { p.SignupOpen = true })
	if res := signUp(b, ia); res.status != http.StatusOK {
		t.Fatalf("sign-up after reopening: %s", res)
	}

	set(func(p *policy.Policy) { p.UserVerification = "required" })
	o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
	var pk struct {
		UserVerification string `json:"userVerification"`
	}
	if err := json.Unmarshal(o.PublicKey, &pk); err != nil {
		t.Fatal(err)
	}
	if pk.UserVerification != "required" {
		t.Fatalf("options after requiring user verification: %s", o.PublicKey)
	}
}

func containsSignupLink(body string) bool {
	return signupLinkRE.MatchString(body)
}

var signupLinkRE = regexp.MustCompile(`<a href="/signup`)
