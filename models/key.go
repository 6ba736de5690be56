package models

import "time"

// States of a signing key. A key is published as "next" before it signs,
// signs while "current", and stays published while "retired" until the last
// token it signed has expired.
const (
	KeyNext    = "next"
	KeyCurrent = "current"
	KeyRetired = "retired"
)

// SigningKey is an ID token signing key. PrivateJWK is the private JWK,
// encrypted with the system secret; PublicJWK is the public JWK in clear.
type SigningKey struct {
	KID         string `gorm:"primaryKey;column:kid"`
	Alg         string
	State       string
	PrivateJWK  string `gorm:"column:private_jwk"`
	PublicJWK   string `gorm:"column:public_jwk"`
	CreatedAt   time.Time
	ActivatedAt *time.Time
	RetiredAt   *time.Time
	// ExpiresAt is when a retired key leaves the JWKS.
	ExpiresAt *time.Time
}
