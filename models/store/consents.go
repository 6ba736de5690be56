package store

import (
	"context"

	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/models"
)

// GetConsent loads the scopes a user granted a client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (*models.Consent, error) {
	var c models.Consent
	if err := s.conn(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&c).Error; err != nil {
		return nil, mapErr("get consent", err)
	}
	return &c, nil
}

// SaveConsent creates or replaces a remembered grant.
func (s *Store) SaveConsent(ctx context.Context, c *models.Consent) error {
	now := Now()
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.conn(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}, {Name: "client_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"scopes", "updated_at"}),
	}).Create(c).Error
	return mapErr("save consent", err)
}

// ListConsents returns a user's remembered grants.
func (s *Store) ListConsents(ctx context.Context, userID string) ([]models.Consent, error) {
	var out []models.Consent
	err := s.conn(ctx).Where("user_id = ?", userID).Order("client_id").Find(&out).Error
	return out, mapErr("list consents", err)
}

// DeleteConsent withdraws a grant and revokes the tokens issued under it.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Delete(&models.Consent{})
		if err := affected("delete consent", res); err != nil {
			return err
		}
		return s.RevokeUserClientTokens(ctx, userID, clientID)
	})
}
