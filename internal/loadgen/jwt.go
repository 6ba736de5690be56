package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// APIVerifier checks RFC 9068 JWT access tokens as an API does: against
// the issuer's JWKS, fetched once (an API caches it), with no call to the
// issuer per token.
type APIVerifier struct {
	issuer, audience string
	keys             jwk.Set
}

// NewAPIVerifier fetches the issuer's JWKS over hc for an API known by
// audience (its registered resource URI).
func NewAPIVerifier(ctx context.Context, hc *http.Client, issuer, audience string) (*APIVerifier, error) {
	issuer = strings.TrimRight(issuer, "/")
	set, err := jwk.Fetch(ctx, issuer+"/oauth2/jwks", jwk.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	return &APIVerifier{issuer: issuer, audience: audience, keys: set}, nil
}

// Verify checks token's type (at+jwt, RFC 9068 §4), signature, issuer,
// audience, expiry and the claims RFC 9068 §2.2 requires.
func (v *APIVerifier) Verify(token string) error {
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		return fmt.Errorf("access token is not a JWS: %w", err)
	}
	if sigs := msg.Signatures(); len(sigs) != 1 || sigs[0].ProtectedHeaders().Type() != "at+jwt" {
		return errors.New("access token is not typed at+jwt")
	}
	_, err = jwt.Parse([]byte(token), jwt.WithKeySet(v.keys), jwt.WithValidate(true),
		jwt.WithIssuer(v.issuer), jwt.WithAudience(v.audience),
		jwt.WithRequiredClaim("jti"), jwt.WithRequiredClaim("client_id"), jwt.WithRequiredClaim("iat"))
	if err != nil {
		return fmt.Errorf("verify access token: %w", err)
	}
	return nil
}
