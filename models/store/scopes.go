package store

import (
	"context"

	"github.com/sesame-idp/sesame/models"
)

// Every write announces ChangeScope: replicas cache the scopes and the
// discovery document that lists them.

// CreateCustomScope stores a scope; a taken name is ErrAlreadyExists.
func (s *Store) CreateCustomScope(ctx context.Context, sc *models.CustomScope) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := mapErr("create custom scope", s.conn(ctx).Create(sc).Error); err != nil {
			return err
		}
		return s.notify(ctx, ChangeScope, sc.Name)
	})
}

// GetCustomScope loads a scope by name.
func (s *Store) GetCustomScope(ctx context.Context, name string) (*models.CustomScope, error) {
	var sc models.CustomScope
	if err := s.conn(ctx).Where("name = ?", name).Take(&sc).Error; err != nil {
		return nil, mapErr("get custom scope", err)
	}
	return &sc, nil
}

// ListCustomScopes returns every custom scope ordered by name.
func (s *Store) ListCustomScopes(ctx context.Context) ([]models.CustomScope, error) {
	var out []models.CustomScope
	err := s.conn(ctx).Order("name").Find(&out).Error
	return out, mapErr("list custom scopes", err)
}

// UpdateCustomScope replaces a scope's description and claims.
func (s *Store) UpdateCustomScope(ctx context.Context, sc *models.CustomScope) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.CustomScope{}).Where("name = ?", sc.Name).
			Updates(map[string]any{"description": sc.Description, "claims": sc.Claims, "updated_at": Now()})
		if err := affected("update custom scope", res); err != nil {
			return err
		}
		return s.notify(ctx, ChangeScope, sc.Name)
	})
}

// DeleteCustomScope removes a scope. Clients that list it keep the name
// but the scope releases nothing any more.
func (s *Store) DeleteCustomScope(ctx context.Context, name string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := affected("delete custom scope", s.conn(ctx).Where("name = ?", name).Delete(&models.CustomScope{})); err != nil {
			return err
		}
		return s.notify(ctx, ChangeScope, name)
	})
}
