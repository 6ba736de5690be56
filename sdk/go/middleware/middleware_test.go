package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// issuer is an OpenID provider for unit tests: discovery, a JWKS whose
// keys the test changes (rotation), and an introspection endpoint answering
// from a map. The SDK's tests against a real Sesame are in examples/sdktest.
type issuer struct {
	t   testing.TB
	srv *httptest.Server

	mu            sync.Mutex
	keys          []jose.JSONWebKey // private; the JWKS serves their public halves
	jwksFetches   atomic.Int32
	introspected  atomic.Int32
	active        map[string]map[string]any
	introspectErr int
}

func newIssuer(t testing.TB) *issuer {
	is := &issuer{t: t, active: map[string]map[string]any{}}
	mux := http.NewServeMux()
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks",
			"introspection_endpoint": is.srv.URL + "/introspect"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.jwksFetches.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		var set jose.JSONWebKeySet
		for _, k := range is.keys {
			set.Keys = append(set.Keys, k.Public())
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) {
		is.introspected.Add(1)
		if id, secret, ok := r.BasicAuth(); !ok || id != "api" || secret != "api-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		is.mu.Lock()
		defer is.mu.Unlock()
		if is.introspectErr != 0 {
			w.WriteHeader(is.introspectErr)
			return
		}
		c, ok := is.active[r.PostFormValue("token")]
		if !ok {
			c = map[string]any{"active": false}
		}
		_ = json.NewEncoder(w).Encode(c)
	})
	is.rotate()
	return is
}

// rotate adds a new signing key (the newest signs).
func (is *issuer) rotate() jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		is.t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: k, KeyID: rand.Text()[:10], Algorithm: string(jose.ES256), Use: "sig"}
	is.mu.Lock()
	is.keys = append(is.keys, jwk)
	is.mu.Unlock()
	return jwk
}

func (is *issuer) newest() jose.JSONWebKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[len(is.keys)-1]
}

// sign makes a JWT with the given header typ, signed by k.
func (is *issuer) sign(k jose.JSONWebKey, typ string, claims map[string]any) string {
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderType, typ).WithHeader("kid", k.KeyID)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.Key}, opts)
	if err != nil {
		is.t.Fatal(err)
	}
	body, _ := json.Marshal(claims)
	jws, err := s.Sign(body)
	if err != nil {
		is.t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// at returns RFC 9068 claims for an access token, with overrides.
func (is *issuer) at(over map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": is.srv.URL, "sub": "user-1", "aud": "https://api.example", "client_id": "spa",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": rand.Text(), "scope": "openid orders:read", "groups": []string{"staff"}}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func newVerifier(t *testing.T, is *issuer, cfg Config) *Verifier {
	t.Helper()
	cfg.Issuer = is.srv.URL
	v, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJWTAccessTokenChecks: RFC 9068 §4 — typ, iss, aud, exp, nbf and the
// signature are all checked; only asymmetric algorithms are accepted.
func TestJWTAccessTokenChecks(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, Config{Audience: "https://api.example"})
	k := is.newest()
	hour := time.Hour
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := is.sign(jose.JSONWebKey{Key: other, KeyID: k.KeyID}, "at+jwt", is.at(nil))
	// alg none and HS256 (keyed with anything) are refused by the parser.
	noneTok := b64json(map[string]any{"alg": "none", "typ": "at+jwt", "kid": k.KeyID}) + "." + b64json(is.at(nil)) + "."
	hsSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithHeader(jose.HeaderType, "at+jwt").WithHeader("kid", k.KeyID))
	hsJWS, _ := hsSigner.Sign([]byte(mustJSON(is.at(nil))))
	hsTok, _ := hsJWS.CompactSerialize()

	tests := []struct {
		name, token string
		wantErr     string // "" = accepted
	}{
		{"valid", is.sign(k, "at+jwt", is.at(nil)), ""},
		{"typ application/at+jwt", is.sign(k, "application/at+jwt", is.at(nil)), ""},
		{"aud as a list", is.sign(k, "at+jwt", is.at(map[string]any{"aud": []string{"other", "https://api.example"}})), ""},
		{"an ID token (typ JWT)", is.sign(k, "JWT", is.at(nil)), "not a JWT access token"},
		{"other issuer", is.sign(k, "at+jwt", is.at(map[string]any{"iss": "https://evil.example"})), "another issuer"},
		{"other audience", is.sign(k, "at+jwt", is.at(map[string]any{"aud": "https://other.example"})), "not meant for this API"},
		{"expired past the leeway", is.sign(k, "at+jwt", is.at(map[string]any{"exp": time.Now().Add(-2 * time.Minute).Unix()})), "expired"},
		{"no exp", is.sign(k, "at+jwt", is.at(map[string]any{"exp": nil})), "no expiry"},
		{"not yet valid", is.sign(k, "at+jwt", is.at(map[string]any{"nbf": time.Now().Add(hour).Unix()})), "not valid yet"},
		{"signed by another key with the same kid", forged, "invalid"},
		{"alg none", noneTok, "invalid"},
		{"HS256", hsTok, "invalid"},
		{"DPoP-bound (cnf.jkt) as a bearer token", is.sign(k, "at+jwt", is.at(map[string]any{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})), "bound to a key"},
		{"garbage with two dots", "a.b.c", "invalid"},
		{"too long", strings.Repeat("a", maxTokenLen+1), "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Verify(context.Background(), tc.token)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tok.Subject != "user-1" || tok.ClientID != "spa" || !tok.HasScope("orders:read") || !tok.InGroup("staff") || !tok.JWT {
					t.Fatalf("token = %+v", tok)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "invalid_token" || !strings.Contains(e.Description, tc.wantErr) {
				t.Fatalf("err = %v, want 401 invalid_token mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// TestJWKSRotationAndRefetchLimit: a token signed by a key published after
// the verifier last fetched the JWKS is accepted after one fetch; tokens
// naming unknown key ids cause at most one fetch per JWKSMinRefresh, and
// concurrent requests share it.
func TestJWKSRotationAndRefetchLimit(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, Config{JWKSMinRefresh: 200 * time.Millisecond})
	if _, err := v.Verify(context.Background(), is.sign(is.newest(), "at+jwt", is.at(nil))); err != nil {
		t.Fatal(err)
	}
	if n := is.jwksFetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for the first token, want 1", n)
	}
	// Known key: no fetch.
	for range 20 {
		if _, err := v.Verify(context.Background(), is.sign(is.newest(), "at+jwt", is.at(nil))); err != nil {
			t.Fatal(err)
		}
	}
	if n := is.jwksFetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for a known key, want 1", n)
	}
	// Unknown kids in a burst, concurrently: at most one more fetch.
	bogus := jose.JSONWebKey{Key: is.newest().Key, KeyID: "made-up"}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), is.sign(bogus, "at+jwt", is.at(nil))); err == nil {
				t.Error("a token with an unknown kid was accepted")
			}
		})
	}
	wg.Wait()
	if n := is.jwksFetches.Load(); n > 2 {
		t.Fatalf("%d JWKS fetches after 50 unknown kids, want at most 2", n)
	}
	// Rotation: the new key is fetched once the minimum interval passed.
	time.Sleep(250 * time.Millisecond)
	next := is.rotate()
	before := is.jwksFetches.Load()
	if _, err := v.Verify(context.Background(), is.sign(next, "at+jwt", is.at(nil))); err != nil {
		t.Fatalf("a token signed by the rotated key: %v", err)
	}
	if n := is.jwksFetches.Load() - before; n != 1 {
		t.Fatalf("%d fetches for the rotated key, want 1", n)
	}
}

// TestIntrospectionCache: opaque tokens are introspected once per TTL;
// inactive ones are refused (and cached, so junk cannot hammer the
// issuer); refresh tokens are not bearer tokens; an issuer outage is 503.
func TestIntrospectionCache(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, Config{ClientID: "api", ClientSecret: "api-secret", IntrospectionCacheTTL: 300 * time.Millisecond, IntrospectionCacheSize: 2})
	exp := float64(time.Now().Add(time.Hour).Unix())
	is.active["live"] = map[string]any{"active": true, "sub": "user-1", "client_id": "spa", "scope": "openid orders:read", "exp": exp,
		"groups": []any{"staff"}, "token_use": "access_token", "iss": is.srv.URL}
	is.active["refresh"] = map[string]any{"active": true, "sub": "user-1", "token_use": "refresh_token", "exp": exp}
	is.active["bound"] = map[string]any{"active": true, "sub": "user-1", "exp": exp, "token_use": "access_token", "cnf": map[string]any{"jkt": "x"}}
	is.active["soon"] = map[string]any{"active": true, "sub": "user-2", "exp": float64(time.Now().Add(time.Second).Unix())}

	for range 5 {
		tok, err := v.Verify(context.Background(), "live")
		if err != nil || tok.Subject != "user-1" || !tok.InGroup("staff") || tok.JWT {
			t.Fatalf("live: %+v, %v", tok, err)
		}
	}
	if n := is.introspected.Load(); n != 1 {
		t.Fatalf("%d introspections for 5 uses, want 1", n)
	}
	for range 3 {
		if _, err := v.Verify(context.Background(), "junk"); err == nil {
			t.Fatal("an unknown token was accepted")
		}
	}
	if n := is.introspected.Load(); n != 2 {
		t.Fatalf("%d introspections after junk, want 2", n)
	}
	if _, err := v.Verify(context.Background(), "bound"); err == nil || !strings.Contains(err.Error(), "bound to a key") {
		t.Fatalf("DPoP-bound token as bearer: %v", err)
	}
	if _, err := v.Verify(context.Background(), "refresh"); err == nil || !strings.Contains(err.Error(), "not an access token") {
		t.Fatalf("refresh token as bearer: %v", err)
	}
	// The TTL passes: asked again, and now revoked.
	time.Sleep(350 * time.Millisecond)
	delete(is.active, "live")
	if _, err := v.Verify(context.Background(), "live"); err == nil {
		t.Fatal("a revoked token was accepted after the cache TTL")
	}
	// An outage is 503, not a refusal of the token, and is not cached.
	is.mu.Lock()
	is.introspectErr = http.StatusServiceUnavailable
	is.mu.Unlock()
	var e *Error
	if _, err := v.Verify(context.Background(), "other"); !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable {
		t.Fatalf("outage: %v", err)
	}
	is.mu.Lock()
	is.introspectErr = 0
	is.active["other"] = is.active["soon"]
	is.mu.Unlock()
	if _, err := v.Verify(context.Background(), "other"); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

// TestRequireAnswersRFC6750: the middleware's answers (RFC 6750 §3).
func TestRequireAnswersRFC6750(t *testing.T) {
	is := newIssuer(t)
	v := newVerifier(t, is, Config{Realm: "orders"})
	k := is.newest()
	h := v.Require(Scopes("orders:read"), AnyGroup("staff", "admins"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := FromContext(r.Context())
		_, _ = w.Write([]byte("hello " + tok.Subject))
	}))
	tests := []struct {
		name, auth string
		status     int
		wwwAuth    string
	}{
		{"no token", "", 401, `Bearer realm="orders"`},
		{"bad token", "Bearer x.y.z", 401, `Bearer realm="orders", error="invalid_token"`},
		{"missing scope", "Bearer " + is.sign(k, "at+jwt", is.at(map[string]any{"scope": "openid"})), 403, `error="insufficient_scope"`},
		{"missing group", "Bearer " + is.sign(k, "at+jwt", is.at(map[string]any{"groups": []string{"guests"}})), 403, `not in any`},
		{"ok", "bearer " + is.sign(k, "at+jwt", is.at(nil)), 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/orders", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			got := rec.Header().Get("WWW-Authenticate")
			if tc.status == 200 {
				if got != "" || rec.Body.String() != "hello user-1" {
					t.Fatalf("ok answer: %q %q", got, rec.Body)
				}
				return
			}
			if tc.wwwAuth == "not in any" {
				if !strings.Contains(got, "none of the groups staff, admins") {
					t.Fatalf("WWW-Authenticate %q", got)
				}
				return
			}
			if !strings.HasPrefix(got, tc.wwwAuth) && !strings.Contains(got, tc.wwwAuth) {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.wwwAuth)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error"] == "" {
				t.Fatalf("body %q", rec.Body)
			}
		})
	}
}

// TestNewRefusesAMismatchedIssuer: OIDC Discovery §4.3.
func TestNewRefusesAMismatchedIssuer(t *testing.T) {
	is := newIssuer(t)
	if _, err := New(context.Background(), Config{Issuer: is.srv.URL + "/"}); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("err = %v", err)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func b64json(v any) string {
	return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(v)))
}
