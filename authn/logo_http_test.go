package authn_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestHostedPagesShowClientLogo: the pages an interaction's client is
// shown on carry its logo_uri (an https URL, allowed by the CSP's img-src)
// with the app's name as alternative text (WCAG 2.2 SC 1.1.1) instead of
// the initial; a client without a logo keeps the initial.
func TestHostedPagesShowClientLogo(t *testing.T) {
	env := servertest.New(t)
	const logo = "https://acme.example/logo.png"
	rp := newRelyingParty(t, env, clients.Spec{Name: "Acme Notes", LogoURI: logo, SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	plain := newRelyingParty(t, env, clients.Spec{Name: "Plain App", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})

	b := newBrowser(t, env)
	ia := b.openAuthorization(rp.start())
	wantImg := `<img class="logo" src="` + logo + `" alt="Acme Notes"`
	initial := `<div class="logo" aria-hidden="true">`
	for _, path := range []string{
		"/login?interaction=" + ia,
		"/signup?interaction=" + ia,
		"/passlink?interaction=" + ia,
		"/login/password?interaction=" + ia,
		"/password/forgot?interaction=" + ia,
	} {
		resp, body := b.page(path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
			continue
		}
		if !strings.Contains(body, wantImg) {
			t.Errorf("GET %s: no %s in the header", path, wantImg)
		}
		if strings.Contains(body, initial) {
			t.Errorf("GET %s: shows the initial beside the logo", path)
		}
	}

	b2 := newBrowser(t, env)
	b2.openAuthorization(plain.start())
	_, body := b2.page("/login?interaction=" + b2.openAuthorization(plain.start()))
	if !strings.Contains(body, initial+"P</div>") || strings.Contains(body, `<img class="logo"`) {
		t.Errorf("login page of a client without a logo: want the initial, no <img>")
	}
}
