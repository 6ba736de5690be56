package models

import "time"

// Login methods a client's policy may allow.
const (
	MethodPasskey     = "passkey"
	MethodPasslink    = "passlink"
	MethodPasswordKey = "password_security_key"
)

// Client is a registered OAuth 2.0 / OIDC client (relying party).
type Client struct {
	ID   string `gorm:"primaryKey"`
	Name string
	// SecretHash is an argon2id hash of the client secret; empty for public
	// clients and for private_key_jwt clients.
	SecretHash              string
	Public                  bool
	RedirectURIs            StringList
	PostLogoutRedirectURIs  StringList
	GrantTypes              StringList
	ResponseTypes           StringList
	Scopes                  StringList
	TokenEndpointAuthMethod string
	IDTokenSignedAlg        string `gorm:"column:id_token_signed_alg"`
	// JWKS (JSON) or JWKSURI hold the client's public keys for private_key_jwt.
	JWKS                string `gorm:"column:jwks"`
	JWKSURI             string `gorm:"column:jwks_uri"`
	SkipConsent         bool
	AllowedLoginMethods StringList
	CreatedAt           time.Time
	UpdatedAt           time.Time
}
