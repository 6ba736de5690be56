package models

import "time"

// UserPassword is a user's password as an argon2id PHC string (see
// authn/password). It lives in its own table so that loading a User never
// loads a hash. A user without a row has no password.
type UserPassword struct {
	UserID    string `gorm:"primaryKey"`
	Hash      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName pins the table name.
func (UserPassword) TableName() string { return "user_passwords" }

// PasslinkReset is the passlink purpose of a password reset: the link
// proves the address and leads to a "choose a new password" page. It never
// signs anyone in.
const PasslinkReset = "reset"

// PasslinkPasswordReset is the outcome of a used reset link: a new password
// was set.
const PasslinkPasswordReset = "password_reset"
