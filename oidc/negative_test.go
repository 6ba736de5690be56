package oidc_test

// Negative tests: every malformed or hostile request gets the standard
// OAuth error and status (never a 500 or a panic), an unverified
// redirect_uri is never redirected to, and a refused request writes no row.
// Each case is a subtest named after the invariant it protects and the RFC
// section that states it; the cases of one endpoint share an environment
// per database (starting one costs more than most cases).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

const negState = "neg-state-0123456789"

// negCase is one bad input, named after the invariant it protects and
// the section that states it.
type negCase struct {
	name string
	fn   func(t *testing.T, env *servertest.Env)
}

// negRunAll runs the cases in order as subtests on one environment; each
// case registers its own clients and users and checks rows with snapshots.
func negRunAll(t *testing.T, env *servertest.Env, cases []negCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, env) })
	}
}

// TestBadInputAuthorize: the authorization endpoint (RFC 6749 §4.1.1,
// §4.1.2.1; RFC 7636; OIDC Core §3.1.2).
func TestBadInputAuthorize(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		negRunAll(t, env, []negCase{
			{"InexactRedirectURIIsNeverRedirectedTo_RFC6749_3_1_2_4", negInexactRedirectURIIsNeverRedirectedTo},
			{"UnknownOrMissingClientIDGetsPage_RFC6749_4_1_2_1", negUnknownOrMissingClientIDGetsPage},
			{"PublicClientWithoutPKCEIsRefused_RFC7636_4_4_1", negPublicClientWithoutPKCEIsRefused},
			{"PlainPKCEIsRefusedForConfidentialClients_RFC7636_4_3", negPlainPKCEIsRefusedForConfidentialClients},
			{"OnlyCodeResponseTypeIsServed_RFC6749_3_1_1", negOnlyCodeResponseTypeIsServed},
			{"UnsupportedResponseModeIsRefused_OAuthResponseModes_2_1", negUnsupportedResponseModeIsRefused},
			{"UnregisteredScopeIsInvalidScope_RFC6749_3_3", negUnregisteredScopeIsInvalidScope},
			{"MalformedPromptOrMaxAgeIsInvalidRequest_OIDCCore_3_1_2_1", negMalformedPromptOrMaxAgeIsInvalidRequest},
			{"RefusedAuthorizationWritesNoCode_OIDCCore_3_1_2_1", negRefusedAuthorizationWritesNoCode},
			{"OversizedParametersAreRefused_RFC6749_4_1_2_1", negOversizedParametersAreRefused},
			{"RepeatedParameterIsInvalidRequest_RFC6749_3_1", negRepeatedAuthorizeParameterIsInvalidRequest},
			{"RequestObjectIsNotSupported_OIDCCore_6_1", negRequestObjectIsNotSupported},
			{"StateIsOptional_RFC6749_4_1_1", negStateIsOptional},
			{"ShortNonceIsRefusedAtAuthorize_OIDCCore_3_1_2_1", negShortNonceIsRefusedAtAuthorize},
		})
	})
}

// TestBadInputToken: the token endpoint (RFC 6749 §3.2, §4.1.3, §5.2, §6;
// RFC 7636 §4.6).
func TestBadInputToken(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		negRunAll(t, env, []negCase{
			{"WrongCodeVerifierIsInvalidGrant_RFC7636_4_6", negWrongCodeVerifierIsInvalidGrant},
			{"ReusedCodeFailsAndRevokesItsTokens_RFC6749_4_1_2", negReusedCodeFailsAndRevokesItsTokens},
			{"ConcurrentCodeExchangesHaveOneWinner_RFC6749_4_1_2", negConcurrentCodeExchangesHaveOneWinner},
			{"CodeIsBoundToClientAndRedirectURI_RFC6749_4_1_3", negCodeIsBoundToClientAndRedirectURI},
			{"UnknownOrGarbageCodeIsInvalidGrant_RFC6749_5_2", negUnknownOrGarbageCodeIsInvalidGrant},
			{"FailedClientAuthenticationIs401InvalidClient_RFC6749_5_2", negFailedClientAuthenticationIs401InvalidClient},
			{"UnsupportedGrantTypesAreRefused_RFC6749_5_2", negUnsupportedGrantTypesAreRefused},
			{"ForeignOrGarbageRefreshTokenIsInvalidGrant_RFC6749_6", negForeignOrGarbageRefreshTokenIsInvalidGrant},
			{"OversizedTokenRequestIs413_RFC9110_15_5_14", negOversizedTokenRequestIs413},
			{"RepeatedParameterIsInvalidRequest_RFC6749_3_2", negRepeatedTokenParameterIsInvalidRequest},
			{"TwoClientAuthenticationMethodsAreInvalidRequest_RFC6749_2_3", negTwoClientAuthenticationMethodsAreInvalidRequest},
		})
	})
}

// TestBadInputSessionsAndPages: userinfo, the interaction hand-off, the
// hosted pages and disabled users (RFC 6750 §3.1; RFC 6749 §10.12).
func TestBadInputSessionsAndPages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		negRunAll(t, env, []negCase{
			{"UserinfoNeedsAValidBearerToken_RFC6750_3_1", negUserinfoNeedsAValidBearerToken},
			{"InteractionIsBoundToItsBrowserAndSingleUse_RFC6749_10_12", negInteractionIsBoundToItsBrowserAndSingleUse},
			{"CrossSiteFormPostIsRefused_RFC6454_7", negCrossSiteFormPostIsRefused},
			{"DisabledUserLosesSessionsAndTokens_OIDCCore_3_1_2_3", negDisabledUserLosesSessionsAndTokens},
		})
	})
}

// TestBadInputExpiry: codes and interactions past their lifetime, on an
// environment where both live a millisecond.
func TestBadInputExpiry(t *testing.T) {
	t.Parallel()
	// No clock-skew leeway: one host, one clock (skew_test.go has it).
	noLeeway := func(c *config.Config) { c.ClockSkewLeeway = 0 }
	negForEachDB(t, []servertest.Option{negAuthCodeTTL(time.Millisecond), negInteractionTTL(time.Millisecond), noLeeway},
		func(t *testing.T, env *servertest.Env) {
			negRunAll(t, env, []negCase{
				{"ExpiredCodeIsInvalidGrant_RFC6749_4_1_2", negExpiredCodeIsInvalidGrant},
				{"ExpiredInteractionGetsPage_RFC6749_10_12", negExpiredInteractionGetsPage},
			})
		})
}

// --- authorization endpoint: redirect_uri and client_id ---------------------

// negInexactRedirectURIIsNeverRedirectedTo: a redirect_uri
// that is not registered byte for byte (RFC 6749 §3.1.2.3, simple string
// comparison) gets an error page, never a redirect and never a form_post
// (RFC 6749 §3.1.2.4, §4.1.2.1), and parks no interaction.
func negInexactRedirectURIIsNeverRedirectedTo(t *testing.T, env *servertest.Env) {
	const registered = "https://app.example.com:8443/cb"
	id, _ := env.CreateClient(clients.Spec{Name: "Exact", SkipConsent: true,
		RedirectURIs: []string{registered, redirectURI}})
	b, _ := negSignedIn(t, env) // a session must not change the answer
	for _, tc := range []struct{ name, uri string }{
		{"unregistered", "https://evil.example/cb"},
		{"trailing slash", registered + "/"},
		{"extra path", registered + "/extra"},
		{"different port", "https://app.example.com:9443/cb"},
		{"default port", "https://app.example.com/cb"},
		{"case in path", "https://app.example.com:8443/CB"},
		{"case in host", "https://APP.example.com:8443/cb"},
		{"added query", registered + "?next=https://evil.example"},
		{"http instead of https", "http://app.example.com:8443/cb"},
		{"fragment", registered + "#x"},
		{"userinfo", "https://evil.example@app.example.com:8443/cb"},
		{"loopback extra path", redirectURI + "/"},
		{"loopback added query", redirectURI + "?x=1"},
		{"localhost for 127.0.0.1", "http://localhost:9999/callback"},
		{"missing with openid", ""},
	} {
		for _, mode := range []string{"query", "form_post"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				before := negCount(t, env, "interactions")
				for _, browser := range []*http.Client{env.Browser(), b} {
					u := negAuthURL(env, id, tc.uri, url.Values{"response_mode": {mode}})
					resp, body := negGet(t, browser, u)
					negWantPage(t, resp, body, http.StatusBadRequest)
					if strings.Contains(body, "evil.example") || (strings.Contains(body, "<form") && strings.Contains(body, "app.example.com")) {
						t.Fatalf("error page leads to the client:\n%s", body)
					}
				}
				if n := negCount(t, env, "interactions"); n != before {
					t.Fatalf("interactions: %d, want %d", n, before)
				}
			})
		}
	}
	// RFC 8252 §7.3: for a loopback IP literal only the port may vary, and
	// only for native apps (public clients), and only to a real port; a
	// confidential client matches exactly (RFC 9700 §4.1.3).
	_, challenge := negPKCE()
	pub := negPublicClient(t, env)
	t.Run("loopback port may vary for a public client (RFC 8252 §7.3)", func(t *testing.T) {
		q := negCode(t, env, b, pub, "http://127.0.0.1:12345/callback", url.Values{"code_challenge": {challenge}})
		if q.Get("code") == "" {
			t.Fatalf("no code: %v", q)
		}
	})
	for _, tc := range []struct{ name, client, uri string }{
		{"confidential client on another loopback port", id, "http://127.0.0.1:12345/callback"},
		{"public client on port 0", pub, "http://127.0.0.1:0/callback"},
		{"public client on port 99999", pub, "http://127.0.0.1:99999/callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := negCount(t, env, "interactions")
			resp, body := negGet(t, b, negAuthURL(env, tc.client, tc.uri, url.Values{"code_challenge": {challenge}}))
			negWantPage(t, resp, body, http.StatusBadRequest)
			if n := negCount(t, env, "interactions"); n != before {
				t.Fatalf("interactions: %d, want %d", n, before)
			}
		})
	}
}

// negStateIsOptional: state is optional (RFC 6749 §4.1.1, OIDC Core
// §3.1.2.1): without one the request gets a code and the response carries
// no state; one that is present must still be long enough.
func negStateIsOptional(t *testing.T, env *servertest.Env) {
	pub := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	resp, body := negGet(t, b, negAuthURL(env, pub, redirectURI, url.Values{"code_challenge": {challenge}, "state": nil}))
	q := negCallback(t, env, resp, body)
	if q.Get("code") == "" || q.Has("state") || q.Get("iss") != env.Issuer {
		t.Fatalf("callback %v, want a code, iss and no state", q)
	}
	for _, mode := range []string{"query", "form_post"} {
		resp, body = negGet(t, b, negAuthURL(env, pub, redirectURI, url.Values{"code_challenge": {challenge}, "state": nil,
			"response_mode": {mode}, "prompt": {"bogus"}}))
		if strings.Contains(resp.Header.Get("Location")+body, "state") {
			t.Fatalf("%s error response carries a state:\n%s %s", mode, resp.Header.Get("Location"), body)
		}
	}
	resp, body = negGet(t, b, negAuthURL(env, pub, redirectURI, url.Values{"code_challenge": {challenge}, "state": {"short"}}))
	q = negCallback(t, env, resp, body)
	if q.Get("error") != "invalid_state" {
		t.Fatalf("a 5-character state: %v, want invalid_state", q)
	}
	// Without state, a request object is refused as such.
	resp, body = negGet(t, b, negAuthURL(env, pub, redirectURI, url.Values{"code_challenge": {challenge}, "state": nil, "request": {"e30.e30."}}))
	if q := negCallback(t, env, resp, body); q.Get("error") != "request_not_supported" {
		t.Fatalf("request object without state: %v, want request_not_supported", q)
	}
}

// negShortNonceIsRefusedAtAuthorize: a nonce too short to be a nonce is
// invalid_request at once, not a code that can never be exchanged.
func negShortNonceIsRefusedAtAuthorize(t *testing.T, env *servertest.Env) {
	pub := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	before := negSnapshot(t, env)
	resp, body := negGet(t, b, negAuthURL(env, pub, redirectURI, url.Values{"code_challenge": {challenge}, "nonce": {"abc"}}))
	negWantRedirectError(t, env, resp, body, "invalid_request")
	before.same(t, env)
}

// negUnknownOrMissingClientIDGetsPage: without a valid
// client the redirect_uri cannot be verified, so the user sees a page.
func negUnknownOrMissingClientIDGetsPage(t *testing.T, env *servertest.Env) {
	before := negSnapshot(t, env)
	for name, clientID := range map[string]string{
		"unknown": "no-such-client", "missing": "", "huge": strings.Repeat("c", 300),
	} {
		t.Run(name, func(t *testing.T) {
			u := negAuthURL(env, clientID, redirectURI, nil)
			if clientID == "" {
				u = negAuthURL(env, "x", redirectURI, url.Values{"client_id": nil})
			}
			resp, body := negGet(t, env.Browser(), u)
			negWantPage(t, resp, body, http.StatusBadRequest)
		})
	}
	before.same(t, env)
}

// --- authorization endpoint: PKCE -------------------------------------------

// negPublicClientWithoutPKCEIsRefused: a public client must
// send an S256 code_challenge; without one, or with "plain", the client
// gets invalid_request at once (with state and iss, RFC 9207) — before a
// login is asked for, and without writing an interaction or a code.
func negPublicClientWithoutPKCEIsRefused(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	signedIn, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	for _, tc := range []struct {
		name  string
		extra url.Values
	}{
		{"no challenge", nil},
		{"plain", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"plain"}}},
		{"challenge without method (plain)", url.Values{"code_challenge": {challenge}, "code_challenge_method": nil}},
		{"unknown method", url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S512"}}},
		{"method without challenge", url.Values{"code_challenge_method": {"S256"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := negSnapshot(t, env)
			for _, who := range []struct {
				name string
				b    *http.Client
			}{{"signed out", env.Browser()}, {"signed in", signedIn}} {
				resp, body := negGet(t, who.b, negAuthURL(env, id, redirectURI, tc.extra))
				negWantRedirectError(t, env, resp, body, "invalid_request")
			}
			before.same(t, env)
		})
	}
}

// negPlainPKCEIsRefusedForConfidentialClients: "plain" is
// refused for every client (only S256 is advertised).
func negPlainPKCEIsRefusedForConfidentialClients(t *testing.T, env *servertest.Env) {
	id, _ := env.CreateClient(clients.Spec{Name: "Conf", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	b, _ := negSignedIn(t, env)
	before := negSnapshot(t, env)
	resp, body := negGet(t, b, negAuthURL(env, id, redirectURI,
		url.Values{"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"plain"}}))
	negWantRedirectError(t, env, resp, body, "invalid_request")
	before.same(t, env)
}

// negWrongCodeVerifierIsInvalidGrant: a verifier that does not
// hash to the challenge fails with invalid_grant, and a failed attempt does
// not strip the code of its PKCE binding: retrying without any verifier
// still fails (no PKCE downgrade), while the rightful client, holding the
// right verifier, is not locked out by someone else's guess.
func negWrongCodeVerifierIsInvalidGrant(t *testing.T, env *servertest.Env) {
	b, _ := negSignedIn(t, env)
	for _, public := range []bool{true, false} {
		t.Run(fmt.Sprintf("public=%v", public), func(t *testing.T) {
			var id, secret string
			if public {
				id = negPublicClient(t, env)
			} else {
				id, secret = env.CreateClient(clients.Spec{Name: "Conf", SkipConsent: true, RedirectURIs: []string{redirectURI}})
			}
			verifier, challenge := negPKCE()
			code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}}).Get("code")
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
			if public {
				form.Set("client_id", id)
			}
			for _, bad := range []string{oauth2.GenerateVerifier(), "short", strings.Repeat("a", 129), verifier + "!", ""} {
				f := negWith(form, "code_verifier", bad)
				if bad == "" {
					f.Del("code_verifier")
				}
				r := negToken(t, env, f, id, secret)
				negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant", "invalid_request")
			}
			r := negToken(t, env, negWith(form, "code_verifier", verifier), id, secret)
			if r.Status != http.StatusOK || r.Body["access_token"] == nil {
				t.Fatalf("rightful exchange after failed guesses: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// --- authorization endpoint: response_type, response_mode, scope ------------

// negOnlyCodeResponseTypeIsServed: response types other
// than code get unsupported_response_type and never a token.
func negOnlyCodeResponseTypeIsServed(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	for _, rt := range []string{"token", "id_token", "code id_token", "code token", "id_token token", "none", "", "CODE"} {
		t.Run("response_type="+rt, func(t *testing.T) {
			before := negSnapshot(t, env)
			extra := url.Values{"response_type": {rt}, "code_challenge": {challenge}}
			if rt == "" {
				extra["response_type"] = nil
			}
			resp, body := negGet(t, b, negAuthURL(env, id, redirectURI, extra))
			negWantNoToken(t, resp, body)
			negWantRedirectError(t, env, resp, body, "unsupported_response_type")
			before.same(t, env)
		})
	}
}

// negUnsupportedResponseModeIsRefused: only query and
// form_post are served; others are refused and nothing is issued.
func negUnsupportedResponseModeIsRefused(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	for _, mode := range []string{"fragment", "web_message", "jwt", "query.jwt", "QUERY"} {
		t.Run(mode, func(t *testing.T) {
			before := negSnapshot(t, env)
			resp, body := negGet(t, b, negAuthURL(env, id, redirectURI,
				url.Values{"response_mode": {mode}, "code_challenge": {challenge}}))
			negWantNoToken(t, resp, body)
			if resp.StatusCode == http.StatusSeeOther {
				negWantRedirectError(t, env, resp, body, "unsupported_response_mode")
			} else {
				negWantPage(t, resp, body, http.StatusBadRequest)
			}
			before.same(t, env)
		})
	}
}

// negUnregisteredScopeIsInvalidScope: a scope the client
// did not register is refused with invalid_scope to the redirect URI.
func negUnregisteredScopeIsInvalidScope(t *testing.T, env *servertest.Env) {
	id, _ := env.CreateClient(clients.Spec{Name: "Narrow", Public: true, SkipConsent: true,
		RedirectURIs: []string{redirectURI}, Scopes: []string{"openid"}})
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	for _, scope := range []string{"openid email", "openid admin", "openid offline_access", "openid OPENID"} {
		t.Run(scope, func(t *testing.T) {
			before := negSnapshot(t, env)
			resp, body := negGet(t, b, negAuthURL(env, id, redirectURI,
				url.Values{"scope": {scope}, "code_challenge": {challenge}}))
			negWantRedirectError(t, env, resp, body, "invalid_scope")
			before.same(t, env)
		})
	}
}

// --- token endpoint: authorization codes ------------------------------------

// negReusedCodeFailsAndRevokesItsTokens: a code works once;
// its second use gets invalid_grant and revokes the access and refresh
// tokens issued from the first (RFC 6749 §4.1.2, §10.5).
func negReusedCodeFailsAndRevokesItsTokens(t *testing.T, env *servertest.Env) {
	id, secret := env.CreateClient(clients.Spec{Name: "Conf", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	b, _ := negSignedIn(t, env)
	verifier, challenge := negPKCE()
	code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}, "scope": {"openid offline_access"}}).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}

	first := negToken(t, env, form, id, secret)
	if first.Status != http.StatusOK {
		t.Fatalf("first exchange: %d %s", first.Status, first.Raw)
	}
	at, _ := first.Body["access_token"].(string)
	rt, _ := first.Body["refresh_token"].(string)
	if at == "" || rt == "" {
		t.Fatalf("first exchange lacks tokens: %s", first.Raw)
	}
	if !negIntrospect(t, env, id, secret, at) || !negIntrospect(t, env, id, secret, rt) {
		t.Fatal("fresh tokens are not active")
	}

	second := negToken(t, env, form, id, secret)
	negWantOAuthError(t, second, http.StatusBadRequest, "invalid_grant")
	if negIntrospect(t, env, id, secret, at) {
		t.Error("access token from the first exchange is still active")
	}
	if negIntrospect(t, env, id, secret, rt) {
		t.Error("refresh token from the first exchange is still active")
	}
	r := negToken(t, env, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, _ := negDo(t, http.DefaultClient, req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with a revoked token: %d", resp.StatusCode)
	}
}

// negConcurrentCodeExchangesHaveOneWinner: of concurrent
// exchanges of one code exactly one succeeds; the others get invalid_grant
// (never a 500 from the race).
func negConcurrentCodeExchangesHaveOneWinner(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	for round := range 3 {
		verifier, challenge := negPKCE()
		code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}}).Get("code")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
			"code_verifier": {verifier}, "client_id": {id}}
		const n = 8
		results := make([]negTokenResp, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				results[i] = negTokenNoFatal(env, form, "", "")
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, r := range results {
			switch {
			case r.Status == http.StatusOK && r.Body["access_token"] != nil:
				ok++
			case r.Status == http.StatusBadRequest && r.err() == "invalid_grant":
			default:
				t.Errorf("round %d exchange %d: %d %s", round, i, r.Status, r.Raw)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d exchanges succeeded, want exactly 1", round, ok)
		}
	}
}

// negCodeIsBoundToClientAndRedirectURI: a code exchanged by
// another client, or with a redirect_uri other than the one of the
// authorization request, gets invalid_grant; such attempts do not spend the
// code of the rightful client.
func negCodeIsBoundToClientAndRedirectURI(t *testing.T, env *servertest.Env) {
	const other = "https://app.example.com/cb"
	id, secret := env.CreateClient(clients.Spec{Name: "A", SkipConsent: true, RedirectURIs: []string{redirectURI, other}})
	otherID, otherSecret := env.CreateClient(clients.Spec{Name: "B", SkipConsent: true, RedirectURIs: []string{redirectURI, other}})
	pubID := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	verifier, challenge := negPKCE()
	code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}}).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}

	r := negToken(t, env, form, otherID, otherSecret)
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	r = negToken(t, env, negWith(form, "client_id", pubID), "", "")
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	for _, uri := range []string{other, redirectURI + "/", "http://127.0.0.1:1234/callback", ""} {
		f := negWith(form, "redirect_uri", uri)
		if uri == "" {
			f.Del("redirect_uri")
		}
		r = negToken(t, env, f, id, secret)
		negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	}
	r = negToken(t, env, form, id, secret)
	if r.Status != http.StatusOK {
		t.Fatalf("rightful exchange: %d %s", r.Status, r.Raw)
	}
}

// negExpiredCodeIsInvalidGrant: a code past its lifetime
// gets invalid_grant.
func negExpiredCodeIsInvalidGrant(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	verifier, challenge := negPKCE()
	code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}}).Get("code")
	time.Sleep(20 * time.Millisecond)
	r := negToken(t, env, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {id}}, "", "")
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
}

// negUnknownOrGarbageCodeIsInvalidGrant: codes that were never
// issued get invalid_grant, whatever their shape.
func negUnknownOrGarbageCodeIsInvalidGrant(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	verifier, _ := negPKCE()
	for _, code := range []string{"garbage", "ory_ac_x.y", "a.b.c", strings.Repeat("x", 2000), "\x00", ""} {
		r := negToken(t, env, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
			"code_verifier": {verifier}, "client_id": {id}}, "", "")
		negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant", "invalid_request")
	}
}

// --- token endpoint: client authentication ---------------------------------

// negFailedClientAuthenticationIs401InvalidClient: a wrong
// secret, an unknown client, a missing secret, or an authentication method
// other than the registered one gets 401 invalid_client with a
// WWW-Authenticate header. A cached good secret does not make a wrong one
// pass.
func negFailedClientAuthenticationIs401InvalidClient(t *testing.T, env *servertest.Env) {
	basicID, basicSecret := env.CreateClient(clients.Spec{Name: "Basic", GrantTypes: []string{"client_credentials"}})
	postID, postSecret := env.CreateClient(clients.Spec{Name: "Post", GrantTypes: []string{"client_credentials"},
		TokenEndpointAuthMethod: "client_secret_post"})
	cc := url.Values{"grant_type": {"client_credentials"}}

	// The right secret works (and is now cached).
	if r := negToken(t, env, cc, basicID, basicSecret); r.Status != http.StatusOK {
		t.Fatalf("basic: %d %s", r.Status, r.Raw)
	}
	if r := negToken(t, env, negWith(negWith(cc, "client_id", postID), "client_secret", postSecret), "", ""); r.Status != http.StatusOK {
		t.Fatalf("post: %d %s", r.Status, r.Raw)
	}
	before := negSnapshot(t, env)
	for _, tc := range []struct {
		name       string
		form       url.Values
		id, secret string
	}{
		{"wrong secret", cc, basicID, basicSecret + "x"},
		{"secret prefix", cc, basicID, basicSecret[:len(basicSecret)-1]},
		{"empty secret", cc, basicID, ""},
		{"other client's secret", cc, basicID, postSecret},
		{"unknown client", cc, "no-such-client", basicSecret},
		{"no authentication", negWith(cc, "client_id", basicID), "", ""},
		{"post for a basic client", negWith(negWith(cc, "client_id", basicID), "client_secret", basicSecret), "", ""},
		{"basic for a post client", cc, postID, postSecret},
		{"post with wrong secret", negWith(negWith(cc, "client_id", postID), "client_secret", "nope"), "", ""},
		{"post unknown client", negWith(negWith(cc, "client_id", "nobody"), "client_secret", "nope"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := negToken(t, env, tc.form, tc.id, tc.secret)
			negWantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	before.same(t, env)
}

// --- token endpoint: grant types ---------------------------------------------

// negUnsupportedGrantTypesAreRefused: an unknown grant type is
// unsupported_grant_type; a missing one invalid_request; client_credentials
// for a client not registered for it unauthorized_client; and a public
// client may never use client_credentials (RFC 6749 §4.4).
func negUnsupportedGrantTypesAreRefused(t *testing.T, env *servertest.Env) {
	id, secret := env.CreateClient(clients.Spec{Name: "Code only", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	pubID := negPublicClient(t, env)
	before := negSnapshot(t, env)
	// (The device grant is served: device_test.go refuses it to clients
	// not registered for it, with unauthorized_client.)
	for _, gt := range []string{"password", "implicit",
		"urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:token-exchange", "AUTHORIZATION_CODE",
		"authorization_code refresh_token"} {
		t.Run("grant_type="+gt, func(t *testing.T) {
			form := url.Values{"grant_type": {gt}, "username": {"u"}, "password": {"p"}}
			negWantOAuthError(t, negToken(t, env, form, id, secret), http.StatusBadRequest, "unsupported_grant_type")
			// Even before the client is authenticated.
			negWantOAuthError(t, negToken(t, env, form, "", ""), http.StatusBadRequest, "unsupported_grant_type")
		})
	}
	t.Run("missing grant_type", func(t *testing.T) {
		negWantOAuthError(t, negToken(t, env, url.Values{"scope": {"openid"}}, id, secret), http.StatusBadRequest, "invalid_request")
		negWantOAuthError(t, negToken(t, env, url.Values{"grant_type": {""}}, id, secret), http.StatusBadRequest, "invalid_request")
		negWantOAuthError(t, negToken(t, env, url.Values{}, id, secret), http.StatusBadRequest, "invalid_request")
	})
	t.Run("client_credentials not registered", func(t *testing.T) {
		negWantOAuthError(t, negToken(t, env, url.Values{"grant_type": {"client_credentials"}}, id, secret),
			http.StatusBadRequest, "unauthorized_client")
	})
	t.Run("client_credentials for a public client", func(t *testing.T) {
		r := negToken(t, env, url.Values{"grant_type": {"client_credentials"}, "client_id": {pubID}}, "", "")
		negWantOAuthError(t, r, 0, "unauthorized_client", "invalid_grant", "invalid_client")
	})
	t.Run("GET token endpoint", func(t *testing.T) {
		resp, body := negGet(t, http.DefaultClient, env.Issuer+"/oauth2/token?grant_type=client_credentials")
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("GET /oauth2/token: %d %s", resp.StatusCode, body)
		}
	})
	before.same(t, env)
}

// negForeignOrGarbageRefreshTokenIsInvalidGrant: a refresh token
// is bound to its client; another client's attempt and garbage get
// invalid_grant, a wider scope invalid_scope, and none of these attempts
// spends the rightful token.
func negForeignOrGarbageRefreshTokenIsInvalidGrant(t *testing.T, env *servertest.Env) {
	id, secret := env.CreateClient(clients.Spec{Name: "A", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	otherID, otherSecret := env.CreateClient(clients.Spec{Name: "B", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	b, _ := negSignedIn(t, env)
	tok := negExchange(t, env, b, id, secret, "openid offline_access")
	rt, _ := tok["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", tok)
	}
	r := negToken(t, env, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, otherID, otherSecret)
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	// A refresh may narrow the grant, never widen it (RFC 6749 §6).
	r = negToken(t, env, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {"openid email"}}, id, secret)
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_scope")
	for _, garbage := range []string{"garbage", "ory_rt_x.y", strings.Repeat("r", 3000), ""} {
		r := negToken(t, env, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {garbage}}, id, secret)
		negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant", "invalid_request")
	}
	r = negToken(t, env, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
	if r.Status != http.StatusOK {
		t.Fatalf("rightful refresh: %d %s", r.Status, r.Raw)
	}
}

// --- size limits --------------------------------------------------------------

// negOversizedParametersAreRefused: oversized or too many authorization
// parameters get a 400 page (or 413 for an oversized body), and nothing is
// parked.
func negOversizedParametersAreRefused(t *testing.T, env *servertest.Env) {
	before := negSnapshot(t, env)
	id := negPublicClient(t, env)
	_, challenge := negPKCE()
	t.Run("5000-char state", func(t *testing.T) {
		resp, body := negGet(t, env.Browser(), negAuthURL(env, id, redirectURI,
			url.Values{"state": {strings.Repeat("s", 5000)}, "code_challenge": {challenge}}))
		negWantPage(t, resp, body, http.StatusBadRequest)
	})
	t.Run("long parameter name", func(t *testing.T) {
		resp, body := negGet(t, env.Browser(), negAuthURL(env, id, redirectURI,
			url.Values{strings.Repeat("k", 100): {"v"}, "code_challenge": {challenge}}))
		negWantPage(t, resp, body, http.StatusBadRequest)
	})
	t.Run("too many parameters", func(t *testing.T) {
		extra := url.Values{"code_challenge": {challenge}}
		for i := range 60 {
			extra.Set(fmt.Sprintf("p%d", i), "v")
		}
		resp, body := negGet(t, env.Browser(), negAuthURL(env, id, redirectURI, extra))
		negWantPage(t, resp, body, http.StatusBadRequest)
	})
	t.Run("repeated parameter", func(t *testing.T) {
		extra := url.Values{"code_challenge": {challenge}, "x": slices.Repeat([]string{"v"}, 100)}
		resp, body := negGet(t, env.Browser(), negAuthURL(env, id, redirectURI, extra))
		negWantPage(t, resp, body, http.StatusBadRequest)
	})
	t.Run("multipart POST with a 5000-char state", func(t *testing.T) {
		var buf strings.Builder
		mw := multipart.NewWriter(&buf)
		for k, vs := range negAuthForm(id, redirectURI, url.Values{"code_challenge": {challenge}, "state": {strings.Repeat("s", 5000)}}) {
			_ = mw.WriteField(k, vs[0])
		}
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/authorize", strings.NewReader(buf.String()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, body := negDo(t, env.Browser(), req)
		negWantPage(t, resp, body, http.StatusBadRequest)
	})
	t.Run("oversized POST body to authorize", func(t *testing.T) {
		body := negAuthForm(id, redirectURI, url.Values{"code_challenge": {challenge}, "pad": {strings.Repeat("p", 70<<10)}}).Encode()
		req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/authorize", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, _ := negDo(t, env.Browser(), req)
		if resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	before.same(t, env)
}

// negOversizedTokenRequestIs413: a token request body over the 64 KiB
// limit gets 413 with an OAuth JSON error, whether its length is declared
// or streamed (chunked).
func negOversizedTokenRequestIs413(t *testing.T, env *servertest.Env) {
	big := url.Values{"grant_type": {"client_credentials"}, "pad": {strings.Repeat("p", 70<<10)}}.Encode()
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("token body over 64 KiB streamed=%v", streamed), func(t *testing.T) {
			var rd io.Reader = strings.NewReader(big)
			if streamed {
				rd = io.MultiReader(rd) // hides the length: chunked encoding
			}
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", rd)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r := negTokenResult(t, req)
			negWantOAuthError(t, r, http.StatusRequestEntityTooLarge, "invalid_request")
		})
	}
}

// negRepeatedAuthorizeParameterIsInvalidRequest: a protocol parameter
// sent twice (RFC 6749 §3.1: "MUST NOT be included more than once") is
// refused on a page, whichever copy a parser would pick.
func negRepeatedAuthorizeParameterIsInvalidRequest(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	before := negSnapshot(t, env)
	for _, tc := range []struct {
		name   string
		values []string
	}{
		{"redirect_uri", []string{redirectURI, "https://evil.example/cb"}},
		{"redirect_uri", []string{"https://evil.example/cb", redirectURI}},
		{"client_id", []string{id, "other"}},
		{"state", []string{negState, negState + "2"}},
		{"scope", []string{"openid", "openid email"}},
		{"response_type", []string{"code", "code"}},
		{"code_challenge", []string{challenge, challenge}},
		{"prompt", []string{"none", "login"}},
	} {
		resp, body := negGet(t, b, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}, tc.name: tc.values}))
		negWantPage(t, resp, body, http.StatusBadRequest)
		if strings.Contains(body, "evil.example") {
			t.Fatalf("%s: page mentions the other redirect_uri", tc.name)
		}
	}
	before.same(t, env)
}

// negRequestObjectIsNotSupported: discovery says
// request_parameter_supported=false and request_uri_parameter_supported=false,
// so a request object — even an unsigned one (alg none) from a client with
// registered keys — is refused with request_not_supported /
// request_uri_not_supported (OIDC Core §6, §3.1.2.6), never merged into the
// request.
func negRequestObjectIsNotSupported(t *testing.T, env *servertest.Env) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	jwtID, _ := env.CreateClient(clients.Spec{Name: "JWT", SkipConsent: true, RedirectURIs: []string{redirectURI},
		TokenEndpointAuthMethod: "private_key_jwt", JWKS: string(set)})
	pubID := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	before := negSnapshot(t, env)
	for _, id := range []string{jwtID, pubID} {
		claims, _ := json.Marshal(map[string]any{
			"iss": id, "aud": env.Issuer, "client_id": id, "response_type": "code", "redirect_uri": redirectURI,
			"scope": "openid", "state": negState, "code_challenge": challenge, "code_challenge_method": "S256",
			"exp": time.Now().Add(time.Minute).Unix(),
		})
		enc := base64.RawURLEncoding.EncodeToString
		unsigned := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "."
		resp, body := negGet(t, b, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}, "request": {unsigned}}))
		negWantRedirectError(t, env, resp, body, "request_not_supported")
		resp, body = negGet(t, b, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}, "request_uri": {"https://evil.example/ro"}}))
		negWantRedirectError(t, env, resp, body, "request_uri_not_supported")
	}
	before.same(t, env)
}

// negRepeatedTokenParameterIsInvalidRequest: a token request parameter
// sent twice (RFC 6749 §3.2) is invalid_request and spends nothing.
func negRepeatedTokenParameterIsInvalidRequest(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	b, _ := negSignedIn(t, env)
	verifier, challenge := negPKCE()
	code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}}).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {id}}
	for _, k := range []string{"grant_type", "code", "redirect_uri", "code_verifier", "client_id"} {
		f := negWith(form, k, form.Get(k))
		f[k] = append(f[k], form.Get(k)+"x")
		negWantOAuthError(t, negToken(t, env, f, "", ""), http.StatusBadRequest, "invalid_request")
	}
	if r := negToken(t, env, form, "", ""); r.Status != http.StatusOK {
		t.Fatalf("rightful exchange: %d %s", r.Status, r.Raw)
	}
}

// negTwoClientAuthenticationMethodsAreInvalidRequest: a client "MUST NOT
// use more than one authentication method in each request" (RFC 6749
// §2.3); the token endpoint answers invalid_request (§5.2).
func negTwoClientAuthenticationMethodsAreInvalidRequest(t *testing.T, env *servertest.Env) {
	id, secret := env.CreateClient(clients.Spec{Name: "M2M", GrantTypes: []string{"client_credentials"}})
	cc := url.Values{"grant_type": {"client_credentials"}}
	for _, extra := range []url.Values{
		{"client_secret": {secret}},
		{"client_id": {id}, "client_secret": {secret}},
		{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"a.b.c"}},
	} {
		f := negWith(cc, "grant_type", "client_credentials")
		for k, v := range extra {
			f[k] = v
		}
		r := negToken(t, env, f, id, secret)
		negWantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
	}
}

// --- userinfo -----------------------------------------------------------------

// negUserinfoNeedsAValidBearerToken: no token is 401 with a
// Bearer challenge; a bad token is 401 invalid_token; the form-encoded body
// parameter is accepted on POST (RFC 6750 §2.2).
func negUserinfoNeedsAValidBearerToken(t *testing.T, env *servertest.Env) {
	ui := env.Issuer + "/oauth2/userinfo"
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, ui, nil)
		resp, _ := negDo(t, http.DefaultClient, req)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%s without token: %d %q", method, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		for _, auth := range []string{"Bearer garbage", "Bearer ory_at_x.y", "Bearer " + strings.Repeat("a", 4000), "Basic Zm9vOmJhcg=="} {
			req, _ := http.NewRequest(method, ui, nil)
			req.Header.Set("Authorization", auth)
			resp, body := negDo(t, http.DefaultClient, req)
			if auth == "Basic Zm9vOmJhcg==" {
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("%s with Basic: %d", method, resp.StatusCode)
				}
				continue
			}
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) ||
				!strings.Contains(body, `"invalid_token"`) {
				t.Fatalf("%s with %.20q: %d %q %s", method, auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		}
	}
	// A client_credentials token has no user and no openid scope.
	ccID, ccSecret := env.CreateClient(clients.Spec{Name: "M2M", GrantTypes: []string{"client_credentials"}})
	cc := negToken(t, env, url.Values{"grant_type": {"client_credentials"}}, ccID, ccSecret)
	req, _ := http.NewRequest(http.MethodGet, ui, nil)
	req.Header.Set("Authorization", "Bearer "+cc.Body["access_token"].(string))
	if resp, body := negDo(t, http.DefaultClient, req); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("userinfo with a machine token: %d %s", resp.StatusCode, body)
	}

	id, secret := env.CreateClient(clients.Spec{Name: "A", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	b, u := negSignedIn(t, env)
	at := negExchange(t, env, b, id, secret, "openid email")["access_token"].(string)
	req, _ = http.NewRequest(http.MethodPost, ui, strings.NewReader(url.Values{"access_token": {at}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := negDo(t, http.DefaultClient, req)
	var claims map[string]any
	_ = json.Unmarshal([]byte(body), &claims)
	if resp.StatusCode != http.StatusOK || claims["sub"] != u.ID {
		t.Fatalf("POST userinfo with form token: %d %s", resp.StatusCode, body)
	}
}

// --- the interaction hand-off ---------------------------------------------------

// negInteractionIsBoundToItsBrowserAndSingleUse: a parked
// authorization resumes only in the browser that started it (login CSRF and
// session-swap defence, RFC 6749 §10.12), only once, and only while it
// lives; garbage ids get a page.
func negInteractionIsBoundToItsBrowserAndSingleUse(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	u := env.CreateUser(negEmail())
	_, challenge := negPKCE()
	a := env.Browser()
	resp, _ := negGet(t, a, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}}))
	in := interactionFrom(t, resp, "/login")
	env.CompleteInteraction(a, in, u.ID, []string{"pop"}, models.ACRPhishingResistant)
	resume := env.Issuer + "/oauth2/authorize/resume?interaction=" + url.QueryEscape(in)

	// Browser B, fresh jar, and browser C, with a session of its own.
	c, _ := negSignedIn(t, env)
	before := negSnapshot(t, env)
	for _, other := range []*http.Client{env.Browser(), c} {
		resp, body := negGet(t, other, resume)
		negWantPage(t, resp, body, http.StatusForbidden)
		// Nor can B use the hosted pages of A's interaction.
		resp, body = negGet(t, other, env.Issuer+"/consent?interaction="+url.QueryEscape(in))
		negWantPage(t, resp, body, http.StatusForbidden)
	}
	before.same(t, env) // the refused resumes consumed nothing
	// A still can, once.
	resp, body := negGet(t, a, resume)
	if q := negCallback(t, env, resp, body); q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	resp, body = negGet(t, a, resume)
	negWantPage(t, resp, body, http.StatusBadRequest)

	for _, garbage := range []string{"", "nope", strings.Repeat("i", 65), strings.Repeat("i", 5000), "' OR 1=1 --", "%00"} {
		resp, body := negGet(t, a, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(garbage))
		negWantPage(t, resp, body, http.StatusBadRequest)
	}
	resp, body = negGet(t, a, env.Issuer+"/oauth2/authorize/resume")
	negWantPage(t, resp, body, http.StatusBadRequest)
}

// negExpiredInteractionGetsPage: a parked authorization
// past its lifetime cannot be resumed.
func negExpiredInteractionGetsPage(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	_, challenge := negPKCE()
	a := env.Browser()
	resp, _ := negGet(t, a, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}}))
	in := interactionFrom(t, resp, "/login")
	time.Sleep(20 * time.Millisecond)
	u := env.CreateUser(negEmail())
	env.Login(a, u.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
	before := negSnapshot(t, env)
	resp, body := negGet(t, a, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
	negWantPage(t, resp, body, http.StatusBadRequest)
	before.same(t, env)
}

// --- prompt and max_age -----------------------------------------------------------

// negMalformedPromptOrMaxAgeIsInvalidRequest: prompt=none
// combined with another value, an unknown prompt value, and a max_age that
// is not a non-negative integer get invalid_request — whether or not the
// user is signed in — and nothing is written.
func negMalformedPromptOrMaxAgeIsInvalidRequest(t *testing.T, env *servertest.Env) {
	id := negPublicClient(t, env)
	consentID, _ := env.CreateClient(clients.Spec{Name: "Asks consent", Public: true, RedirectURIs: []string{redirectURI}})
	signedIn, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	for _, tc := range []url.Values{
		{"prompt": {"none login"}},
		{"prompt": {"login none"}},
		{"prompt": {"none consent"}},
		{"prompt": {"none select_account"}},
		{"prompt": {"select_account"}},
		{"prompt": {"bogus"}},
		{"prompt": {"NONE"}},
		{"max_age": {"-1"}},
		{"max_age": {"abc"}},
		{"max_age": {"1.5"}},
		{"max_age": {"99999999999999999999999"}},
	} {
		t.Run(tc.Encode(), func(t *testing.T) {
			before := negSnapshot(t, env)
			for _, client := range []string{id, consentID} {
				for _, b := range []*http.Client{env.Browser(), signedIn} {
					extra := url.Values{"code_challenge": {challenge}}
					for k, v := range tc {
						extra[k] = v
					}
					resp, body := negGet(t, b, negAuthURL(env, client, redirectURI, extra))
					negWantRedirectError(t, env, resp, body, "invalid_request")
				}
			}
			before.same(t, env)
		})
	}
}

// negRefusedAuthorizationWritesNoCode: an authorization
// refused while the response is being made — an id_token_hint that is
// garbage (invalid_request) or names another user (login_required) — leaves
// no half-written code, PKCE or OpenID Connect record behind.
func negRefusedAuthorizationWritesNoCode(t *testing.T, env *servertest.Env) {
	id, secret := env.CreateClient(clients.Spec{Name: "A", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	other, _ := negSignedIn(t, env)
	otherIDToken, _ := negExchange(t, env, other, id, secret, "openid")["id_token"].(string)
	if otherIDToken == "" {
		t.Fatal("no id token")
	}
	b, _ := negSignedIn(t, env)
	_, challenge := negPKCE()
	start := negSnapshot(t, env)
	for _, tc := range []struct{ hint, code string }{
		{"garbage", "invalid_request"},
		{"a.b.c", "invalid_request"},
		{otherIDToken, "login_required"},
	} {
		before := negCount(t, env, "oauth2_requests")
		resp, body := negGet(t, b, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}, "id_token_hint": {tc.hint}}))
		negWantRedirectError(t, env, resp, body, tc.code)
		if n := negCount(t, env, "oauth2_requests"); n != before {
			t.Fatalf("hint %.10q: oauth2 rows %d -> %d", tc.hint, before, n)
		}
	}
	start.same(t, env)
}

// --- hosted pages ------------------------------------------------------------------

// negCrossSiteFormPostIsRefused: state-changing hosted pages
// refuse form posts from other sites (Origin / Sec-Fetch-Site), 403.
func negCrossSiteFormPostIsRefused(t *testing.T, env *servertest.Env) {
	b, _ := negSignedIn(t, env)
	for _, path := range []string{"/consent", "/account/signout", "/account/apps/revoke", "/account/sessions/revoke"} {
		for _, h := range []map[string]string{
			{"Origin": "https://evil.example"},
			{"Origin": "null"},
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site"},
			{"Origin": env.Issuer, "Sec-Fetch-Site": "cross-site"},
			{"Origin": strings.Replace(env.Issuer, "http://", "https://", 1)},
		} {
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+path,
				strings.NewReader(url.Values{"interaction": {"x"}, "decision": {"allow"}, "csrf": {"x"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, _ := negDo(t, b, req)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %v: %d", path, h, resp.StatusCode)
			}
		}
	}
	// A same-origin post without the CSRF token is refused too (403 page).
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/consent", strings.NewReader("interaction=x&decision=allow"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.Issuer)
	if resp, _ := negDo(t, b, req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /consent without csrf: %d", resp.StatusCode)
	}
}

// --- disabled users --------------------------------------------------------------

// negDisabledUserLosesSessionsAndTokens: once a user is
// disabled, the SSO session no longer signs them in (login page, or
// login_required for prompt=none), earlier refresh tokens get
// invalid_grant and earlier access tokens 401 at userinfo.
func negDisabledUserLosesSessionsAndTokens(t *testing.T, env *servertest.Env) {
	id, secret := env.CreateClient(clients.Spec{Name: "A", SkipConsent: true, RedirectURIs: []string{redirectURI}})
	b, u := negSignedIn(t, env)
	tok := negExchange(t, env, b, id, secret, "openid email offline_access")
	at, _ := tok["access_token"].(string)
	rt, _ := tok["refresh_token"].(string)

	if err := env.Store.SetUserDisabled(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	_, challenge := negPKCE()
	resp, _ := negGet(t, b, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}}))
	interactionFrom(t, resp, "/login")
	resp, body := negGet(t, b, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}, "prompt": {"none"}}))
	negWantRedirectError(t, env, resp, body, "login_required")

	r := negToken(t, env, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, body := negDo(t, http.DefaultClient, req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("userinfo for a disabled user: %d %s", resp.StatusCode, body)
	}

	// A session made for the user after the flag (say, by a method that
	// forgot to check) still does not sign them in.
	b2 := env.Browser()
	env.Login(b2, u.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
	resp, body = negGet(t, b2, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}, "prompt": {"none"}}))
	negWantRedirectError(t, env, resp, body, "login_required")

	// Defence in depth: with the flag set behind the store's back (no
	// sessions or tokens revoked), the provider still refuses.
	b3, u3 := negSignedIn(t, env)
	tok = negExchange(t, env, b3, id, secret, "openid email offline_access")
	at, _ = tok["access_token"].(string)
	rt, _ = tok["refresh_token"].(string)
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), "UPDATE users SET disabled = TRUE WHERE id = '"+u3.ID+"'"); err != nil {
		t.Fatal(err)
	}
	resp, body = negGet(t, b3, negAuthURL(env, id, redirectURI, url.Values{"code_challenge": {challenge}, "prompt": {"none"}}))
	negWantRedirectError(t, env, resp, body, "login_required")
	r = negToken(t, env, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret)
	negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	req, _ = http.NewRequest(http.MethodGet, env.Issuer+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	if resp, body := negDo(t, http.DefaultClient, req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("userinfo for a disabled user (tokens kept): %d %s", resp.StatusCode, body)
	}
}

// --- helpers (prefixed neg to keep clear of other test files) ----------------------

var negUserSeq atomic.Int64

func negEmail() string { return fmt.Sprintf("neg-%d@example.com", negUserSeq.Add(1)) }

// negForEachDB is forEachDB with options for the environment.
func negForEachDB(t *testing.T, opts []servertest.Option, fn func(t *testing.T, env *servertest.Env)) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		fn(t, servertest.New(t, append(slices.Clone(opts), db...)...))
	})
}

func negAuthCodeTTL(d time.Duration) servertest.Option {
	return func(c *config.Config) { c.AuthCodeTTL = d }
}

func negInteractionTTL(d time.Duration) servertest.Option {
	return func(c *config.Config) { c.InteractionTTL = d }
}

// negPublicClient registers a skip-consent public client on redirectURI.
func negPublicClient(t *testing.T, env *servertest.Env) string {
	t.Helper()
	id, _ := env.CreateClient(clients.Spec{Name: "Public", Public: true, SkipConsent: true, RedirectURIs: []string{redirectURI}})
	return id
}

// negSignedIn returns a browser with a login session for a new user.
func negSignedIn(t *testing.T, env *servertest.Env) (*http.Client, *models.User) {
	t.Helper()
	u := env.CreateUser(negEmail())
	b := env.Browser()
	env.Login(b, u.ID, []string{"pop", "hwk", "user"}, models.ACRPhishingResistant, time.Now())
	return b, u
}

func negPKCE() (verifier, challenge string) {
	v := oauth2.GenerateVerifier()
	return v, oauth2.S256ChallengeFromVerifier(v)
}

// negAuthForm is an authorization request; extra overrides (a nil value
// removes a parameter). A code_challenge comes with method S256 unless
// extra says otherwise.
func negAuthForm(clientID, redirect string, extra url.Values) url.Values {
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "scope": {"openid"},
		"state": {negState}, "nonce": {"neg-nonce-0123456789"},
	}
	if redirect != "" {
		q.Set("redirect_uri", redirect)
	}
	if extra.Has("code_challenge") && !extra.Has("code_challenge_method") {
		q.Set("code_challenge_method", "S256")
	}
	for k, vs := range extra {
		if vs == nil {
			q.Del(k)
		} else {
			q[k] = vs
		}
	}
	return q
}

func negAuthURL(env *servertest.Env, clientID, redirect string, extra url.Values) string {
	return env.Issuer + "/oauth2/authorize?" + negAuthForm(clientID, redirect, extra).Encode()
}

func negWith(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = slices.Clone(vv)
	}
	out.Set(k, val)
	return out
}

func negDo(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func negGet(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return negDo(t, c, req)
}

// negWantPage asserts an HTML error page on the issuer: no redirect, no
// code, no token.
func negWantPage(t *testing.T, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d at %s, want a %d page; Location %q\n%.500s", resp.StatusCode, resp.Request.URL, status,
			resp.Header.Get("Location"), body)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Fatalf("error page with Location %q", loc)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("error page Content-Type %q", ct)
	}
	if strings.Contains(body, `name="code"`) || strings.Contains(body, "access_token") {
		t.Fatalf("error page carries a credential:\n%s", body)
	}
}

// negCallback asserts a redirect to the client's callback and returns its
// query.
func negCallback(t *testing.T, env *servertest.Env, resp *http.Response, body string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d at %s, want a redirect to the client\n%.500s", resp.StatusCode, resp.Request.URL, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host == "" || strings.Contains(env.Issuer, loc.Host) {
		t.Fatalf("Location %q is not the client", resp.Header.Get("Location"))
	}
	if loc.Fragment != "" {
		t.Fatalf("Location has a fragment: %q", loc)
	}
	return loc.Query()
}

// negWantRedirectError asserts an error redirect to the client with state
// and iss (RFC 9207) and one of the error codes.
func negWantRedirectError(t *testing.T, env *servertest.Env, resp *http.Response, body string, codes ...string) {
	t.Helper()
	q := negCallback(t, env, resp, body)
	if !slices.Contains(codes, q.Get("error")) || q.Get("state") != negState || q.Get("iss") != env.Issuer {
		t.Fatalf("callback %v, want error in %v with state and iss", q, codes)
	}
	if q.Has("code") || q.Has("access_token") || q.Has("id_token") {
		t.Fatalf("error callback carries a credential: %v", q)
	}
}

// negWantNoToken asserts nothing in the response carries a token.
func negWantNoToken(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	loc := resp.Header.Get("Location")
	for _, s := range []string{"access_token", "id_token=", "code="} {
		if strings.Contains(loc, s) {
			t.Fatalf("Location carries %s: %q", s, loc)
		}
	}
	if strings.Contains(body, "access_token") || strings.Contains(body, `name="id_token"`) || strings.Contains(body, `name="code"`) {
		t.Fatalf("body carries a token:\n%s", body)
	}
}

// negCount counts the rows of a table through the store's SQL handle.
func negCount(t *testing.T, env *servertest.Env, table string) int {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// negRows counts the rows a refused request must not add: parked
// interactions and fosite's request records (codes, tokens, PKCE, OIDC).
type negRows struct{ interactions, requests int }

func negSnapshot(t *testing.T, env *servertest.Env) negRows {
	t.Helper()
	return negRows{negCount(t, env, "interactions"), negCount(t, env, "oauth2_requests")}
}

// same asserts no row was added or removed since the snapshot.
func (r negRows) same(t *testing.T, env *servertest.Env) {
	t.Helper()
	if now := negSnapshot(t, env); now != r {
		t.Fatalf("rows changed: interactions %d -> %d, oauth2 requests %d -> %d",
			r.interactions, now.interactions, r.requests, now.requests)
	}
}

type negTokenResp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r negTokenResp) err() string { s, _ := r.Body["error"].(string); return s }

func negTokenRequest(env *servertest.Env, form url.Values, id, secret string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return req
}

// negToken posts a token request (with client_secret_basic when id is set).
func negToken(t *testing.T, env *servertest.Env, form url.Values, id, secret string) negTokenResp {
	t.Helper()
	return negTokenResult(t, negTokenRequest(env, form, id, secret))
}

func negTokenResult(t *testing.T, req *http.Request) negTokenResp {
	t.Helper()
	r, err := negSend(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// negTokenNoFatal is negToken for goroutines.
func negTokenNoFatal(env *servertest.Env, form url.Values, id, secret string) negTokenResp {
	r, err := negSend(negTokenRequest(env, form, id, secret))
	if err != nil {
		return negTokenResp{Status: -1, Raw: err.Error()}
	}
	return r
}

func negSend(req *http.Request) (negTokenResp, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return negTokenResp{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := negTokenResp{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r, nil
}

// negWantOAuthError asserts a JSON OAuth error (RFC 6749 §5.2) with the
// status (0: any 4xx) and one of the codes, and no token.
func negWantOAuthError(t *testing.T, r negTokenResp, status int, codes ...string) {
	t.Helper()
	if (status != 0 && r.Status != status) || r.Status < 400 || r.Status >= 500 || !slices.Contains(codes, r.err()) {
		t.Fatalf("got %d %s, want %d with error in %v", r.Status, r.Raw, status, codes)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
	if r.Body["access_token"] != nil || r.Body["id_token"] != nil || r.Body["refresh_token"] != nil {
		t.Fatalf("error response carries a token: %s", r.Raw)
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("error response Cache-Control %q", cc)
	}
}

// negCode drives an authorization with a signed-in browser for a
// skip-consent client and returns the callback query.
func negCode(t *testing.T, env *servertest.Env, b *http.Client, clientID, redirect string, extra url.Values) url.Values {
	t.Helper()
	resp, body := negGet(t, b, negAuthURL(env, clientID, redirect, extra))
	q := negCallback(t, env, resp, body)
	if q.Get("code") == "" || q.Get("state") != negState || q.Get("iss") != env.Issuer {
		t.Fatalf("callback %v", q)
	}
	return q
}

// negExchange gets tokens for a confidential client with a signed-in browser.
func negExchange(t *testing.T, env *servertest.Env, b *http.Client, id, secret, scope string) map[string]any {
	t.Helper()
	verifier, challenge := negPKCE()
	code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}, "scope": {scope}}).Get("code")
	r := negToken(t, env, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}}, id, secret)
	if r.Status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.Status, r.Raw)
	}
	return r.Body
}

// negIntrospect reports whether a token is active (RFC 7662).
func negIntrospect(t *testing.T, env *servertest.Env, id, secret, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, body := negDo(t, http.DefaultClient, req)
	var out struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("introspect: %d %s", resp.StatusCode, body)
	}
	return out.Active
}
