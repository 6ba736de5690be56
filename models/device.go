package models

import "time"

// States of a device authorization (RFC 8628).
const (
	// DevicePending: the device polls; nobody has decided yet.
	DevicePending = "pending"
	// DeviceApproved: the user approved; the next poll gets the tokens.
	DeviceApproved = "approved"
	// DeviceDenied: the user refused; polls get access_denied.
	DeviceDenied = "denied"
	// DeviceConsumed: the tokens were issued; the device code is spent.
	DeviceConsumed = "consumed"
)

// DeviceCode is one device authorization request (RFC 8628 §3.1): the
// device polls with the device code, the person types the user code on
// another screen. Both codes are stored only as keyed hashes
// (HMAC-SHA-256 under a key derived from the system secret), so a copy
// of the database redeems nothing and cannot be searched for a code.
type DeviceCode struct {
	ID             string `gorm:"primaryKey"`
	DeviceCodeHash string
	UserCodeHash   string
	ClientID       string
	// Scopes are the requested scopes (within the client's).
	Scopes StringList
	// Resources are the audiences of the registered resources the device
	// asked for (RFC 8707 resource parameters; migration 00026): the
	// tokens' audience.
	Resources StringList
	Status    string
	// PollInterval is the minimum number of seconds between two polls;
	// every slow_down adds 5 (RFC 8628 §3.5).
	PollInterval int
	// LastPolledAt is when the device last polled (the database's clock
	// on PostgreSQL, so every replica measures the interval alike).
	LastPolledAt *time.Time
	// UserAgent and IP describe the device that asked, for the person
	// who approves.
	UserAgent string
	IP        string `gorm:"column:ip"`
	// Subject is the user who approved or denied.
	Subject string
	// Grant is what the provider stores with an approval (the session the
	// tokens are issued with), opaque to the store.
	Grant     string `gorm:"column:grant_data"`
	CreatedAt time.Time
	ExpiresAt time.Time
	DecidedAt *time.Time
}

// TableName pins the table name.
func (DeviceCode) TableName() string { return "device_codes" }
