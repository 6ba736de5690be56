package models

import "time"

// Account links: passlink rows (the one table of mailed single-use
// tokens) whose purpose is a change to the account itself, never a
// sign-in. They are found only by the account pages (authn/account_*.go)
// and never by the sign-in lookups, which check the purpose.
const (
	// PasslinkEmailChange confirms a user's own change of address: Email
	// is the new address; using the link makes it the account's address,
	// proven.
	PasslinkEmailChange = "email_change"
	// PasslinkEmailRevert undoes a change of address: mailed to the old
	// address (Email) when the change took effect; using it restores that
	// address and signs every session out.
	PasslinkEmailRevert = "email_revert"
	// PasslinkEmailConfirm proves an address an administrator set (Email);
	// it works only while the account still has that address.
	PasslinkEmailConfirm = "email_confirm"
	// PasslinkDeleteCancel cancels a scheduled deletion of the account; it
	// lives as long as the grace period.
	PasslinkDeleteCancel = "delete_cancel"
)

// SignInPurposes are the passlink purposes that sign in or prove an
// address for a sign-in: the links a change of address invalidates for
// the old address.
var SignInPurposes = []string{PasslinkLogin, PasslinkSignup, PasslinkVerify, PasslinkReset, PasslinkAdmin}

// Passlink outcomes of the account links.
const (
	// PasslinkApplied: the account link did what it says.
	PasslinkApplied = "applied"
)

// RecoveryCode is one of a user's single-use recovery codes; only a keyed
// hash of the code is stored (authn/recovery).
type RecoveryCode struct {
	UserID    string `gorm:"primaryKey"`
	CodeHash  string `gorm:"primaryKey"`
	CreatedAt time.Time
	UsedAt    *time.Time
}

// TableName pins the table name.
func (RecoveryCode) TableName() string { return "recovery_codes" }

// Audit actions of recovery codes (and the auth events of the same names,
// without the "user." prefix, in the user's history).
const (
	AuditRecoveryCodesGenerated   = "user.recovery_codes_generated"
	AuditRecoveryCodeUsed         = "user.recovery_code_used"
	AuditRecoveryCodesInvalidated = "user.recovery_codes_invalidated"
)

// Auth events of recovery codes (the sign-in itself is EventLogin with
// MethodRecoveryCode).
const (
	EventRecoveryCodesGenerated   = "recovery_codes_generated"
	EventRecoveryCodesInvalidated = "recovery_codes_invalidated"
)

// PseudonymPrefix starts how the audit log names a deleted user: "deleted:" and a
// keyed hash of the user id, so entries about one deleted account can be
// told apart and matched to each other, but not to the person.
const PseudonymPrefix = "deleted:"
