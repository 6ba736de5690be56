package oidc

import (
	"maps"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// The compact encoding of a stored session. encoding/json writes fosite's
// session whole: every ID token claim (empty or not, zero times as
// "0001-01-01T00:00:00Z"), the headers and the expiry times as long keys,
// nested in the request's document as a raw message that is encoded,
// validated and copied twice. compactSession writes only what is set,
// under short keys, times as Unix nanoseconds, in one pass with the
// request. Records written before it keep their encoding and are read as
// before (storedRequest.Session).

// compactSession is a Session as stored.
type compactSession struct {
	Subject   string                     `json:"sub,omitempty"`
	Username  string                     `json:"un,omitempty"`
	ExpiresAt map[fosite.TokenType]int64 `json:"exp,omitempty"`
	Claims    *compactClaims             `json:"c,omitempty"`
	Headers   map[string]any             `json:"h,omitempty"`

	SID         string         `json:"sid,omitempty"`
	ClientID    string         `json:"cid,omitempty"`
	Ext         map[string]any `json:"ext,omitempty"`
	JWTAccess   bool           `json:"jwt,omitempty"`
	AccessAud   []string       `json:"at_aud,omitempty"`
	AccessScope []string       `json:"at_scope,omitempty"`
	DPoPJKT     string         `json:"jkt,omitempty"`
	RefreshJKT  string         `json:"rt_jkt,omitempty"`
	CodeJKT     string         `json:"code_jkt,omitempty"`
	Act         *Actor         `json:"act,omitempty"`
	SubjectAs   string         `json:"sub_as,omitempty"`
}

// compactClaims are the ID token claims as stored.
type compactClaims struct {
	JTI         string         `json:"jti,omitempty"`
	Issuer      string         `json:"iss,omitempty"`
	Subject     string         `json:"sub,omitempty"`
	Audience    []string       `json:"aud,omitempty"`
	Nonce       string         `json:"nonce,omitempty"`
	ExpiresAt   int64          `json:"exp,omitempty"`
	IssuedAt    int64          `json:"iat,omitempty"`
	RequestedAt int64          `json:"rat,omitempty"`
	AuthTime    int64          `json:"auth_time,omitempty"`
	AtHash      string         `json:"at_hash,omitempty"`
	ACR         string         `json:"acr,omitempty"`
	AMR         []string       `json:"amr,omitempty"`
	CHash       string         `json:"c_hash,omitempty"`
	Extra       map[string]any `json:"ext,omitempty"`
}

// nanos is t as Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is nanos's inverse, in UTC as the JSON times read back were.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// compact encodes s; s.DefaultSession is not nil.
func compact(s *Session) *compactSession {
	d := s.DefaultSession
	c := &compactSession{
		Subject: d.Subject, Username: d.Username,
		SID: s.SID, ClientID: s.ClientID, Ext: s.Ext, JWTAccess: s.JWTAccess,
		AccessAud: s.AccessAud, AccessScope: s.AccessScope,
		DPoPJKT: s.DPoPJKT, RefreshJKT: s.RefreshJKT, CodeJKT: s.CodeJKT,
		Act: s.Act, SubjectAs: s.SubjectAs,
	}
	if len(d.ExpiresAt) > 0 {
		c.ExpiresAt = make(map[fosite.TokenType]int64, len(d.ExpiresAt))
		for k, t := range d.ExpiresAt {
			c.ExpiresAt[k] = nanos(t)
		}
	}
	if d.Headers != nil {
		c.Headers = d.Headers.Extra
	}
	if cl := d.Claims; cl != nil {
		c.Claims = &compactClaims{
			JTI: cl.JTI, Issuer: cl.Issuer, Subject: cl.Subject, Audience: cl.Audience, Nonce: cl.Nonce,
			ExpiresAt: nanos(cl.ExpiresAt), IssuedAt: nanos(cl.IssuedAt), RequestedAt: nanos(cl.RequestedAt),
			AuthTime: nanos(cl.AuthTime), AtHash: cl.AccessTokenHash, ACR: cl.AuthenticationContextClassReference,
			AMR: cl.AuthenticationMethodsReferences, CHash: cl.CodeHash, Extra: cl.Extra,
		}
	}
	return c
}

// applyTo reads c into s the way encoding/json read the whole session
// into it: fosite reads a grant's records into the request's session, which
// may already hold what this request set (the at_hash algorithm hint in the
// headers, a DPoP binding, resource narrowing). So, as before, the
// DefaultSession's subject, username and claims are replaced; its headers,
// expiry times and extra claims are merged; and of Sesame's own fields
// (always omitted when empty) only those stored replace the session's.
func (c *compactSession) applyTo(s *Session) {
	if s.DefaultSession == nil {
		s.DefaultSession = &openid.DefaultSession{}
	}
	d := s.DefaultSession
	d.Subject, d.Username = c.Subject, c.Username
	if len(c.ExpiresAt) > 0 {
		if d.ExpiresAt == nil {
			d.ExpiresAt = make(map[fosite.TokenType]time.Time, len(c.ExpiresAt))
		}
		for k, n := range c.ExpiresAt {
			d.ExpiresAt[k] = fromNanos(n)
		}
	}
	if d.Headers == nil {
		d.Headers = jwt.NewHeaders()
	}
	if d.Headers.Extra == nil {
		d.Headers.Extra = make(map[string]any, len(c.Headers))
	}
	maps.Copy(d.Headers.Extra, c.Headers)
	if cc := c.Claims; cc == nil {
		d.Claims = nil
	} else {
		if d.Claims == nil {
			d.Claims = &jwt.IDTokenClaims{}
		}
		cl := d.Claims
		extra := cl.Extra
		*cl = jwt.IDTokenClaims{
			JTI: cc.JTI, Issuer: cc.Issuer, Subject: cc.Subject, Audience: cc.Audience, Nonce: cc.Nonce,
			ExpiresAt: fromNanos(cc.ExpiresAt), IssuedAt: fromNanos(cc.IssuedAt), RequestedAt: fromNanos(cc.RequestedAt),
			AuthTime: fromNanos(cc.AuthTime), AccessTokenHash: cc.AtHash, AuthenticationContextClassReference: cc.ACR,
			AuthenticationMethodsReferences: cc.AMR, CodeHash: cc.CHash, Extra: extra,
		}
		if len(cc.Extra) > 0 {
			if cl.Extra == nil {
				cl.Extra = make(map[string]any, len(cc.Extra))
			}
			maps.Copy(cl.Extra, cc.Extra)
		}
	}
	if c.SID != "" {
		s.SID = c.SID
	}
	if c.ClientID != "" {
		s.ClientID = c.ClientID
	}
	if len(c.Ext) > 0 {
		if s.Ext == nil {
			s.Ext = make(map[string]any, len(c.Ext))
		}
		maps.Copy(s.Ext, c.Ext)
	}
	if c.JWTAccess {
		s.JWTAccess = true
	}
	if len(c.AccessAud) > 0 {
		s.AccessAud = c.AccessAud
	}
	if len(c.AccessScope) > 0 {
		s.AccessScope = c.AccessScope
	}
	if c.DPoPJKT != "" {
		s.DPoPJKT = c.DPoPJKT
	}
	if c.RefreshJKT != "" {
		s.RefreshJKT = c.RefreshJKT
	}
	if c.CodeJKT != "" {
		s.CodeJKT = c.CodeJKT
	}
	if c.Act != nil {
		s.Act = c.Act
	}
	if c.SubjectAs != "" {
		s.SubjectAs = c.SubjectAs
	}
}
