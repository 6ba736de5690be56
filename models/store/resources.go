package store

import (
	"context"

	"github.com/sesame-idp/sesame/models"
)

// Every write announces ChangeResource: replicas cache the registry of
// resources (RFC 8707) the token endpoint consults on every request that
// names one.

// CreateResource stores a resource; a taken name or audience is
// ErrAlreadyExists.
func (s *Store) CreateResource(ctx context.Context, r *models.Resource) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := mapErr("create resource", s.conn(ctx).Create(r).Error); err != nil {
			return err
		}
		return s.notify(ctx, ChangeResource, r.Name)
	})
}

// GetResource loads a resource by name.
func (s *Store) GetResource(ctx context.Context, name string) (*models.Resource, error) {
	var r models.Resource
	if err := s.conn(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return nil, mapErr("get resource", err)
	}
	return &r, nil
}

// ListResources returns every resource ordered by name.
func (s *Store) ListResources(ctx context.Context) ([]models.Resource, error) {
	var out []models.Resource
	err := s.conn(ctx).Order("name").Find(&out).Error
	return out, mapErr("list resources", err)
}

// UpdateResource replaces a resource's description, audience, scopes and
// token format; a missing one is ErrNotFound, an audience another resource
// holds ErrAlreadyExists.
func (s *Store) UpdateResource(ctx context.Context, r *models.Resource) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.Resource{}).Where("name = ?", r.Name).
			Updates(map[string]any{"description": r.Description, "audience": r.Audience, "scopes": r.Scopes,
				"access_token_format": r.AccessTokenFormat, "updated_at": Now()})
		if err := affected("update resource", res); err != nil {
			return err
		}
		return s.notify(ctx, ChangeResource, r.Name)
	})
}

// DeleteResource removes a resource. Tokens issued for it stay valid until
// they expire; new requests naming it are refused (invalid_target).
func (s *Store) DeleteResource(ctx context.Context, name string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := affected("delete resource", s.conn(ctx).Where("name = ?", name).Delete(&models.Resource{})); err != nil {
			return err
		}
		return s.notify(ctx, ChangeResource, name)
	})
}
