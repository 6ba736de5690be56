package store

import (
	"context"
	"fmt"

	"github.com/sesame-idp/sesame/models"
)

// CreateClient inserts c.
func (s *Store) CreateClient(ctx context.Context, c *models.Client) error {
	return mapErr("create client", s.conn(ctx).Create(c).Error)
}

// GetClient loads a client by id.
func (s *Store) GetClient(ctx context.Context, id string) (*models.Client, error) {
	var c models.Client
	if err := s.conn(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, mapErr("get client", err)
	}
	return &c, nil
}

// ListClients returns every client ordered by name.
func (s *Store) ListClients(ctx context.Context) ([]models.Client, error) {
	var out []models.Client
	err := s.conn(ctx).Order("name, id").Find(&out).Error
	return out, mapErr("list clients", err)
}

// UpdateClient saves every field of c (which must exist) but its creation
// time; c.UpdatedAt is set to the time stored.
func (s *Store) UpdateClient(ctx context.Context, c *models.Client) error {
	// Model(c), not Model(&models.Client{}): gorm assigns the updated_at it
	// writes to the model, and c must carry the stored value.
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(c).Where("id = ?", c.ID).Select("*").Omit("id", "created_at").Updates(c)
		if err := affected("update client", res); err != nil {
			return err
		}
		return s.notify(ctx, ChangeClient, c.ID)
	})
}

// ReplaceClientSecretHash swaps a client's stored secret hash from old to
// hash (an upgrade of its stored form after a successful check), only if
// it is still old: a rotation in between wins, and the loser gets
// ErrConsumed (as does a hash no client has).
func (s *Store) ReplaceClientSecretHash(ctx context.Context, old, hash string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		var ids []string
		if err := s.conn(ctx).Model(&models.Client{}).Where("secret_hash = ?", old).Pluck("id", &ids).Error; err != nil {
			return mapErr("replace client secret hash", err)
		}
		res := s.conn(ctx).Model(&models.Client{}).Where("secret_hash = ?", old).
			Updates(map[string]any{"secret_hash": hash, "updated_at": Now()})
		if res.Error != nil {
			return mapErr("replace client secret hash", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("replace client secret hash: %w", models.ErrConsumed)
		}
		for _, id := range ids {
			if err := s.notify(ctx, ChangeClient, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteClient removes a client and everything issued to it.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Where("client_id = ?", id).Delete(&models.OAuth2Request{}).Error; err != nil {
			return mapErr("delete client tokens", err)
		}
		if err := s.conn(ctx).Where("client_id = ?", id).Delete(&models.Interaction{}).Error; err != nil {
			return mapErr("delete client interactions", err)
		}
		if err := s.conn(ctx).Where("client_id = ?", id).Delete(&models.Consent{}).Error; err != nil {
			return mapErr("delete client consents", err)
		}
		if err := affected("delete client", s.conn(ctx).Where("id = ?", id).Delete(&models.Client{})); err != nil {
			return err
		}
		return s.notify(ctx, ChangeClient, id)
	})
}
