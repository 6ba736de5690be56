package models

import "time"

// RateLimit is one fixed window of one rate-limit key. KeyHash is a hash of
// the caller's key (which may contain an email address or an IP address),
// so no such value is stored in clear. Count is incremented atomically by
// an upsert, which holds across replicas.
type RateLimit struct {
	KeyHash     string    `gorm:"primaryKey"`
	WindowStart time.Time `gorm:"primaryKey"`
	Count       int
	// ExpiresAt is the end of the window; the janitor deletes the row then.
	ExpiresAt time.Time
}

// TableName pins the table name.
func (RateLimit) TableName() string { return "rate_limits" }
