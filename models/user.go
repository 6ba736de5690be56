package models

import "time"

// User is an end user. ID is the stable OIDC subject.
type User struct {
	ID string `gorm:"primaryKey"`
	// Email is shown as typed; EmailNormalized (lower-cased, trimmed) is the
	// unique lookup key so addresses are unique case-insensitively.
	Email           string
	EmailNormalized string
	EmailVerified   bool
	// EmailVerificationDue: the address was unproven when verified emails
	// came (migration 00014); the next passkey sign-in asks once for a
	// proof even where the policy does not require one.
	EmailVerificationDue bool
	DisplayName          string
	Disabled             bool
	// Role is RoleAdmin for console administrators, "" otherwise
	// (migration 00006).
	Role string
	// Username is the preferred_username claim when set; lower-case and
	// unique, nil when unset (migration 00013).
	Username *string
	// Standard profile claims (OIDC Core §5.1), released with "profile".
	GivenName  string
	FamilyName string
	Locale     string
	Picture    string
	// Attributes are admin-set values that custom scopes release as
	// claims: a JSON object of at most 4 KiB.
	Attributes JSONObject
	// DeletionDueAt is when the account's own deletion request takes
	// effect (the janitor then purges it); nil when none is pending
	// (migration 00028).
	DeletionDueAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AddressProof is what the first proof of a user's address removed: what
// the account held before anyone had shown they own the address.
type AddressProof struct {
	// FirstProof: the address was unproven until now.
	FirstProof bool
	// Credentials is the number of passkeys and security keys removed.
	Credentials int
	// Password: a password was removed.
	Password bool
	// Sessions is the number of live login sessions ended (their tokens
	// went with them).
	Sessions int
}

// Removed reports whether the proof removed anything.
func (p *AddressProof) Removed() bool {
	return p != nil && (p.Credentials > 0 || p.Password || p.Sessions > 0)
}
