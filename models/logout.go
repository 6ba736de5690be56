package models

import "time"

// SessionClient records that a login session signed in to a client (an
// authorization code was issued for it): when the session ends, that
// client is told (Back-Channel Logout). It lives as long as the session.
type SessionClient struct {
	SessionID string `gorm:"primaryKey"`
	ClientID  string `gorm:"primaryKey"`
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LogoutNotice is a back-channel logout token waiting in, or done with,
// the logout outbox: the client to tell that the session (sid) of the user
// ended. It is written in the transaction that ends the session and
// delivered by a worker that claims it with a lease, exactly like an
// OutboxMail (the same states and lease protocol). The token itself is
// signed at delivery; ID is its jti, the same on every attempt, so the
// client can recognise a repeat.
type LogoutNotice struct {
	ID            string `gorm:"primaryKey"`
	ClientID      string
	SessionID     string
	UserID        string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	LockedUntil   *time.Time
	CreatedAt     time.Time
	SentAt        *time.Time
}

// TableName pins the table name.
func (LogoutNotice) TableName() string { return "logout_outbox" }
