package oidc_test

// Positive end-to-end flows beyond the code + PKCE flow of flow_test.go:
// form_post, consent, refresh rotation, client_credentials, introspection,
// revocation, RP-initiated logout, prompt/max_age/acr_values, ID token
// algorithms and key rotation, private_key_jwt and discovery. Every test
// drives the real server over HTTP with stock clients (go-oidc, x/oauth2)
// on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// postLogoutURI is the post-logout redirect URI the logout tests register.
const postLogoutURI = "http://127.0.0.1:9999/logged-out"

// e2eFlow is one relying party, one browser and one user.
type e2eFlow struct {
	t    *testing.T
	env  *servertest.Env
	r    *rp
	b    *http.Client
	user *models.User
}

func newE2EFlow(t *testing.T, env *servertest.Env, spec clients.Spec) *e2eFlow {
	t.Helper()
	return &e2eFlow{
		t: t, env: env, r: newRP(t, env, spec), b: env.Browser(),
		user: env.CreateUser(strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()) + "@example.com"),
	}
}

// start sends the browser to the authorization endpoint with PKCE and the
// given extra parameters (a nonce unless one is given) and returns the last
// response (a page of the issuer or the redirect to the client).
func (f *e2eFlow) start(state string, params url.Values) (resp *http.Response, body, verifier string) {
	f.t.Helper()
	verifier = oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if params.Get("nonce") == "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", "nonce-"+websession.RandomToken(12)))
	}
	for k := range params {
		opts = append(opts, oauth2.SetAuthURLParam(k, params.Get(k)))
	}
	resp, body = get(f.t, f.b, f.r.oauth.AuthCodeURL(state, opts...))
	return resp, body, verifier
}

// signIn completes the login interaction resp landed on (as a sign-in
// method would) and resumes the authorization.
func (f *e2eFlow) signIn(resp *http.Response, acr string) (*http.Response, string, *models.LoginSession) {
	f.t.Helper()
	in := interactionFrom(f.t, resp, "/login")
	ls := f.env.CompleteInteraction(f.b, in, f.user.ID, []string{"pop", "hwk", "user"}, acr)
	resp, body := get(f.t, f.b, f.env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
	return resp, body, ls
}

// code runs an authorization to its code: it signs in when the login page
// comes up and fails on any other page.
func (f *e2eFlow) code(params url.Values) (code, verifier string) {
	f.t.Helper()
	state := "state-" + websession.RandomToken(8)
	resp, _, verifier := f.start(state, params)
	if resp.Request.URL.Path == "/login" {
		resp, _, _ = f.signIn(resp, models.ACRPhishingResistant)
	}
	q := callback(f.t, resp)
	if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != f.env.Issuer {
		f.t.Fatalf("authorization response = %v", q)
	}
	return q.Get("code"), verifier
}

func (f *e2eFlow) exchange(code, verifier string) *oauth2.Token {
	f.t.Helper()
	tok, err := f.r.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		f.t.Fatalf("exchange: %v", err)
	}
	return tok
}

// tokens runs a whole authorization and code exchange.
func (f *e2eFlow) tokens(scopes ...string) *oauth2.Token {
	f.t.Helper()
	p := url.Values{}
	if len(scopes) > 0 {
		p.Set("scope", strings.Join(scopes, " "))
	}
	return f.exchange(f.code(p))
}

// verifyID verifies the ID token of tok (signature, iss, aud, exp) and its
// at_hash.
func (f *e2eFlow) verifyID(tok *oauth2.Token, algs ...string) (*gooidc.IDToken, string) {
	f.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		f.t.Fatal("no id_token in the token response")
	}
	idt, err := f.r.verifier(algs...).Verify(context.Background(), raw)
	if err != nil {
		f.t.Fatalf("verify id token: %v", err)
	}
	if idt.AccessTokenHash == "" {
		f.t.Fatal("id token has no at_hash")
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		f.t.Fatalf("at_hash: %v", err)
	}
	return idt, raw
}

// refresh runs the refresh_token grant through x/oauth2.
func (f *e2eFlow) refresh(refreshToken string) (*oauth2.Token, error) {
	return f.r.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// wantOAuthError asserts err is the token endpoint's error code.
func wantOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if re.ErrorCode != code {
		t.Fatalf("want %s, got %s (%d): %s", code, re.ErrorCode, re.Response.StatusCode, re.Body)
	}
}

// postEndpoint POSTs form to an endpoint of the issuer, authenticated with
// HTTP Basic when clientID is set, and decodes a JSON answer.
func postEndpoint(t *testing.T, env *servertest.Env, path, clientID, secret string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.Issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("POST %s: decode %q: %v", path, raw, err)
		}
	}
	return resp, out
}

// introspect asks the introspection endpoint about token as the flow's
// client (RFC 7662 §2.1) and returns the answer.
func (f *e2eFlow) introspect(token, hint string) map[string]any {
	f.t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	resp, out := postEndpoint(f.t, f.env, "/oauth2/introspect", f.r.clientID, f.r.secret, form)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("introspect: status %d %v", resp.StatusCode, out)
	}
	return out
}

func (f *e2eFlow) wantActive(token, hint string, active bool) map[string]any {
	f.t.Helper()
	out := f.introspect(token, hint)
	if out["active"] != active {
		f.t.Fatalf("introspection of the %s: active = %v, want %v (%v)", hint, out["active"], active, out)
	}
	return out
}

// revoke revokes token as the flow's client (RFC 7009 §2.1).
func (f *e2eFlow) revoke(token, hint string) {
	f.t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	resp, out := postEndpoint(f.t, f.env, "/oauth2/revoke", f.r.clientID, f.r.secret, form)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("revoke: status %d %v", resp.StatusCode, out)
	}
}

// userinfo calls the userinfo endpoint with a bearer token.
func userinfo(t *testing.T, env *servertest.Env, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// postPage submits a hosted-page form in the browser (same cookie jar).
func postPage(t *testing.T, b *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := b.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// jwtHeader decodes the protected header of a compact JWS.
func jwtHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("jwt header: %v", err)
	}
	h := map[string]any{}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("jwt header: %v", err)
	}
	return h
}

type idClaims struct {
	AuthTime int64    `json:"auth_time"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	SID      string   `json:"sid"`
}

func claimsOf(t *testing.T, idt *gooidc.IDToken) idClaims {
	t.Helper()
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// wantAuthorizeError asserts resp redirects to the client with error, the
// request's state and the issuer (RFC 6749 §4.1.2.1, RFC 9207 §2).
func wantAuthorizeError(t *testing.T, env *servertest.Env, resp *http.Response, code, state string) {
	t.Helper()
	q := callback(t, resp)
	if q.Get("error") != code || q.Get("state") != state || q.Get("iss") != env.Issuer || q.Get("code") != "" {
		t.Fatalf("want error=%s with state and iss, got %v", code, q)
	}
}

// TestFormPostDeliversToTheRedirectURIOnly_OAuthFormPost_2: with
// response_mode=form_post the response parameters travel in an
// auto-submitting form to the exact redirect URI (OAuth 2.0 Form Post
// Response Mode §2, RFC 9207 §2 for iss), the page's CSP lets the form reach
// only that origin and runs no inline script, and the delivered code
// exchanges.
func TestFormPostDeliversToTheRedirectURIOnly_OAuthFormPost_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		state := "state-form-post-0123"
		resp, body, verifier := f.start(state, url.Values{"response_mode": {"form_post"}})
		if resp.Request.URL.Path == "/login" {
			resp, body, _ = f.signIn(resp, models.ACRPhishingResistant)
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("form_post: status %d, type %q at %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Request.URL)
		}
		if resp.Header.Get("Location") != "" {
			t.Fatal("form_post must not redirect")
		}
		if !strings.Contains(body, `method="post" action="`+redirectURI+`"`) {
			t.Fatalf("form does not post to %s:\n%s", redirectURI, body)
		}
		code := formValue(t, body, "code")
		if formValue(t, body, "state") != state || formValue(t, body, "iss") != env.Issuer || code == "" {
			t.Fatalf("hidden inputs: code %q state %q iss %q", code, formValue(t, body, "state"), formValue(t, body, "iss"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		var formAction, scriptSrc string
		for _, d := range strings.Split(csp, ";") {
			d = strings.TrimSpace(d)
			switch {
			case strings.HasPrefix(d, "form-action "):
				formAction = d
			case strings.HasPrefix(d, "script-src "):
				scriptSrc = d
			}
		}
		if !slices.Contains(strings.Fields(formAction), "http://127.0.0.1:9999") {
			t.Fatalf("CSP form-action %q does not allow the client origin", formAction)
		}
		if scriptSrc != "script-src 'self'" {
			t.Fatalf("CSP script-src = %q", scriptSrc)
		}
		// No inline script: every <script> loads a same-origin file, or is
		// a JSON data block (the page's messages), which browsers never run.
		rest := body
		for {
			i := strings.Index(rest, "<script")
			if i < 0 {
				break
			}
			tag := rest[i : i+strings.IndexByte(rest[i:], '>')+1]
			if tag == `<script type="application/json" id="messages">` {
				rest = rest[i+len(tag):]
				continue
			}
			if !strings.Contains(tag, ` src="/`) || !strings.HasPrefix(rest[i+len(tag):], "</script>") {
				t.Fatalf("inline script on the form_post page: %s", rest[i:])
			}
			rest = rest[i+len(tag):]
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control = %q", cc)
		}
		tok := f.exchange(code, verifier)
		f.verifyID(tok)
	})
}

// TestConsentIsAskedRememberedAndRevocable_OIDCCore_3_1_2_4: a client
// without skip_consent gets a code only after the user allowed it on the
// consent page (OIDC Core §3.1.2.4); the grant is remembered, prompt=consent
// asks again, a refusal is access_denied (RFC 6749 §4.1.2.1), a form without
// this browser's CSRF token changes nothing, and withdrawing the app on the
// account page deletes the grant and its tokens.
func TestConsentIsAskedRememberedAndRevocable_OIDCCore_3_1_2_4(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		f := newE2EFlow(t, env, clients.Spec{Name: "Consent Test App"})
		scopes := url.Values{"scope": {"openid profile email offline_access"}}

		// First authorization: login, then the consent page.
		resp, _, verifier := f.start("state-consent-1", scopes)
		resp, body, _ := f.signIn(resp, models.ACRPhishingResistant)
		in := interactionFrom(t, resp, "/consent")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("consent page: status %d", resp.StatusCode)
		}
		for _, want := range []string{"Consent Test App", "See your name", "See your email address", "Stay connected", f.user.Email} {
			if !strings.Contains(body, want) {
				t.Fatalf("consent page lacks %q:\n%s", want, body)
			}
		}
		csrf := formValue(t, body, "csrf")
		if formValue(t, body, "interaction") != in {
			t.Fatal("consent form names another interaction")
		}
		resp, _ = postPage(t, f.b, env.Issuer+"/consent", url.Values{"interaction": {in}, "csrf": {csrf}, "decision": {"allow"}})
		q := callback(t, resp)
		if q.Get("code") == "" || q.Get("state") != "state-consent-1" || q.Get("iss") != env.Issuer {
			t.Fatalf("after allow: %v", q)
		}
		tok := f.exchange(q.Get("code"), verifier)
		f.verifyID(tok)
		cons, err := env.Store.GetConsent(ctx, f.user.ID, f.r.clientID)
		if err != nil {
			t.Fatalf("consent not remembered: %v", err)
		}
		for _, s := range []string{"openid", "profile", "email", "offline_access"} {
			if !cons.Scopes.Has(s) {
				t.Fatalf("remembered scopes %v lack %s", cons.Scopes, s)
			}
		}

		// Remembered: the next authorization goes straight to a code.
		f.code(scopes)

		// prompt=consent asks again.
		resp, body, _ = f.start("state-consent-2", url.Values{"scope": scopes["scope"], "prompt": {"consent"}})
		in = interactionFrom(t, resp, "/consent")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Consent Test App") {
			t.Fatalf("consent page under prompt=consent: %d", resp.StatusCode)
		}
		csrf = formValue(t, body, "csrf")

		// A POST without this browser's CSRF token is refused and changes
		// nothing (the same-origin check alone lets header-less clients by).
		for name, bad := range map[string]url.Values{
			"no csrf":    {"interaction": {in}, "decision": {"allow"}},
			"wrong csrf": {"interaction": {in}, "decision": {"allow"}, "csrf": {websession.RandomToken(32)}},
		} {
			resp, _ := postPage(t, f.b, env.Issuer+"/consent", bad)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%s: status %d, want 403", name, resp.StatusCode)
			}
			got, err := env.Store.GetInteraction(ctx, in)
			if err != nil || got.ConsentGiven || got.Error != "" {
				t.Fatalf("%s changed the interaction: %+v %v", name, got, err)
			}
		}
		// Another browser's valid token does not fit this browser either.
		other := env.Browser()
		env.Login(other, f.user.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
		_, ob := get(t, other, env.Issuer+"/account")
		resp, _ = postPage(t, f.b, env.Issuer+"/consent", url.Values{"interaction": {in}, "decision": {"allow"}, "csrf": {formValue(t, ob, "csrf")}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("foreign csrf: status %d, want 403", resp.StatusCode)
		}

		// Deny: access_denied at the client, with state and iss.
		resp, _ = postPage(t, f.b, env.Issuer+"/consent", url.Values{"interaction": {in}, "csrf": {csrf}, "decision": {"deny"}})
		wantAuthorizeError(t, env, resp, "access_denied", "state-consent-2")
		if _, err := env.Store.GetConsent(ctx, f.user.ID, f.r.clientID); err != nil {
			t.Fatalf("deny under prompt=consent must not forget the earlier grant: %v", err)
		}

		// Withdraw the app on the account page: the grant and its tokens go.
		f.wantActive(tok.AccessToken, "access_token", true)
		resp, body = get(t, f.b, env.Issuer+"/account")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Consent Test App") {
			t.Fatalf("account page: %d\n%s", resp.StatusCode, body)
		}
		csrf = formValue(t, body, "csrf")
		resp, _ = postPage(t, f.b, env.Issuer+"/account/apps/revoke", url.Values{"client_id": {f.r.clientID}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("revoke without csrf: status %d, want 403", resp.StatusCode)
		}
		if _, err := env.Store.GetConsent(ctx, f.user.ID, f.r.clientID); err != nil {
			t.Fatalf("revoke without csrf deleted the consent: %v", err)
		}
		resp, body = postPage(t, f.b, env.Issuer+"/account/apps/revoke", url.Values{"client_id": {f.r.clientID}, "csrf": {csrf}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/account" || strings.Contains(body, "Consent Test App") {
			t.Fatalf("after revoke: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
		}
		if _, err := env.Store.GetConsent(ctx, f.user.ID, f.r.clientID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("consent still there: %v", err)
		}
		f.wantActive(tok.AccessToken, "access_token", false)
		f.wantActive(tok.RefreshToken, "refresh_token", false)
		if _, err := f.refresh(tok.RefreshToken); err == nil {
			t.Fatal("refresh token of a withdrawn app still works")
		}
		resp, _, _ = f.start("state-consent-3", scopes)
		interactionFrom(t, resp, "/consent")
	})
}

// TestRefreshTokenReuseRevokesTheFamily_RFC9700_4_14: a refresh returns a
// new access and refresh token (and a new verifiable ID token for the same
// subject); presenting the spent refresh token again is invalid_grant and
// revokes the whole family, so the rotated-in refresh token and the latest
// access token die too (RFC 9700 §4.14.2, RFC 6749 §10.4).
// With the reuse interval off, the first reuse of a spent refresh token
// revokes the family; refresh_reuse_test.go covers the interval.
func TestRefreshTokenReuseRevokesTheFamily_RFC9700_4_14(t *testing.T) {
	t.Parallel()
	negForEachDB(t, []servertest.Option{reuseInterval(0)}, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		tok := f.tokens("openid", "profile", "offline_access")
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}
		first, _ := f.verifyID(tok)

		tok2, err := f.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken {
			t.Fatal("refresh did not rotate the tokens")
		}
		second, _ := f.verifyID(tok2)
		if second.Subject != first.Subject || second.Subject != f.user.ID {
			t.Fatalf("refreshed id token sub %q, first %q", second.Subject, first.Subject)
		}
		if claimsOf(t, second).AuthTime != claimsOf(t, first).AuthTime {
			t.Fatal("a refresh is not a new authentication: auth_time must stay")
		}
		f.wantActive(tok.AccessToken, "access_token", false) // rotated out with its refresh token
		f.wantActive(tok2.AccessToken, "access_token", true)
		f.wantActive(tok2.RefreshToken, "refresh_token", true)

		// Reuse of the spent refresh token.
		_, err = f.refresh(tok.RefreshToken)
		wantOAuthError(t, err, "invalid_grant")
		// The family is revoked: the newest refresh and access token too.
		_, err = f.refresh(tok2.RefreshToken)
		wantOAuthError(t, err, "invalid_grant")
		f.wantActive(tok2.AccessToken, "access_token", false)
		f.wantActive(tok2.RefreshToken, "refresh_token", false)
		if resp, _ := userinfo(t, env, tok2.AccessToken); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("userinfo with a revoked family's token: %d", resp.StatusCode)
		}
	})
}

// TestClientCredentialsTokenCarriesNoUserAccess_RFC6749_4_4: a confidential
// client gets a machine token with the scope it asked for (RFC 6749 §4.4);
// it introspects as the client's own, and userinfo refuses it for lack of
// openid (RFC 6750 §3.1).
func TestClientCredentialsTokenCarriesNoUserAccess_RFC6749_4_4(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		id, secret := env.CreateClient(clients.Spec{Name: "Machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"profile"}})
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: env.Issuer + "/oauth2/token", Scopes: []string{"profile"}}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if tok.AccessToken == "" || tok.RefreshToken != "" || tok.Extra("id_token") != nil {
			t.Fatalf("client_credentials must return an access token only: %+v", tok)
		}
		if !strings.EqualFold(tok.TokenType, "bearer") {
			t.Fatalf("token_type %q", tok.TokenType)
		}
		resp, out := postEndpoint(t, env, "/oauth2/introspect", id, secret, url.Values{"token": {tok.AccessToken}})
		if resp.StatusCode != http.StatusOK || out["active"] != true || out["client_id"] != id || out["scope"] != "profile" {
			t.Fatalf("introspection: %d %v", resp.StatusCode, out)
		}
		// A second call is served from the verified-secret cache; same answer.
		if _, err := cc.Token(context.Background()); err != nil {
			t.Fatalf("second client_credentials: %v", err)
		}
		resp, body := userinfo(t, env, tok.AccessToken)
		if resp.StatusCode != http.StatusForbidden || body["error"] != "insufficient_scope" ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Fatalf("userinfo with a machine token: %d %v %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

// TestIntrospectionAnswersOnlyAuthenticatedClients_RFC7662_2: RFC 7662 §2.2
// answers for an access token (active, sub, client_id, scope, exp,
// token_use) and a refresh token (token_use refresh_token), active=false for an unknown token, and 401 with
// WWW-Authenticate for a caller without client authentication (§2.1, RFC
// 6749 §5.2).
func TestIntrospectionAnswersOnlyAuthenticatedClients_RFC7662_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		tok := f.tokens("openid", "email", "offline_access")

		out := f.wantActive(tok.AccessToken, "access_token", true)
		exp, _ := out["exp"].(float64)
		if out["sub"] != f.user.ID || out["client_id"] != f.r.clientID || out["scope"] != "openid email offline_access" || out["token_use"] != "access_token" ||
			time.Unix(int64(exp), 0).Before(time.Now()) || time.Unix(int64(exp), 0).After(time.Now().Add(env.Config.AccessTokenTTL+time.Minute)) {
			t.Fatalf("access token introspection = %v", out)
		}
		// Without a hint the server finds the token type itself.
		if out := f.introspect(tok.AccessToken, ""); out["active"] != true {
			t.Fatalf("introspection without hint: %v", out)
		}
		out = f.wantActive(tok.RefreshToken, "refresh_token", true)
		// token_use tells a resource server it is not an access token.
		if out["sub"] != f.user.ID || out["client_id"] != f.r.clientID || out["token_use"] != "refresh_token" {
			t.Fatalf("refresh token introspection = %v", out)
		}
		if out := f.introspect("not-a-token."+websession.RandomToken(32), ""); len(out) != 1 || out["active"] != false {
			t.Fatalf("unknown token introspection = %v", out)
		}

		// Every client authentication method discovery advertises for this
		// endpoint works.
		var doc struct {
			Methods []string `json:"introspection_endpoint_auth_methods_supported"`
		}
		getJSON(t, env.Issuer+"/.well-known/openid-configuration", &doc)
		for _, m := range doc.Methods {
			form := url.Values{"token": {tok.AccessToken}}
			id, secret := f.r.clientID, f.r.secret
			switch m {
			case "client_secret_basic":
			case "client_secret_post":
				form.Set("client_id", id)
				form.Set("client_secret", secret)
				id, secret = "", ""
			case "private_key_jwt":
				key := clientKey(t, "ES256")
				form.Set("client_assertion_type", jwtBearerAssertion)
				form.Set("client_assertion", clientAssertion(t, key, registerJWTClient(t, env, key), env.Issuer+"/oauth2/token"))
				id, secret = "", ""
			default:
				t.Fatalf("discovery advertises introspection auth method %q that no test exercises", m)
			}
			resp, out := postEndpoint(t, env, "/oauth2/introspect", id, secret, form)
			if resp.StatusCode != http.StatusOK || out["active"] != true {
				t.Fatalf("introspection with advertised method %s: %d %v", m, resp.StatusCode, out)
			}
		}

		for name, auth := range map[string][2]string{
			"no client authentication": {"", ""},
			"wrong secret":             {f.r.clientID, "wrong-" + f.r.secret},
			"unknown client":           {"no-such-client", "x"},
		} {
			resp, body := postEndpoint(t, env, "/oauth2/introspect", auth[0], auth[1], url.Values{"token": {tok.AccessToken}})
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || body["active"] != nil {
				t.Fatalf("%s: status %d, WWW-Authenticate %q, body %v", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
			if body["error"] != "invalid_client" {
				t.Fatalf("%s: error %v, want invalid_client", name, body["error"])
			}
		}
	})
}

// TestRevokedTokensAreDead_RFC7009_2: a revoked access token is dead at
// introspection and at userinfo (RFC 6750 §3.1 invalid_token), a revoked
// refresh token cannot be refreshed, and revoking an unknown token still
// answers 200 (RFC 7009 §2.2).
func TestRevokedTokensAreDead_RFC7009_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		t.Run("access token", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			tok := f.tokens("openid", "offline_access")
			if resp, _ := userinfo(t, env, tok.AccessToken); resp.StatusCode != http.StatusOK {
				t.Fatalf("userinfo before revocation: %d", resp.StatusCode)
			}
			f.revoke(tok.AccessToken, "access_token")
			f.wantActive(tok.AccessToken, "access_token", false)
			resp, body := userinfo(t, env, tok.AccessToken)
			www := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" ||
				!strings.HasPrefix(www, "Bearer ") || !strings.Contains(www, `error="invalid_token"`) {
				t.Fatalf("userinfo after revocation: %d %v %q", resp.StatusCode, body, www)
			}
		})
		t.Run("refresh token", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			tok := f.tokens("openid", "offline_access")
			f.revoke(tok.RefreshToken, "refresh_token")
			f.wantActive(tok.RefreshToken, "refresh_token", false)
			_, err := f.refresh(tok.RefreshToken)
			wantOAuthError(t, err, "invalid_grant")
		})
		t.Run("unknown token", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			f.revoke("unknown."+websession.RandomToken(32), "")
			f.revoke("unknown."+websession.RandomToken(32), "refresh_token")
		})
	})
}

// TestLogoutEndsTheSessionAndItsTokens_OIDCRPInitiatedLogout_2 (OIDC
// RP-Initiated Logout 1.0 §2, §3): an id_token_hint for this browser's
// session ends it at once and returns to the registered
// post_logout_redirect_uri with state; the session and the tokens issued
// from it are gone. An unregistered post_logout_redirect_uri is never
// redirected to. Without a hint the user confirms on a page whose form
// carries this browser's CSRF token.
func TestLogoutEndsTheSessionAndItsTokens_OIDCRPInitiatedLogout_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		spec := clients.Spec{SkipConsent: true, PostLogoutRedirectURIs: []string{postLogoutURI}}

		t.Run("id_token_hint", func(t *testing.T) {
			f := newE2EFlow(t, env, spec)
			tok := f.tokens("openid", "offline_access")
			_, rawID := f.verifyID(tok)
			q := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {postLogoutURI}, "state": {"logout-state-1"}}
			resp, _ := get(t, f.b, env.Issuer+"/oauth2/logout?"+q.Encode())
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout: status %d at %s", resp.StatusCode, resp.Request.URL)
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != postLogoutURI || loc.Query().Get("state") != "logout-state-1" {
				t.Fatalf("logout redirected to %q", resp.Header.Get("Location"))
			}
			// The session is gone: prompt=none cannot be answered silently.
			resp, _, _ = f.start("after-logout", url.Values{"prompt": {"none"}})
			wantAuthorizeError(t, env, resp, "login_required", "after-logout")
			// And what the session issued is revoked.
			f.wantActive(tok.AccessToken, "access_token", false)
			f.wantActive(tok.RefreshToken, "refresh_token", false)
		})

		t.Run("unregistered post_logout_redirect_uri", func(t *testing.T) {
			f := newE2EFlow(t, env, spec)
			tok := f.tokens("openid")
			_, rawID := f.verifyID(tok)
			for _, bad := range []string{"http://127.0.0.1:9999/elsewhere", postLogoutURI + "/", postLogoutURI + "?x=1", "https://evil.example/logged-out"} {
				q := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {bad}, "state": {"s"}}
				resp, body := get(t, f.b, env.Issuer+"/oauth2/logout?"+q.Encode())
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || resp.Request.URL.Path != "/oauth2/logout" {
					t.Fatalf("%s: status %d, Location %q", bad, resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.Contains(body, "not registered") {
					t.Fatalf("%s: page does not explain:\n%s", bad, body)
				}
			}
			// The refused request signed nobody out.
			f.code(url.Values{"prompt": {"none"}})
			f.wantActive(tok.AccessToken, "access_token", true)
		})

		t.Run("confirmation page", func(t *testing.T) {
			f := newE2EFlow(t, env, spec)
			tok := f.tokens("openid")
			resp, body := get(t, f.b, env.Issuer+"/oauth2/logout")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `action="/oauth2/logout"`) {
				t.Fatalf("confirmation page: %d\n%s", resp.StatusCode, body)
			}
			csrf := formValue(t, body, "csrf")
			// Confirming with a token that is not this browser's signs nobody out.
			resp, body = postPage(t, f.b, env.Issuer+"/oauth2/logout", url.Values{"confirm": {"yes"}, "csrf": {"forged"}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="confirm"`) {
				t.Fatalf("forged confirmation: %d\n%s", resp.StatusCode, body)
			}
			f.wantActive(tok.AccessToken, "access_token", true)

			resp, body = postPage(t, f.b, env.Issuer+"/oauth2/logout", url.Values{"confirm": {"yes"}, "csrf": {csrf}})
			if resp.StatusCode != http.StatusOK || strings.Contains(body, `name="confirm"`) {
				t.Fatalf("confirmed logout: %d\n%s", resp.StatusCode, body)
			}
			resp, _, _ = f.start("after-confirmed-logout", url.Values{"prompt": {"none"}})
			wantAuthorizeError(t, env, resp, "login_required", "after-confirmed-logout")
			f.wantActive(tok.AccessToken, "access_token", false)
		})
	})
}

// TestPromptMaxAgeACRForceFreshLogin_OIDCCore_3_1_2_1: the authorization
// endpoint honours prompt, max_age, login_hint and acr_values (OIDC Core
// §3.1.2.1, §3.1.2.3, §2 for auth_time and acr).
func TestPromptMaxAgeACRForceFreshLogin_OIDCCore_3_1_2_1(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		skip := clients.Spec{SkipConsent: true}

		t.Run("prompt=none without a session is login_required", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			resp, _, _ := f.start("state-pn-1", url.Values{"prompt": {"none"}})
			wantAuthorizeError(t, env, resp, "login_required", "state-pn-1")
		})
		t.Run("prompt=none without consent is consent_required", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{})
			env.Login(f.b, f.user.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
			resp, _, _ := f.start("state-pn-2", url.Values{"prompt": {"none"}})
			wantAuthorizeError(t, env, resp, "consent_required", "state-pn-2")
		})
		t.Run("prompt=none with a session and consent issues a code", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			env.Login(f.b, f.user.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
			f.code(url.Values{"prompt": {"none"}})
		})
		t.Run("prompt=login re-authenticates", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			old := env.Login(f.b, f.user.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now().Add(-time.Hour))
			resp, _, verifier := f.start("state-pl-1", url.Values{"prompt": {"login"}})
			resp, _, ls := f.signIn(resp, models.ACRPhishingResistant)
			q := callback(t, resp)
			idt, _ := f.verifyID(f.exchange(q.Get("code"), verifier))
			c := claimsOf(t, idt)
			if c.AuthTime != ls.AuthTime.Unix() || c.AuthTime == old.AuthTime.Unix() || c.SID != ls.ID {
				t.Fatalf("auth_time %d sid %s; new login %d %s, old %d", c.AuthTime, c.SID, ls.AuthTime.Unix(), ls.ID, old.AuthTime.Unix())
			}
		})
		t.Run("max_age exceeded re-authenticates", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			env.Login(f.b, f.user.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now().Add(-2*time.Hour))
			resp, _, verifier := f.start("state-ma-1", url.Values{"max_age": {"60"}})
			in := interactionFrom(t, resp, "/login")
			stored, err := env.Store.GetInteraction(ctx, in)
			if err != nil || stored.MaxAge == nil || *stored.MaxAge != 60 {
				t.Fatalf("interaction max_age: %+v %v", stored, err)
			}
			resp, _, ls := f.signIn(resp, models.ACRPhishingResistant)
			idt, _ := f.verifyID(f.exchange(callback(t, resp).Get("code"), verifier))
			if c := claimsOf(t, idt); c.AuthTime != ls.AuthTime.Unix() {
				t.Fatalf("auth_time %d, want the new login's %d", c.AuthTime, ls.AuthTime.Unix())
			}
		})
		t.Run("max_age satisfied issues a code with the session's auth_time", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			ls := env.Login(f.b, f.user.ID, []string{"pop", "hwk"}, models.ACRPhishingResistant, time.Now().Add(-10*time.Minute))
			code, verifier := f.code(url.Values{"max_age": {"3600"}})
			idt, _ := f.verifyID(f.exchange(code, verifier))
			c := claimsOf(t, idt)
			if c.AuthTime != ls.AuthTime.Unix() || c.SID != ls.ID || !slices.Equal(c.AMR, []string{"pop", "hwk"}) {
				t.Fatalf("claims %+v, session %+v", c, ls)
			}
		})
		t.Run("login_hint is kept on the interaction", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			resp, body, _ := f.start("state-lh-1", url.Values{"login_hint": {f.user.Email}})
			in := interactionFrom(t, resp, "/login")
			stored, err := env.Store.GetInteraction(ctx, in)
			if err != nil || stored.LoginHint != f.user.Email || stored.ClientID != f.r.clientID {
				t.Fatalf("interaction: %+v %v", stored, err)
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Test App") {
				t.Fatalf("login page: %d", resp.StatusCode)
			}
		})
		t.Run("acr_values above the session's acr re-authenticates", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			env.Login(f.b, f.user.ID, []string{"user"}, models.ACRBasic, time.Now())
			resp, _, verifier := f.start("state-acr-1", url.Values{"acr_values": {models.ACRPhishingResistant}})
			in := interactionFrom(t, resp, "/login")
			if stored, err := env.Store.GetInteraction(ctx, in); err != nil || stored.ACRValues != models.ACRPhishingResistant {
				t.Fatalf("interaction acr_values: %+v %v", stored, err)
			}
			resp, _, _ = f.signIn(resp, models.ACRPhishingResistant)
			idt, _ := f.verifyID(f.exchange(callback(t, resp).Get("code"), verifier))
			if c := claimsOf(t, idt); c.ACR != models.ACRPhishingResistant {
				t.Fatalf("acr %q", c.ACR)
			}
		})
		t.Run("acr_values met by the session issues a code", func(t *testing.T) {
			f := newE2EFlow(t, env, skip)
			env.Login(f.b, f.user.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
			code, verifier := f.code(url.Values{"acr_values": {models.ACRPhishingResistant}})
			idt, _ := f.verifyID(f.exchange(code, verifier))
			if c := claimsOf(t, idt); c.ACR != models.ACRPhishingResistant {
				t.Fatalf("acr %q", c.ACR)
			}
		})
	})
}

// TestIDTokensVerifyPerAlgAndAcrossKeyRotation_OIDCCore_10_1_1: a client's
// registered id_token_signed_response_alg signs its ID tokens, with at_hash
// computed with that algorithm's hash (OIDC Core §3.1.3.6; SHA-512 for EdDSA
// over Ed25519), and a token signed before a key rotation still verifies
// after it because the JWKS keeps the retired key (OIDC Core §10.1.1).
func TestIDTokensVerifyPerAlgAndAcrossKeyRotation_OIDCCore_10_1_1(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
			t.Run(alg, func(t *testing.T) {
				f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, IDTokenSignedAlg: alg})
				tok := f.tokens("openid", "offline_access")
				_, raw := f.verifyID(tok, alg)
				if h := jwtHeader(t, raw); h["alg"] != alg || h["kid"] == nil || h["kid"] == "" || h["typ"] != "JWT" {
					t.Fatalf("header %v", h)
				}
				// The ID token of a refresh is signed and hashed the same way.
				tok2, err := f.refresh(tok.RefreshToken)
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if _, raw2 := f.verifyID(tok2, alg); jwtHeader(t, raw2)["alg"] != alg {
					t.Fatalf("refreshed header %v", jwtHeader(t, raw2))
				}
				// A verifier that accepts only another algorithm refuses it.
				other := "RS256"
				if alg == "RS256" {
					other = "ES256"
				}
				if _, err := f.r.verifier(other).Verify(ctx, raw); err == nil {
					t.Fatalf("%s token accepted by an %s-only verifier", alg, other)
				}
			})
		}

		t.Run("rotation", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			_, before := f.verifyID(f.tokens("openid"))
			oldKID, _ := jwtHeader(t, before)["kid"].(string)

			if err := env.Server.Keys().RotateAll(ctx); err != nil {
				t.Fatalf("rotate: %v", err)
			}
			if err := env.Server.Keys().Reload(ctx); err != nil {
				t.Fatalf("reload: %v", err)
			}
			resp, err := http.Get(env.Issuer + "/oauth2/jwks")
			if err != nil {
				t.Fatal(err)
			}
			var set struct {
				Keys []struct {
					KID string `json:"kid"`
					Alg string `json:"alg"`
					D   string `json:"d"`
				} `json:"keys"`
			}
			err = json.NewDecoder(resp.Body).Decode(&set)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var kids []string
			for _, k := range set.Keys {
				if k.D != "" {
					t.Fatal("JWKS publishes private key material")
				}
				kids = append(kids, k.KID)
			}
			if !slices.Contains(kids, oldKID) {
				t.Fatalf("JWKS %v dropped the retired key %s", kids, oldKID)
			}

			_, after := f.verifyID(f.tokens("openid"))
			newKID, _ := jwtHeader(t, after)["kid"].(string)
			if newKID == "" || newKID == oldKID {
				t.Fatalf("after rotation the kid is %q (before %q)", newKID, oldKID)
			}
			// The same provider object (its cached key set) verifies both.
			v := f.r.verifier()
			for _, raw := range []string{before, after} {
				if _, err := v.Verify(ctx, raw); err != nil {
					t.Fatalf("verify across rotation: %v", err)
				}
			}
		})
	})
}

// clientKey generates a client's signing key for alg as a JWK with kid
// and alg set.
func clientKey(t *testing.T, alg string) jwk.Key {
	t.Helper()
	var raw any
	var err error
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		raw, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES512":
		raw, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "EdDSA":
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key generator for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = key.Set(jwk.KeyIDKey, "client-key-"+websession.RandomToken(6))
	_ = key.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg))
	return key
}

// registerJWTClient registers a client_credentials client that
// authenticates with private_key_jwt and the public part of key.
func registerJWTClient(t *testing.T, env *servertest.Env, key jwk.Key) string {
	t.Helper()
	jwks := publicJWKS(t, key)
	id, secret := env.CreateClient(clients.Spec{
		Name: "JWT Machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"profile"},
		TokenEndpointAuthMethod: "private_key_jwt", JWKS: string(jwks),
	})
	if secret != "" {
		t.Fatal("a private_key_jwt client got a shared secret")
	}
	return id
}

// clientAssertion signs an RFC 7523 §3 client assertion for clientID:
// iss = sub = client_id, aud = the token endpoint, a random jti, exp in a
// minute.
func clientAssertion(t *testing.T, key jwk.Key, clientID, aud string) string {
	t.Helper()
	now := time.Now()
	tok, err := jwxjwt.NewBuilder().Issuer(clientID).Subject(clientID).Audience([]string{aud}).
		JwtID(websession.RandomToken(16)).IssuedAt(now).Expiration(now.Add(time.Minute)).Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwxjwt.Sign(tok, jwxjwt.WithKey(key.Algorithm(), key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// TestPrivateKeyJWTAssertionIsSingleUse_RFC7523_3: a client registered with
// a public JWKS authenticates with a signed client assertion (RFC 7523 §2.2,
// OIDC Core §9), and an assertion whose jti was seen is refused as
// invalid_client (RFC 7523 §3 item 7).
func TestPrivateKeyJWTAssertionIsSingleUse_RFC7523_3(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		priv := clientKey(t, "ES256")
		id := registerJWTClient(t, env, priv)
		tokenURL := env.Issuer + "/oauth2/token"
		assertion := clientAssertion(t, priv, id, tokenURL)
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {"profile"},
			"client_assertion_type": {jwtBearerAssertion},
			"client_assertion":      {assertion},
		}

		// A stock client: x/oauth2 with the assertion as extra parameters.
		cc := clientcredentials.Config{
			ClientID: id, TokenURL: tokenURL, Scopes: []string{"profile"}, AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"client_assertion_type": form["client_assertion_type"], "client_assertion": {assertion}},
		}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("private_key_jwt client_credentials: %v", err)
		}
		resp, out := postEndpoint(t, env, "/oauth2/token", "", "", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {""},
		})
		if resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_client" {
			t.Fatalf("a private_key_jwt client without an assertion: %d %v", resp.StatusCode, out)
		}

		// Replay of the same assertion (same jti).
		resp, out = postEndpoint(t, env, "/oauth2/token", "", "", form)
		if resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_client" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("replayed assertion: %d %v %q", resp.StatusCode, out, resp.Header.Get("WWW-Authenticate"))
		}

		// A fresh assertion works again, and the token is the client's.
		form.Set("client_assertion", clientAssertion(t, priv, id, tokenURL))
		resp, out = postEndpoint(t, env, "/oauth2/token", "", "", form)
		if resp.StatusCode != http.StatusOK || out["access_token"] == nil {
			t.Fatalf("fresh assertion: %d %v", resp.StatusCode, out)
		}
		// Revocation accepts the same client authentication (RFC 7009 §2.1).
		rform := url.Values{
			"token":                 {tok.AccessToken},
			"client_assertion_type": form["client_assertion_type"],
			"client_assertion":      {clientAssertion(t, priv, id, tokenURL)},
		}
		if resp, out := postEndpoint(t, env, "/oauth2/revoke", "", "", rform); resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke with private_key_jwt: %d %v", resp.StatusCode, out)
		}

		// Every algorithm discovery advertises for client assertions works.
		var doc struct {
			Algs []string `json:"token_endpoint_auth_signing_alg_values_supported"`
		}
		getJSON(t, env.Issuer+"/.well-known/openid-configuration", &doc)
		if len(doc.Algs) == 0 {
			t.Fatal("discovery lists no client assertion algorithm")
		}
		for _, alg := range doc.Algs {
			key := clientKey(t, alg)
			id := registerJWTClient(t, env, key)
			resp, out := postEndpoint(t, env, "/oauth2/token", "", "", url.Values{
				"grant_type": {"client_credentials"}, "scope": {"profile"},
				"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {clientAssertion(t, key, id, tokenURL)},
			})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("advertised client assertion alg %s: %d %v", alg, resp.StatusCode, out)
			}
		}
	})
}

// getJSON GETs u and decodes the JSON answer into v.
func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// TestDiscoveryListsOnlyWhatWorks_OIDCDiscovery_3: the discovery document
// (OIDC Discovery 1.0 §3, RFC 8414 §2) names this issuer, endpoints that
// exist, S256 as the only PKCE method (RFC 7636 §4.2, RFC 9700 §2.1.1), the
// code response type only, RFC 9207 iss support and every ID token
// algorithm.
func TestDiscoveryListsOnlyWhatWorks_OIDCDiscovery_3(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		resp, err := http.Get(env.Issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("discovery: %d %v", resp.StatusCode, err)
		}
		strs := func(key string) []string {
			var out []string
			list, ok := doc[key].([]any)
			if !ok {
				t.Fatalf("%s is not a list: %v", key, doc[key])
			}
			for _, v := range list {
				out = append(out, v.(string))
			}
			return out
		}
		if doc["issuer"] != env.Issuer {
			t.Fatalf("issuer %v", doc["issuer"])
		}
		for _, key := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
			"end_session_endpoint", "introspection_endpoint", "revocation_endpoint"} {
			u, _ := doc[key].(string)
			if !strings.HasPrefix(u, env.Issuer+"/") {
				t.Fatalf("%s = %q is not under the issuer", key, u)
			}
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req, _ := http.NewRequest(method, u, nil)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, key, err)
				}
				r.Body.Close()
				if r.StatusCode == http.StatusNotFound || r.StatusCode >= 500 {
					t.Fatalf("%s %s (%s): status %d", method, key, u, r.StatusCode)
				}
			}
		}
		if got := strs("code_challenge_methods_supported"); !slices.Equal(got, []string{"S256"}) {
			t.Fatalf("code_challenge_methods_supported %v", got)
		}
		if got := strs("response_types_supported"); !slices.Equal(got, []string{"code"}) {
			t.Fatalf("response_types_supported %v", got)
		}
		if doc["authorization_response_iss_parameter_supported"] != true {
			t.Fatal("authorization_response_iss_parameter_supported is not true")
		}
		// Both logout channels, with sid (backchannel_test.go,
		// frontchannel_test.go).
		for _, key := range []string{"backchannel_logout_supported", "backchannel_logout_session_supported",
			"frontchannel_logout_supported", "frontchannel_logout_session_supported"} {
			if doc[key] != true {
				t.Errorf("%s = %v, want true", key, doc[key])
			}
		}
		algs := strs("id_token_signing_alg_values_supported")
		for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
			if !slices.Contains(algs, alg) {
				t.Fatalf("id_token_signing_alg_values_supported %v lacks %s", algs, alg)
			}
		}
		for _, mode := range strs("response_modes_supported") {
			if mode != "query" && mode != "form_post" {
				t.Fatalf("response mode %q is listed but not implemented", mode)
			}
		}
		for _, gt := range strs("grant_types_supported") {
			if !slices.Contains([]string{"authorization_code", "refresh_token", "client_credentials", clients.GrantDeviceCode}, gt) {
				t.Fatalf("grant type %q is listed but not implemented", gt)
			}
		}
		// A stock client accepts the document as is.
		if _, err := gooidc.NewProvider(context.Background(), env.Issuer); err != nil {
			t.Fatalf("go-oidc discovery: %v", err)
		}
	})
}

// publicJWKS is the JSON key set with the public part of key, for signing.
func publicJWKS(t *testing.T, key jwk.Key) []byte {
	t.Helper()
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		t.Fatal(err)
	}
	_ = pub.Set(jwk.KeyUsageKey, "sig")
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	jwks, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return jwks
}
