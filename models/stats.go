package models

import "time"

// AuthEventMinute is a rollup of auth events: how many events of one kind
// (method, client, event, result, reason) happened in one UTC minute. It is
// upserted in the same transaction as each AuthEvent, so the dashboard sums
// a few thousand counters instead of scanning millions of events.
type AuthEventMinute struct {
	Bucket   time.Time `gorm:"primaryKey"`
	Method   string    `gorm:"primaryKey"`
	ClientID string    `gorm:"primaryKey"`
	Event    string    `gorm:"primaryKey"`
	Result   string    `gorm:"primaryKey"`
	Reason   string    `gorm:"primaryKey"`
	Total    int64
}

// TableName pins the table name.
func (AuthEventMinute) TableName() string { return "auth_event_minutes" }

// AuthEventHour is the same rollup per UTC hour, for the 7- and 30-day
// ranges (720 buckets instead of 43,200).
type AuthEventHour struct {
	Bucket   time.Time `gorm:"primaryKey"`
	Method   string    `gorm:"primaryKey"`
	ClientID string    `gorm:"primaryKey"`
	Event    string    `gorm:"primaryKey"`
	Result   string    `gorm:"primaryKey"`
	Reason   string    `gorm:"primaryKey"`
	Total    int64
}

// TableName pins the table name.
func (AuthEventHour) TableName() string { return "auth_event_hours" }

// AuthEventDay is the same rollup per UTC day, for the 30-day range and
// today's headline numbers.
type AuthEventDay struct {
	Bucket   time.Time `gorm:"primaryKey"`
	Method   string    `gorm:"primaryKey"`
	ClientID string    `gorm:"primaryKey"`
	Event    string    `gorm:"primaryKey"`
	Result   string    `gorm:"primaryKey"`
	Reason   string    `gorm:"primaryKey"`
	Total    int64
}

// TableName pins the table name.
func (AuthEventDay) TableName() string { return "auth_event_days" }

// UserDay records that a user signed in successfully on a UTC day: daily
// and monthly active users are counts over it.
type UserDay struct {
	Day    time.Time `gorm:"primaryKey"`
	UserID string    `gorm:"primaryKey"`
}

// TableName pins the table name.
func (UserDay) TableName() string { return "user_days" }

// UserLastActive is a user's last UTC day with a successful sign-in, and
// whether the user had a passkey then (kept current by passkey
// registrations too), so "active users with a passkey" is an index count.
type UserLastActive struct {
	UserID     string `gorm:"primaryKey"`
	LastDay    time.Time
	HasPasskey bool
	// LastPasskeyAt is the user's last successful passkey sign-in or
	// sign-up, LastOtherAt the last successful sign-in another way (nil:
	// none recorded): the adoption funnel's "only passkeys lately".
	LastPasskeyAt *time.Time
	LastOtherAt   *time.Time
}

// TableName pins the table name.
func (UserLastActive) TableName() string { return "user_last_active" }

// Auth event names the statistics understand.
const (
	EventLogin    = "login"
	EventRegister = "register"
	// EventPasskeyAfterFallback is a rollup-only event: a passkey was
	// registered within FallbackWindow of a passlink sign-in by the same
	// user (the fallback led to a passkey).
	EventPasskeyAfterFallback = "passkey_after_fallback"
	// EventTokenExchange is a token exchange (RFC 8693) at the token
	// endpoint, granted or refused; its method is MethodTokenExchange.
	EventTokenExchange  = "token_exchange"
	MethodTokenExchange = "token_exchange"
)

// FallbackWindow is how soon after a passlink sign-in a new passkey counts
// as adopted thanks to the fallback.
const FallbackWindow = 10 * time.Minute
