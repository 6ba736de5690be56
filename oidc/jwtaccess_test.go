package oidc_test

// JWT access tokens (RFC 9068) and resource indicators (RFC 8707), driven
// over HTTP with stock clients (x/oauth2) and verified as an API would:
// jwx against the JWKS the provider publishes.

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

const (
	ordersAPI   = "https://api.example.com/orders"
	calendarAPI = "https://api.example.com/calendar"
)

// apiVerify verifies token as a resource server does (RFC 9068 §4):
// signature against the published JWKS, typ at+jwt, iss, aud and exp.
func apiVerify(t testing.TB, env *servertest.Env, token, aud string) jwxjwt.Token {
	t.Helper()
	set, err := jwk.Fetch(context.Background(), env.Issuer+"/oauth2/jwks")
	if err != nil {
		t.Fatalf("fetch jwks: %v", err)
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	if typ := msg.Signatures()[0].ProtectedHeaders().Type(); typ != "at+jwt" {
		t.Fatalf("typ = %q, want at+jwt", typ)
	}
	tok, err := jwxjwt.Parse([]byte(token), jwxjwt.WithKeySet(set), jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(env.Issuer), jwxjwt.WithAudience(aud), jwxjwt.WithRequiredClaim("jti"), jwxjwt.WithRequiredClaim("client_id"))
	if err != nil {
		t.Fatalf("verify access token as an API: %v", err)
	}
	return tok
}

func claim(tok jwxjwt.Token, name string) any {
	v, _ := tok.Get(name)
	return v
}

func createResource(t *testing.T, env *servertest.Env, r models.Resource) {
	t.Helper()
	now := time.Now().UTC()
	r.CreatedAt, r.UpdatedAt = now, now
	if r.Scopes == nil {
		r.Scopes = models.StringList{}
	}
	if r.AccessTokenFormat == "" {
		r.AccessTokenFormat = models.TokenFormatJWT
	}
	if err := env.Store.CreateResource(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
}

func createScope(t *testing.T, env *servertest.Env, name string) {
	t.Helper()
	now := time.Now().UTC()
	if err := env.Store.CreateCustomScope(context.Background(), &models.CustomScope{Name: name, Claims: models.ScopeClaims{}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	env.Server.Provider().InvalidateScopes()
}

// TestJWTAccessToken_PerClient: a client registered for JWT access tokens
// gets RFC 9068 tokens an API verifies against the JWKS alone, with the
// user's sign-in and groups; introspection, userinfo and refresh work as
// with opaque tokens, and a revoked JWT is inactive at introspection
// although its signature still verifies (RFC 9068 §5 leaves revocation to
// introspection).
func TestJWTAccessToken_PerClient(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, AccessTokenFormat: "jwt",
			Scopes: []string{"openid", "profile", "email", "offline_access", "groups"}})
		ctx := context.Background()
		g := &models.Group{ID: uuid.NewString(), Name: "staff", CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		if err := env.Store.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := env.Store.AddGroupMember(ctx, "staff", f.user.ID); err != nil {
			t.Fatal(err)
		}
		tok := f.tokens("openid", "email", "offline_access", "groups")
		if strings.HasPrefix(tok.AccessToken, "ory_at_") || strings.Count(tok.AccessToken, ".") != 2 {
			t.Fatalf("access token is not a JWT: %q", tok.AccessToken)
		}
		if tok.TokenType != "bearer" && tok.TokenType != "Bearer" {
			t.Fatalf("token_type = %q", tok.TokenType)
		}
		f.verifyID(tok) // at_hash covers the JWT
		at := apiVerify(t, env, tok.AccessToken, f.r.clientID)
		if at.Subject() != f.user.ID || claim(at, "client_id") != f.r.clientID || claim(at, "scope") != "openid email offline_access groups" ||
			claim(at, "acr") != models.ACRPhishingResistant || claim(at, "auth_time") == nil || at.JwtID() == "" {
			t.Fatalf("claims = %v", mustMap(t, at))
		}
		if groups, _ := claim(at, "groups").([]any); len(groups) != 1 || groups[0] != "staff" {
			t.Fatalf("groups = %v", claim(at, "groups"))
		}
		if claim(at, "email") != nil {
			t.Fatalf("the access token carries profile claims: %v", mustMap(t, at))
		}
		if d := time.Until(at.Expiration()); d < 50*time.Minute || d > 61*time.Minute {
			t.Fatalf("exp in %v, want the access token lifetime", d)
		}

		out := f.wantActive(tok.AccessToken, "access_token", true)
		if aud, _ := out["aud"].([]any); out["sub"] != f.user.ID || out["client_id"] != f.r.clientID || len(aud) != 1 || aud[0] != f.r.clientID {
			t.Fatalf("introspection = %v", out)
		}
		if resp, ui := userinfo(t, env, tok.AccessToken); resp.StatusCode != http.StatusOK || ui["sub"] != f.user.ID {
			t.Fatalf("userinfo: %d %v", resp.StatusCode, ui)
		}
		// A payload altered under the same signature finds the stored
		// token by its signature segment and is still refused.
		parts := strings.Split(tok.AccessToken, ".")
		forged := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
		f.wantActive(forged, "access_token", false)
		if resp, _ := userinfo(t, env, forged); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("userinfo with an altered JWT: %d", resp.StatusCode)
		}

		// Refresh: a fresh JWT; the rotated grant's old access token is dead.
		tok2, err := f.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		at2 := apiVerify(t, env, tok2.AccessToken, f.r.clientID)
		if at2.JwtID() == at.JwtID() || at2.Subject() != f.user.ID {
			t.Fatalf("refreshed token: jti %q (old %q) sub %q", at2.JwtID(), at.JwtID(), at2.Subject())
		}
		f.wantActive(tok.AccessToken, "access_token", false)

		// Revocation: the signature still verifies, introspection says no.
		f.revoke(tok2.AccessToken, "access_token")
		apiVerify(t, env, tok2.AccessToken, f.r.clientID)
		f.wantActive(tok2.AccessToken, "access_token", false)
		if resp, _ := userinfo(t, env, tok2.AccessToken); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("userinfo with a revoked JWT: %d", resp.StatusCode)
		}
	})
}

func mustMap(t testing.TB, tok jwxjwt.Token) map[string]any {
	m, err := tok.AsMap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// authURLWith is the flow's authorization URL with repeated parameters
// added (x/oauth2 sets each once).
func (f *e2eFlow) codeWith(extra url.Values) (string, string, url.Values) {
	f.t.Helper()
	verifier := oauth2.GenerateVerifier()
	u := f.r.oauth.AuthCodeURL("state-0123456789", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-0123456789")) + "&" + extra.Encode()
	resp, _ := get(f.t, f.b, u)
	if resp.Request.URL.Path == "/login" {
		resp, _, _ = f.signIn(resp, models.ACRPhishingResistant)
	}
	q := callback(f.t, resp)
	return q.Get("code"), verifier, q
}

// TestResourceIndicators: resource parameters (RFC 8707) make the grant's
// audience; the token endpoint may narrow it per token (RFC 8707 §2.2)
// while the refresh token keeps the grant; a resource registered for JWTs
// makes an opaque client's token a JWT for it; introspection reports the
// narrowed audience.
func TestResourceIndicators(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		createScope(t, env, "orders:read")
		createScope(t, env, "calendar:read")
		createResource(t, env, models.Resource{Name: "orders", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		createResource(t, env, models.Resource{Name: "calendar", Audience: calendarAPI, Scopes: models.StringList{"calendar:read"}})
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true,
			Scopes: []string{"openid", "offline_access", "orders:read", "calendar:read"}})
		f.r.oauth.Scopes = []string{"openid", "offline_access", "orders:read", "calendar:read"}
		f.r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

		code, verifier, _ := f.codeWith(url.Values{"resource": {ordersAPI, calendarAPI}})
		// Narrowed at the exchange to one of the two.
		tok, err := f.r.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", ordersAPI))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		at := apiVerify(t, env, tok.AccessToken, ordersAPI)
		if !slices.Equal(at.Audience(), []string{ordersAPI}) || claim(at, "scope") != "openid offline_access orders:read" {
			t.Fatalf("narrowed token: aud %v scope %v", at.Audience(), claim(at, "scope"))
		}
		if s, _ := tok.Extra("scope").(string); s != "openid offline_access orders:read" {
			t.Fatalf("token response scope = %q", s)
		}
		out := f.wantActive(tok.AccessToken, "access_token", true)
		if aud, _ := out["aud"].([]any); len(aud) != 1 || aud[0] != ordersAPI || out["scope"] != "openid offline_access orders:read" {
			t.Fatalf("introspection = %v", out)
		}

		// A refresh without resource: the whole grant.
		resp, body := postEndpoint(t, env, "/oauth2/token", f.r.clientID, f.r.secret,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %v", resp.StatusCode, body)
		}
		at = apiVerify(t, env, body["access_token"].(string), calendarAPI)
		if !slices.Equal(at.Audience(), []string{ordersAPI, calendarAPI}) || claim(at, "scope") != "openid offline_access orders:read calendar:read" {
			t.Fatalf("whole-grant token: aud %v scope %v", at.Audience(), claim(at, "scope"))
		}
		// A refresh for the other resource.
		resp, body = postEndpoint(t, env, "/oauth2/token", f.r.clientID, f.r.secret,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}, "resource": {calendarAPI}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh for calendar: %d %v", resp.StatusCode, body)
		}
		at = apiVerify(t, env, body["access_token"].(string), calendarAPI)
		if !slices.Equal(at.Audience(), []string{calendarAPI}) || claim(at, "scope") != "openid offline_access calendar:read" {
			t.Fatalf("calendar token: aud %v scope %v", at.Audience(), claim(at, "scope"))
		}
		// A resource outside the grant is invalid_target, and the refresh
		// token is not spent by the refusal.
		unknown := "https://api.example.com/unregistered"
		createResource(t, env, models.Resource{Name: "other", Audience: "https://api.example.com/other"})
		env.Server.Provider().InvalidateResources()
		rt := body["refresh_token"].(string)
		for _, res := range []string{"https://api.example.com/other", unknown, "orders", ordersAPI + "#frag"} {
			resp, out := postEndpoint(t, env, "/oauth2/token", f.r.clientID, f.r.secret,
				url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "resource": {res}})
			if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_target" {
				t.Fatalf("refresh for %q: %d %v", res, resp.StatusCode, out)
			}
		}
		resp, body = postEndpoint(t, env, "/oauth2/token", f.r.clientID, f.r.secret,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "resource": {ordersAPI}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh after refusals: %d %v", resp.StatusCode, body)
		}

		// An opaque client without resource gets an opaque token.
		tok = f.tokens("openid")
		if !strings.HasPrefix(tok.AccessToken, "ory_at_") {
			t.Fatalf("opaque client without resource got %q", tok.AccessToken)
		}
		if out := f.wantActive(tok.AccessToken, "access_token", true); out["aud"] != nil {
			t.Fatalf("introspection of a token without resource: aud %v", out["aud"])
		}
	})
}

// TestResourceIndicators_Refused: every malformed, unknown or disallowed
// resource is refused with RFC 8707's invalid_target (and a scope a
// resource does not allow with invalid_scope) before anything is written:
// no interaction at the authorization endpoint, the code still good after
// a refused exchange.
func TestResourceIndicators_Refused(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		createScope(t, env, "orders:read")
		createScope(t, env, "calendar:read")
		createResource(t, env, models.Resource{Name: "orders", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		createResource(t, env, models.Resource{Name: "calendar", Audience: calendarAPI, Scopes: models.StringList{"calendar:read"}})
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, Scopes: []string{"openid", "orders:read", "calendar:read"}})
		f.r.oauth.Scopes = []string{"openid"}
		f.r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		state := []string{"interactions", "oauth2_requests"}
		for _, tc := range []struct {
			name   string
			params url.Values
			want   string
		}{
			{"unregistered", url.Values{"resource": {"https://api.example.com/nope"}}, "invalid_target"},
			{"relative", url.Values{"resource": {"orders"}}, "invalid_target"},
			{"fragment", url.Values{"resource": {ordersAPI + "#x"}}, "invalid_target"},
			{"empty", url.Values{"resource": {""}}, "invalid_target"},
			{"too many", url.Values{"resource": slices.Repeat([]string{ordersAPI}, 11)}, "invalid_target"},
			{"scope of another resource", url.Values{"resource": {ordersAPI}, "scope": {"openid calendar:read"}}, "invalid_scope"},
			{"audience parameter", url.Values{"audience": {ordersAPI}}, "invalid_request"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				verifier := oauth2.GenerateVerifier()
				p := url.Values{}
				for k, v := range tc.params {
					if k != "scope" {
						p[k] = v
					}
				}
				opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
				if s := tc.params.Get("scope"); s != "" {
					opts = append(opts, oauth2.SetAuthURLParam("scope", s))
				}
				before := rowCounts(t, env, state...)
				resp, _ := get(t, f.b, f.r.oauth.AuthCodeURL("state-0123456789", opts...)+"&"+p.Encode())
				q := callback(t, resp)
				if q.Get("error") != tc.want || q.Get("code") != "" {
					t.Fatalf("authorization response = %v, want %s", q, tc.want)
				}
				nothingWritten(t, env, "authorization request "+tc.name, before)
			})
		}
		// Nothing was parked for any of them: the browser never reached
		// the login page (callback above), so no interaction exists.

		code, verifier, _ := f.codeWith(url.Values{"resource": {ordersAPI}})
		before := rowCounts(t, env, state...)
		for _, res := range []string{calendarAPI, "https://api.example.com/nope", "not a uri"} {
			_, err := f.r.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", res))
			wantOAuthError(t, err, "invalid_target")
		}
		_, err := f.r.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("audience", ordersAPI))
		wantOAuthError(t, err, "invalid_request")
		nothingWritten(t, env, "refused exchanges", before)
		tok, err := f.r.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", ordersAPI))
		if err != nil {
			t.Fatalf("the code was spent by a refused exchange: %v", err)
		}
		apiVerify(t, env, tok.AccessToken, ordersAPI)
	})
}

// TestResourceIndicators_ClientCredentials: a machine token for a
// registered resource is a JWT for it (RFC 9068 §2.2: sub is the client);
// unknown resources and scopes the resource does not allow are refused.
func TestResourceIndicators_ClientCredentials(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		createScope(t, env, "orders:read")
		createScope(t, env, "calendar:read")
		createResource(t, env, models.Resource{Name: "orders", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		id, secret := env.CreateClient(clients.Spec{Name: "M2M", GrantTypes: []string{"client_credentials"}, Scopes: []string{"orders:read", "calendar:read"}})
		cc := func(scopes []string, params url.Values) (*oauth2.Token, error) {
			c := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: env.Issuer + "/oauth2/token", Scopes: scopes, EndpointParams: params, AuthStyle: oauth2.AuthStyleInHeader}
			return c.Token(context.Background())
		}
		tok, err := cc([]string{"orders:read"}, url.Values{"resource": {ordersAPI}})
		if err != nil {
			t.Fatal(err)
		}
		at := apiVerify(t, env, tok.AccessToken, ordersAPI)
		if at.Subject() != id || claim(at, "client_id") != id || claim(at, "scope") != "orders:read" || claim(at, "auth_time") != nil {
			t.Fatalf("machine token claims = %v", mustMap(t, at))
		}
		_, err = cc([]string{"calendar:read"}, url.Values{"resource": {ordersAPI}})
		wantOAuthError(t, err, "invalid_scope")
		_, err = cc([]string{"orders:read"}, url.Values{"resource": {calendarAPI}})
		wantOAuthError(t, err, "invalid_target")
		// Without resource: an opaque token, as before.
		tok, err = cc([]string{"orders:read"}, nil)
		if err != nil || !strings.HasPrefix(tok.AccessToken, "ory_at_") {
			t.Fatalf("token without resource: %v %v", tok, err)
		}
	})
}

// TestResourceIndicators_ConsentNamesTheAPIs: the consent page names the
// resources the access is for (their description and audience), and the
// allowed grant's token is for them.
func TestResourceIndicators_ConsentNamesTheAPIs(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		createScope(t, env, "orders:read")
		createResource(t, env, models.Resource{Name: "orders", Description: "Acme Orders API", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		f := newE2EFlow(t, env, clients.Spec{Name: "Shop", Scopes: []string{"openid", "orders:read"}})
		f.r.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		resp, _, verifier := f.start("state-consent-res", url.Values{"scope": {"openid orders:read"}, "resource": {ordersAPI}})
		resp, body, _ := f.signIn(resp, models.ACRPhishingResistant)
		in := interactionFrom(t, resp, "/consent")
		for _, want := range []string{"With these services", "Acme Orders API", ordersAPI} {
			if !strings.Contains(body, want) {
				t.Fatalf("consent page lacks %q:\n%s", want, body)
			}
		}
		resp, _ = postPage(t, f.b, env.Issuer+"/consent", url.Values{"interaction": {in}, "csrf": {formValue(t, body, "csrf")}, "decision": {"allow"}})
		q := callback(t, resp)
		tok := f.exchange(q.Get("code"), verifier)
		if at := apiVerify(t, env, tok.AccessToken, ordersAPI); claim(at, "scope") != "openid orders:read" {
			t.Fatalf("token scope %v", claim(at, "scope"))
		}
	})
}
