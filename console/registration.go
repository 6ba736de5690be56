package console

import (
	"context"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Registration is the admin side of dynamic client registration
// (oidc/clients.Registrar owns the rules): initial access tokens that
// admins mint, list and revoke for the protected mode. The mode and its
// limits are part of the global policy (Policies). Every change is
// audited; revoking asks for a fresh step-up like other destructive
// actions.
type Registration struct {
	reg   *clients.Registrar
	st    stepUpStore
	audit *Audit
}

// Initial access token states (InitialTokenView.State).
const (
	TokenActive  = "active"
	TokenExpired = "expired"
	TokenUsedUp  = "used_up"
	TokenRevoked = "revoked"
)

// InitialTokenView is an initial access token as the console and the API
// show it: never its value or hash.
type InitialTokenView struct {
	ID        string `json:"id"`
	Label     string `json:"label"`
	CreatedBy string `json:"created_by"`
	MaxUses   int    `json:"max_uses"`
	Uses      int    `json:"uses"`
	// UsesLeft is what it may still register (0 once it is not active).
	UsesLeft   int        `json:"uses_left"`
	State      string     `json:"state"`
	ExpiresAt  time.Time  `json:"expires_at"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// InitialTokenCreated is a minted token with its value, in the one answer
// that shows it.
type InitialTokenCreated struct {
	InitialTokenView
	Token string `json:"token"`
}

// InitialTokenSpec is what an admin sends to mint a token.
type InitialTokenSpec struct {
	Label string `json:"label"`
	// ExpiresIn is its lifetime in seconds (60 to 31536000).
	ExpiresIn int64 `json:"expires_in"`
	// MaxUses is how many registrations it allows (1 to 10000).
	MaxUses int `json:"max_uses"`
}

// viewInitialToken builds the view of t at now.
func viewInitialToken(t *models.InitialAccessToken, now time.Time) InitialTokenView {
	v := InitialTokenView{ID: t.ID, Label: t.Label, CreatedBy: t.CreatedBy, MaxUses: t.MaxUses, Uses: t.Uses,
		State: strings.ReplaceAll(t.State(now), " ", "_"), ExpiresAt: t.ExpiresAt.UTC(), CreatedAt: t.CreatedAt.UTC(),
		RevokedAt: utcPtr(t.RevokedAt), LastUsedAt: utcPtr(t.LastUsedAt)}
	if v.State == TokenActive {
		v.UsesLeft = t.MaxUses - t.Uses
	}
	return v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Mint creates an initial access token; its value is in the answer only.
func (s *Registration) Mint(ctx context.Context, spec InitialTokenSpec) (*InitialTokenCreated, error) {
	ttl := time.Duration(spec.ExpiresIn) * time.Second
	if spec.ExpiresIn <= 0 || spec.ExpiresIn > int64(clients.MaxInitialTokenTTL/time.Second) {
		ttl = 0 // out of range: Validate names it
	}
	t, plain, err := s.reg.MintInitialToken(ctx, clients.InitialTokenSpec{Label: spec.Label, TTL: ttl, MaxUses: spec.MaxUses}, ActorFrom(ctx).Label)
	if err != nil {
		return nil, err
	}
	v := viewInitialToken(t, s.reg.Now())
	if err := s.audit.Record(ctx, "initial_token.create", "initial_access_token", t.ID, nil, v); err != nil {
		return nil, err
	}
	return &InitialTokenCreated{InitialTokenView: v, Token: plain}, nil
}

// List returns every initial access token, newest first (spent ones
// until the janitor deletes them, store.InitialTokenRetention).
func (s *Registration) List(ctx context.Context) ([]InitialTokenView, error) {
	ts, err := s.reg.InitialTokens(ctx)
	if err != nil {
		return nil, err
	}
	now := s.reg.Now()
	out := make([]InitialTokenView, 0, len(ts))
	for i := range ts {
		out = append(out, viewInitialToken(&ts[i], now))
	}
	return out, nil
}

// Get returns one initial access token.
func (s *Registration) Get(ctx context.Context, id string) (*InitialTokenView, error) {
	t, err := s.reg.InitialToken(ctx, id)
	if err != nil {
		return nil, err
	}
	v := viewInitialToken(t, s.reg.Now())
	return &v, nil
}

// Revoke stops an initial access token at once (the clients it registered
// stay). A console admin needs a fresh step-up; revoking a revoked token
// changes nothing and is not audited again.
func (s *Registration) Revoke(ctx context.Context, id string) (*InitialTokenView, error) {
	before, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return nil, err
	}
	t, err := s.reg.RevokeInitialToken(ctx, id)
	if err != nil {
		return nil, err
	}
	after := viewInitialToken(t, s.reg.Now())
	if before.State == TokenRevoked {
		return &after, nil
	}
	if err := s.audit.Record(ctx, "initial_token.revoke", "initial_access_token", id, before, after); err != nil {
		return nil, err
	}
	return &after, nil
}
