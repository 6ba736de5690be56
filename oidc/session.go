package oidc

import (
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesame-idp/sesame/models"
)

// Session is what fosite stores with every grant: the ID token claims plus
// the login session id (sid), so logout can revoke what a session issued.
type Session struct {
	*openid.DefaultSession `json:"oidc"`
	SID                    string `json:"sid,omitempty"`
	ClientID               string `json:"client_id,omitempty"`
	// Ext are the claims introspection adds for the access token (groups
	// and custom scopes' claims), as they were when the token was issued.
	Ext map[string]any `json:"ext,omitempty"`
	// JWTAccess: the access token is an RFC 9068 JWT (jwtaccess.go),
	// decided at the token endpoint for each token.
	JWTAccess bool `json:"jwt_at,omitempty"`
	// AccessAud and AccessScope narrow the access token's audience and
	// scopes below the grant's (resource parameters at the token
	// endpoint, RFC 8707 §2.2); nil leaves the grant's. The refresh token
	// keeps the grant's.
	AccessAud   []string `json:"at_aud,omitempty"`
	AccessScope []string `json:"at_scope,omitempty"`
	// DPoPJKT is the thumbprint of the DPoP key the access token is bound
	// to, RefreshJKT that of a public client's refresh token, CodeJKT the
	// dpop_jkt of the authorization request (dpop.go, RFC 9449).
	DPoPJKT    string `json:"jkt,omitempty"`
	RefreshJKT string `json:"rt_jkt,omitempty"`
	CodeJKT    string `json:"code_jkt,omitempty"`
	// Act is the actor chain of an exchanged token (RFC 8693 §4.1,
	// exchange.go); SubjectAs the sub it shows, fixed at the exchange (the
	// subject token's, as that token's client saw it, pairwise or not).
	Act       *Actor `json:"act,omitempty"`
	SubjectAs string `json:"sub_as,omitempty"`
}

var (
	_ openid.Session            = (*Session)(nil)
	_ fosite.ExtraClaimsSession = (*Session)(nil)
)

// GetExtraClaims implements fosite.ExtraClaimsSession: the claims fosite's
// introspection response adds (RFC 7662 §2.2 allows extensions).
// A DPoP-bound token is described with its key's thumbprint (RFC 9449
// §6.2).
func (s *Session) GetExtraClaims() map[string]any {
	if s.DPoPJKT == "" && s.Act == nil {
		return s.Ext
	}
	out := maps.Clone(s.Ext)
	if out == nil {
		out = map[string]any{}
	}
	if s.DPoPJKT != "" {
		out["cnf"] = map[string]string{"jkt": s.DPoPJKT}
		out["token_type"] = "DPoP"
	}
	if s.Act != nil {
		out["act"] = s.Act
	}
	return out
}

// setAccessClaims records the claims of the grant that introspection
// tells a resource server: those the granted scopes release (RFC 7662
// §2.2 allows extensions; fosite keeps its own fields).
func (s *Session) setAccessClaims(released map[string]any) {
	s.Ext = nil
	if len(released) > 0 {
		s.Ext = maps.Clone(released)
	}
}

// NewSession returns an empty session ready for fosite to hydrate.
func NewSession() *Session {
	// A non-nil header map is stored as {} rather than null, so reading a
	// stored session into this one (fosite does that for the code's OIDC
	// session during the exchange) keeps the at_hash hint the token
	// endpoint has set.
	return &Session{DefaultSession: &openid.DefaultSession{
		Claims:  &jwt.IDTokenClaims{},
		Headers: jwt.NewHeaders(),
	}}
}

// Clone implements fosite.Session; fosite clones sessions before storing
// them under each signature.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	ds, _ := s.DefaultSession.Clone().(*openid.DefaultSession)
	return &Session{DefaultSession: ds, SID: s.SID, ClientID: s.ClientID, Ext: maps.Clone(s.Ext),
		JWTAccess: s.JWTAccess, AccessAud: slices.Clone(s.AccessAud), AccessScope: slices.Clone(s.AccessScope),
		DPoPJKT: s.DPoPJKT, RefreshJKT: s.RefreshJKT, CodeJKT: s.CodeJKT, Act: s.Act, SubjectAs: s.SubjectAs}
}

// subjectAndTimes is a small helper for tests and userinfo.
func (s *Session) authTime() time.Time {
	if s.DefaultSession == nil || s.Claims == nil {
		return time.Time{}
	}
	return s.Claims.AuthTime
}

// refreshClaims brings the scope claims of a refreshed grant up to date
// (OIDC Core §12.2: the new ID token describes the user as now): every
// released claim is dropped (sid is the only other extra claim) and the
// current ones added.
func (s *Session) refreshClaims(u *models.User, g grant, scopes fosite.Arguments) {
	if s.DefaultSession == nil || s.Claims == nil {
		return
	}
	extra := map[string]any{}
	if sid, ok := s.Claims.Extra["sid"]; ok {
		extra["sid"] = sid
	}
	released := userClaims(u, g, scopes)
	for k, v := range released {
		extra[k] = v
	}
	s.Claims.Extra = extra
	s.setAccessClaims(released)
}
