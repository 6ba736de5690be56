package oidc

// JWT access tokens (RFC 9068). A client registered with
// access_token_format "jwt", or a token whose audience holds a resource
// that asks for JWTs, gets an access token that a resource server can
// verify on its own against the JWKS: typ "at+jwt", signed with the
// current RS256 signing key (RFC 9068 §4: every resource server supports
// RS256), with iss, sub, aud, client_id, scope, jti, iat, exp and, for a
// user's token, auth_time, acr and groups when the groups scope was
// granted. The token is still stored (by its signature, like an opaque
// token), so introspection, userinfo and revocation treat both formats the
// same: a revoked JWT is inactive at introspection even though its
// signature still verifies until exp. A JWT is told apart from an opaque
// token by its shape: three dot-separated segments (opaque tokens have
// two).

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/keys"
)

// TypeAccessTokenJWT is the typ header of a JWT access token (RFC 9068 §2.1).
const TypeAccessTokenJWT = "at+jwt"

// accessTokenAlg signs JWT access tokens.
const accessTokenAlg = keys.RS256

// accessClaims are the claims of a JWT access token (RFC 9068 §2.2).
type accessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	// Cnf binds a DPoP-bound token to its key (RFC 9449 §6.1).
	Cnf *confirmation `json:"cnf,omitempty"`
	// Act names the actors of an exchanged token (RFC 8693 §4.1).
	Act *Actor `json:"act,omitempty"`
}

// confirmation is the cnf claim (RFC 7800) of a DPoP-bound token.
type confirmation struct {
	JKT string `json:"jkt"`
}

// audience is one string when there is one, a list otherwise (RFC 7519
// §4.1.3).
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// tokenStrategy is the HMAC strategy (with the clock-skew leeway) for
// codes, refresh tokens and opaque access tokens, and the JWT access token
// strategy for the tokens whose session asks for one.
type tokenStrategy struct {
	*skewStrategy
	keys   *keys.Manager
	issuer string
	// subject maps a user's id to the sub the client sees (pairwise.go).
	subject func(m *models.Client, userID string) string
}

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

// isJWT reports whether token has a JWT's shape (header.payload.signature).
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// GenerateAccessToken implements oauth2.AccessTokenStrategy.
func (s *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	sess, ok := r.GetSession().(*Session)
	if !ok || !sess.JWTAccess {
		return s.skewStrategy.GenerateAccessToken(ctx, r)
	}
	tok, err := s.signAccessToken(ctx, r, sess)
	if err != nil {
		return "", "", err
	}
	return tok, tok[strings.LastIndexByte(tok, '.')+1:], nil
}

// signAccessToken builds and signs the JWT for r.
func (s *tokenStrategy) signAccessToken(ctx context.Context, r fosite.Requester, sess *Session) (string, error) {
	clientID := r.GetClient().GetID()
	aud := sess.AccessAud
	if aud == nil {
		aud = r.GetGrantedAudience()
	}
	if len(aud) == 0 {
		// RFC 9068 §3: without a resource, a default audience; the
		// client itself (an app calling its own API).
		aud = []string{clientID}
	}
	scopes := sess.AccessScope
	if scopes == nil {
		scopes = r.GetGrantedScopes()
	}
	now := clock.Now()
	exp := expiresAt(sess, fosite.AccessToken)
	if exp.IsZero() {
		return "", fmt.Errorf("sign access token: no expiry")
	}
	c := accessClaims{
		Issuer:   s.issuer,
		Subject:  sess.GetSubject(),
		Audience: aud,
		Expiry:   exp.Unix(),
		IssuedAt: now.Unix(),
		JTI:      websession.RandomToken(18),
		ClientID: clientID,
		Scope:    strings.Join(scopes, " "),
	}
	if cl, ok := r.GetClient().(*Client); ok && c.Subject != clientID {
		c.Subject = s.subject(cl.m, c.Subject)
	}
	if sess.SubjectAs != "" {
		c.Subject = sess.SubjectAs // an exchanged token keeps its subject token's sub
	}
	c.Act = sess.Act
	if c.Subject != clientID && sess.DefaultSession != nil && sess.Claims != nil {
		// A user's token (client_credentials tokens have the client as
		// subject and no sign-in).
		if t := sess.Claims.AuthTime; !t.IsZero() {
			c.AuthTime = t.Unix()
		}
		c.ACR = sess.Claims.AuthenticationContextClassReference
		if fosite.Arguments(scopes).Has(ScopeGroups) {
			c.Groups = stringList(sess.Ext["groups"])
			if c.Groups == nil {
				c.Groups = []string{}
			}
		}
	}
	if sess.DPoPJKT != "" {
		c.Cnf = &confirmation{JKT: sess.DPoPJKT}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	tok, err := s.keys.Sign(ctx, accessTokenAlg, TypeAccessTokenJWT, payload, nil)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return tok, nil
}

// stringList reads a list of strings as stored in JSON (or in memory).
func stringList(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// AccessTokenSignature implements oauth2.AccessTokenStrategy: a JWT's
// signature segment, or the opaque token's.
func (s *tokenStrategy) AccessTokenSignature(ctx context.Context, token string) string {
	if isJWT(token) {
		return token[strings.LastIndexByte(token, '.')+1:]
	}
	return s.skewStrategy.AccessTokenSignature(ctx, token)
}

// ValidateAccessToken implements oauth2.AccessTokenStrategy. r is the
// stored request found by the token's signature; a JWT must also verify
// against the signing keys (a token whose payload was altered keeps the
// signature segment, which alone found the record).
func (s *tokenStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if !isJWT(token) {
		return s.skewStrategy.ValidateAccessToken(ctx, r, token)
	}
	if err := s.live(r, fosite.AccessToken, s.Config.GetAccessTokenLifespan(ctx), "Access token"); err != nil {
		return err
	}
	if _, err := s.keys.Verify(ctx, []byte(token), TypeAccessTokenJWT); err != nil {
		return fosite.ErrTokenSignatureMismatch.WithWrap(err)
	}
	return nil
}
