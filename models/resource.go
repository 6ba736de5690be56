package models

import "time"

// Access token formats of a client or a resource.
const (
	// TokenFormatOpaque: random HMAC tokens that only introspection
	// describes (the default for clients).
	TokenFormatOpaque = "opaque"
	// TokenFormatJWT: RFC 9068 JWT access tokens signed with the signing
	// keys of the JWKS (the default for resources).
	TokenFormatJWT = "jwt"
)

// Resource is a protected resource (an API) registered for resource
// indicators (RFC 8707): a client names its Audience in the resource
// parameter, and the access token's aud is narrowed to it.
type Resource struct {
	// Name is a short unique slug (lower-case letters, digits, '-', '_',
	// '.'), used in the admin API's paths and the CLI.
	Name        string `gorm:"primaryKey"`
	Description string
	// Audience is the resource indicator: an absolute URI without a
	// fragment, unique; it is the access token's aud.
	Audience string
	// Scopes are the scopes a token for this resource may carry besides
	// the OpenID ones; empty allows any scope the client holds.
	Scopes StringList
	// AccessTokenFormat is how tokens for this resource are issued:
	// TokenFormatJWT or TokenFormatOpaque.
	AccessTokenFormat string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}
