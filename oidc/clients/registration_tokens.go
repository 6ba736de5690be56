package clients

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
)

// Bounds of an initial access token an admin mints.
const (
	MaxInitialTokenTTL  = 365 * 24 * time.Hour
	MinInitialTokenTTL  = time.Minute
	MaxInitialTokenUses = 10000
	maxTokenLabelLen    = 200
)

// InitialTokenSpec is what an admin sets on an initial access token.
type InitialTokenSpec struct {
	// Label says what it is for; required.
	Label string `json:"label"`
	// TTL is how long it lives (1 minute to 365 days).
	TTL time.Duration `json:"-"`
	// MaxUses is how many registrations it allows (1 to 10000).
	MaxUses int `json:"max_uses"`
}

// Validate reports every problem of s at once.
func (s InitialTokenSpec) Validate() error {
	var errs []error
	switch n := utf8.RuneCountInString(strings.TrimSpace(s.Label)); {
	case n == 0:
		errs = append(errs, invalid("label", "required"))
	case n > maxTokenLabelLen:
		errs = append(errs, invalid("label", "at most %d characters", maxTokenLabelLen))
	case strings.IndexFunc(s.Label, unicode.IsControl) >= 0:
		errs = append(errs, invalid("label", "must not contain control characters"))
	}
	if s.TTL < MinInitialTokenTTL || s.TTL > MaxInitialTokenTTL {
		errs = append(errs, invalid("expires_in", "must be between 1m and %s", "8760h (365 days)"))
	}
	if s.MaxUses < 1 || s.MaxUses > MaxInitialTokenUses {
		errs = append(errs, invalid("max_uses", "must be between 1 and %d", MaxInitialTokenUses))
	}
	return joinErrs(errs)
}

// MintInitialToken creates an initial access token for createdBy (an
// audit label) and returns it with its value, which is stored only as an
// HMAC and must be shown to the admin once.
func (r *Registrar) MintInitialToken(ctx context.Context, s InitialTokenSpec, createdBy string) (*models.InitialAccessToken, string, error) {
	s.Label = strings.TrimSpace(s.Label)
	if err := s.Validate(); err != nil {
		return nil, "", err
	}
	if r.secrets == nil {
		return nil, "", ErrNoSecretKey
	}
	plain, err := randomString(secretBytes)
	if err != nil {
		return nil, "", fmt.Errorf("mint initial access token: %w", err)
	}
	now := r.now().UTC()
	t := &models.InitialAccessToken{ID: uuid.NewString(), TokenHash: r.secrets.Hash(plain), Label: s.Label,
		CreatedBy: trunc(createdBy, 320), MaxUses: s.MaxUses, ExpiresAt: now.Add(s.TTL), CreatedAt: now}
	if err := r.st.CreateInitialAccessToken(ctx, t); err != nil {
		return nil, "", err
	}
	return t, plain, nil
}

// InitialTokens lists every initial access token, newest first.
func (r *Registrar) InitialTokens(ctx context.Context) ([]models.InitialAccessToken, error) {
	return r.st.ListInitialAccessTokens(ctx)
}

// InitialToken returns one initial access token.
func (r *Registrar) InitialToken(ctx context.Context, id string) (*models.InitialAccessToken, error) {
	return r.st.GetInitialAccessToken(ctx, id)
}

// RevokeInitialToken stops an initial access token at once; the clients
// it registered stay.
func (r *Registrar) RevokeInitialToken(ctx context.Context, id string) (*models.InitialAccessToken, error) {
	if err := r.st.RevokeInitialAccessToken(ctx, id, r.now()); err != nil {
		return nil, err
	}
	return r.st.GetInitialAccessToken(ctx, id)
}

// Now is the registrar's clock.
func (r *Registrar) Now() time.Time { return r.now() }
