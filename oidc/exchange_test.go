package oidc_test

// Token exchange (RFC 8693) over HTTP: a SPA-style user token for API A,
// which API A trades for a token for API B, which API B trades for API C;
// the JWTs verified against the JWKS as an API would, introspection
// showing act, aud, sub and scope; every refusal with its error code.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

const (
	apiA          = "https://api-a.example.com"
	apiB          = "https://api-b.example.com"
	apiC          = "https://api-c.example.com"
	exchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
	accessType    = "urn:ietf:params:oauth:token-type:access_token"
)

// withExchange turns the token exchange grant on.
func withExchange() servertest.Option {
	return servertest.With(func(c *config.Config) { c.TokenExchange = true })
}

// exchangeEnv is a server with APIs A (opaque tokens), B and C (JWTs), a
// pairwise SPA signed in for API A, and API A and B as exchanging clients.
type exchangeEnv struct {
	env          *servertest.Env
	f            *e2eFlow
	aID, aSecret string
	bID, bSecret string
	spaToken     *oauth2.Token
}

func newExchangeEnv(t *testing.T, env *servertest.Env) *exchangeEnv {
	t.Helper()
	for _, s := range []string{"a:read", "b:read", "c:read"} {
		createScope(t, env, s)
	}
	createResource(t, env, models.Resource{Name: "api-a", Audience: apiA, AccessTokenFormat: models.TokenFormatOpaque})
	createResource(t, env, models.Resource{Name: "api-b", Audience: apiB, Scopes: models.StringList{"b:read", "c:read"}})
	createResource(t, env, models.Resource{Name: "api-c", Audience: apiC, Scopes: models.StringList{"c:read"}})
	env.Server.Provider().InvalidateResources()
	scopes := []string{"openid", "offline_access", "a:read", "b:read", "c:read"}
	f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, SubjectType: clients.SubjectPairwise, Scopes: scopes})
	f.r.oauth.Scopes = scopes
	code, verifier, _ := f.codeWith(url.Values{"resource": {apiA}})
	x := &exchangeEnv{env: env, f: f, spaToken: f.exchange(code, verifier)}
	x.aID, x.aSecret = env.CreateClient(clients.Spec{Name: "API A", GrantTypes: []string{exchangeGrant}, Scopes: []string{"b:read", "c:read"},
		TokenExchangeResources: []string{apiB}, TokenExchangeSubjectAudiences: []string{apiA}})
	x.bID, x.bSecret = env.CreateClient(clients.Spec{Name: "API B", GrantTypes: []string{exchangeGrant}, Scopes: []string{"c:read"},
		TokenExchangeResources: []string{apiC}, TokenExchangeSubjectAudiences: []string{apiB}})
	return x
}

// exchange posts a token exchange as id.
func (x *exchangeEnv) exchange(id, secret string, form url.Values) (*http.Response, map[string]any) {
	x.env.T.Helper()
	form.Set("grant_type", exchangeGrant)
	return postEndpoint(x.env.T.(*testing.T), x.env, "/oauth2/token", id, secret, form)
}

// introspectAs introspects token as client id.
func (x *exchangeEnv) introspectAs(id, secret, token string) map[string]any {
	x.env.T.Helper()
	resp, out := postEndpoint(x.env.T.(*testing.T), x.env, "/oauth2/introspect", id, secret, url.Values{"token": {token}})
	if resp.StatusCode != http.StatusOK {
		x.env.T.Fatalf("introspect: %d %v", resp.StatusCode, out)
	}
	return out
}

// TestTokenExchange_Chain: SPA token → API A exchanges it for an API B
// token → API B exchanges that for an API C token (RFC 8693 §4.1 nested
// act); sub stays the SPA's pairwise sub, lifetimes never pass the
// subject token's, revoking an exchanged token ends it alone, and revoking
// the user's grant ends every token exchanged from it.
func TestTokenExchange_Chain(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, withExchange())...)
		x := newExchangeEnv(t, env)
		f := x.f
		subj := f.wantActive(x.spaToken.AccessToken, "access_token", true)
		sub, _ := subj["sub"].(string)
		if sub == "" || sub == f.user.ID {
			t.Fatalf("the SPA's sub is not pairwise: %v", subj)
		}

		resp, out := x.exchange(x.aID, x.aSecret, url.Values{"subject_token": {x.spaToken.AccessToken}, "subject_token_type": {accessType},
			"resource": {apiB}, "scope": {"b:read c:read"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("exchange by API A: %d %v", resp.StatusCode, out)
		}
		if out["issued_token_type"] != accessType || !strings.EqualFold(out["token_type"].(string), "bearer") || out["scope"] != "b:read c:read" || out["refresh_token"] != nil {
			t.Fatalf("exchange response = %v", out)
		}
		if exp := out["expires_in"].(float64); exp <= 0 || time.Duration(exp)*time.Second > time.Until(x.spaToken.Expiry)+2*time.Second {
			t.Fatalf("expires_in %v outlives the subject token (%v)", exp, time.Until(x.spaToken.Expiry))
		}
		tokB := out["access_token"].(string)
		at := apiVerify(t, env, tokB, apiB)
		act, _ := claim(at, "act").(map[string]any)
		if at.Subject() != sub || claim(at, "client_id") != x.aID || claim(at, "scope") != "b:read c:read" || act["sub"] != x.aID || act["act"] != nil {
			t.Fatalf("API B token claims = %v", mustMap(t, at))
		}
		in := x.introspectAs(x.aID, x.aSecret, tokB)
		inAct, _ := in["act"].(map[string]any)
		if aud, _ := in["aud"].([]any); in["active"] != true || in["sub"] != sub || in["scope"] != "b:read c:read" || in["client_id"] != x.aID ||
			len(aud) != 1 || aud[0] != apiB || inAct["sub"] != x.aID {
			t.Fatalf("introspection of API B's token = %v", in)
		}

		// API B trades its token for one for API C: a two-actor chain.
		resp, out = x.exchange(x.bID, x.bSecret, url.Values{"subject_token": {tokB}, "subject_token_type": {accessType}, "audience": {apiC}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("exchange by API B: %d %v", resp.StatusCode, out)
		}
		tokC := out["access_token"].(string)
		atC := apiVerify(t, env, tokC, apiC)
		actC, _ := claim(atC, "act").(map[string]any)
		prior, _ := actC["act"].(map[string]any)
		if atC.Subject() != sub || claim(atC, "scope") != "c:read" || actC["sub"] != x.bID || prior["sub"] != x.aID || !atC.Expiration().Before(at.Expiration().Add(time.Second)) {
			t.Fatalf("API C token claims = %v (B's expires %v)", mustMap(t, atC), at.Expiration())
		}

		// Revoking API B's token (by API A, its holder) ends it alone: the
		// SPA's token lives on.
		resp, out = postEndpoint(t, env, "/oauth2/revoke", x.aID, x.aSecret, url.Values{"token": {tokB}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d %v", resp.StatusCode, out)
		}
		if in := x.introspectAs(x.aID, x.aSecret, tokB); in["active"] != false {
			t.Fatalf("revoked exchanged token still active: %v", in)
		}
		f.wantActive(x.spaToken.AccessToken, "access_token", true)
		f.wantActive(x.spaToken.RefreshToken, "refresh_token", true)

		// Revoking the user's grant ends every token exchanged from it.
		if in := x.introspectAs(x.bID, x.bSecret, tokC); in["active"] != true {
			t.Fatalf("API C token inactive before the grant's revocation: %v", in)
		}
		f.revoke(x.spaToken.RefreshToken, "refresh_token")
		f.wantActive(x.spaToken.AccessToken, "access_token", false)
		if in := x.introspectAs(x.bID, x.bSecret, tokC); in["active"] != false {
			t.Fatalf("API C token active after the user's grant was revoked: %v", in)
		}
		// A revoked subject token exchanges for nothing.
		resp, out = x.exchange(x.aID, x.aSecret, url.Values{"subject_token": {x.spaToken.AccessToken}, "subject_token_type": {accessType}, "resource": {apiB}})
		if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_request" {
			t.Fatalf("exchange of a revoked token: %d %v", resp.StatusCode, out)
		}

		// Each exchange is an auth event, granted and refused alike.
		evs, err := env.Store.ListUserAuthEvents(context.Background(), f.user.ID, store.EventFilter{Method: models.MethodTokenExchange}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Result != models.ResultSuccess || evs[0].ClientID != x.bID || evs[1].ClientID != x.aID {
			t.Fatalf("token exchange events = %+v", evs)
		}
	})
}

// TestTokenExchange_Refusals: every refusal of RFC 8693 §2.2.2, RFC 8707
// and RFC 6749 §5.2 with its error code, and nothing issued.
func TestTokenExchange_Refusals(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, withExchange())...)
		x := newExchangeEnv(t, env)
		spa := x.spaToken.AccessToken
		plainID, plainSecret := env.CreateClient(clients.Spec{Name: "No exchange", GrantTypes: []string{"client_credentials"}, Scopes: []string{"b:read"}})
		otherID, otherSecret := env.CreateClient(clients.Spec{Name: "Other API", GrantTypes: []string{exchangeGrant}, Scopes: []string{"b:read"},
			TokenExchangeResources: []string{apiB}})
		// A public client registered for the grant (the client form refuses
		// it; a row edited behind its back must still be refused).
		pubID, _ := env.CreateClient(clients.Spec{Name: "Public", GrantTypes: []string{exchangeGrant}, Scopes: []string{"b:read"}, TokenExchangeResources: []string{apiB}})
		ctx := context.Background()
		pc, err := env.Store.GetClient(ctx, pubID)
		if err != nil {
			t.Fatal(err)
		}
		pc.Public, pc.TokenEndpointAuthMethod, pc.SecretHash = true, clients.AuthNone, ""
		if err := env.Store.UpdateClient(ctx, pc); err != nil {
			t.Fatal(err)
		}
		env.Server.Provider().InvalidateClient(pubID)
		// API A's own machine token, as an actor token of another client.
		resp, cc := postEndpoint(t, env, "/oauth2/token", plainID, plainSecret, url.Values{"grant_type": {"client_credentials"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("client_credentials: %d %v", resp.StatusCode, cc)
		}
		foreignActor := cc["access_token"].(string)

		good := func(extra ...string) url.Values {
			v := url.Values{"subject_token": {spa}, "subject_token_type": {accessType}, "resource": {apiB}}
			for i := 0; i+1 < len(extra); i += 2 {
				if extra[i+1] == "" {
					v.Del(extra[i])
				} else {
					v.Set(extra[i], extra[i+1])
				}
			}
			return v
		}
		cases := []struct {
			name       string
			id, secret string
			form       url.Values
			code       string
		}{
			{"wrong secret", x.aID, "nope", good(), "invalid_client"},
			{"client without the grant", plainID, plainSecret, good(), "unauthorized_client"},
			{"public client", pubID, "", good(), "unauthorized_client"},
			{"no subject token", x.aID, x.aSecret, good("subject_token", ""), "invalid_request"},
			{"no subject token type", x.aID, x.aSecret, good("subject_token_type", ""), "invalid_request"},
			{"ID token type", x.aID, x.aSecret, good("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"), "invalid_request"},
			{"JWT type", x.aID, x.aSecret, good("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"), "invalid_request"},
			{"unknown subject token", x.aID, x.aSecret, good("subject_token", "ory_at_unknown.signature"), "invalid_request"},
			{"refresh token as subject", x.aID, x.aSecret, good("subject_token", x.spaToken.RefreshToken), "invalid_request"},
			{"ID token as subject", x.aID, x.aSecret, good("subject_token", x.spaToken.Extra("id_token").(string)), "invalid_request"},
			{"subject token not meant for the client", otherID, otherSecret, good(), "invalid_request"},
			{"refresh token requested", x.aID, x.aSecret, good("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), "invalid_request"},
			{"actor token without type", x.aID, x.aSecret, good("actor_token", foreignActor), "invalid_request"},
			{"actor token of another client", x.aID, x.aSecret, good("actor_token", foreignActor, "actor_token_type", accessType), "invalid_request"},
			{"no target", x.aID, x.aSecret, good("resource", ""), "invalid_target"},
			{"unregistered target", x.aID, x.aSecret, good("resource", "https://unknown.example.com"), "invalid_target"},
			{"malformed target", x.aID, x.aSecret, good("resource", "api-b"), "invalid_target"},
			{"target not allowed for the client", x.aID, x.aSecret, good("resource", apiC), "invalid_target"},
			{"audience not allowed for the client", x.aID, x.aSecret, good("resource", "", "audience", apiC), "invalid_target"},
			{"scope not granted to the subject", x.aID, x.aSecret, good("scope", "profile"), "invalid_scope"},
			{"scope the target does not allow", x.aID, x.aSecret, good("scope", "a:read"), "invalid_scope"},
			{"offline_access", x.aID, x.aSecret, good("scope", "offline_access"), "invalid_scope"},
			{"scope the client may not request", x.aID, x.aSecret, good("scope", "openid"), "invalid_scope"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				form := tc.form
				form.Set("grant_type", exchangeGrant)
				if tc.id == pubID {
					form.Set("client_id", pubID)
				}
				id := tc.id
				if tc.id == pubID {
					id = ""
				}
				resp, out := postEndpoint(t, env, "/oauth2/token", id, tc.secret, form)
				if out["error"] != tc.code || out["access_token"] != nil || resp.StatusCode < 400 {
					t.Fatalf("%s: %d %v, want %s", tc.name, resp.StatusCode, out, tc.code)
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
				}
			})
		}
		// The refusals spent nothing: the same request by API A succeeds.
		if resp, out := x.exchange(x.aID, x.aSecret, good()); resp.StatusCode != http.StatusOK || out["scope"] != "b:read c:read" {
			t.Fatalf("exchange after the refusals: %d %v", resp.StatusCode, out)
		}
		evs, err := env.Store.ListAuthEventsRange(ctx, store.EventRange{Method: models.MethodTokenExchange, Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)}, 100)
		if err != nil {
			t.Fatal(err)
		}
		failures := 0
		for _, e := range evs {
			if e.Result == models.ResultFailure {
				failures++
			}
		}
		if failures != len(cases) {
			t.Fatalf("%d refusals recorded, want %d", failures, len(cases))
		}
	})
}

// TestTokenExchange_Off: with the switch off the grant is unsupported and
// discovery does not name it; on, it does.
func TestTokenExchange_Off(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		for _, on := range []bool{false, true} {
			opts := slices.Clone(db)
			if on {
				opts = append(opts, withExchange())
			}
			env := servertest.New(t, opts...)
			var doc map[string]any
			getJSON(t, env.Issuer+"/.well-known/openid-configuration", &doc)
			listed := false
			for _, g := range doc["grant_types_supported"].([]any) {
				listed = listed || g == exchangeGrant
			}
			if listed != on {
				t.Fatalf("token_exchange %v: grant_types_supported = %v", on, doc["grant_types_supported"])
			}
			if !on {
				_, out := postEndpoint(t, env, "/oauth2/token", "", "", url.Values{"grant_type": {exchangeGrant}, "subject_token": {"x"}})
				if out["error"] != "unsupported_grant_type" {
					t.Fatalf("switched off: %v", out)
				}
			}
		}
	})
}

// TestTokenExchange_DPoP: a request that carries a DPoP proof gets a token
// bound to the proof's key (RFC 9449 §5: token_type DPoP, cnf.jkt in the
// JWT and in introspection); a replayed proof is refused.
func TestTokenExchange_DPoP(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, withExchange())...)
		x := newExchangeEnv(t, env)
		k := newDPoPKey(t)
		form := url.Values{"grant_type": {exchangeGrant}, "subject_token": {x.spaToken.AccessToken}, "subject_token_type": {accessType}, "resource": {apiB}}
		proof := k.proof(t, http.MethodPost, env.Issuer+"/oauth2/token", proofOpts{})
		resp, out := postToken(t, env.Issuer, form, x.aID, x.aSecret, proof)
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("exchange with DPoP: %d %v", resp.StatusCode, out)
		}
		at := apiVerify(t, env, out["access_token"].(string), apiB)
		if cnf, _ := claim(at, "cnf").(map[string]any); cnf["jkt"] != k.jkt {
			t.Fatalf("cnf = %v, want jkt %s", claim(at, "cnf"), k.jkt)
		}
		if in := x.introspectAs(x.aID, x.aSecret, out["access_token"].(string)); in["token_type"] != "DPoP" {
			t.Fatalf("introspection = %v", in)
		}
		resp, out = postToken(t, env.Issuer, form, x.aID, x.aSecret, proof)
		if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
			t.Fatalf("replayed proof: %d %v", resp.StatusCode, out)
		}
	})
}

// TestTokenExchange_LiveSwitch: the live policy switches the grant while
// Sesame runs, on every replica. An API exchanging a user's token with
// golang.org/x/oauth2's client (the grant type in its endpoint
// parameters) gets unsupported_grant_type while the switch is off, a
// token once an admin turns it on, and unsupported_grant_type again once
// it is off; discovery on both replicas lists the grant exactly while it
// is on.
func TestTokenExchange_LiveSwitch(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		a := servertest.New(t, db...) // token_exchange off in the configuration
		b := a.Replica()
		x := newExchangeEnv(t, a)
		ctx := t.Context()
		exchangeAt := func(env *servertest.Env) (*oauth2.Token, error) {
			cc := clientcredentials.Config{ClientID: x.aID, ClientSecret: x.aSecret, TokenURL: env.HTTP.URL + "/oauth2/token",
				AuthStyle: oauth2.AuthStyleInHeader, EndpointParams: url.Values{"grant_type": {exchangeGrant},
					"subject_token": {x.spaToken.AccessToken}, "subject_token_type": {accessType}, "resource": {apiB}}}
			return cc.Token(ctx)
		}
		listedAt := func(env *servertest.Env) bool {
			var doc map[string]any
			getJSON(t, env.HTTP.URL+"/.well-known/openid-configuration", &doc)
			for _, g := range doc["grant_types_supported"].([]any) {
				if g == exchangeGrant {
					return true
				}
			}
			return false
		}
		refused := func(err error) bool {
			var re *oauth2.RetrieveError
			return errors.As(err, &re) && re.ErrorCode == "unsupported_grant_type"
		}
		admin := policy.New(a.Store, a.Config) // as the console or CLI saves it
		set := func(on bool) {
			p, err := admin.Current(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.TokenExchange = on
			if err := admin.Save(ctx, p, "test:switch"); err != nil {
				t.Fatal(err)
			}
		}
		// waitFor polls until cond holds on both replicas: the change feed
		// brings the change well within the policy cache's lifetime.
		waitFor := func(what string, cond func(env *servertest.Env) bool) {
			t.Helper()
			deadline := time.Now().Add(policy.CacheTTL / 2)
			for _, env := range []*servertest.Env{a, b} {
				for !cond(env) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: not seen at %s within %v", what, env.HTTP.URL, policy.CacheTTL/2)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}

		for _, env := range []*servertest.Env{a, b} {
			if _, err := exchangeAt(env); !refused(err) {
				t.Fatalf("switched off in the configuration: exchange at %s = %v, want unsupported_grant_type", env.HTTP.URL, err)
			}
			if listedAt(env) {
				t.Fatalf("switched off: %s's discovery lists the grant", env.HTTP.URL)
			}
		}

		set(true)
		waitFor("switched on", listedAt)
		for _, env := range []*servertest.Env{a, b} {
			tok, err := exchangeAt(env)
			if err != nil {
				t.Fatalf("switched on: exchange at %s: %v", env.HTTP.URL, err)
			}
			if at := apiVerify(t, a, tok.AccessToken, apiB); claim(at, "client_id") != x.aID {
				t.Fatalf("exchanged token claims = %v", mustMap(t, at))
			}
		}

		set(false)
		waitFor("switched off again", func(env *servertest.Env) bool { return !listedAt(env) })
		for _, env := range []*servertest.Env{a, b} {
			if _, err := exchangeAt(env); !refused(err) {
				t.Fatalf("switched off at run time: exchange at %s = %v, want unsupported_grant_type", env.HTTP.URL, err)
			}
		}
	})
}
