package models

import "time"

// LoginSession is a browser's SSO session. The browser holds a random secret
// in a cookie; only its SHA-256 (TokenHash) is stored. ID is a separate
// random id that appears in ID tokens as "sid".
type LoginSession struct {
	ID        string `gorm:"primaryKey"`
	TokenHash string
	UserID    string
	AuthTime  time.Time
	AMR       StringList `gorm:"column:amr"`
	ACR       string     `gorm:"column:acr"`
	// AAGUID is the attested authenticator model of the passkey the
	// session began with; "" for other methods and unattested passkeys
	// (migration 00033). An app's AAGUID allow list needs one of its own.
	AAGUID     string `gorm:"column:aaguid"`
	UserAgent  string
	IP         string `gorm:"column:ip"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	// SteppedUpAt is when the user last confirmed with a fresh
	// user-verified passkey assertion (the console's step-up); nil if never.
	SteppedUpAt *time.Time
}

// Interaction is a paused authorization request waiting for the user to
// sign in or consent. It is bound to the browser that started it by a
// cookie secret whose hash is BrowserHash.
type Interaction struct {
	ID          string `gorm:"primaryKey"`
	BrowserHash string
	ClientID    string
	// Query is the original authorization request's parameters,
	// URL-encoded. Only the provider (oidc) reads it; what the hosted pages
	// need from the request has its own field.
	Query string
	// Scopes are the requested scopes.
	Scopes StringList
	// RedirectURI is where the response will go: the request's
	// redirect_uri, or the client's only registered one when it was
	// omitted (what fosite uses).
	RedirectURI string `gorm:"column:redirect_uri"`
	Prompt      string
	MaxAge      *int
	LoginHint   string
	ACRValues   string `gorm:"column:acr_values"`
	// LoginSessionID is set by authn when the user has signed in.
	LoginSessionID string
	// ConsentGiven is set when the user approved the consent page.
	ConsentGiven bool
	// Error is an OAuth error code (e.g. access_denied) the hosted pages
	// set when the user refused; the provider returns it to the client.
	Error      string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt *time.Time
}

// Usable says whether the interaction can still be acted on at now:
// ErrConsumed once used, ErrExpired past its expiry, else nil.
func (in *Interaction) Usable(now time.Time) error {
	if in.ConsumedAt != nil {
		return ErrConsumed
	}
	if !in.ExpiresAt.After(now) {
		return ErrExpired
	}
	return nil
}

// InteractionRead is an interaction read together with the browser's
// live login session and its user (nil when the browser has none): a page
// that names the interaction and asks who is signed in reads both at once.
type InteractionRead struct {
	Interaction *Interaction
	Session     *LoginSession
	Owner       *User
	// Remembered: the read is what this replica's sign-in wrote a moment
	// ago (store/handoff.go), not the database's. Another replica may
	// have spent the interaction or ended the session since; the write
	// that acts on it checks, and when that refuses the caller reads
	// again.
	Remembered bool
}

// SessionStart is a browser's sign-in as the store writes it: the new
// login session, the end of the one it replaces, and the writes that
// commit with it.
type SessionStart struct {
	Session *LoginSession
	// Replaced is the token hash of the browser's session before this
	// sign-in, which ends ("" when it had none).
	Replaced string
	// Event, when set, is the sign-in's auth event, recorded with it.
	Event *AuthEvent
	// InteractionID, when set, is the authorization the sign-in answers:
	// if it is still open it records the new session.
	InteractionID string
	// Interaction and Owner, when set, are that interaction as the
	// sign-in read it and the session's user: the replica keeps them,
	// with the session, for the authorization's resume, which then reads
	// nothing (InteractionRead.Remembered).
	Interaction *Interaction
	Owner       *User
	// Ceremony and Use, when set, are the passkey sign-in the session
	// starts: its WebAuthn login ceremony (which the browser held, sealed:
	// the store keeps only spent ones), spent now, and the passkey's use.
	// They gate the rest: when the ceremony was spent since it was read,
	// or has expired, nothing is written and the start fails with
	// ErrCeremonySpent; when another use of the same counter value won
	// (or the passkey was flagged meanwhile), with ErrConsumed.
	Ceremony *WebAuthnCeremony
	Use      *CredentialUse
	// InteractionMarked is the store's answer: the interaction was open
	// and now names the session.
	InteractionMarked bool
}

// Consent remembers the scopes a user granted to a client.
type Consent struct {
	UserID    string `gorm:"primaryKey"`
	ClientID  string `gorm:"primaryKey"`
	Scopes    StringList
	CreatedAt time.Time
	UpdatedAt time.Time
}
