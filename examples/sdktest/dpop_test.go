package sdktest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
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

// TestMiddlewareDPoP_RFC9449_7: with DPoP on, Sesame binds the tokens of
// a client that sends a proof (token_type DPoP, cnf.jkt in the JWT and in
// introspection). The middleware accepts such a token only as
// "Authorization: DPoP" with a proof of that key for this request (htm,
// htu, a fresh iat, ath, an unseen jti), for a JWT (cnf from the claim)
// and an opaque token (cnf from introspection); every forged variant is
// 401 with a DPoP challenge. The bound token as a bearer token is refused,
// an unbound one as a DPoP token too, and RequireDPoP refuses bearer
// tokens altogether.
func TestMiddlewareDPoP_RFC9449_7(t *testing.T) {
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
		strict, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, ClientID: apiID, ClientSecret: apiSecret, RequireDPoP: true})
		if err != nil {
			t.Fatal(err)
		}
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := middleware.FromContext(r.Context())
			_ = json.NewEncoder(w).Encode(map[string]any{"sub": tok.Subject})
		})
		mux := http.NewServeMux()
		mux.Handle("/orders", v.Require()(handler))
		mux.Handle("/admin", v.Require(middleware.Scopes("admin"))(handler))
		mux.Handle("/strict", strict.Require()(handler))
		api := serve(t, mux)
		key, other := newKey(t), newKey(t)
		token := func(id, secret string, dpop bool) string {
			t.Helper()
			if dpop {
				return clientCredentials(t, env.Issuer, id, secret, key)
			}
			return clientCredentials(t, env.Issuer, id, secret, nil)
		}
		type answer struct {
			status    int
			challenge []string
			body      string
		}
		call := func(method, u, auth string, proofs ...string) answer {
			t.Helper()
			req, _ := http.NewRequest(method, u, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			for _, p := range proofs {
				req.Header.Add("DPoP", p)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return answer{resp.StatusCode, resp.Header.Values("WWW-Authenticate"), string(body)}
		}
		refused := func(name string, a answer, code string) {
			t.Helper()
			if a.status != http.StatusUnauthorized || len(a.challenge) != 1 || !strings.HasPrefix(a.challenge[0], `DPoP realm="api", error="`+code+`"`) ||
				!strings.Contains(a.challenge[0], `algs="ES256`) {
				t.Errorf("%s: %d %q %s, want 401 with a DPoP challenge %s", name, a.status, a.challenge, a.body, code)
			}
		}

		orders := api + "/orders"
		for _, c := range []struct{ name, id, secret string }{{"opaque", opaqueID, opaqueSecret}, {"JWT", jwtID, jwtSecret}} {
			t.Run(c.name, func(t *testing.T) {
				bound := token(c.id, c.secret, true)
				plain := token(c.id, c.secret, false)
				ath := hashToken(bound)
				good := func(o proof) string { o.method, o.url, o.ath = http.MethodGet, orders, ath; return o.sign(t, key) }

				p := good(proof{})
				if a := call(http.MethodGet, orders, "DPoP "+bound, p); a.status != 200 || !strings.Contains(a.body, `"sub":"`+c.id+`"`) {
					t.Fatalf("bound token with its proof: %d %q %s", a.status, a.challenge, a.body)
				}
				refused("the same proof again", call(http.MethodGet, orders, "DPoP "+bound, p), "invalid_dpop_proof")
				// The query is not part of htu (RFC 9449 §4.3).
				if a := call(http.MethodGet, orders+"?page=2", "DPoP "+bound, good(proof{})); a.status != 200 {
					t.Fatalf("with a query: %d %q", a.status, a.challenge)
				}
				// The bound token as a bearer token, and through Verify.
				refused("as a bearer token", call(http.MethodGet, orders, "Bearer "+bound, good(proof{})), "invalid_token")
				if _, err := v.Verify(ctx, bound); err == nil {
					t.Fatal("Verify accepted a DPoP-bound token without its proof")
				}
				// A scope failure of a bound token challenges with DPoP.
				a := call(http.MethodGet, api+"/admin", "DPoP "+bound, func() string {
					o := proof{method: http.MethodGet, url: api + "/admin", ath: ath}
					return o.sign(t, key)
				}())
				if a.status != http.StatusForbidden || len(a.challenge) != 1 || !strings.HasPrefix(a.challenge[0], `DPoP realm="api", error="insufficient_scope"`) {
					t.Errorf("insufficient scope: %d %q", a.status, a.challenge)
				}

				for _, f := range []struct {
					name   string
					proofs []string
					code   string
				}{
					{"no proof", nil, "invalid_dpop_proof"},
					{"two proofs", []string{good(proof{}), good(proof{})}, "invalid_dpop_proof"},
					{"wrong method", []string{good(proof{htm: http.MethodPost})}, "invalid_dpop_proof"},
					{"wrong URL", []string{good(proof{htu: api + "/other"})}, "invalid_dpop_proof"},
					{"wrong host", []string{good(proof{htu: "http://attacker.example/orders"})}, "invalid_dpop_proof"},
					{"stale iat", []string{good(proof{iat: time.Now().Add(-5 * time.Minute)})}, "invalid_dpop_proof"},
					{"iat in the future", []string{good(proof{iat: time.Now().Add(5 * time.Minute)})}, "invalid_dpop_proof"},
					{"no ath", []string{good(proof{noATH: true})}, "invalid_dpop_proof"},
					{"ath of another token", []string{good(proof{otherATH: hashToken(plain)})}, "invalid_dpop_proof"},
					{"no jti", []string{good(proof{noJTI: true})}, "invalid_dpop_proof"},
					{"typ JWT", []string{good(proof{typ: "JWT"})}, "invalid_dpop_proof"},
					{"signed by another key than its jwk", []string{good(proof{signer: other})}, "invalid_dpop_proof"},
					{"unsigned", []string{unsignedProof(orders)}, "invalid_dpop_proof"},
					{"junk", []string{"not.a.jwt"}, "invalid_dpop_proof"},
					{"another key's proof", []string{(&proof{method: http.MethodGet, url: orders, ath: ath}).sign(t, other)}, "invalid_token"},
				} {
					refused(f.name, call(http.MethodGet, orders, "DPoP "+bound, f.proofs...), f.code)
				}
				// An unbound token is a bearer token only.
				if a := call(http.MethodGet, orders, "Bearer "+plain); a.status != 200 {
					t.Fatalf("unbound bearer token: %d %q", a.status, a.challenge)
				}
				refused("an unbound token as a DPoP token", call(http.MethodGet, orders, "DPoP "+plain, (&proof{method: http.MethodGet, url: orders, ath: hashToken(plain)}).sign(t, key)), "invalid_token")
				// RequireDPoP: bearer tokens are refused, bound ones pass.
				refused("a bearer token where DPoP is required", call(http.MethodGet, api+"/strict", "Bearer "+plain), "invalid_token")
				if a := call(http.MethodGet, api+"/strict", "DPoP "+bound, (&proof{method: http.MethodGet, url: api + "/strict", ath: ath}).sign(t, key)); a.status != 200 {
					t.Fatalf("DPoP where required: %d %q", a.status, a.challenge)
				}
			})
		}
		// Without a token both schemes are offered (RFC 9449 §7.1).
		if a := call(http.MethodGet, orders, ""); a.status != 401 || len(a.challenge) != 2 || !strings.HasPrefix(a.challenge[0], "Bearer ") || !strings.HasPrefix(a.challenge[1], "DPoP ") {
			t.Errorf("no token: %d %q", a.status, a.challenge)
		}
	})
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// proof is a DPoP proof to sign, honest unless a field forges it.
type proof struct {
	method, url, ath string
	htm, htu, typ    string
	otherATH         string
	iat              time.Time
	noATH, noJTI     bool
	jti              string            // instead of a random one
	signer           *ecdsa.PrivateKey // signs instead of the key in the header
}

// sign signs p with key (its public key in the header).
func (p proof) sign(t *testing.T, key *ecdsa.PrivateKey) string {
	t.Helper()
	claims := map[string]any{"jti": rand.Text(), "htm": p.method, "htu": p.url, "iat": time.Now().Unix(), "ath": p.ath}
	for k, v := range map[string]string{"htm": p.htm, "htu": p.htu, "ath": p.otherATH} {
		if v != "" {
			claims[k] = v
		}
	}
	if !p.iat.IsZero() {
		claims["iat"] = p.iat.Unix()
	}
	if p.noATH || claims["ath"] == "" {
		delete(claims, "ath")
	}
	if p.jti != "" {
		claims["jti"] = p.jti
	}
	if p.noJTI {
		delete(claims, "jti")
	}
	typ := "dpop+jwt"
	if p.typ != "" {
		typ = p.typ
	}
	body, _ := json.Marshal(claims)
	if p.signer != nil {
		// The header names key; another key signs.
		hdr, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": typ, "jwk": jose.JSONWebKey{Key: &key.PublicKey}})
		input := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
		sum := sha256.Sum256([]byte(input))
		r, sv, err := ecdsa.Sign(rand.Reader, p.signer, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64) // JWS ES256: R || S, 32 octets each
		r.FillBytes(sig[:32])
		sv.FillBytes(sig[32:])
		return input + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{EmbedJWK: true}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
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

// unsignedProof is a proof with alg none.
func unsignedProof(u string) string {
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"dpop+jwt"}`))
	body, _ := json.Marshal(map[string]any{"jti": rand.Text(), "htm": "GET", "htu": u, "iat": time.Now().Unix()})
	return hdr + "." + base64.RawURLEncoding.EncodeToString(body) + "."
}

// clientCredentials gets an access token for client id: DPoP-bound to key
// when key is not nil (the token type says so), a bearer token otherwise.
func clientCredentials(t *testing.T, issuer, id, secret string, key *ecdsa.PrivateKey) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, issuer+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	if key != nil {
		req.Header.Set("DPoP", dpopProof(t, key, http.MethodPost, issuer+"/oauth2/token"))
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
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || !strings.EqualFold(out.TokenType, map[bool]string{true: "DPoP", false: "bearer"}[key != nil]) {
		t.Fatalf("token: %s %+v %v", resp.Status, out, err)
	}
	return out.AccessToken
}

// dpopProof signs a DPoP proof JWT for method and url (RFC 9449 §4.2).
func dpopProof(t *testing.T, key *ecdsa.PrivateKey, method, u string) string {
	t.Helper()
	return proof{method: method, url: u}.sign(t, key)
}
