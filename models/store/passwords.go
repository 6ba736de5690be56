package store

import (
	"context"
	"fmt"

	"github.com/sesame-idp/sesame/models"
)

// GetUserPassword loads a user's password hash; ErrNotFound when the user
// has no password.
func (s *Store) GetUserPassword(ctx context.Context, userID string) (*models.UserPassword, error) {
	var p models.UserPassword
	if err := s.conn(ctx).Where("user_id = ?", userID).Take(&p).Error; err != nil {
		return nil, mapErr("get user password", err)
	}
	return &p, nil
}

// SetUserPassword sets (or replaces) a user's password hash in one
// statement: an upsert, so two concurrent sets leave exactly one row.
func (s *Store) SetUserPassword(ctx context.Context, userID, hash string) error {
	now := Now()
	err := s.conn(ctx).Exec(
		`INSERT INTO user_passwords (user_id, hash, created_at, updated_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		userID, hash, now, now).Error
	return mapErr("set user password", err)
}

// ReplacePasswordHash upgrades a hash (new argon2id parameters) on sign-in.
// It is conditional on the hash read before (old), so an upgrade never
// overwrites a password changed meanwhile: then it is ErrNotFound and
// nothing is written.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID, old, hash string) error {
	res := s.conn(ctx).Model(&models.UserPassword{}).Where("user_id = ? AND hash = ?", userID, old).
		Updates(map[string]any{"hash": hash, "updated_at": Now()})
	return affected("replace password hash", res)
}

// DeleteUserPassword removes a user's password; ErrNotFound when there was
// none.
func (s *Store) DeleteUserPassword(ctx context.Context, userID string) error {
	res := s.conn(ctx).Where("user_id = ?", userID).Delete(&models.UserPassword{})
	return affected("delete user password", res)
}

// ChangeUserPassword sets a user's password and signs out every other
// session of the user (revoking their tokens), keeping keepSessionID: the
// session that made the change. One transaction.
func (s *Store) ChangeUserPassword(ctx context.Context, userID, hash, keepSessionID string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.SetUserPassword(ctx, userID, hash); err != nil {
			return err
		}
		if _, err := s.endSessions(ctx, "change user password: revoke other sessions",
			"user_id = ? AND id <> ? AND revoked_at IS NULL", userID, keepSessionID); err != nil {
			return err
		}
		err := s.conn(ctx).Where("subject = ? AND session_id <> ? AND kind IN ?", userID, keepSessionID,
			[]string{models.KindAccessToken, models.KindRefreshToken}).Delete(&models.OAuth2Request{}).Error
		if err != nil {
			return fmt.Errorf("change user password: %w", mapErr("revoke other tokens", err))
		}
		return nil
	})
}

// ResetUserPassword sets a user's password and signs out every session of
// the user (the old password may be known to someone else). One
// transaction, joining the caller's (the reset link is spent in it).
func (s *Store) ResetUserPassword(ctx context.Context, userID, hash string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.SetUserPassword(ctx, userID, hash); err != nil {
			return err
		}
		return s.RevokeUserLoginSessions(ctx, userID)
	})
}
