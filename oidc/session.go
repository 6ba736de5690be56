package oidc

import (
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is what fosite stores with every grant: the ID token claims plus
// the login session id (sid), so logout can revoke what a session issued.
type Session struct {
	*openid.DefaultSession `json:"oidc"`
	SID                    string `json:"sid,omitempty"`
	ClientID               string `json:"client_id,omitempty"`
}

var _ openid.Session = (*Session)(nil)

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
	return &Session{DefaultSession: ds, SID: s.SID, ClientID: s.ClientID}
}

// subjectAndTimes is a small helper for tests and userinfo.
func (s *Session) authTime() time.Time {
	if s.DefaultSession == nil || s.Claims == nil {
		return time.Time{}
	}
	return s.Claims.AuthTime
}
