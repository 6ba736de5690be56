package oidc

import (
	"context"
	"errors"

	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/models"
)

// ErrInactiveToken is returned by IntrospectAccessToken for a token that is
// unknown, expired, revoked or not an access token.
var ErrInactiveToken = errors.New("inactive token")

// IntrospectAccessToken checks a bearer access token in-process (the same
// checks as the introspection endpoint, RFC 7662, without a round trip)
// and returns its subject, client and granted scopes. Any token that is not
// a live access token gives ErrInactiveToken; other errors are server-side.
func (p *Provider) IntrospectAccessToken(ctx context.Context, token string) (subject, clientID string, scopes []string, err error) {
	if token == "" || len(token) > 4096 {
		return "", "", nil, ErrInactiveToken
	}
	sess := NewSession()
	use, ar, err := p.fosite.IntrospectToken(ctx, token, fosite.AccessToken, sess)
	if err != nil {
		if errors.Is(err, models.ErrUnavailable) || fosite.ErrorToRFC6749Error(err).CodeField >= 500 {
			return "", "", nil, err
		}
		return "", "", nil, ErrInactiveToken
	}
	if use != fosite.AccessToken || ar == nil || ar.GetClient() == nil {
		return "", "", nil, ErrInactiveToken
	}
	if sess.DPoPJKT != "" {
		// A DPoP-bound token is no bearer token (RFC 9449 §7.2): this
		// check has no proof to verify, so it refuses one.
		return "", "", nil, ErrInactiveToken
	}
	return sess.GetSubject(), ar.GetClient().GetID(), []string(ar.GetGrantedScopes()), nil
}
