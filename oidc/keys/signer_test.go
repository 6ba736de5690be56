package keys

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/ory/fosite/token/jwt"
)

func newSigner(t testing.TB) (*Signer, *Manager) {
	t.Helper()
	m := newManager(t, newStore(t), Options{})
	if err := m.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &Signer{M: m}, m
}

func idClaims(exp time.Time) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":       "https://idp.example",
		"sub":       "user-1",
		"aud":       []string{"client-1"},
		"iat":       now.Unix(),
		"auth_time": now.Unix(),
		"exp":       exp.Unix(),
		"nonce":     "n-0S6_WzA2Mj",
	}
}

func TestWithAlgDefaultsToRS256(t *testing.T) {
	if got := AlgFrom(context.Background()); got != RS256 {
		t.Fatalf("default alg %q, want RS256 (OIDC Registration §2)", got)
	}
	if got := AlgFrom(WithAlg(context.Background(), EdDSA)); got != EdDSA {
		t.Fatalf("AlgFrom(WithAlg(EdDSA)) = %q", got)
	}
}

// Tokens verify against the published JWKS with a stock JOSE library and
// name their key (OIDC Core §10.1: kid when the JWKS has several keys).
func TestSignerTokensVerifyAgainstJWKS(t *testing.T) {
	s, m := newSigner(t)
	for _, alg := range DefaultAlgs {
		t.Run(alg, func(t *testing.T) {
			ctx := WithAlg(context.Background(), alg)
			hdr := jwt.NewHeaders()
			hdr.Add("kid", "forged")
			hdr.Add("typ", "at+jwt")
			hdr.Add("x-extra", "kept")
			tok, sig, err := s.Generate(ctx, idClaims(time.Now().Add(time.Hour)), hdr)
			if err != nil {
				t.Fatal(err)
			}
			if parts := strings.Split(tok, "."); len(parts) != 3 || parts[2] != sig {
				t.Fatalf("signature %q is not the third segment of %q", sig, tok)
			}
			cur, _ := m.SigningKey(ctx, alg)
			msg, err := jws.Parse([]byte(tok))
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Signatures()[0].ProtectedHeaders()
			if h.Algorithm() != jwa.SignatureAlgorithm(alg) || h.KeyID() != cur.KeyID() || h.Type() != "JWT" {
				t.Fatalf("header alg=%s kid=%s typ=%s, want %s %s JWT", h.Algorithm(), h.KeyID(), h.Type(), alg, cur.KeyID())
			}
			if v, _ := h.Get("x-extra"); v != "kept" {
				t.Fatalf("extra header lost: %v", v)
			}

			raw, _ := m.JWKS(ctx)
			set, err := jwk.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := jwxjwt.Parse([]byte(tok), jwxjwt.WithKeySet(set), jwxjwt.WithValidate(true))
			if err != nil {
				t.Fatalf("token does not verify against the JWKS: %v", err)
			}
			if parsed.Subject() != "user-1" {
				t.Fatalf("sub = %q", parsed.Subject())
			}
			if got, _ := s.Validate(ctx, tok); got != sig {
				t.Fatalf("Validate = %q, want the signature", got)
			}
		})
	}
}

func TestSignerRefusesUnsupportedAlg(t *testing.T) {
	s, _ := newSigner(t)
	_, _, err := s.Generate(WithAlg(context.Background(), "HS256"), idClaims(time.Now().Add(time.Hour)), jwt.NewHeaders())
	if !errors.Is(err, ErrUnsupportedAlg) {
		t.Fatalf("want ErrUnsupportedAlg, got %v", err)
	}
}

// Decode verifies with the key the token names and keeps fosite's
// ValidationError semantics (RFC 8725 §3.1: the key, not the token, fixes
// the algorithm; "none" is never accepted).
func TestSignerDecode(t *testing.T) {
	s, m := newSigner(t)
	ctx := context.Background()
	stranger, err := generate(ES256)
	if err != nil {
		t.Fatal(err)
	}
	rsKey, _ := m.SigningKey(ctx, RS256)
	b64 := base64.RawURLEncoding.EncodeToString

	sign := func(alg string, exp time.Time) string {
		tok, _, err := s.Generate(WithAlg(ctx, alg), idClaims(exp), jwt.NewHeaders())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	forge := func(alg string, key any, kid string) string {
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.KeyIDKey, kid)
		tok, err := jws.Sign([]byte(`{"sub":"user-1"}`), jws.WithKey(jwa.SignatureAlgorithm(alg), key, jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	tamper := func(tok string) string {
		p := strings.Split(tok, ".")
		p[1] = b64([]byte(`{"sub":"admin"}`))
		return strings.Join(p, ".")
	}
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)

	tests := []struct {
		name  string
		token string
		flag  uint32 // 0: valid
	}{
		{"RS256 own token", sign(RS256, future), 0},
		{"ES256 own token", sign(ES256, future), 0},
		{"EdDSA own token", sign(EdDSA, future), 0},
		{"tampered RS256", tamper(sign(RS256, future)), jwt.ValidationErrorSignatureInvalid},
		{"tampered ES256", tamper(sign(ES256, future)), jwt.ValidationErrorSignatureInvalid},
		{"tampered EdDSA", tamper(sign(EdDSA, future)), jwt.ValidationErrorSignatureInvalid},
		{"expired EdDSA", sign(EdDSA, past), jwt.ValidationErrorExpired},
		{"expired RS256", sign(RS256, past), jwt.ValidationErrorExpired},
		{"unknown key", forge(ES256, stranger.priv, stranger.kid), jwt.ValidationErrorUnverifiable},
		{"PS256 by the RS256 key (alg not the key's)", forge("PS256", mustRaw(t, rsKey), rsKey.KeyID()), jwt.ValidationErrorUnverifiable},
		{"HS256 with a published kid", forge("HS256", []byte("0123456789abcdef0123456789abcdef"), rsKey.KeyID()), jwt.ValidationErrorUnverifiable},
		{"alg none", b64([]byte(`{"alg":"none","kid":"`+rsKey.KeyID()+`"}`)) + "." + b64([]byte(`{"sub":"user-1"}`)) + ".", jwt.ValidationErrorMalformed | jwt.ValidationErrorUnverifiable},
		{"no kid", forge(RS256, mustRaw(t, rsKey), ""), jwt.ValidationErrorUnverifiable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := s.Decode(ctx, tt.token)
			if tt.flag == 0 {
				if err != nil || !tok.Valid() {
					t.Fatalf("own token refused: %v", err)
				}
				if tok.Claims["sub"] != "user-1" {
					t.Fatalf("claims %v", tok.Claims)
				}
				return
			}
			var ve *jwt.ValidationError
			if !errors.As(err, &ve) || !ve.Has(tt.flag) {
				t.Fatalf("want ValidationError with %b, got %v", tt.flag, err)
			}
			if tt.flag == jwt.ValidationErrorExpired && tok.Claims["sub"] != "user-1" {
				t.Fatal("an expired id_token_hint must still yield its claims")
			}
			if _, err := s.Validate(ctx, tt.token); err == nil {
				t.Fatal("Validate accepted what Decode refused")
			}
		})
	}
}

func mustRaw(t *testing.T, k jwk.Key) any {
	t.Helper()
	var raw any
	if err := k.Raw(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

// Tokens signed before a rotation verify until the retired key expires.
func TestSignerDecodesTokensOfRetiredKeys(t *testing.T) {
	s, m := newSigner(t)
	ctx := WithAlg(context.Background(), ES256)
	tok, _, err := s.Generate(ctx, idClaims(time.Now().Add(time.Hour)), jwt.NewHeaders())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Rotate(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decode(ctx, tok); err != nil {
		t.Fatalf("token of the retired key refused: %v", err)
	}
}

// at_hash and c_hash use the hash of the ID token's alg (OIDC Core
// §3.1.3.6, §3.3.2.11): SHA-256 for RS256/ES256, SHA-512 for Ed25519.
func TestSignerHashMatchesAlg(t *testing.T) {
	s := &Signer{}
	in := []byte("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y")
	s256, s512 := sha256.Sum256(in), sha512.Sum512(in)
	tests := []struct {
		alg  string
		want []byte
	}{
		{"", s256[:]},
		{RS256, s256[:]},
		{ES256, s256[:]},
		{EdDSA, s512[:]},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			ctx := WithAlg(context.Background(), tt.alg)
			got, err := s.Hash(ctx, in)
			if err != nil || string(got) != string(tt.want) {
				t.Fatalf("Hash = %x (%v), want %x", got, err, tt.want)
			}
			if n := s.GetSigningMethodLength(ctx); n != len(tt.want) {
				t.Fatalf("GetSigningMethodLength = %d, want %d", n, len(tt.want))
			}
		})
	}
}

func TestSignerGetSignature(t *testing.T) {
	s := &Signer{}
	if sig, err := s.GetSignature(context.Background(), "a.b.c"); err != nil || sig != "c" {
		t.Fatalf("GetSignature = %q, %v", sig, err)
	}
	if _, err := s.GetSignature(context.Background(), "a.b"); err == nil {
		t.Fatal("two segments accepted")
	}
}

func BenchmarkSignerGenerate(b *testing.B) {
	s, _ := newSigner(b)
	claims := idClaims(time.Now().Add(time.Hour))
	hdr := jwt.NewHeaders()
	for _, alg := range DefaultAlgs {
		b.Run(alg, func(b *testing.B) {
			ctx := WithAlg(context.Background(), alg)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Generate(ctx, claims, hdr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
