package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// pushed is one pushed authorization request, as a client makes it.
type pushed struct {
	requestURI string
	state      string
	nonce      string
	verifier   string
}

// push posts an authorization request to the PAR endpoint (RFC 9126 §2.1)
// as clientID (with secret: HTTP Basic; without: a public client).
func push(t *testing.T, base, clientID, secret string, extra url.Values) (pushed, tokenAnswer) {
	t.Helper()
	pr := pushed{state: "st-" + oauth2.GenerateVerifier()[:16], nonce: "n-" + oauth2.GenerateVerifier()[:16], verifier: oauth2.GenerateVerifier()}
	form := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "scope": {"openid email"},
		"state": {pr.state}, "nonce": {pr.nonce}, "code_challenge": {oauth2.S256ChallengeFromVerifier(pr.verifier)}, "code_challenge_method": {"S256"}}
	for k, v := range extra {
		form[k] = v
	}
	a := postJSON(t, base+"/oauth2/par", form, clientIDIf(secret, clientID), secret)
	pr.requestURI = a.str("request_uri")
	return pr, a
}

func clientIDIf(secret, id string) string {
	if secret == "" {
		return ""
	}
	return id
}

func authorizeURL(env *servertest.Env, clientID, requestURI string, extra url.Values) string {
	q := url.Values{"client_id": {clientID}, "request_uri": {requestURI}}
	for k, v := range extra {
		q[k] = v
	}
	return env.Issuer + "/oauth2/authorize?" + q.Encode()
}

// TestPARFlow: a client pushes its authorization request (RFC 9126),
// the browser carries only client_id and request_uri, signs in and comes
// back with a code that x/oauth2 exchanges and go-oidc verifies; parameters
// added in the browser are ignored (§4). A confidential client (HTTP
// Basic) and a public one (PKCE), the second on another replica than the
// push; both databases.
func TestPARFlow(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, db...)
		replica := env.Replica()
		ctx := context.Background()
		p, err := gooidc.NewProvider(ctx, env.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		var disc struct {
			PAR      string `json:"pushed_authorization_request_endpoint"`
			Required bool   `json:"require_pushed_authorization_requests"`
		}
		if err := p.Claims(&disc); err != nil || disc.PAR != env.Issuer+"/oauth2/par" || disc.Required {
			t.Fatalf("discovery: %+v (%v)", disc, err)
		}
		user := env.CreateUser("par-" + strings.ToLower(t.Name()[len(t.Name())-6:]) + "@example.com")
		for _, tc := range []struct {
			name   string
			spec   clients.Spec
			pushAt string
		}{
			{"confidential", clients.Spec{Name: "PAR App", RedirectURIs: []string{redirectURI}, SkipConsent: true, RequirePushedAuthorizationRequests: true}, env.Issuer},
			{"public, pushed on the replica", clients.Spec{Name: "PAR SPA", RedirectURIs: []string{redirectURI}, SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"}, replica.HTTP.URL},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id, secret := env.CreateClient(tc.spec)
				pr, a := push(t, tc.pushAt, id, secret, nil)
				if a.status != http.StatusCreated || !strings.HasPrefix(pr.requestURI, "urn:ietf:params:oauth:request_uri:") || a.body["expires_in"] != float64(60) {
					t.Fatalf("push: %d %v", a.status, a.body)
				}
				b := env.Browser()
				// What the browser adds is not the request.
				resp, _ := get(t, b, authorizeURL(env, id, pr.requestURI, url.Values{"scope": {"openid email offline_access"}, "state": {"forged-state-0123"}, "prompt": {"none"}}))
				in := interactionFrom(t, resp, "/login")
				env.CompleteInteraction(b, in, user.ID, []string{"pop"}, models.ACRPhishingResistant)
				resp, _ = get(t, b, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
				q := callback(t, resp)
				if q.Get("state") != pr.state || q.Get("code") == "" {
					t.Fatalf("callback %v, want the pushed state %s", q, pr.state)
				}
				conf := oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirectURI}
				tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pr.verifier))
				if err != nil {
					t.Fatalf("exchange: %v", err)
				}
				raw, _ := tok.Extra("id_token").(string)
				idt, err := p.Verifier(&gooidc.Config{ClientID: id}).Verify(ctx, raw)
				if err != nil || idt.Nonce != pr.nonce || idt.Subject != user.ID {
					t.Fatalf("ID token %+v: %v", idt, err)
				}
				if tok.RefreshToken != "" || tok.Extra("scope") != "openid email" {
					t.Fatalf("the browser's scope was used: refresh token %t, scope %v", tok.RefreshToken != "", tok.Extra("scope"))
				}
				// Signed in now: a second pushed request gets its code at once.
				pr2, _ := push(t, env.Issuer, id, secret, nil)
				resp, _ = get(t, b, authorizeURL(env, id, pr2.requestURI, nil))
				if q := callback(t, resp); q.Get("code") == "" || q.Get("state") != pr2.state {
					t.Fatalf("SSO with a pushed request: %v", q)
				}
			})
		}
	})
}

// errorPageSays asserts resp is the authorization error page naming code.
func errorPageSays(t *testing.T, resp *http.Response, body, code string) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Path != "/oauth2/authorize" || !strings.Contains(body, code) {
		t.Fatalf("got %d at %s, want the error page with %s:\n%s", resp.StatusCode, resp.Request.URL, code, body)
	}
}

// TestPARRefusals: a request_uri works once (also under concurrent use),
// not after its lifetime, not for another client (which spends nothing);
// a client that must push is refused a plain authorization request; the
// PAR endpoint authenticates clients and validates the request as the
// authorization endpoint would (RFC 9126 §2.1–§2.3, §4, §5).
func TestPARRefusals(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, db...)
		conf, secret := env.CreateClient(clients.Spec{Name: "PAR App", RedirectURIs: []string{redirectURI}, SkipConsent: true})
		must, _ := env.CreateClient(clients.Spec{Name: "Must push", RedirectURIs: []string{redirectURI}, SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none", RequirePushedAuthorizationRequests: true})
		other, _ := env.CreateClient(clients.Spec{Name: "Other", RedirectURIs: []string{redirectURI}, SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})

		t.Run("reused request_uri", func(t *testing.T) {
			pr, _ := push(t, env.Issuer, conf, secret, nil)
			resp, _ := get(t, env.Browser(), authorizeURL(env, conf, pr.requestURI, nil))
			interactionFrom(t, resp, "/login")
			resp, body := get(t, env.Browser(), authorizeURL(env, conf, pr.requestURI, nil))
			errorPageSays(t, resp, body, "invalid_request_uri")
		})
		t.Run("concurrent uses, one wins", func(t *testing.T) {
			pr, _ := push(t, env.Issuer, conf, secret, nil)
			var mu sync.Mutex
			wins := 0
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					resp, err := env.Browser().Get(authorizeURL(env, conf, pr.requestURI, nil))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					if resp.Request.URL.Path == "/login" {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d of 8 concurrent uses reached the sign-in, want 1", wins)
			}
		})
		t.Run("unknown request_uri", func(t *testing.T) {
			resp, body := get(t, env.Browser(), authorizeURL(env, conf, "urn:ietf:params:oauth:request_uri:nope", nil))
			errorPageSays(t, resp, body, "invalid_request_uri")
		})
		t.Run("wrong client spends nothing", func(t *testing.T) {
			pr, _ := push(t, env.Issuer, conf, secret, nil)
			resp, body := get(t, env.Browser(), authorizeURL(env, other, pr.requestURI, nil))
			errorPageSays(t, resp, body, "invalid_request_uri")
			resp, _ = get(t, env.Browser(), authorizeURL(env, conf, pr.requestURI, nil))
			interactionFrom(t, resp, "/login")
		})
		t.Run("push required but not used", func(t *testing.T) {
			u := "/oauth2/authorize?" + url.Values{"client_id": {must}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"},
				"state": {"state-0123456789"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}.Encode()
			resp, _ := get(t, env.Browser(), env.Issuer+u)
			if q := callback(t, resp); q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "push") || q.Get("code") != "" {
				t.Fatalf("plain request of a client that must push: %v", q)
			}
			// Pushed, it works.
			pr, a := push(t, env.Issuer, must, "", nil)
			if a.status != http.StatusCreated {
				t.Fatalf("push: %d %v", a.status, a.body)
			}
			resp, _ = get(t, env.Browser(), authorizeURL(env, must, pr.requestURI, nil))
			interactionFrom(t, resp, "/login")
		})

		// The PAR endpoint itself.
		for _, tc := range []struct {
			name          string
			user, pass    string
			extra         url.Values
			status        int
			code          string
			clientID      string
			noDefaultBody bool
		}{
			{name: "no client authentication", extra: url.Values{"client_id": {conf}}, status: http.StatusUnauthorized, code: "invalid_client"},
			{name: "wrong secret", user: conf, pass: "wrong", status: http.StatusUnauthorized, code: "invalid_client"},
			{name: "unknown client", extra: url.Values{"client_id": {"no-such-client"}}, status: http.StatusUnauthorized, code: "invalid_client"},
			{name: "request_uri pushed", user: conf, pass: secret, extra: url.Values{"request_uri": {"urn:ietf:params:oauth:request_uri:x"}}, status: http.StatusBadRequest, code: "invalid_request"},
			{name: "request object", user: conf, pass: secret, extra: url.Values{"request": {"eyJhbGciOiJub25lIn0.e30."}}, status: http.StatusBadRequest, code: "request_not_supported"},
			{name: "unregistered redirect_uri", user: conf, pass: secret, extra: url.Values{"redirect_uri": {"https://evil.example/cb"}}, status: http.StatusBadRequest, code: "invalid_request"},
			{name: "implicit", user: conf, pass: secret, extra: url.Values{"response_type": {"token"}}, status: http.StatusBadRequest, code: "unsupported_response_type"},
			{name: "plain PKCE", user: conf, pass: secret, extra: url.Values{"code_challenge_method": {"plain"}}, status: http.StatusBadRequest, code: "invalid_request"},
			{name: "public client without PKCE", extra: url.Values{"client_id": {other}, "code_challenge": nil, "code_challenge_method": nil}, status: http.StatusBadRequest, code: "invalid_request"},
			{name: "scope not allowed", user: conf, pass: secret, extra: url.Values{"scope": {"openid groups"}}, status: http.StatusBadRequest, code: "invalid_scope"},
			{name: "repeated parameter", user: conf, pass: secret, extra: url.Values{"scope": {"openid", "email"}}, status: http.StatusBadRequest, code: "invalid_request"},
		} {
			t.Run("endpoint/"+tc.name, func(t *testing.T) {
				form := url.Values{"response_type": {"code"}, "client_id": {conf}, "redirect_uri": {redirectURI}, "scope": {"openid"}, "state": {"state-0123456789"},
					"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
				for k, v := range tc.extra {
					if v == nil {
						form.Del(k)
					} else {
						form[k] = v
					}
				}
				before := rowCounts(t, env, "oauth2_requests")
				a := postJSON(t, env.Issuer+"/oauth2/par", form, tc.user, tc.pass)
				if a.status != tc.status || a.str("error") != tc.code || a.str("request_uri") != "" {
					t.Fatalf("got %d %v, want %d %s", a.status, a.body, tc.status, tc.code)
				}
				nothingWritten(t, env, tc.name, before) // no pushed request kept
			})
		}
		t.Run("endpoint/parameters in the URL", func(t *testing.T) {
			a := postJSON(t, env.Issuer+"/oauth2/par?scope=openid", url.Values{"response_type": {"code"}, "client_id": {conf}}, conf, secret)
			if a.status != http.StatusBadRequest || a.str("error") != "invalid_request" {
				t.Fatalf("%d %v", a.status, a.body)
			}
		})
		t.Run("endpoint/GET", func(t *testing.T) {
			resp, err := http.Get(env.Issuer + "/oauth2/par")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET: %d", resp.StatusCode)
			}
		})
	})
}

// TestPARExpiresAndGlobalSwitch: past its lifetime a request_uri is
// invalid_request_uri; with require_pushed_authorization_requests on,
// discovery says so and every client must push. On SQLite and PostgreSQL.
func TestPARExpiresAndGlobalSwitch(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, func(c *config.Config) {
			c.PushedAuthorizationRequestTTL = time.Second
			c.ClockSkewLeeway = 0
			c.RequirePushedAuthorizationRequests = true
		})...)
		id, secret := env.CreateClient(clients.Spec{Name: "PAR App", RedirectURIs: []string{redirectURI}, SkipConsent: true})
		_, body := get(t, env.Browser(), env.Issuer+"/.well-known/openid-configuration")
		if !strings.Contains(body, `"require_pushed_authorization_requests":true`) {
			t.Fatalf("discovery: %s", body)
		}
		pr, a := push(t, env.Issuer, id, secret, nil)
		if a.body["expires_in"] != float64(1) {
			t.Fatalf("expires_in %v", a.body["expires_in"])
		}
		time.Sleep(1500 * time.Millisecond)
		resp, body := get(t, env.Browser(), authorizeURL(env, id, pr.requestURI, nil))
		errorPageSays(t, resp, body, "invalid_request_uri")
		u := env.Issuer + "/oauth2/authorize?" + url.Values{"client_id": {id}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "scope": {"openid"},
			"state": {"state-0123456789"}}.Encode()
		resp, _ = get(t, env.Browser(), u)
		if q := callback(t, resp); q.Get("error") != "invalid_request" {
			t.Fatalf("plain request under the global switch: %v", q)
		}
	})
}
