package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/models"
)

// InitialTokenRetention is how long the janitor keeps an initial access
// token after it became unusable (expired, revoked, or used up at its last
// use), so the console still lists it for a while.
const InitialTokenRetention = 30 * 24 * time.Hour

// CreateInitialAccessToken inserts t.
func (s *Store) CreateInitialAccessToken(ctx context.Context, t *models.InitialAccessToken) error {
	t.CreatedAt = dbTime(t.CreatedAt)
	t.ExpiresAt = dbTime(t.ExpiresAt)
	return mapErr("create initial access token", s.conn(ctx).Create(t).Error)
}

// GetInitialAccessToken loads a token by id.
func (s *Store) GetInitialAccessToken(ctx context.Context, id string) (*models.InitialAccessToken, error) {
	var t models.InitialAccessToken
	if err := s.conn(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return nil, mapErr("get initial access token", err)
	}
	return &t, nil
}

// InitialAccessTokenByHash loads the token whose stored hash is hash,
// whatever its state (the caller tells a spent token from an unknown one
// only in its logs).
func (s *Store) InitialAccessTokenByHash(ctx context.Context, hash string) (*models.InitialAccessToken, error) {
	var t models.InitialAccessToken
	if err := s.conn(ctx).Where("token_hash = ?", hash).Take(&t).Error; err != nil {
		return nil, mapErr("get initial access token", err)
	}
	return &t, nil
}

// ListInitialAccessTokens returns every token, newest first.
func (s *Store) ListInitialAccessTokens(ctx context.Context) ([]models.InitialAccessToken, error) {
	var out []models.InitialAccessToken
	err := s.conn(ctx).Order("created_at DESC, id").Find(&out).Error
	return out, mapErr("list initial access tokens", err)
}

// ConsumeInitialAccessToken spends one use of token id at now: one
// conditional update that succeeds only while the token is unrevoked,
// unexpired and has uses left, so concurrent registrations on any number
// of replicas never spend more uses than it has. A token that cannot be
// used gives ErrConsumed; an unknown id ErrNotFound.
func (s *Store) ConsumeInitialAccessToken(ctx context.Context, id string, now time.Time) error {
	now = dbTime(now)
	res := s.conn(ctx).Model(&models.InitialAccessToken{}).
		Where("id = ? AND revoked_at IS NULL AND expires_at > ? AND uses < max_uses", id, now).
		Updates(map[string]any{"uses": gorm.Expr("uses + 1"), "last_used_at": now})
	if res.Error != nil {
		return mapErr("consume initial access token", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	if _, err := s.GetInitialAccessToken(ctx, id); err != nil {
		return fmt.Errorf("consume initial access token: %w", err)
	}
	return fmt.Errorf("consume initial access token: %w", models.ErrConsumed)
}

// RevokeInitialAccessToken revokes token id at now; revoking a revoked
// token changes nothing (its first revocation time stays). An unknown id
// gives ErrNotFound.
func (s *Store) RevokeInitialAccessToken(ctx context.Context, id string, now time.Time) error {
	res := s.conn(ctx).Model(&models.InitialAccessToken{}).Where("id = ? AND revoked_at IS NULL", id).
		Update("revoked_at", dbTime(now))
	if res.Error != nil {
		return mapErr("revoke initial access token", res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetInitialAccessToken(ctx, id); err != nil {
			return fmt.Errorf("revoke initial access token: %w", err)
		}
	}
	return nil
}

// ReplaceRegistrationToken swaps client id's registration access token
// hash from old to hash, only while it is still old: of two management
// requests racing with one token, one rotates it and the other gets
// ErrConsumed. An old of "" never matches.
func (s *Store) ReplaceRegistrationToken(ctx context.Context, id, old, hash string) error {
	if old == "" {
		return fmt.Errorf("replace registration token: %w", models.ErrConsumed)
	}
	res := s.conn(ctx).Model(&models.Client{}).Where("id = ? AND registration_token_hash = ?", id, old).
		Updates(map[string]any{"registration_token_hash": hash, "updated_at": Now()})
	if res.Error != nil {
		return mapErr("replace registration token", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("replace registration token: %w", models.ErrConsumed)
	}
	return nil
}
