package oidc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// benchJWTClient registers a resource issuing JWTs and a machine client
// for it; the returned func asks the token endpoint for one token.
func benchJWTClient(b *testing.B, env *servertest.Env) func(hc *http.Client) string {
	at := time.Now().UTC()
	r := &models.Resource{Name: "bench-api", Audience: ordersAPI, Scopes: models.StringList{}, AccessTokenFormat: models.TokenFormatJWT, CreatedAt: at, UpdatedAt: at}
	if err := env.Store.CreateResource(context.Background(), r); err != nil {
		b.Fatal(err)
	}
	id, secret := env.CreateClient(clients.Spec{Name: "Bench M2M", GrantTypes: []string{"client_credentials"}})
	body := url.Values{"grant_type": {"client_credentials"}, "resource": {ordersAPI}}.Encode()
	return func(hc *http.Client) string {
		req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("token: %d %s", resp.StatusCode, raw)
		}
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || strings.Count(out.AccessToken, ".") != 2 {
			b.Fatalf("not a JWT access token: %s", raw)
		}
		return out.AccessToken
	}
}

// BenchmarkTokenClientCredentialsJWT: client_credentials for a registered
// resource (RFC 8707) that asks for JWT access tokens (RFC 9068): the
// resource lookup (cached), an RS256 signature and the stored record.
func BenchmarkTokenClientCredentialsJWT(b *testing.B) {
	benchForEachDB(b, func(b *testing.B, env *servertest.Env) {
		issue := benchJWTClient(b, env)
		hc := benchClient(nil)
		issue(hc)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			issue(hc)
		}
		b.StopTimer()
		benchReport(b)
	})
}

// BenchmarkJWTAccessTokenVerify: what a resource server does per request
// with a JWT access token and the JWKS it fetched once: parse, RS256
// verification, iss/aud/exp checks (jwx). No call to Sesame.
func BenchmarkJWTAccessTokenVerify(b *testing.B) {
	env := servertest.New(b)
	tok := benchJWTClient(b, env)(benchClient(nil))
	set, err := jwk.Fetch(context.Background(), env.Issuer+"/oauth2/jwks")
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte(tok)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := jwxjwt.Parse(raw, jwxjwt.WithKeySet(set), jwxjwt.WithValidate(true), jwxjwt.WithIssuer(env.Issuer), jwxjwt.WithAudience(ordersAPI)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	benchReport(b)
}

// BenchmarkTokenClientCredentialsDPoP: client_credentials with a DPoP
// proof (RFC 9449): the proof's ES256 signature verified with its jwk,
// its claims checked and its jti spent in the store (one more write), the
// token bound to the key. The b.N proofs are signed before the timer.
func BenchmarkTokenClientCredentialsDPoP(b *testing.B) {
	benchForEachDB(b, func(b *testing.B, env *servertest.Env) {
		id, secret := env.CreateClient(clients.Spec{Name: "Bench M2M", GrantTypes: []string{"client_credentials"}})
		key := newDPoPKey(b)
		tokenURL := env.Issuer + "/oauth2/token"
		body := url.Values{"grant_type": {"client_credentials"}}.Encode()
		hc := benchClient(nil)
		do := func(proof string) {
			req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("DPoP", proof)
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			benchDo(b, hc, req, http.StatusOK)
		}
		do(key.proof(b, "POST", tokenURL, proofOpts{}))
		proofs := make([]string, b.N)
		for i := range proofs {
			proofs[i] = key.proof(b, "POST", tokenURL, proofOpts{})
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			do(proofs[i])
		}
		b.StopTimer()
		benchReport(b)
	})
}
