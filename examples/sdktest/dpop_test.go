package sdktest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/sdk/go/middleware"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestMiddlewareRefusesDPoPBoundTokens: with DPoP on, Sesame binds the
// tokens of a client that sends a proof (RFC 9449: token_type DPoP,
// cnf.jkt in the JWT and in introspection). The middleware checks no
// proofs, so it refuses such a token presented as a bearer token, whether
// it verifies it as a JWT or by introspection; the same client's unbound
// token passes.
func TestMiddlewareRefusesDPoPBoundTokens(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, func(c *config.Config) { c.DPoP = true })...)
		ctx := context.Background()
		apiID, apiSecret := env.CreateClient(clients.Spec{Name: "API", GrantTypes: []string{"client_credentials"}, Scopes: []string{clients.ScopeIntrospect}})
		opaqueID, opaqueSecret := env.CreateClient(clients.Spec{Name: "Job", GrantTypes: []string{"client_credentials"}, Scopes: []string{"openid"}})
		jwtID, jwtSecret := env.CreateClient(clients.Spec{Name: "JWT job", GrantTypes: []string{"client_credentials"}, Scopes: []string{"openid"},
			AccessTokenFormat: models.TokenFormatJWT})
		v, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, ClientID: apiID, ClientSecret: apiSecret, IntrospectionCacheTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		token := func(id, secret string, dpop bool) (string, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, secret)
			if dpop {
				req.Header.Set("DPoP", dpopProof(t, key, http.MethodPost, env.Issuer+"/oauth2/token"))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
				t.Fatalf("token: %s %v", resp.Status, err)
			}
			return out.AccessToken, out.TokenType
		}
		for _, c := range []struct{ name, id, secret string }{{"opaque", opaqueID, opaqueSecret}, {"JWT", jwtID, jwtSecret}} {
			bound, typ := token(c.id, c.secret, true)
			if !strings.EqualFold(typ, "DPoP") {
				t.Fatalf("%s: token_type %q with a proof, want DPoP", c.name, typ)
			}
			if _, err := v.Verify(ctx, bound); err == nil || !strings.Contains(err.Error(), "bound to a key") {
				t.Fatalf("%s: a DPoP-bound token as a bearer token: %v", c.name, err)
			}
			plain, _ := token(c.id, c.secret, false)
			if _, err := v.Verify(ctx, plain); err != nil {
				t.Fatalf("%s: the unbound token: %v", c.name, err)
			}
		}
	})
}

// dpopProof signs a DPoP proof JWT for method and url (RFC 9449 §4.2).
func dpopProof(t *testing.T, key *ecdsa.PrivateKey, method, u string) string {
	t.Helper()
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"jti": rand.Text(), "htm": method, "htu": u, "iat": time.Now().Unix()})
	jws, err := s.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
