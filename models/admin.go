package models

import "time"

// RoleAdmin marks a user who may use the admin console and API.
const RoleAdmin = "admin"

// IsAdmin reports whether u holds the admin role.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// AdminInvite is a one-time link that makes its holder an admin: the
// first admin's setup link and `sesame admin invite`. Only the SHA-256 of
// the token is stored; UsedAt is set once, by a conditional update.
type AdminInvite struct {
	ID              string `gorm:"primaryKey"`
	TokenHash       string
	Email           string
	EmailNormalized string
	// CreatedBy is the inviting admin's id, or "cli"/"dev" for the
	// command line and the dev-mode bootstrap.
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	UsedBy    string
}

// Kinds of audit actor.
const (
	ActorUser   = "user"   // an admin in the console (login session)
	ActorClient = "client" // an API client with the admin scope
	ActorCLI    = "cli"    // the sesame command line
	ActorSystem = "system" // Sesame itself (e.g. the dev bootstrap)
)

// AuditEntry is one admin change. Before and After are JSON documents of
// the target (secrets never included); either may be empty.
type AuditEntry struct {
	ID         string `gorm:"primaryKey"`
	At         time.Time
	ActorID    string
	ActorKind  string
	ActorLabel string
	Action     string
	TargetType string
	TargetID   string
	BeforeJSON string `gorm:"column:before_json"`
	AfterJSON  string `gorm:"column:after_json"`
	IP         string `gorm:"column:ip"`
	UserAgent  string
}

// TableName pins the table name.
func (AuditEntry) TableName() string { return "audit_log" }

// Policy is a named JSON policy document (the console's global defaults
// are the one named "global"). Version increases on every write, so a
// cache can tell a stale copy.
type Policy struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	Version   int
	UpdatedAt time.Time
	UpdatedBy string
}
