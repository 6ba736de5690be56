package models

import "time"

// Kinds of OAuth2 request records. fosite stores the same request under
// several signatures (code, access token, refresh token, PKCE, OIDC); one
// table with a kind column keeps garbage collection and "revoke everything
// of this request/user" at one query each.
const (
	KindAuthorizeCode = "code"
	KindAccessToken   = "access"
	KindRefreshToken  = "refresh"
	KindPKCE          = "pkce"
	KindOIDC          = "oidc"
	// KindPAR is a pushed authorization request (RFC 9126) under the
	// hash of its request_uri; deactivated when used (once).
	KindPAR = "par"
)

// OAuth2Request is one fosite request record under one signature.
type OAuth2Request struct {
	Kind      string `gorm:"primaryKey"`
	Signature string `gorm:"primaryKey"`
	// RequestID groups every record born of one grant (a refresh-token family
	// keeps its request id across rotations).
	RequestID string
	ClientID  string
	Subject   string
	// SessionID is the login session (OIDC sid) the grant came from.
	SessionID   string
	Active      bool
	RequestedAt time.Time
	ExpiresAt   time.Time
	// Data is the sanitized request as JSON (no secrets, no code_verifier).
	Data string
	// AccessSignature links a refresh token to the access token issued with it.
	AccessSignature string
	CreatedAt       time.Time
	// DeactivatedAt is when the record stopped being active (a refresh
	// token's rotation or revocation, a code's use); nil while active and
	// on records deactivated before it was kept. The refresh-token reuse
	// interval is measured from it.
	DeactivatedAt *time.Time
}

// TableName pins the table name.
func (OAuth2Request) TableName() string { return "oauth2_requests" }

// UsedJTI remembers a client assertion's jti until it expires (replay
// protection for private_key_jwt, RFC 7523 §3).
type UsedJTI struct {
	JTIHash   string `gorm:"primaryKey;column:jti_hash"`
	ExpiresAt time.Time
}

// TableName pins the table name.
func (UsedJTI) TableName() string { return "used_jtis" }
