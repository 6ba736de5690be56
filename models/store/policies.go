package store

import (
	"context"
	"errors"

	"github.com/sesame-idp/sesame/models"
)

// GetPolicy loads a policy document by name.
func (s *Store) GetPolicy(ctx context.Context, name string) (*models.Policy, error) {
	var p models.Policy
	if err := s.conn(ctx).Where("name = ?", name).Take(&p).Error; err != nil {
		return nil, mapErr("get policy", err)
	}
	return &p, nil
}

// PutPolicy creates or replaces a policy document, increasing its version;
// p is updated with the stored version and time.
func (s *Store) PutPolicy(ctx context.Context, p *models.Policy) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		p.UpdatedAt = Now()
		old, err := s.GetPolicy(ctx, p.Name)
		switch {
		case errors.Is(err, models.ErrNotFound):
			p.Version = 1
			if err := s.conn(ctx).Create(p).Error; err != nil {
				return mapErr("put policy", err)
			}
			return s.notify(ctx, ChangePolicy, p.Name)
		case err != nil:
			return err
		}
		p.Version = old.Version + 1
		res := s.conn(ctx).Model(&models.Policy{}).Where("name = ? AND version = ?", p.Name, old.Version).
			Updates(map[string]any{"value": p.Value, "version": p.Version, "updated_at": p.UpdatedAt, "updated_by": p.UpdatedBy})
		if res.Error != nil {
			return mapErr("put policy", res.Error)
		}
		if res.RowsAffected == 0 {
			return errors.New("put policy: changed concurrently, try again")
		}
		return s.notify(ctx, ChangePolicy, p.Name)
	})
}
