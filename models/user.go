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
	DisplayName     string
	Disabled        bool
	// Role is RoleAdmin for console administrators, "" otherwise
	// (migration 00006).
	Role      string
	CreatedAt time.Time
	UpdatedAt time.Time
}
