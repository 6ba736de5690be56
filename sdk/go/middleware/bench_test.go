package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
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
