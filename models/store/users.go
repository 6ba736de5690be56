package store

import (
	"context"
	"strings"

	"github.com/sesame-idp/sesame/models"
)

// NormalizeEmail is the case-insensitive lookup key of an address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser inserts u; EmailNormalized is derived from Email.
func (s *Store) CreateUser(ctx context.Context, u *models.User) error {
	u.EmailNormalized = NormalizeEmail(u.Email)
	if u.Attributes == nil {
		u.Attributes = models.JSONObject{} // as it reads back
	}
	return mapErr("create user", s.conn(ctx).Create(u).Error)
}

// GetUser loads a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (*models.User, error) {
	var u models.User
	if err := s.conn(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, mapErr("get user", err)
	}
	return &u, nil
}

// GetUserByEmail loads a user by address, case-insensitively.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*models.User, error) {
	var u models.User
	if err := s.conn(ctx).Where("email_normalized = ?", NormalizeEmail(email)).Take(&u).Error; err != nil {
		return nil, mapErr("get user by email", err)
	}
	return &u, nil
}

// GetUserByUsername loads a user by username (stored lower-case), case-insensitively.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*models.User, error) {
	var u models.User
	if err := s.conn(ctx).Where("username = ?", strings.ToLower(strings.TrimSpace(username))).Take(&u).Error; err != nil {
		return nil, mapErr("get user by username", err)
	}
	return &u, nil
}

// ListUsers returns users ordered by creation, at most limit from offset.
func (s *Store) ListUsers(ctx context.Context, offset, limit int) ([]models.User, error) {
	var out []models.User
	err := s.conn(ctx).Order("created_at, id").Offset(offset).Limit(limit).Find(&out).Error
	return out, mapErr("list users", err)
}

// SetUserDisabled disables or enables a user. Disabling also revokes the
// user's login sessions, in the same transaction.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).
			Updates(map[string]any{"disabled": disabled, "updated_at": Now()})
		if err := affected("set user disabled", res); err != nil {
			return err
		}
		if err := s.notify(ctx, ChangeUser, id); err != nil {
			return err
		}
		if disabled {
			return s.RevokeUserLoginSessions(ctx, id)
		}
		return nil
	})
}

// SetUserDisplayName changes a user's display name.
func (s *Store) SetUserDisplayName(ctx context.Context, id, name string) error {
	res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).
		Updates(map[string]any{"display_name": name, "updated_at": Now()})
	return affected("set user display name", res)
}

// SetUserLocale stores the language the user last chose or signed in
// with (a BCP 47 tag; the hosted pages and mails use it).
func (s *Store) SetUserLocale(ctx context.Context, id, locale string) error {
	res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).
		Updates(map[string]any{"locale": locale, "updated_at": Now()})
	// The user of a sign-in kept for its resume has changed (handoff.go).
	s.handoff.forgetUser(id)
	return affected("set user locale", res)
}
