package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/models"
)

// PasskeyRequirement is what a passkey must meet to sign in under a
// stricter passkey policy (internal/policy): the console counts whom it
// would leave without one before the policy is saved. The zero value is
// met by every usable passkey.
type PasskeyRequirement struct {
	// DeviceBound: not backup eligible (synced passkeys blocked).
	DeviceBound bool
	// AllowedAAGUIDs, when not empty, are the only models accepted, and
	// only with an attestation (a format other than "none"): the model
	// must have been proven at enrolment, not just claimed.
	AllowedAAGUIDs []string
	// NotCompromised: the FIDO metadata does not report the model
	// compromised or revoked (suspend_compromised_passkeys).
	NotCompromised bool
}

// condition is r's SQL over the credentials table aliased c.
func (r PasskeyRequirement) condition() condition {
	// A passkey that signs in today: not clone-flagged, not suspended.
	out := condition{sql: "c.user_id = users.id AND c.kind = ? AND c.clone_warning = ? AND c.suspended_at IS NULL", args: []any{models.CredentialPasskey, false}}
	if r.DeviceBound {
		out.sql += " AND c.backup_eligible = ?"
		out.args = append(out.args, false)
	}
	if len(r.AllowedAAGUIDs) > 0 {
		out.sql += " AND c.aaguid IN ? AND c.attestation_format NOT IN ?"
		out.args = append(out.args, r.AllowedAAGUIDs, []string{"", "none"})
	}
	if r.NotCompromised {
		out.sql += " AND c.compromised_status = ''"
	}
	return out
}

// UsersWithoutQualifyingPasskey counts the enabled users who have a
// usable passkey today but none that meets r: whom a policy requiring r
// would leave without a passkey that signs in (they would need a sign-in
// link, or to enrol a qualifying passkey). People without a passkey lose
// nothing and are not counted. It returns up to limit of them, by email.
func (s *Store) UsersWithoutQualifyingPasskey(ctx context.Context, r PasskeyRequirement, limit int) (int64, []models.User, error) {
	return s.usersLockedOut(ctx, PasskeyRequirement{}, r, limit)
}

// UsersNewlyWithoutQualifyingPasskey is UsersWithoutQualifyingPasskey
// for a change of requirement from cur to next: only the users who have
// a passkey meeting cur today and none meeting next (those already
// without one under cur lose nothing more). Before a stricter policy is
// saved, these are the people it locks out.
func (s *Store) UsersNewlyWithoutQualifyingPasskey(ctx context.Context, cur, next PasskeyRequirement, limit int) (int64, []models.User, error) {
	return s.usersLockedOut(ctx, cur, next, limit)
}

func (s *Store) usersLockedOut(ctx context.Context, cur, next PasskeyRequirement, limit int) (int64, []models.User, error) {
	has, meets := cur.condition(), next.condition()
	q := func() *gorm.DB {
		return s.conn(ctx).Model(&models.User{}).
			Where("disabled = ?", false).
			Where("EXISTS (SELECT 1 FROM webauthn_credentials c WHERE "+has.sql+")", has.args...).
			Where("NOT EXISTS (SELECT 1 FROM webauthn_credentials c WHERE "+meets.sql+")", meets.args...)
	}
	var n int64
	if err := q().Count(&n).Error; err != nil {
		return 0, nil, mapErr("count users without a qualifying passkey", err)
	}
	var users []models.User
	if n > 0 && limit > 0 {
		if err := q().Order("email").Limit(limit).Find(&users).Error; err != nil {
			return 0, nil, mapErr("list users without a qualifying passkey", err)
		}
	}
	return n, users, nil
}

// LiftCredentialSuspension lifts the suspension of a credential: it signs
// in again. One that is not suspended is ErrConsumed (one lift audited
// once), an unknown one ErrNotFound.
func (s *Store) LiftCredentialSuspension(ctx context.Context, id string) error {
	res := s.conn(ctx).Model(&models.WebAuthnCredential{}).Where("id = ? AND suspended_at IS NOT NULL", id).
		Updates(map[string]any{"suspended_at": nil, "updated_at": Now()})
	if res.Error != nil {
		return mapErr("lift credential suspension", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	if _, err := s.GetCredential(ctx, id); err != nil {
		return fmt.Errorf("lift credential suspension: %w", err)
	}
	return fmt.Errorf("lift credential suspension %s: %w", id, models.ErrConsumed)
}
