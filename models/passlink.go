package models

import "time"

// Passlink purposes: what a requested link does, decided when it is
// requested. Every request makes a row, whatever the address, so known and
// unknown addresses cost the same work; only login and signup rows have a
// link anyone received.
const (
	// PasslinkLogin signs in the user who owns the address.
	PasslinkLogin = "login"
	// PasslinkSignup creates the account of an unknown address (open
	// sign-up), with the address verified.
	PasslinkSignup = "signup"
	// PasslinkNotice: the address has no account and sign-up is closed; a
	// "no account here" mail was sent, without a link.
	PasslinkNotice = "notice"
	// PasslinkVerify proves the address of the account that is signing
	// in (a passkey sign-up, or an unproven account's sign-in): the mail
	// carries a code to type on the page that waits and a link that does
	// the same in that browser. It holds the sign-in (PendingLogin) until
	// then.
	PasslinkVerify = "verify"
	// PasslinkNone: nothing was sent (closed sign-up configured to stay
	// silent, or a disabled account).
	PasslinkNone = "none"
)

// Passlink outcomes. A link is pending while Outcome is empty; it ends
// exactly once (a conditional update on UsedAt).
const (
	// PasslinkSignedIn: used in the browser that asked, which is signed in.
	PasslinkSignedIn = "signed_in"
	// PasslinkApproved: approved on another device with the code the
	// requesting screen showed; the requesting browser completes it
	// (CompletedAt) and is signed in there.
	PasslinkApproved = "approved"
	// PasslinkDenied: refused on the device that opened the link.
	PasslinkDenied = "denied"
	// PasslinkLocked: too many wrong codes; the request is dead.
	PasslinkLocked = "locked"
	// PasslinkVerified: a verification code (or its link) proved the
	// address and the held sign-in went on.
	PasslinkVerified = "verified"
	// PasslinkSkipped: the person skipped a verification the policy did
	// not require.
	PasslinkSkipped = "skipped"
	// PasslinkSuperseded: a newer link was requested for the same sign-in;
	// only the newest one works.
	PasslinkSuperseded = "superseded"
)

// Passlink is one request for a sign-in link by email. Only the SHA-256
// of the link's token (TokenHash) and an HMAC of the short cross-device
// code (CodeHash) are stored. The request is bound to the browser that
// made it (BrowserHash) and to its interaction, if any.
type Passlink struct {
	// ID is the request id the requesting page polls with; it is no
	// credential (status and completion also need the browser binding).
	ID        string `gorm:"primaryKey"`
	TokenHash string
	Purpose   string
	// Email is the address as typed; EmailNormalized is the lookup key.
	Email           string
	EmailNormalized string
	// UserID is the account the link signs in: set at request time for a
	// known address, when the account is created for a sign-up.
	UserID        string
	InteractionID string
	ClientID      string
	BrowserHash   string
	CodeHash      string
	// CodeAttempts counts codes typed on another device, right or wrong.
	CodeAttempts       int
	RequesterUserAgent string
	RequesterIP        string `gorm:"column:requester_ip"`
	Outcome            string
	CreatedAt          time.Time
	ExpiresAt          time.Time
	// UsedAt is when the link was used (signed in, approved, denied or
	// locked); nil while it is pending.
	UsedAt *time.Time
	// CompletedAt is when the requesting browser took an approval.
	CompletedAt *time.Time
	// PendingLogin is the sign-in a verification holds (JSON of
	// PendingLogin); "" for the other purposes.
	PendingLogin string
}

// PendingLogin is a passkey sign-in held until the address is proven: what
// the login session will say, and which passkey survives the proof (the
// one this browser just created or used; store.ProveUserEmailKeeping).
type PendingLogin struct {
	AMR          []string `json:"amr"`
	ACR          string   `json:"acr"`
	CredentialID string   `json:"credential_id"`
	AAGUID       string   `json:"aaguid,omitempty"`
	Event        string   `json:"event,omitempty"`
	Strong       bool     `json:"strong,omitempty"`
	// Skippable: the policy did not require the proof when it was asked.
	Skippable bool `json:"skippable,omitempty"`
}

// TableName pins the table name.
func (Passlink) TableName() string { return "passlinks" }
