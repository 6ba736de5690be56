package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// formAction returns the sources of resp's CSP form-action directive.
func formAction(resp *http.Response) []string {
	for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "form-action" {
			return f[1:]
		}
	}
	return nil
}

// TestParkedInteractionCarriesScopesAndRedirectURI_RFC6749_3_1_2_3: the
// provider stores the requested scopes and the redirect URI the response
// will go to, so the hosted pages never parse the request; without a
// redirect_uri (plain OAuth) that is the client's only registered one (RFC
// 6749 §3.1.2.3), with one it is the one named.
func TestParkedInteractionCarriesScopesAndRedirectURI_RFC6749_3_1_2_3(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		other := "https://other.example.test/cb"
		for _, tc := range []struct {
			name     string
			uris     []string
			redirect string
			scopes   []string
			want     string
		}{
			// OpenID Connect requires redirect_uri; plain OAuth does not.
			{"omitted", []string{redirectURI}, "", []string{"email", "profile"}, redirectURI},
			{"named", []string{redirectURI, other}, other, []string{"openid", "email"}, other},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := newE2EFlow(t, env, clients.Spec{Name: "Park Test App", RedirectURIs: tc.uris})
				f.r.oauth.RedirectURL = tc.redirect
				resp, body, _ := f.start("state-park", url.Values{"scope": {strings.Join(tc.scopes, " ")}})
				if resp.Request.URL.Path != "/login" {
					t.Fatalf("landed on %s: %s", resp.Request.URL, body)
				}
				id := interactionFrom(t, resp, "/login")
				in, err := env.Store.GetInteraction(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(in.Scopes, tc.scopes) {
					t.Errorf("Scopes = %v, want %v", in.Scopes, tc.scopes)
				}
				if in.RedirectURI != tc.want {
					t.Errorf("RedirectURI = %q, want %q", in.RedirectURI, tc.want)
				}
			})
		}
	})
}

// TestConsentPageLetsItsFormEndAtTheClientOnly: the consent form's POST
// ends, through the resume URL, at the client's redirect URI; browsers
// apply CSP form-action to that redirect (CSP Level 3 §6.4.1), so the page
// allows exactly that origin and no other of the client's; Allow and
// Cancel both send the browser to oidc.ResumeURL.
func TestConsentPageLetsItsFormEndAtTheClientOnly(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	f := newE2EFlow(t, env, clients.Spec{Name: "CSP Test App", RedirectURIs: []string{redirectURI, "https://other.example.test/cb"}})
	resp, _, _ := f.start("state-csp", url.Values{"scope": {"openid"}})
	resp, body, _ := f.signIn(resp, models.ACRPhishingResistant)
	id := interactionFrom(t, resp, "/consent")
	fa := formAction(resp)
	if !slices.Contains(fa, "http://127.0.0.1:9999") || slices.Contains(fa, "https://other.example.test") {
		t.Fatalf("consent page form-action = %v, want 'self' and the requested redirect origin only", fa)
	}

	// A POST answers with the resume URL (the redirect is not followed).
	nf := *f.b
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nf.PostForm(env.Issuer+"/consent", url.Values{"interaction": {id}, "csrf": {formValue(t, body, "csrf")}, "decision": {"deny"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != oidc.ResumeURL(id) {
		t.Fatalf("consent POST: %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), oidc.ResumeURL(id))
	}
}
