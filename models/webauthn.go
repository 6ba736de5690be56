package models

import "time"

// Kinds of WebAuthn credential.
const (
	// CredentialPasskey is a discoverable credential used alone.
	CredentialPasskey = "passkey"
	// CredentialSecurityKey is a second factor after a password.
	CredentialSecurityKey = "security_key"
)

// WebAuthnCredential is a registered public-key credential.
type WebAuthnCredential struct {
	// ID is the credential id, base64url without padding.
	ID     string `gorm:"primaryKey"`
	UserID string
	Kind   string
	Name   string
	// PublicKey is the COSE public key, base64url without padding.
	PublicKey         string
	AttestationType   string
	AttestationFormat string
	// AAGUID identifies the authenticator model (UUID text; zeros when
	// attestation was not requested).
	AAGUID     string `gorm:"column:aaguid"`
	SignCount  int64
	Transports StringList
	// Flags from the authenticator data (WebAuthn §6.1): user verified,
	// backup eligible (a synced passkey can be), backup state (it is).
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
	// CloneWarning is set when the sign counter went backwards: the
	// credential may have been cloned, and is refused from then on.
	CloneWarning bool
	// Attested is set when the registration's attestation (basic or
	// attestation CA, not self or none) was verified against FIDO
	// metadata: the chain reached the model's trust anchors and the model
	// had a FIDO certification. It is the enrolment half of the attested
	// assurance level (models.ACRAttested); the model's status is checked
	// again at each sign-in.
	Attested bool
	// CompromisedStatus is the FIDO metadata status of the credential's
	// model when it is one that makes the credential untrustworthy
	// (ATTESTATION_KEY_COMPROMISE, USER_VERIFICATION_BYPASS,
	// USER_KEY_REMOTE_COMPROMISE, USER_KEY_PHYSICAL_COMPROMISE, REVOKED);
	// "" otherwise. Set (and cleared when the status is lifted) by the
	// metadata check after each new BLOB (migration 00028);
	// CompromisedAt is when it was first seen.
	CompromisedStatus string
	CompromisedAt     *time.Time
	// SuspendedAt is set when the credential was suspended because its
	// model was reported compromised (policy
	// suspend_compromised_passkeys): it signs nobody in from then on, even
	// when the status is lifted later; the user enrols another.
	SuspendedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastUsedAt  *time.Time
}

// TableName pins the table name.
func (WebAuthnCredential) TableName() string { return "webauthn_credentials" }

// Ceremony kinds.
const (
	CeremonyRegister = "register"
	CeremonyLogin    = "login"
)

// WebAuthnCeremony is the server half of a registration or assertion in
// progress: the challenge and options (go-webauthn's SessionData as JSON),
// single use, short-lived, bound to the browser that began it. Kept in the
// database so a ceremony begun on one replica finishes on another.
type WebAuthnCeremony struct {
	ID            string `gorm:"primaryKey"`
	BrowserHash   string
	Kind          string
	UserID        string
	InteractionID string
	Data          string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	ConsumedAt    *time.Time
}

// TableName pins the table name.
func (WebAuthnCeremony) TableName() string { return "webauthn_ceremonies" }

// CredentialUse is the state a successful assertion leaves on its
// credential: the new sign counter and flags, and when. The write is
// conditional on the counter read before (PrevCount) and on no clone flag,
// so two racing assertions with one counter value cannot both be
// accepted.
type CredentialUse struct {
	CredentialID         string
	PrevCount, SignCount int64
	UserVerified         bool
	BackupEligible       bool
	BackupState          bool
	At                   time.Time
}

// CeremonyRead is what a sign-in's finish reads with its ceremony: the
// credential's account, and the authorization waiting for the sign-in.
type CeremonyRead struct {
	Ceremony *WebAuthnCeremony
	// Owner is the credential's owner and Credentials all of the owner's
	// credentials, oldest first (nil and empty for an unknown credential).
	Owner       *User
	Credentials []WebAuthnCredential
	// Interaction is the ceremony's interaction as it stands, consumed or
	// expired included (Interaction.Usable says); nil when the ceremony
	// has none or it is gone.
	Interaction *Interaction
}

// Auth event results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// AuthEvent is one sign-in attempt or account event, for statistics and
// the audit trail.
type AuthEvent struct {
	ID        string `gorm:"primaryKey"`
	At        time.Time
	UserID    string
	ClientID  string
	Method    string
	Event     string
	Result    string
	Reason    string
	AAGUID    string `gorm:"column:aaguid"`
	IP        string `gorm:"column:ip"`
	UserAgent string
	// Pending: not yet counted in the statistics rollups (the store's
	// aggregator clears it when it counts the event).
	Pending bool `json:"-"`
}
