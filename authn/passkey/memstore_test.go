package passkey

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// memStore is an in-memory Store with the real store's contract (single
// use ceremonies, conditional counter updates, sentinel errors). Only the
// fuzz targets use it: coverage-guided fuzzing instruments every non-std
// package, and SQLite's (transpiled C) internals change coverage from one
// run to the next, which leaves the fuzzer minimizing noise instead of
// exploring our parser. Everything else runs on the real store.
type memStore struct {
	mu         sync.Mutex
	users      map[string]models.User
	creds      map[string]models.WebAuthnCredential
	ceremonies map[string]models.WebAuthnCeremony
	spent      map[string]bool // login ceremonies' ids (SpendCeremony)
	events     int
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{users: map[string]models.User{}, creds: map[string]models.WebAuthnCredential{}, ceremonies: map[string]models.WebAuthnCeremony{}, spent: map[string]bool{}}
}

func (m *memStore) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return fn(ctx) // single-threaded use only
}

func (m *memStore) CreateUser(_ context.Context, u *models.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u.EmailNormalized = store.NormalizeEmail(u.Email)
	for _, o := range m.users {
		if o.ID == u.ID || o.EmailNormalized == u.EmailNormalized {
			return fmt.Errorf("create user: %w", models.ErrAlreadyExists)
		}
	}
	m.users[u.ID] = *u
	return nil
}

func (m *memStore) GetUser(_ context.Context, id string) (*models.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, fmt.Errorf("get user: %w", models.ErrNotFound)
	}
	return &u, nil
}

func (m *memStore) CreateCredential(_ context.Context, c *models.WebAuthnCredential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.creds[c.ID]; ok {
		return fmt.Errorf("create credential: %w", models.ErrAlreadyExists)
	}
	m.creds[c.ID] = *c
	return nil
}

func (m *memStore) GetCredential(_ context.Context, id string) (*models.WebAuthnCredential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.creds[id]
	if !ok {
		return nil, fmt.Errorf("get credential: %w", models.ErrNotFound)
	}
	return &c, nil
}

func (m *memStore) ListUserCredentials(_ context.Context, userID string) ([]models.WebAuthnCredential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []models.WebAuthnCredential
	for _, c := range m.creds {
		if c.UserID == userID {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) CeremonyWithCredentials(ctx context.Context, c *models.WebAuthnCeremony, credentialID string) (*models.CeremonyRead, error) {
	m.mu.Lock()
	spent := m.spent[c.ID]
	m.mu.Unlock()
	if spent {
		return nil, fmt.Errorf("read ceremony: %w", models.ErrConsumed)
	}
	if err := unspendable(*c, true); err != nil {
		return nil, err
	}
	out := &models.CeremonyRead{Ceremony: c}
	var err error
	out.Owner, out.Credentials, err = m.ListCredentialsWith(ctx, credentialID)
	return out, err
}

func (m *memStore) ListCredentialsWith(ctx context.Context, id string) (*models.User, []models.WebAuthnCredential, error) {
	m.mu.Lock()
	c, ok := m.creds[id]
	m.mu.Unlock()
	if !ok {
		return nil, nil, nil
	}
	owner, err := m.GetUser(ctx, c.UserID)
	if err != nil {
		return nil, nil, err
	}
	list, err := m.ListUserCredentials(ctx, c.UserID)
	return owner, list, err
}

func (m *memStore) RecordCredentialUse(_ context.Context, id string, prev, signCount int64, uv, be, bs bool, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.creds[id]
	if !ok || c.SignCount != prev || c.CloneWarning {
		return fmt.Errorf("record credential use: %w", models.ErrConsumed)
	}
	c.SignCount, c.UserVerified, c.BackupEligible, c.BackupState, c.LastUsedAt = signCount, uv, be, bs, &at
	m.creds[id] = c
	return nil
}

func (m *memStore) FlagCredentialClone(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.creds[id]
	if !ok {
		return fmt.Errorf("flag credential: %w", models.ErrNotFound)
	}
	c.CloneWarning = true
	m.creds[id] = c
	return nil
}

func (m *memStore) CreateCeremony(_ context.Context, c *models.WebAuthnCeremony) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ceremonies[c.ID] = *c
	return nil
}

func (m *memStore) ConsumeCeremony(_ context.Context, id string) (*models.WebAuthnCeremony, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.ceremonies[id]
	if err := unspendable(c, ok); err != nil {
		return nil, err
	}
	now := time.Now()
	c.ConsumedAt = &now
	delete(m.ceremonies, id) // spent; keeps the map small while fuzzing
	return &c, nil
}

func (m *memStore) SpendCeremony(_ context.Context, c *models.WebAuthnCeremony) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spent[c.ID] {
		return fmt.Errorf("spend ceremony: %w", models.ErrConsumed)
	}
	if err := unspendable(*c, true); err != nil {
		return err
	}
	m.spent[c.ID] = true
	return nil
}

func (m *memStore) RecordAuthEvent(context.Context, *models.AuthEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events++
	return nil
}

// unspendable is the store's answer for a ceremony (found: ok) that cannot
// be spent: not found, spent, expired; nil when it can.
func unspendable(c models.WebAuthnCeremony, ok bool) error {
	switch {
	case !ok:
		return fmt.Errorf("consume ceremony: %w", models.ErrNotFound)
	case c.ConsumedAt != nil:
		return fmt.Errorf("consume ceremony: %w", models.ErrConsumed)
	case !c.ExpiresAt.After(time.Now()):
		return fmt.Errorf("consume ceremony: %w", models.ErrExpired)
	}
	return nil
}
