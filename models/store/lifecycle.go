package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
)

// The user's own lifecycle: deletion with a grace period, a change of
// address proven by a link, recovery codes. Each change is one named
// function so that whatever reports lifecycle events (audit, webhooks)
// hooks in at one place per change.

// ScheduleUserDeletion records the user's request to delete their account
// at due and, in the same transaction, ends every session of the user
// (apps hear of it by back-channel logout) and revokes their tokens.
// ErrNotFound for an unknown user.
func (s *Store) ScheduleUserDeletion(ctx context.Context, id string, due time.Time) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).
			Updates(map[string]any{"deletion_due_at": dbTime(due), "updated_at": Now()})
		if err := affected("schedule user deletion", res); err != nil {
			return err
		}
		if err := s.notify(ctx, ChangeUser, id); err != nil {
			return err
		}
		return s.RevokeUserLoginSessions(ctx, id)
	})
}

// CancelUserDeletion withdraws a pending deletion request; false when none
// was pending (already cancelled, or already purged: ErrNotFound).
func (s *Store) CancelUserDeletion(ctx context.Context, id string) (bool, error) {
	var cancelled bool
	err := s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.User{}).Where("id = ? AND deletion_due_at IS NOT NULL", id).
			Updates(map[string]any{"deletion_due_at": nil, "updated_at": Now()})
		if res.Error != nil {
			return mapErr("cancel user deletion", res.Error)
		}
		if res.RowsAffected == 0 {
			_, err := s.GetUser(ctx, id)
			return err
		}
		cancelled = true
		return s.notify(ctx, ChangeUser, id)
	})
	return cancelled, err
}

// DueUserDeletions lists the ids of users whose deletion is due at now,
// oldest request first, at most limit.
func (s *Store) DueUserDeletions(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var ids []string
	err := s.conn(ctx).Model(&models.User{}).Where("deletion_due_at IS NOT NULL AND deletion_due_at <= ?", dbTime(now)).
		Order("deletion_due_at, id").Limit(limit).Pluck("id", &ids).Error
	return ids, mapErr("due user deletions", err)
}

// PurgeUser removes a user whose deletion is due at now, in one
// transaction: sessions end (back-channel logout notices are queued;
// endSessions), every token and code goes, the mailed links of the user
// and of the address go, the auth events stay for the statistics but
// lose the user id (pseudonym instead), IP address and user agent, and
// audit entries about the user or by them keep only the pseudonym (their
// before/after documents, which may hold the address and name, are
// cleared). Deleting the user row removes credentials, password,
// consents, group memberships, recovery codes and activity (foreign keys
// ON DELETE CASCADE). Last, one audit entry records the deletion under
// the pseudonym. A user whose deletion is not due (cancelled meanwhile)
// is ErrConsumed and keeps everything; an unknown one ErrNotFound.
func (s *Store) PurgeUser(ctx context.Context, id, pseudonym string, now time.Time) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			return err
		}
		if u.DeletionDueAt == nil || u.DeletionDueAt.After(now) {
			return fmt.Errorf("purge user: %w", models.ErrConsumed)
		}
		if err := s.RevokeUserLoginSessions(ctx, id); err != nil {
			return err
		}
		db := s.conn(ctx)
		steps := []struct {
			op  string
			run func() error
		}{
			{"tokens", func() error { return db.Where("subject = ?", id).Delete(&models.OAuth2Request{}).Error }},
			{"device codes", func() error { return db.Where("subject = ?", id).Delete(&models.DeviceCode{}).Error }},
			{"links", func() error {
				return db.Where("user_id = ? OR email_normalized = ?", id, u.EmailNormalized).Delete(&models.Passlink{}).Error
			}},
			{"ceremonies", func() error { return db.Where("user_id = ?", id).Delete(&models.WebAuthnCeremony{}).Error }},
			{"upstream identities", func() error { return db.Where("user_id = ?", id).Delete(&models.UpstreamIdentity{}).Error }},
			{"upstream links", func() error { return db.Where("link_user_id = ?", id).Delete(&models.UpstreamFlow{}).Error }},
			{"session clients", func() error { return db.Where("user_id = ?", id).Delete(&models.SessionClient{}).Error }},
			{"auth events", func() error {
				return db.Model(&models.AuthEvent{}).Where("user_id = ?", id).
					Updates(map[string]any{"user_id": pseudonym, "ip": "", "user_agent": ""}).Error
			}},
			{"audit about the user", func() error {
				return db.Model(&models.AuditEntry{}).Where("target_type = ? AND target_id = ?", "user", id).
					Updates(map[string]any{"target_id": pseudonym, "before_json": "", "after_json": ""}).Error
			}},
			{"audit by the user", func() error {
				return db.Model(&models.AuditEntry{}).Where("actor_id = ?", id).
					Updates(map[string]any{"actor_id": pseudonym, "actor_label": "", "ip": "", "user_agent": ""}).Error
			}},
		}
		for _, st := range steps {
			if err := st.run(); err != nil {
				return mapErr("purge user: "+st.op, err)
			}
		}
		if err := affected("purge user", db.Where("id = ?", id).Delete(&models.User{})); err != nil {
			return err
		}
		if err := s.CreateAuditEntry(ctx, &models.AuditEntry{ID: uuid.NewString(), At: Now(), ActorID: pseudonym,
			ActorKind: models.ActorSystem, ActorLabel: "the account's own deletion request, after its grace period",
			Action: "user.deleted", TargetType: "user", TargetID: pseudonym}); err != nil {
			return err
		}
		return s.notify(ctx, ChangeUser, id)
	})
}

// SetUserEmailProven makes email the user's address, proven (a link sent
// to it was used): email_verified true, no proof due. Pending sign-in
// links and codes of the address the account had are spent as superseded
// (they must not sign in by the old mailbox), as are the user's other
// pending address-change links. An address another user holds is
// ErrAlreadyExists; an unknown user ErrNotFound. It returns the user as
// they were before.
func (s *Store) SetUserEmailProven(ctx context.Context, id, email string) (*models.User, error) {
	var before *models.User
	err := s.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			return err
		}
		before = u
		norm := NormalizeEmail(email)
		if norm != u.EmailNormalized {
			var n int64
			if err := s.conn(ctx).Model(&models.User{}).Where("email_normalized = ? AND id <> ?", norm, id).Count(&n).Error; err != nil {
				return mapErr("set user email", err)
			}
			if n > 0 {
				return fmt.Errorf("set user email: %w", models.ErrAlreadyExists)
			}
			if _, err := s.InvalidateAddressLinks(ctx, u.EmailNormalized); err != nil {
				return err
			}
		}
		res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).Updates(map[string]any{"email": email, "email_normalized": norm,
			"email_verified": true, "email_verification_due": false, "updated_at": Now()})
		if err := affected("set user email", res); err != nil {
			return err
		}
		err = s.conn(ctx).Model(&models.Passlink{}).Where("user_id = ? AND purpose IN ? AND used_at IS NULL", id,
			[]string{models.PasslinkEmailChange, models.PasslinkEmailConfirm}).
			Updates(map[string]any{"used_at": Now(), "outcome": models.PasslinkSuperseded}).Error
		if err != nil {
			return mapErr("set user email: supersede change links", err)
		}
		return s.notify(ctx, ChangeUser, id)
	})
	if err != nil {
		return nil, err
	}
	return before, nil
}

// InvalidateAddressLinks spends every pending sign-in link and code of an
// address (models.SignInPurposes) as superseded, and returns how many.
func (s *Store) InvalidateAddressLinks(ctx context.Context, emailNormalized string) (int64, error) {
	res := s.conn(ctx).Model(&models.Passlink{}).
		Where("email_normalized = ? AND purpose IN ? AND used_at IS NULL", emailNormalized, models.SignInPurposes).
		Updates(map[string]any{"used_at": Now(), "outcome": models.PasslinkSuperseded})
	return res.RowsAffected, mapErr("invalidate address links", res.Error)
}

// ProveCurrentEmail marks the user's address proven, only while it is
// still email (an administrator may have changed it again since the
// link was sent): ErrNotFound otherwise. It clears the proof due at
// sign-in. Nothing else changes (unlike ProveUserEmail's first proof,
// which removes what an unproven account held).
func (s *Store) ProveCurrentEmail(ctx context.Context, id, email string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.User{}).Where("id = ? AND email_normalized = ?", id, NormalizeEmail(email)).
			Updates(map[string]any{"email_verified": true, "email_verification_due": false, "updated_at": Now()})
		if err := affected("prove current email", res); err != nil {
			return err
		}
		return s.notify(ctx, ChangeUser, id)
	})
}

// ReplaceRecoveryCodes replaces every recovery code of a user (used or
// not) with the codes of hashes, in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Where("user_id = ?", userID).Delete(&models.RecoveryCode{}).Error; err != nil {
			return mapErr("replace recovery codes: delete", err)
		}
		now := Now()
		rows := make([]models.RecoveryCode, len(hashes))
		for i, h := range hashes {
			rows[i] = models.RecoveryCode{UserID: userID, CodeHash: h, CreatedAt: now}
		}
		if len(rows) == 0 {
			return nil
		}
		return mapErr("replace recovery codes", s.conn(ctx).Create(&rows).Error)
	})
}

// UseRecoveryCode spends the user's unused code of hash: of concurrent
// callers exactly one succeeds; a wrong, used or unknown code is
// ErrNotFound.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string) error {
	res := s.conn(ctx).Model(&models.RecoveryCode{}).Where("user_id = ? AND code_hash = ? AND used_at IS NULL", userID, hash).
		Update("used_at", Now())
	return affected("use recovery code", res)
}

// UnusedRecoveryCodeHashes returns the hashes of a user's unused
// recovery codes (none for an unknown user), for a constant-time
// comparison by the caller before UseRecoveryCode spends one.
func (s *Store) UnusedRecoveryCodeHashes(ctx context.Context, userID string) ([]string, error) {
	var out []string
	err := s.conn(ctx).Model(&models.RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).
		Order("code_hash").Pluck("code_hash", &out).Error
	return out, mapErr("unused recovery codes", err)
}

// HasRecoveryCodes reports whether a user has a set of recovery codes,
// used up or not.
func (s *Store) HasRecoveryCodes(ctx context.Context, userID string) (bool, error) {
	var n int64
	err := s.conn(ctx).Model(&models.RecoveryCode{}).Where("user_id = ?", userID).Limit(1).Count(&n).Error
	return n > 0, mapErr("has recovery codes", err)
}

// CountRecoveryCodes returns how many unused recovery codes a user has.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return n, mapErr("count recovery codes", err)
}

// DeleteRecoveryCodes revokes every recovery code of a user and returns
// how many unused ones there were.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) (int64, error) {
	var unused int64
	err := s.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if unused, err = s.CountRecoveryCodes(ctx, userID); err != nil {
			return err
		}
		return mapErr("delete recovery codes", s.conn(ctx).Where("user_id = ?", userID).Delete(&models.RecoveryCode{}).Error)
	})
	return unused, err
}
