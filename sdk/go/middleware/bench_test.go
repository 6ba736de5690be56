package middleware

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// BenchmarkVerifyJWT: an ES256 JWT access token checked against the
// in-memory JWKS (no network), as every request of an API does.
func BenchmarkVerifyJWT(b *testing.B) {
	is := newIssuer(b)
	v, err := New(context.Background(), Config{Issuer: is.srv.URL, Audience: "https://api.example"})
	if err != nil {
		b.Fatal(err)
	}
	tok := is.sign(is.newest(), "at+jwt", is.at(nil))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequireCachedIntrospection: the middleware around a handler
// for an opaque token whose introspection answer is cached.
func BenchmarkRequireCachedIntrospection(b *testing.B) {
	is := newIssuer(b)
	is.active["live"] = map[string]any{"active": true, "sub": "u", "scope": "orders:read", "groups": []any{"staff"},
		"exp": float64(time.Now().Add(time.Hour).Unix()), "token_use": "access_token"}
	v, err := New(context.Background(), Config{Issuer: is.srv.URL, ClientID: "api", ClientSecret: "api-secret", IntrospectionCacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	h := v.Require(Scopes("orders:read"), Groups("staff"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer live")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
	if n := is.introspected.Load(); n != 1 {
		b.Fatalf("%d introspections", n)
	}
}

// BenchmarkRequireDPoP: a DPoP-bound opaque token (cached introspection
// answer) with a fresh ES256 proof per request: the proof's parse,
// signature, claims, ath, thumbprint and replay-cache entry.
func BenchmarkRequireDPoP(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	jk := jose.JSONWebKey{Key: &key.PublicKey}
	tp, _ := jk.Thumbprint(crypto.SHA256)
	is := newIssuer(b)
	is.active["bound"] = map[string]any{"active": true, "sub": "u", "scope": "orders:read",
		"exp": float64(time.Now().Add(time.Hour).Unix()), "token_use": "access_token", "cnf": map[string]any{"jkt": base64.RawURLEncoding.EncodeToString(tp)}}
	v, err := New(context.Background(), Config{Issuer: is.srv.URL, ClientID: "api", ClientSecret: "api-secret", IntrospectionCacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte("bound"))
	ath := base64.RawURLEncoding.EncodeToString(sum[:])
	// Proofs are signed ahead: the client's cost is not the API's.
	proofs := make([]string, b.N+1)
	for i := range proofs {
		body, _ := json.Marshal(map[string]any{"jti": rand.Text(), "htm": "GET", "htu": "http://example.com/orders", "iat": time.Now().Unix(), "ath": ath})
		jws, err := signer.Sign(body)
		if err != nil {
			b.Fatal(err)
		}
		proofs[i], _ = jws.CompactSerialize()
	}
	h := v.Require(Scopes("orders:read"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodGet, "http://example.com/orders", nil)
		req.Header.Set("Authorization", "DPoP bound")
		req.Header.Set("DPoP", proofs[i])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Header())
		}
	}
}
