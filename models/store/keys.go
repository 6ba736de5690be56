package store

import (
	"context"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// CreateSigningKey inserts a key.
func (s *Store) CreateSigningKey(ctx context.Context, k *models.SigningKey) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Create(k).Error; err != nil {
			return mapErr("create signing key", err)
		}
		return s.notify(ctx, ChangeKeys, k.KID)
	})
}

// ListSigningKeys returns every key not yet expired, newest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]models.SigningKey, error) {
	var out []models.SigningKey
	err := s.conn(ctx).Where("expires_at IS NULL OR expires_at > ?", Now()).
		Order("created_at DESC, kid").Find(&out).Error
	return out, mapErr("list signing keys", err)
}

// SetSigningKeyState moves a key from one state to another with a
// conditional update, so two replicas rotating at once cannot both win:
// the loser gets ErrNotFound.
func (s *Store) SetSigningKeyState(ctx context.Context, kid, from, to string, at time.Time, expiresAt *time.Time) error {
	upd := map[string]any{"state": to}
	switch to {
	case models.KeyCurrent:
		upd["activated_at"] = dbTime(at)
	case models.KeyRetired:
		upd["retired_at"] = dbTime(at)
		upd["expires_at"] = dbTimePtr(expiresAt)
	}
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.SigningKey{}).Where("kid = ? AND state = ?", kid, from).Updates(upd)
		if err := affected("set signing key state", res); err != nil {
			return err
		}
		return s.notify(ctx, ChangeKeys, kid)
	})
}

// DeleteExpiredSigningKeys removes retired keys past their expiry.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context) (int64, error) {
	res := s.conn(ctx).Where("state = ? AND expires_at <= ?", models.KeyRetired, Now()).Delete(&models.SigningKey{})
	return res.RowsAffected, mapErr("delete expired signing keys", res.Error)
}
