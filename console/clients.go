package console

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// ClientCache is the provider's client cache (oidc.Provider); nil in the
// CLI, where other processes' caches expire by TTL.
type ClientCache interface {
	InvalidateClient(id string)
}

// Clients manages OAuth clients through oidc/clients (which owns the
// rules), then drops the provider's cached copy and audits the change.
type Clients struct {
	svc      *clients.Service
	st       stepUpStore
	cache    ClientCache
	audit    *Audit
	policies *Policies
	activity clientActivityStore
}

// ClientView is a client as the console and API show it: the settable
// fields plus metadata; never the secret or its hash.
type ClientView struct {
	ID string `json:"client_id"`
	clients.Spec
	HasSecret bool `json:"has_secret"`
	// Dynamic: the app registered itself (RFC 7591, /oauth2/register);
	// InitialAccessTokenID names the initial access token it presented
	// ("" in open mode and for admin-made clients).
	Dynamic              bool      `json:"dynamic"`
	InitialAccessTokenID string    `json:"initial_access_token_id,omitempty"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
	// The list's activity columns (List only): the last successful
	// sign-in within ActivityWindow and the distinct users who signed in
	// then; absent elsewhere.
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	ActiveUsers *int64     `json:"active_users,omitempty"`
}

// ActivityWindow is how far back the clients list looks for last use and
// active users.
const ActivityWindow = 30 * 24 * time.Hour

// clientActivityStore backs the clients list's activity columns.
type clientActivityStore interface {
	ClientsActivity(ctx context.Context, from time.Time) (map[string]store.ClientActivity, error)
}

// ViewClient builds the view of c.
func ViewClient(c *models.Client) ClientView {
	return ClientView{ID: c.ID, Spec: clients.ToSpec(c), HasSecret: c.SecretHash != "", Dynamic: c.Dynamic,
		InitialAccessTokenID: c.InitialAccessTokenID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Who registered a client: the values of ClientQuery.Registered.
const (
	// RegisteredDynamic: the app registered itself (RFC 7591,
	// /oauth2/register).
	RegisteredDynamic = "dynamic"
	// RegisteredAdmin: an admin created it (console, admin API, CLI).
	RegisteredAdmin = "admin"
)

// RegisteredBy are the values of ClientQuery.Registered besides "".
var RegisteredBy = []string{RegisteredDynamic, RegisteredAdmin}

// ClientQuery selects clients for List.
type ClientQuery struct {
	// Query matches the name or id, case-insensitively; "" matches all.
	Query string
	// Registered keeps only the clients RegisteredDynamic or
	// RegisteredAdmin; "" keeps both.
	Registered string
}

// matches reports whether c is one of the clients q selects; query is
// q.Query, trimmed and lower-cased.
func (q ClientQuery) matches(c *models.Client, query string) bool {
	if query != "" && !strings.Contains(strings.ToLower(c.Name), query) && !strings.Contains(strings.ToLower(c.ID), query) {
		return false
	}
	switch q.Registered {
	case RegisteredDynamic:
		return c.Dynamic
	case RegisteredAdmin:
		return !c.Dynamic
	}
	return true
}

// List returns the clients q selects, ordered by name, and whether more
// follow. Clients are few; the whole list is read and paged in memory.
func (s *Clients) List(ctx context.Context, q ClientQuery, offset, limit int) ([]ClientView, bool, error) {
	if len(q.Query) > MaxQueryLen {
		return nil, false, invalid("q", "at most %d characters", MaxQueryLen)
	}
	if q.Registered != "" && !slices.Contains(RegisteredBy, q.Registered) {
		return nil, false, invalid("registered", "%q is not one of %v", q.Registered, RegisteredBy)
	}
	if offset < 0 || offset > MaxOffset {
		return nil, false, invalid("offset", "between 0 and %d", MaxOffset)
	}
	limit = ClampLimit(limit)
	all, err := s.svc.List(ctx)
	if err != nil {
		return nil, false, err
	}
	query := strings.ToLower(strings.TrimSpace(q.Query))
	act, err := s.activity.ClientsActivity(ctx, clock.Now().Add(-ActivityWindow))
	if err != nil {
		return nil, false, err
	}
	out := []ClientView{}
	for i := range all {
		c := &all[i]
		if !q.matches(c, query) {
			continue
		}
		v := ViewClient(c)
		a := act[c.ID]
		v.ActiveUsers = &a.ActiveUsers
		if !a.LastUsed.IsZero() {
			v.LastUsedAt = &a.LastUsed
		}
		out = append(out, v)
	}
	if offset >= len(out) {
		return []ClientView{}, false, nil
	}
	out = out[offset:]
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// Get returns one client.
func (s *Clients) Get(ctx context.Context, id string) (*ClientView, error) {
	c, err := s.svc.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	v := ViewClient(c)
	return &v, nil
}

// Create registers a client; the plain secret (confidential clients) is
// returned once and appears nowhere else.
func (s *Clients) Create(ctx context.Context, spec clients.Spec) (*ClientView, string, error) {
	if len(spec.AllowedLoginMethods) == 0 && s.policies != nil {
		p, err := s.policies.Current(ctx)
		if err != nil {
			return nil, "", err
		}
		spec.AllowedLoginMethods = slices.Clone(p.DefaultLoginMethods)
	}
	c, secret, err := s.svc.Create(ctx, spec)
	if err != nil {
		return nil, "", err
	}
	s.invalidate(c.ID) // the provider's union of web origins (CORS)
	v := ViewClient(c)
	if err := s.audit.Record(ctx, "client.create", "client", c.ID, nil, v); err != nil {
		return nil, "", err
	}
	return &v, secret, nil
}

// Update replaces a client's settings; with rotate it also issues a new
// secret (returned once).
func (s *Clients) Update(ctx context.Context, id string, spec clients.Spec, rotate bool) (*ClientView, string, error) {
	before, err := s.svc.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	bv := ViewClient(before)
	var (
		c      *models.Client
		secret string
	)
	if rotate {
		c, secret, err = s.svc.UpdateAndRotateSecret(ctx, id, spec)
	} else {
		c, err = s.svc.Update(ctx, id, spec)
	}
	if err != nil {
		return nil, "", err
	}
	s.invalidate(id)
	v := ViewClient(c)
	action := "client.update"
	if rotate {
		action = "client.update_rotate_secret"
	}
	if err := s.audit.Record(ctx, action, "client", id, bv, v); err != nil {
		return nil, "", err
	}
	return &v, secret, nil
}

// SetDisabled disables or enables a client. A disabled client is refused
// at once on this replica (others as soon as the store's change feed
// reaches them; the client cache's TTL is only the safety net) at the authorization and token endpoints, and its existing tokens stop
// working.
func (s *Clients) SetDisabled(ctx context.Context, id string, disabled bool) (*ClientView, error) {
	before, err := s.svc.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	bv := ViewClient(before)
	spec := clients.ToSpec(before)
	spec.Disabled = disabled
	c, err := s.svc.Update(ctx, id, spec)
	if err != nil {
		return nil, err
	}
	s.invalidate(id)
	v := ViewClient(c)
	action := "client.enable"
	if disabled {
		action = "client.disable"
	}
	if err := s.audit.Record(ctx, action, "client", id, bv, v); err != nil {
		return nil, err
	}
	return &v, nil
}

// RotateSecret issues a new secret at once; the old one stops working.
func (s *Clients) RotateSecret(ctx context.Context, id string) (string, error) {
	secret, err := s.svc.RotateSecret(ctx, id)
	if err != nil {
		return "", err
	}
	s.invalidate(id)
	// The secret itself never enters the log: only that it was replaced.
	if err := s.audit.Record(ctx, "client.rotate_secret", "client", id, secretState{Secret: "old"}, secretState{Secret: "replaced"}); err != nil {
		return "", err
	}
	return secret, nil
}

// Delete removes a client and everything issued to it.
func (s *Clients) Delete(ctx context.Context, id string) error {
	before, err := s.svc.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return err
	}
	if err := s.svc.Delete(ctx, id); err != nil {
		return err
	}
	s.invalidate(id)
	return s.audit.Record(ctx, "client.delete", "client", id, ViewClient(before), nil)
}

func (s *Clients) invalidate(id string) {
	if s.cache != nil {
		s.cache.InvalidateClient(id)
	}
}

// HasAdminScope reports whether the stored client may still use the admin
// API: it exists and is still registered with the sesame:admin scope.
func (s *Clients) HasAdminScope(ctx context.Context, id string) (*models.Client, bool, error) {
	c, err := s.svc.Get(ctx, id)
	if err != nil {
		return nil, false, err
	}
	return c, slices.Contains(c.Scopes, clients.ScopeAdmin), nil
}

// secretState is a secret's change as the audit log shows it, never the
// secret or its hash.
type secretState struct {
	Secret string `json:"secret"`
}
