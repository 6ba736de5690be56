package oidc_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestClientAssertionClockSkewLeeway_RFC7523_3: a client whose clock is
// off by less than clock_skew_leeway (default 2 minutes) authenticates:
// an assertion that expired a minute ago by Sesame's clock, or was issued
// (iat, nbf) a minute ahead of it, is accepted; one beyond the leeway is
// 401 invalid_client, and so is a within-leeway assertion with a wrong
// signature, a foreign iss or sub, or the wrong audience. An accepted
// assertion stays spent (jti) for the leeway past its exp: a replay is
// refused.
func TestClientAssertionClockSkewLeeway_RFC7523_3(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		priv, attacker := advECKey(t), advECKey(t)
		kid := "skew-key-" + websession.RandomToken(6)
		id, _ := env.CreateClient(clients.Spec{
			Name: "Skewed Machine", GrantTypes: []string{"client_credentials"}, Scopes: []string{"profile"},
			TokenEndpointAuthMethod: "private_key_jwt", JWKS: `{"keys":[` + string(advPublicJWK(t, &priv.PublicKey, kid)) + `]}`,
		})
		tokenURL := env.Issuer + "/oauth2/token"
		header := map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}
		// claims of an assertion made by a clock off by skew, living 60 s.
		claims := func(skew time.Duration, edit func(map[string]any)) map[string]any {
			at := time.Now().Add(skew)
			c := map[string]any{"iss": id, "sub": id, "aud": tokenURL, "jti": websession.RandomToken(16),
				"iat": at.Unix(), "nbf": at.Unix(), "exp": at.Add(time.Minute).Unix()}
			if edit != nil {
				edit(c)
			}
			return c
		}
		post := func(assertion string) negTokenResp {
			return negToken(t, env, url.Values{"grant_type": {"client_credentials"}, "scope": {"profile"},
				"client_id": {id}, "client_assertion_type": {jwtBearerAssertion}, "client_assertion": {assertion}}, "", "")
		}
		ok := func(t *testing.T, r negTokenResp) {
			t.Helper()
			if r.Status != http.StatusOK || r.Body["access_token"] == nil {
				t.Fatalf("got %d %s, want a token", r.Status, r.Raw)
			}
		}
		for _, tc := range []struct {
			name   string
			claims map[string]any
			key    func([]byte) []byte
			accept bool
		}{
			{"clock 2 minutes behind: expired 1 minute ago", claims(-2*time.Minute, nil), advES256(t, priv), true},
			{"clock 90 s ahead: issued and valid from 90 s in the future", claims(90*time.Second, nil), advES256(t, priv), true},
			{"exact clock", claims(0, nil), advES256(t, priv), true},
			{"clock 4 minutes behind: expired 3 minutes ago", claims(-4*time.Minute, nil), advES256(t, priv), false},
			{"clock 3 minutes ahead", claims(3*time.Minute, nil), advES256(t, priv), false},
			{"within the leeway but signed by another key", claims(-2*time.Minute, nil), advES256(t, attacker), false},
			{"within the leeway but another iss", claims(-2*time.Minute, func(c map[string]any) { c["iss"] = "someone-else" }), advES256(t, priv), false},
			{"within the leeway but another sub", claims(-2*time.Minute, func(c map[string]any) { c["sub"] = "someone-else" }), advES256(t, priv), false},
			{"within the leeway but another audience", claims(-2*time.Minute, func(c map[string]any) { c["aud"] = env.Issuer + "/elsewhere" }), advES256(t, priv), false},
			{"within the leeway but no jti", claims(-2*time.Minute, func(c map[string]any) { delete(c, "jti") }), advES256(t, priv), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := post(advJWT(t, header, tc.claims, tc.key))
				if tc.accept {
					ok(t, r)
					return
				}
				negWantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			})
		}
		t.Run("a replay within the leeway is refused", func(t *testing.T) {
			a := advJWT(t, header, claims(-2*time.Minute, nil), advES256(t, priv))
			ok(t, post(a))
			r := post(a)
			if r.Status == http.StatusOK {
				t.Fatalf("the replayed assertion was accepted: %s", r.Raw)
			}
		})
		t.Run("a replay of a strictly valid one after its exp, within the leeway, is refused", func(t *testing.T) {
			// Accepted by the exact clock 2 s before its exp …
			c := claims(-58*time.Second, nil)
			a := advJWT(t, header, c, advES256(t, priv))
			ok(t, post(a))
			// … and presented again after it: within the leeway, but spent.
			time.Sleep(3 * time.Second)
			if r := post(a); r.Status == http.StatusOK {
				t.Fatalf("the replayed assertion was accepted after its exp: %s", r.Raw)
			}
		})
	})
}

// TestExpiryLeeway_CodeAndAccessToken: with clock_skew_leeway L, a code
// or an access token is honoured until its expiry plus L and refused
// after (one host here, so the leeway is seen with 1 ms lifetimes and a
// 1.5 s leeway; TestClockSkewBetweenReplicas in server/clustertest shows
// it across replicas 3 minutes apart).
func TestExpiryLeeway_CodeAndAccessToken(t *testing.T) {
	t.Parallel()
	const leeway = 1500 * time.Millisecond
	opts := []servertest.Option{negAuthCodeTTL(time.Millisecond), func(c *config.Config) {
		c.ClockSkewLeeway, c.AccessTokenTTL = leeway, time.Millisecond
	}}
	negForEachDB(t, opts, func(t *testing.T, env *servertest.Env) {
		id := negPublicClient(t, env)
		b, _ := negSignedIn(t, env)
		exchange := func(wait time.Duration) negTokenResp {
			verifier, challenge := negPKCE()
			code := negCode(t, env, b, id, redirectURI, url.Values{"code_challenge": {challenge}}).Get("code")
			time.Sleep(wait)
			return negToken(t, env, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
				"code_verifier": {verifier}, "client_id": {id}}, "", "")
		}
		userinfo := func(at string) int {
			req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/oauth2/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		r := exchange(50 * time.Millisecond)
		at, _ := r.Body["access_token"].(string)
		if r.Status != http.StatusOK || at == "" {
			t.Fatalf("a code 50 ms past its expiry, within the leeway: %d %s", r.Status, r.Raw)
		}
		if s := userinfo(at); s != http.StatusOK {
			t.Fatalf("an access token just past its expiry, within the leeway: userinfo %d", s)
		}
		// fosite rounds expiries to the second (up to 0.5 s later): past
		// expiry plus leeway is leeway + 0.5 s plus a margin for a slow host.
		past := leeway + 900*time.Millisecond
		time.Sleep(past)
		if s := userinfo(at); s != http.StatusUnauthorized {
			t.Fatalf("an access token past expiry plus leeway: userinfo %d, want 401", s)
		}
		negWantOAuthError(t, exchange(past), http.StatusBadRequest, "invalid_grant")
	})
}
