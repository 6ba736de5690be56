package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v3"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/ory/fosite/token/jwt"
)

type algKey struct{}

// WithAlg returns ctx carrying the ID-token algorithm chosen for the client
// of this request; Signer reads it.
func WithAlg(ctx context.Context, alg string) context.Context {
	return context.WithValue(ctx, algKey{}, alg)
}

// AlgFrom returns the algorithm set by WithAlg, or RS256, the OpenID
// Connect default for a client that registers none (OIDC Dynamic Client
// Registration 1.0 §2, id_token_signed_response_alg).
func AlgFrom(ctx context.Context) string {
	if alg, _ := ctx.Value(algKey{}).(string); alg != "" {
		return alg
	}
	return RS256
}

// Signer lets fosite sign and verify ID tokens with the Manager's keys.
type Signer struct{ M *Manager }

var _ jwt.Signer = (*Signer)(nil)

// Generate signs claims with the current key for AlgFrom(ctx). The
// protected header carries alg, kid and typ "JWT", plus the entries of
// header except those three. It returns the compact token and its
// signature segment.
func (s *Signer) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	if claims == nil {
		return "", "", errors.New("sign token: nil claims")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", "", fmt.Errorf("sign token: encode claims: %w", err)
	}
	var extra map[string]any
	if header != nil {
		extra = header.ToMap()
	}
	raw, err := s.M.Sign(ctx, AlgFrom(ctx), "JWT", payload, extra)
	if err != nil {
		return "", "", err
	}
	return raw, raw[strings.LastIndexByte(raw, '.')+1:], nil
}

// Sign signs payload (JSON claims) with the current key for alg. The
// protected header carries alg, kid and typ, plus the entries of extra
// except those three (the caller's never override them).
func (m *Manager) Sign(ctx context.Context, alg, typ string, payload []byte, extra map[string]any) (string, error) {
	e, err := m.signingEntry(ctx, alg)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	hdr := jws.NewHeaders()
	for k, v := range extra {
		if k == jws.AlgorithmKey || k == jws.KeyIDKey || k == jws.TypeKey {
			continue // ours, not the caller's
		}
		if err := hdr.Set(k, v); err != nil {
			return "", fmt.Errorf("sign token: header %q: %w", k, err)
		}
	}
	if err := hdr.Set(jws.KeyIDKey, e.info.KID); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	if err := hdr.Set(jws.TypeKey, typ); err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), e.signer, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(tok), nil
}

// Verify checks a compact JWS signed by one of the published keys (any
// state): the kid must name one, the alg must be that key's (RFC 8725
// §3.1) and typ, when want is not empty, must equal want. It returns the
// payload; time claims are the caller's to check.
func (m *Manager) Verify(ctx context.Context, token []byte, want string) ([]byte, error) {
	msg, err := jws.Parse(token)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, errors.New("verify token: exactly one signature expected")
	}
	h := sigs[0].ProtectedHeaders()
	if want != "" && !strings.EqualFold(h.Type(), want) {
		return nil, fmt.Errorf("verify token: typ %q, want %q", h.Type(), want)
	}
	kid := h.KeyID()
	if kid == "" {
		return nil, errors.New("verify token: no kid in header")
	}
	e, err := m.publicEntry(ctx, kid)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if string(h.Algorithm()) != e.info.Alg {
		return nil, fmt.Errorf("verify token: alg %q does not match key %s (%s)", h.Algorithm(), kid, e.info.Alg)
	}
	payload, err := jws.Verify(token, jws.WithKey(jwa.SignatureAlgorithm(e.info.Alg), e.pub))
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	return payload, nil
}

// Decode verifies token with the published key its kid names (any state)
// and validates exp/iat/nbf. Errors are fosite's *jwt.ValidationError, so an
// expired id_token_hint is recognisable with Has(jwt.ValidationErrorExpired).
func (s *Signer) Decode(ctx context.Context, token string) (*jwt.Token, error) {
	return jwt.ParseWithClaims(token, jwt.MapClaims{}, func(t *jwt.Token) (any, error) {
		alg := string(t.Method)
		if alg == "" || alg == string(jwt.SigningMethodNone) {
			return nil, errors.New("verify token: unsigned tokens are refused")
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("verify token: no kid in header")
		}
		e, err := s.M.publicEntry(ctx, kid)
		if err != nil {
			return nil, fmt.Errorf("verify token: %w", err)
		}
		// RFC 8725 §3.1: the key decides the algorithm, not the token.
		if alg != e.info.Alg {
			return nil, fmt.Errorf("verify token: alg %q does not match key %s (%s)", alg, kid, e.info.Alg)
		}
		if pub, ok := e.rawPub.(ed25519.PublicKey); ok {
			// fosite turns a non-pointer key into a pointer, which go-jose
			// does not accept for Ed25519; a *JSONWebKey passes unchanged.
			return &jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg}, nil
		}
		return e.rawPub, nil
	})
}

// Validate verifies token like Decode and returns its signature segment.
func (s *Signer) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

// Hash hashes in as OpenID Connect Core §3.1.3.6 asks for at_hash/c_hash:
// with the hash of the ID token's algorithm, SHA-256 for RS256 and ES256,
// SHA-512 for EdDSA over Ed25519 (as coreos/go-oidc verifies it).
func (s *Signer) Hash(ctx context.Context, in []byte) ([]byte, error) {
	if AlgFrom(ctx) == EdDSA {
		h := sha512.Sum512(in)
		return h[:], nil
	}
	h := sha256.Sum256(in)
	return h[:], nil
}

// GetSigningMethodLength is the size in bytes of Hash's output; fosite
// keeps its left half.
func (s *Signer) GetSigningMethodLength(ctx context.Context) int {
	if AlgFrom(ctx) == EdDSA {
		return sha512.Size
	}
	return sha256.Size
}

// GetSignature returns the third segment of a compact token.
func (s *Signer) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("token signature: header, body and signature must all be set")
	}
	return parts[2], nil
}
