package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// Upstream identity providers (authn/upstream), the identities linked to
// accounts and the state of each redirect to an upstream.

// CreateUpstreamProvider inserts a provider; an existing id is
// ErrAlreadyExists.
func (s *Store) CreateUpstreamProvider(ctx context.Context, p *models.UpstreamProvider) error {
	now := dbTime(Now())
	p.CreatedAt, p.UpdatedAt = now, now
	return mapErr("create upstream provider", s.conn(ctx).Create(p).Error)
}

// UpdateUpstreamProvider replaces a provider's settings (not its id or
// creation time); an unknown id is ErrNotFound.
func (s *Store) UpdateUpstreamProvider(ctx context.Context, p *models.UpstreamProvider) error {
	p.UpdatedAt = dbTime(Now())
	res := s.conn(ctx).Model(&models.UpstreamProvider{}).Where("id = ?", p.ID).Select("*").Omit("id", "created_at").Updates(p)
	if res.Error != nil {
		return mapErr("update upstream provider", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update upstream provider: %w", models.ErrNotFound)
	}
	return nil
}

// GetUpstreamProvider loads a provider by id.
func (s *Store) GetUpstreamProvider(ctx context.Context, id string) (*models.UpstreamProvider, error) {
	var p models.UpstreamProvider
	if err := s.conn(ctx).Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, mapErr("get upstream provider", err)
	}
	return &p, nil
}

// ListUpstreamProviders returns every provider by name (a handful).
func (s *Store) ListUpstreamProviders(ctx context.Context) ([]models.UpstreamProvider, error) {
	var ps []models.UpstreamProvider
	err := s.conn(ctx).Order("name, id").Find(&ps).Error
	return ps, mapErr("list upstream providers", err)
}

// DeleteUpstreamProvider removes a provider, its linked identities and
// its flows (the foreign keys cascade); unknown is ErrNotFound.
func (s *Store) DeleteUpstreamProvider(ctx context.Context, id string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		db := s.conn(ctx)
		// Explicit, so SQLite without foreign keys enforced behaves the same.
		if err := db.Where("provider_id = ?", id).Delete(&models.UpstreamIdentity{}).Error; err != nil {
			return mapErr("delete upstream identities", err)
		}
		if err := db.Where("provider_id = ?", id).Delete(&models.UpstreamFlow{}).Error; err != nil {
			return mapErr("delete upstream flows", err)
		}
		res := db.Where("id = ?", id).Delete(&models.UpstreamProvider{})
		if res.Error != nil {
			return mapErr("delete upstream provider", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("delete upstream provider: %w", models.ErrNotFound)
		}
		return nil
	})
}

// CreateUpstreamFlow inserts the state of a redirect to an upstream.
func (s *Store) CreateUpstreamFlow(ctx context.Context, f *models.UpstreamFlow) error {
	f.CreatedAt, f.ExpiresAt = dbTime(f.CreatedAt), dbTime(f.ExpiresAt)
	if f.Stage == "" {
		f.Stage = models.UpstreamRedirected
	}
	return mapErr("create upstream flow", s.conn(ctx).Create(f).Error)
}

// ConsumeUpstreamFlow ends the redirected flow whose state hashes to
// stateHash and returns it. It is one conditional update: of any number of
// callbacks with the same state (a replayed or raced callback) exactly one
// wins; the others get ErrConsumed. Unknown is ErrNotFound, expired
// ErrExpired.
func (s *Store) ConsumeUpstreamFlow(ctx context.Context, stateHash string, now time.Time) (*models.UpstreamFlow, error) {
	now = dbTime(now)
	res := s.conn(ctx).Model(&models.UpstreamFlow{}).
		Where("state_hash = ? AND used_at IS NULL AND stage = ? AND expires_at > ?", stateHash, models.UpstreamRedirected, now).
		Update("used_at", now)
	if res.Error != nil {
		return nil, mapErr("consume upstream flow", res.Error)
	}
	var f models.UpstreamFlow
	if err := s.conn(ctx).Where("state_hash = ?", stateHash).Take(&f).Error; err != nil {
		return nil, mapErr("consume upstream flow", err)
	}
	switch {
	case res.RowsAffected == 1:
		return &f, nil
	case !f.ExpiresAt.After(now):
		return nil, fmt.Errorf("consume upstream flow: %w", models.ErrExpired)
	default:
		return nil, fmt.Errorf("consume upstream flow: %w", models.ErrConsumed)
	}
}

// NameUpstreamFlow keeps name on the flow whose state hashes to
// stateHash, if it is one of providerIDs', still waits for its callback
// and has no name yet (one conditional update); it reports whether it
// did.
func (s *Store) NameUpstreamFlow(ctx context.Context, stateHash string, providerIDs []string, name string, now time.Time) (bool, error) {
	res := s.conn(ctx).Model(&models.UpstreamFlow{}).
		Where("state_hash = ? AND provider_id IN ? AND used_at IS NULL AND stage = ? AND expires_at > ? AND name = ''",
			stateHash, providerIDs, models.UpstreamRedirected, dbTime(now)).
		Update("name", name)
	if res.Error != nil {
		return false, mapErr("name upstream flow", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// HoldUpstreamLink turns a consumed flow into a link waiting for the
// person to prove userID's account: the upstream's subject and verified
// address are kept on it until then (or until it expires at until).
func (s *Store) HoldUpstreamLink(ctx context.Context, id, subject, email, name, userID string, until time.Time) error {
	res := s.conn(ctx).Model(&models.UpstreamFlow{}).Where("id = ? AND stage = ?", id, models.UpstreamRedirected).
		Updates(map[string]any{"stage": models.UpstreamLinkPending, "subject": subject, "email": email, "name": name,
			"link_user_id": userID, "expires_at": dbTime(until)})
	if res.Error != nil {
		return mapErr("hold upstream link", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("hold upstream link: %w", models.ErrNotFound)
	}
	return nil
}

// GetUpstreamFlow loads a flow by id, whatever its state.
func (s *Store) GetUpstreamFlow(ctx context.Context, id string) (*models.UpstreamFlow, error) {
	var f models.UpstreamFlow
	if err := s.conn(ctx).Where("id = ?", id).Take(&f).Error; err != nil {
		return nil, mapErr("get upstream flow", err)
	}
	return &f, nil
}

// FinishUpstreamLink ends a pending link once: the flow is deleted by a
// conditional delete, so a second proof finds nothing (ErrConsumed); an
// expired one is ErrExpired.
func (s *Store) FinishUpstreamLink(ctx context.Context, id string, now time.Time) (*models.UpstreamFlow, error) {
	f, err := s.GetUpstreamFlow(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.Stage != models.UpstreamLinkPending {
		return nil, fmt.Errorf("finish upstream link: %w", models.ErrConsumed)
	}
	if !f.ExpiresAt.After(dbTime(now)) {
		return nil, fmt.Errorf("finish upstream link: %w", models.ErrExpired)
	}
	res := s.conn(ctx).Where("id = ? AND stage = ?", id, models.UpstreamLinkPending).Delete(&models.UpstreamFlow{})
	if res.Error != nil {
		return nil, mapErr("finish upstream link", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, fmt.Errorf("finish upstream link: %w", models.ErrConsumed)
	}
	return f, nil
}

// GetUpstreamIdentity loads the identity (provider, subject) links.
func (s *Store) GetUpstreamIdentity(ctx context.Context, providerID, subject string) (*models.UpstreamIdentity, error) {
	var i models.UpstreamIdentity
	if err := s.conn(ctx).Where("provider_id = ? AND subject = ?", providerID, subject).Take(&i).Error; err != nil {
		return nil, mapErr("get upstream identity", err)
	}
	return &i, nil
}

// CreateUpstreamIdentity links an identity; (provider, subject) already
// linked (to anyone) is ErrAlreadyExists.
func (s *Store) CreateUpstreamIdentity(ctx context.Context, i *models.UpstreamIdentity) error {
	i.CreatedAt = dbTime(i.CreatedAt)
	if i.CreatedAt.IsZero() {
		i.CreatedAt = dbTime(Now())
	}
	return mapErr("create upstream identity", s.conn(ctx).Create(i).Error)
}

// TouchUpstreamIdentity records a sign-in with the identity.
func (s *Store) TouchUpstreamIdentity(ctx context.Context, id string, at time.Time) error {
	return mapErr("touch upstream identity", s.conn(ctx).Model(&models.UpstreamIdentity{}).Where("id = ?", id).
		Update("last_used_at", dbTime(at)).Error)
}

// ListUserUpstreamIdentities returns the identities linked to userID,
// oldest first.
func (s *Store) ListUserUpstreamIdentities(ctx context.Context, userID string) ([]models.UpstreamIdentity, error) {
	var is []models.UpstreamIdentity
	err := s.conn(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&is).Error
	return is, mapErr("list upstream identities", err)
}

// DeleteUpstreamIdentity unlinks one of userID's identities; another
// user's (or an unknown) id is ErrNotFound.
func (s *Store) DeleteUpstreamIdentity(ctx context.Context, userID, id string) error {
	res := s.conn(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&models.UpstreamIdentity{})
	if res.Error != nil {
		return mapErr("delete upstream identity", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete upstream identity: %w", models.ErrNotFound)
	}
	return nil
}

// PendingUpstreamLink returns the newest link waiting for userID's proof in
// the browser whose binding hash is browser; none is ErrNotFound. It is
// asked at the end of a passkey or emailed-link sign-in: one indexed read.
func (s *Store) PendingUpstreamLink(ctx context.Context, userID, browser string, now time.Time) (*models.UpstreamFlow, error) {
	var f models.UpstreamFlow
	err := s.conn(ctx).Where("link_user_id = ? AND stage = ? AND browser_hash = ? AND expires_at > ?",
		userID, models.UpstreamLinkPending, browser, dbTime(now)).Order("created_at DESC").Take(&f).Error
	if err != nil {
		return nil, mapErr("pending upstream link", err)
	}
	return &f, nil
}
