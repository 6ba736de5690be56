package oidc

// Clock skew between replicas (and between clients and us). Replicas
// stamp expiries by their own clocks (internal/clock) and check others'
// stamps by theirs; NTP keeps them close, not equal. A code issued on a
// replica whose clock is 90 s behind and redeemed on one 90 s ahead looks
// 3 minutes older than it is, which would kill a 2-minute code at once.
// So every expiry check of a code, access or refresh token, and every
// time claim of a client assertion, allows Config.ClockSkewLeeway; and
// intervals that must agree across replicas (the refresh-token reuse
// interval) are measured by one clock, the database's.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesame-idp/sesame/internal/clock"
)

// fosite's JWT checks (client assertions, id_token_hint) read the
// replica's clock, as everything else does.
func init() { jwt.TimeFunc = clock.Now }

// SetExpiresAt implements fosite.Session. fosite computes expiries from
// the system clock; they are kept in this replica's clock (the same but in
// skew tests, where internal/clock is offset).
func (s *Session) SetExpiresAt(k fosite.TokenType, t time.Time) {
	s.DefaultSession.SetExpiresAt(k, t.Add(clock.Offset()))
}

// GetExpiresAt implements fosite.Session, in the system clock fosite
// compares with (expires_in, introspection's exp).
func (s *Session) GetExpiresAt(k fosite.TokenType) time.Time {
	t := s.DefaultSession.GetExpiresAt(k)
	if t.IsZero() {
		return t
	}
	return t.Add(-clock.Offset())
}

// expiresAt is the stored expiry of k, in the clock of the replica that
// issued it (zero: none).
func expiresAt(sess fosite.Session, k fosite.TokenType) time.Time {
	if s, ok := sess.(*Session); ok && s.DefaultSession != nil {
		return s.DefaultSession.GetExpiresAt(k)
	}
	if sess == nil {
		return time.Time{}
	}
	return sess.GetExpiresAt(k)
}

// skewStrategy is fosite's HMAC token strategy with expiry checks that
// allow the leeway: a code or token is valid until its expiry plus the
// leeway by this replica's clock.
type skewStrategy struct {
	*oauth2.HMACSHAStrategy
	leeway time.Duration
}

func (s *skewStrategy) live(r fosite.Requester, k fosite.TokenType, lifespan time.Duration, what string) error {
	exp := expiresAt(r.GetSession(), k)
	if exp.IsZero() {
		if k == fosite.RefreshToken {
			return nil // no expiry
		}
		exp = r.GetRequestedAt().Add(lifespan)
	}
	if clock.Now().After(exp.Add(s.leeway)) {
		return fosite.ErrTokenExpired.WithHintf("%s expired at '%s'.", what, exp.UTC().Format(time.RFC3339))
	}
	return nil
}

// ValidateAccessToken implements oauth2.AccessTokenStrategy.
func (s *skewStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if err := s.live(r, fosite.AccessToken, s.Config.GetAccessTokenLifespan(ctx), "Access token"); err != nil {
		return err
	}
	return s.Enigma.Validate(ctx, strings.TrimPrefix(token, "ory_at_"))
}

// ValidateRefreshToken implements oauth2.RefreshTokenStrategy.
func (s *skewStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	if err := s.live(r, fosite.RefreshToken, 0, "Refresh token"); err != nil {
		return err
	}
	return s.Enigma.Validate(ctx, strings.TrimPrefix(token, "ory_rt_"))
}

// ValidateAuthorizeCode implements oauth2.AuthorizeCodeStrategy.
func (s *skewStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	if err := s.live(r, fosite.AuthorizeCode, s.Config.GetAuthorizeCodeLifespan(ctx), "Authorize code"); err != nil {
		return err
	}
	return s.Enigma.Validate(ctx, strings.TrimPrefix(token, "ory_ac_"))
}

// strictTimeRefusals are the errors fosite's JWT parser returns for a
// client assertion whose signature verified but whose exp, iat or nbf
// fails by the exact clock (token/jwt MapClaims.Valid; fosite hands them
// back bare). A signature or key failure is never one of them: the parser
// checks time claims only after the signature.
var strictTimeRefusals = map[string]bool{
	"Token is expired": true, "Token used before issued": true, "Token is not valid yet": true,
}

// authenticateClient is fosite's client authentication, with the leeway
// for client assertions (private_key_jwt): an assertion fosite refused
// only for its time claims, which the leeway admits, is finished here with
// fosite's remaining checks (RFC 7523 §3: iss and sub are the client, jti
// single-use, aud the token endpoint).
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	client, err := p.fositeClientAuth(ctx, r, form)
	if err == nil || p.cfg.ClockSkewLeeway <= 0 || form.Get("client_assertion_type") != assertionTypeJWT || !strictTimeRefusals[err.Error()] {
		return client, err
	}
	tok, _ := jwt.ParseWithClaims(form.Get("client_assertion"), jwt.MapClaims{}, nil)
	if tok == nil || tok.Claims == nil {
		return nil, err
	}
	claims := tok.Claims
	now, leeway := clock.Now().Unix(), int64(p.cfg.ClockSkewLeeway/time.Second)
	exp, hasExp := numericClaim(claims, "exp")
	if !hasExp || now > exp+leeway || !claims.VerifyIssuedAt(now+leeway, false) || !claims.VerifyNotBefore(now+leeway, false) {
		return nil, err
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		clientID, _ = claims["sub"].(string)
	}
	jti, _ := claims["jti"].(string)
	sub, _ := claims["sub"].(string)
	switch {
	case clientID == "" || !claims.VerifyIssuer(clientID, true) || sub != clientID:
		return nil, fosite.ErrInvalidClient.WithHint("Claims 'iss' and 'sub' from 'client_assertion' must match the 'client_id' of the OAuth 2.0 Client.")
	case jti == "":
		return nil, fosite.ErrInvalidClient.WithHint("Claim 'jti' from 'client_assertion' must be set but is not.")
	case !audienceIsTokenEndpoint(claims, p.fcfg.GetTokenURLs(ctx)):
		return nil, fosite.ErrInvalidClient.WithHint("Claim 'audience' from 'client_assertion' must match the authorization server's token endpoint.")
	}
	client, gerr := p.storage.GetClient(ctx, clientID)
	if gerr != nil {
		return nil, fosite.ErrInvalidClient.WithWrap(gerr)
	}
	if oc, ok := client.(fosite.OpenIDConnectClient); !ok || oc.GetTokenEndpointAuthMethod() != "private_key_jwt" {
		return nil, err
	}
	if err := p.storage.ClientAssertionJWTValid(ctx, jti); err != nil {
		return nil, fosite.ErrJTIKnown.WithHint("Claim 'jti' from 'client_assertion' MUST only be used once.")
	}
	if err := p.storage.SetClientAssertionJWT(ctx, jti, time.Unix(exp, 0)); err != nil {
		return nil, err
	}
	return client, nil
}

// assertionTypeJWT is RFC 7523's client_assertion_type.
const assertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// audienceIsTokenEndpoint is fosite's audience rule for assertions: aud
// (a string or a list) names one of the token endpoint's URLs.
func audienceIsTokenEndpoint(claims jwt.MapClaims, tokenURLs []string) bool {
	var auds []string
	switch v := claims["aud"].(type) {
	case string:
		auds = []string{v}
	case []any:
		for _, a := range v {
			if s, ok := a.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	for _, a := range auds {
		for _, u := range tokenURLs {
			if a == u {
				return true
			}
		}
	}
	return false
}

// numericClaim reads a NumericDate claim as the JWT parser decodes it.
func numericClaim(claims jwt.MapClaims, name string) (int64, bool) {
	switch v := claims[name].(type) {
	case float64:
		return int64(v), true
	case int64:
		return v, true
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, true
		}
		if f, err := v.Float64(); err == nil {
			return int64(f), true
		}
	}
	return 0, false
}
