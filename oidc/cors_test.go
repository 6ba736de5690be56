package oidc_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestTokenEndpointCORSForBrowserApps: a public client's page may read the
// token endpoint's answer from the origin of one of its redirect URIs
// (also for errors, so the app can show them); no other origin may, and a
// confidential client never gets CORS headers.
func TestTokenEndpointCORSForBrowserApps(t *testing.T) {
	env := servertest.New(t)
	spa, _ := env.CreateClient(clients.Spec{Name: "SPA", Public: true, TokenEndpointAuthMethod: "none", RedirectURIs: []string{"http://localhost:5173/cb"}})
	web, secret := env.CreateClient(clients.Spec{Name: "Web", RedirectURIs: []string{"https://app.example/cb"}})
	for _, tc := range []struct {
		name, origin, clientID, secret, want string
	}{
		{"public client, its origin", "http://localhost:5173", spa, "", "http://localhost:5173"},
		{"public client, another origin", "https://evil.example", spa, "", ""},
		{"confidential client, its origin", "https://app.example", web, secret, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "client_id": {tc.clientID},
				"redirect_uri": {"http://localhost:5173/cb"}, "code_verifier": {strings.Repeat("v", 43)}}
			if tc.secret != "" {
				form.Set("client_secret", tc.secret)
			}
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", tc.origin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q (status %d)", got, tc.want, resp.StatusCode)
			}
		})
	}
}

// TestCORSEndpoints: every endpoint a browser app calls answers preflights
// and actual requests with Access-Control-Allow-Origin for allowed origins
// only (echoed, never "*"), always with Vary: Origin; the per-client
// rules hold (userinfo: the bearer token's client; introspection: only a
// confidential client that registered origins), and the hosted pages,
// the authorization endpoint and the console never get CORS headers.
func TestCORSEndpoints(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		const (
			spaOrigin = "http://127.0.0.1:9999" // the origin of redirectURI: the public client's default
			rsOrigin  = "https://rs.example"    // registered by a confidential resource server
			evil      = "https://evil.example"
		)
		spa, _ := env.CreateClient(clients.Spec{Name: "SPA", Public: true, SkipConsent: true, RedirectURIs: []string{redirectURI},
			Scopes: []string{"openid", "email", "offline_access"}})
		rs, rsSecret := env.CreateClient(clients.Spec{Name: "Orders API", GrantTypes: []string{clients.GrantClientCredentials},
			Scopes: []string{clients.ScopeIntrospect}, AllowedWebOrigins: []string{rsOrigin}})
		web, webSecret := env.CreateClient(clients.Spec{Name: "Web", RedirectURIs: []string{"https://app.example/cb"}})

		b, _ := negSignedIn(t, env)
		verifier, challenge := negPKCE()
		code := negCode(t, env, b, spa, redirectURI, url.Values{"code_challenge": {challenge}, "scope": {"openid email offline_access"}}).Get("code")
		tok := negToken(t, env, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
			"code_verifier": {verifier}, "client_id": {spa}}, "", "")
		spaAccess, _ := tok.Body["access_token"].(string)
		if tok.Status != http.StatusOK || spaAccess == "" {
			t.Fatalf("exchange: %d %s", tok.Status, tok.Raw)
		}
		cc := negToken(t, env, url.Values{"grant_type": {"client_credentials"}}, rs, rsSecret)
		rsAccess, _ := cc.Body["access_token"].(string)
		if rsAccess == "" {
			t.Fatalf("client credentials: %d %s", cc.Status, cc.Raw)
		}

		form := func(v url.Values) func(*http.Request) {
			return func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(v.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		}
		bearer := func(tok string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
		}
		basic := func(id, secret string, v url.Values) func(*http.Request) {
			return func(r *http.Request) { form(v)(r); r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
		}
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}, "client_id": {spa}}
		revoke := url.Values{"token": {"not-a-token"}, "client_id": {spa}}
		for _, tc := range []struct {
			name, method, path, origin string
			req                        func(*http.Request)
			allowed                    bool
		}{
			{"discovery, a client's origin", "GET", "/.well-known/openid-configuration", spaOrigin, nil, true},
			{"discovery, unknown origin", "GET", "/.well-known/openid-configuration", evil, nil, false},
			{"JWKS, a client's origin", "GET", "/oauth2/jwks", rsOrigin, nil, true},
			{"JWKS, unknown origin", "GET", "/oauth2/jwks", evil, nil, false},
			{"token, the public client's origin (an error answer too)", "POST", "/oauth2/token", spaOrigin, form(refresh), true},
			{"token, unknown origin", "POST", "/oauth2/token", evil, form(refresh), false},
			{"token, another client's origin", "POST", "/oauth2/token", rsOrigin, form(refresh), false},
			{"token, a confidential client that registered none", "POST", "/oauth2/token", "https://app.example",
				basic(web, webSecret, url.Values{"grant_type": {"client_credentials"}}), false},
			{"token, a confidential client from its registered origin", "POST", "/oauth2/token", rsOrigin,
				basic(rs, rsSecret, url.Values{"grant_type": {"client_credentials"}}), true},
			{"userinfo, the token's client's origin", "GET", "/oauth2/userinfo", spaOrigin, bearer(spaAccess), true},
			{"userinfo, unknown origin", "GET", "/oauth2/userinfo", evil, bearer(spaAccess), false},
			{"userinfo, another client's origin", "GET", "/oauth2/userinfo", spaOrigin, bearer(rsAccess), false},
			{"userinfo, an invalid token from a client's origin", "GET", "/oauth2/userinfo", spaOrigin, bearer("nope"), true},
			{"revocation, the client's origin", "POST", "/oauth2/revoke", spaOrigin, form(revoke), true},
			{"revocation, unknown origin", "POST", "/oauth2/revoke", evil, form(revoke), false},
			{"introspection, a confidential client's registered origin", "POST", "/oauth2/introspect", rsOrigin,
				basic(rs, rsSecret, url.Values{"token": {spaAccess}}), true},
			{"introspection, unknown origin", "POST", "/oauth2/introspect", evil, basic(rs, rsSecret, url.Values{"token": {spaAccess}}), false},
			{"introspection, a public client's origin", "POST", "/oauth2/introspect", spaOrigin,
				basic(spa, "", url.Values{"token": {spaAccess}}), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// The preflight a browser sends first (Fetch §4.8): it names no client.
				pre, _ := http.NewRequest(http.MethodOptions, env.Issuer+tc.path, nil)
				pre.Header.Set("Origin", tc.origin)
				pre.Header.Set("Access-Control-Request-Method", tc.method)
				pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
				resp := corsDo(t, pre)
				if resp.StatusCode != http.StatusNoContent {
					t.Fatalf("preflight status %d, want 204", resp.StatusCode)
				}
				// A preflight knows no client: any client's origin passes it
				// (the actual answer is then the client's own decision),
				// except at introspection, which only confidential clients'
				// registered origins may call.
				prefOK := (tc.origin == spaOrigin || tc.origin == rsOrigin) && (tc.path != "/oauth2/introspect" || tc.origin == rsOrigin)
				wantCORS(t, "preflight", resp, tc.origin, prefOK)
				if prefOK {
					h := resp.Header
					if !strings.Contains(h.Get("Access-Control-Allow-Methods"), tc.method) || h.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, DPoP" ||
						h.Get("Access-Control-Max-Age") != "600" {
						t.Fatalf("preflight headers %v", h)
					}
				}

				req, _ := http.NewRequest(tc.method, env.Issuer+tc.path, nil)
				if tc.req != nil {
					tc.req(req)
				}
				req.Header.Set("Origin", tc.origin)
				resp = corsDo(t, req)
				if resp.StatusCode >= 500 {
					t.Fatalf("status %d", resp.StatusCode)
				}
				wantCORS(t, "answer", resp, tc.origin, tc.allowed)
			})
		}

		t.Run("never on hosted pages, authorization or the console", func(t *testing.T) {
			for _, path := range []string{"/login", "/signup", "/account", "/consent", "/oauth2/authorize?client_id=" + spa, "/oauth2/logout", "/console", "/api/admin/v1/clients"} {
				for _, method := range []string{http.MethodOptions, http.MethodGet} {
					req, _ := http.NewRequest(method, env.Issuer+path, nil)
					req.Header.Set("Origin", spaOrigin)
					req.Header.Set("Access-Control-Request-Method", "GET")
					resp := corsDo(t, req)
					if h := resp.Header.Get("Access-Control-Allow-Origin"); h != "" {
						t.Errorf("%s %s: Access-Control-Allow-Origin %q", method, path, h)
					}
				}
			}
		})

		t.Run("a new client's origin is allowed at once", func(t *testing.T) {
			const fresh = "https://fresh.example"
			probe := func() *http.Response {
				req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/.well-known/openid-configuration", nil)
				req.Header.Set("Origin", fresh)
				return corsDo(t, req)
			}
			wantCORS(t, "before", probe(), fresh, false)
			env.CreateClient(clients.Spec{Name: "Fresh", Public: true, RedirectURIs: []string{fresh + "/cb"}})
			wantCORS(t, "after", probe(), fresh, true)
		})
	})
}

func corsDo(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// wantCORS checks that resp lets origin read it (echoed exactly) or not,
// and that it says it varies by Origin.
func wantCORS(t *testing.T, what string, resp *http.Response, origin string, allowed bool) {
	t.Helper()
	got := resp.Header.Get("Access-Control-Allow-Origin")
	want := ""
	if allowed {
		want = origin
	}
	if got != want {
		t.Fatalf("%s: Access-Control-Allow-Origin %q, want %q (status %d)", what, got, want, resp.StatusCode)
	}
	if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("%s: Access-Control-Allow-Credentials sent", what)
	}
	if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
		t.Fatalf("%s: no Vary: Origin (%v)", what, resp.Header)
	}
}
