package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// SetUserRole gives a user a role (models.RoleAdmin) or takes it ("").
func (s *Store) SetUserRole(ctx context.Context, id, role string) error {
	res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).
		Updates(map[string]any{"role": role, "updated_at": Now()})
	return affected("set user role", res)
}

// CountAdmins counts users with the admin role that are not disabled.
func (s *Store) CountAdmins(ctx context.Context) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.User{}).Where("role = ? AND disabled = ?", models.RoleAdmin, false).Count(&n).Error
	return n, mapErr("count admins", err)
}

// escapeLike escapes LIKE wildcards so a search matches them literally.
func escapeLike(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(q)
}

// SearchUsers returns users whose address or display name contains q
// (case-insensitively; all users when q is empty), ordered by creation,
// at most limit from offset. Callers bound limit and offset.
func (s *Store) SearchUsers(ctx context.Context, q string, offset, limit int) ([]models.User, error) {
	tx := s.conn(ctx).Model(&models.User{})
	if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
		pat := "%" + escapeLike(q) + "%"
		tx = tx.Where(`email_normalized LIKE ? ESCAPE '\' OR LOWER(display_name) LIKE ? ESCAPE '\'`, pat, pat)
	}
	var out []models.User
	err := tx.Order("created_at, id").Offset(offset).Limit(limit).Find(&out).Error
	return out, mapErr("search users", err)
}

// DeleteUser removes a user: the login sessions, credentials and consents
// go with the row (foreign keys); tokens issued to the user are deleted in
// the same transaction.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.RevokeUserLoginSessions(ctx, id); err != nil {
			return err
		}
		if err := s.conn(ctx).Where("subject = ?", id).Delete(&models.OAuth2Request{}).Error; err != nil {
			return mapErr("delete user tokens", err)
		}
		return affected("delete user", s.conn(ctx).Where("id = ?", id).Delete(&models.User{}))
	})
}

// SetLoginSessionSteppedUp records a fresh user-verified assertion on a
// live session.
func (s *Store) SetLoginSessionSteppedUp(ctx context.Context, id string, at time.Time) error {
	res := s.conn(ctx).Model(&models.LoginSession{}).
		Where("id = ? AND revoked_at IS NULL AND expires_at > ?", id, Now()).
		Update("stepped_up_at", dbTime(at))
	return affected("set login session stepped up", res)
}

// CreateAdminInvite stores an invite; EmailNormalized is derived.
func (s *Store) CreateAdminInvite(ctx context.Context, in *models.AdminInvite) error {
	in.EmailNormalized = NormalizeEmail(in.Email)
	return mapErr("create admin invite", s.conn(ctx).Create(in).Error)
}

// GetAdminInviteByTokenHash loads an invite by its token's hash: unused
// and unexpired, else ErrConsumed / ErrExpired (with the row) or
// ErrNotFound.
func (s *Store) GetAdminInviteByTokenHash(ctx context.Context, hash string) (*models.AdminInvite, error) {
	var in models.AdminInvite
	if err := s.conn(ctx).Where("token_hash = ?", hash).Take(&in).Error; err != nil {
		return nil, mapErr("get admin invite", err)
	}
	if in.UsedAt != nil {
		return &in, fmt.Errorf("get admin invite: %w", models.ErrConsumed)
	}
	if !in.ExpiresAt.After(Now()) {
		return &in, fmt.Errorf("get admin invite: %w", models.ErrExpired)
	}
	return &in, nil
}

// ConsumeAdminInvite marks an unexpired invite used by userID; exactly one
// caller wins, the others get ErrConsumed.
func (s *Store) ConsumeAdminInvite(ctx context.Context, id, userID string) error {
	now := Now()
	res := s.conn(ctx).Model(&models.AdminInvite{}).
		Where("id = ? AND used_at IS NULL AND expires_at > ?", id, now).
		Updates(map[string]any{"used_at": now, "used_by": userID})
	if res.Error != nil {
		return mapErr("consume admin invite", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("consume admin invite: %w", models.ErrConsumed)
	}
	return nil
}

// HasLiveAdminInvite reports whether an unused, unexpired invite exists
// for the address (so dev start-up does not mint a new link every time).
func (s *Store) HasLiveAdminInvite(ctx context.Context, email string) (bool, error) {
	var n int64
	err := s.conn(ctx).Model(&models.AdminInvite{}).
		Where("email_normalized = ? AND used_at IS NULL AND expires_at > ?", NormalizeEmail(email), Now()).Count(&n).Error
	return n > 0, mapErr("find admin invite", err)
}

// DeleteExpiredAdminInvites removes invites that expired more than grace
// ago (used ones included: the audit log keeps the record).
func (s *Store) DeleteExpiredAdminInvites(ctx context.Context, grace time.Duration) (int64, error) {
	res := s.conn(ctx).Where("expires_at < ?", Now().Add(-grace)).Delete(&models.AdminInvite{})
	return res.RowsAffected, mapErr("delete expired admin invites", res.Error)
}
