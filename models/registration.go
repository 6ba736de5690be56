package models

import "time"

// InitialAccessToken authorizes dynamic client registrations (RFC 7591
// §3, oidc/clients/registration.go) while registration is protected: an
// admin mints one with an expiry and a number of uses, hands it to a
// developer, and each registration made with it spends one use. Only an
// HMAC-SHA-256 of the token is stored (TokenHash), so a copy of the
// database registers nothing.
type InitialAccessToken struct {
	ID        string `gorm:"primaryKey"`
	TokenHash string
	// Label says what the token is for ("partner Acme", "CI"); shown in
	// the console and on the clients it registered.
	Label string
	// CreatedBy is the audit label of the admin who minted it.
	CreatedBy string
	// MaxUses is how many registrations it allows; Uses how many it made.
	MaxUses    int
	Uses       int
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// TableName pins the table name.
func (InitialAccessToken) TableName() string { return "initial_access_tokens" }

// Usable reports whether the token may register a client at now.
func (t *InitialAccessToken) Usable(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt) && t.Uses < t.MaxUses
}

// State is "active", "revoked", "expired" or "used up", as the console
// shows it.
func (t *InitialAccessToken) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case !now.Before(t.ExpiresAt):
		return "expired"
	case t.Uses >= t.MaxUses:
		return "used up"
	}
	return "active"
}
