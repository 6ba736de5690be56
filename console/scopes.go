package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Scopes manages custom scopes: each releases named claims taken from a
// user's attributes or groups, to clients that registered the scope and
// were granted it. oidc/clients owns the rules of a definition (no
// built-in scope name, no registered or standard claim shadowed); this
// service adds those that span scopes and clients: a claim is released by
// one scope only, and a scope some client registers is not deleted from
// under it. The store announces every change, so each replica's provider
// reloads its scopes and its discovery document.
type Scopes struct {
	st    scopeStore
	audit *Audit
	// cache is the provider's copy of the scopes on this replica, dropped
	// at once (others hear the store's announcement); nil in the CLI.
	cache ScopeCache
}

// ScopeCache is the provider's copy of the custom scopes (oidc.Provider).
type ScopeCache interface {
	InvalidateScopes()
}

func (s *Scopes) invalidate() {
	if s.cache != nil {
		s.cache.InvalidateScopes()
	}
}

// ScopeView is a custom scope as the console and API show it, with the
// clients that may ask for it.
type ScopeView struct {
	clients.ScopeSpec
	Clients   []string  `json:"clients"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// List returns every custom scope, ordered by name.
func (s *Scopes) List(ctx context.Context) ([]ScopeView, error) {
	defs, err := s.st.ListCustomScopes(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.scopeClients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ScopeView, 0, len(defs))
	for i := range defs {
		out = append(out, viewScope(&defs[i], users))
	}
	return out, nil
}

// Get returns one custom scope.
func (s *Scopes) Get(ctx context.Context, name string) (*ScopeView, error) {
	d, err := s.st.GetCustomScope(ctx, name)
	if err != nil {
		return nil, err
	}
	users, err := s.scopeClients(ctx)
	if err != nil {
		return nil, err
	}
	v := viewScope(d, users)
	return &v, nil
}

// Create defines a scope; nothing is written when any rule fails.
func (s *Scopes) Create(ctx context.Context, spec clients.ScopeSpec) (*ScopeView, error) {
	if err := s.check(ctx, &spec, ""); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	d := &models.CustomScope{Name: spec.Name, Description: spec.Description, Claims: models.ScopeClaims(spec.Claims), CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateCustomScope(ctx, d); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return nil, errScopeTaken
		}
		return nil, err
	}
	s.invalidate()
	v := viewScope(d, nil)
	if err := s.audit.Record(ctx, "scope.create", "scope", d.Name, nil, v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Update replaces a scope's description and claims; its name is fixed
// (clients and grants name it), so a spec's name must be empty or the same.
func (s *Scopes) Update(ctx context.Context, name string, spec clients.ScopeSpec) (*ScopeView, error) {
	before, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(spec.Name) == "" {
		spec.Name = name
	}
	if err := s.check(ctx, &spec, name); err != nil {
		return nil, err
	}
	if spec.Name != name {
		return nil, invalid("name", "a scope cannot be renamed: define a new one")
	}
	d := &models.CustomScope{Name: name, Description: spec.Description, Claims: models.ScopeClaims(spec.Claims)}
	if err := s.st.UpdateCustomScope(ctx, d); err != nil {
		return nil, err
	}
	s.invalidate()
	after, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, "scope.update", "scope", name, before, after); err != nil {
		return nil, err
	}
	return after, nil
}

// Delete removes a scope no client registers (a client would otherwise
// keep a name that releases nothing and fails its next update).
func (s *Scopes) Delete(ctx context.Context, name string) error {
	before, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if len(before.Clients) > 0 {
		p := problem(http.StatusConflict, "scope-in-use", "The scope is in use",
			"Remove it from the clients that may ask for it first: "+strings.Join(before.Clients, ", ")+".")
		return p
	}
	rs, err := s.st.ListResources(ctx)
	if err != nil {
		return err
	}
	var apis []string
	for _, r := range rs {
		if slices.Contains(r.Scopes, name) {
			apis = append(apis, r.Name)
		}
	}
	if len(apis) > 0 {
		return problem(http.StatusConflict, "scope-in-use", "The scope is in use",
			"Remove it from the resources that allow it first: "+strings.Join(apis, ", ")+".")
	}
	if err := s.st.DeleteCustomScope(ctx, name); err != nil {
		return err
	}
	s.invalidate()
	return s.audit.Record(ctx, "scope.delete", "scope", name, before, nil)
}

// check normalizes and validates spec (oidc/clients' rules), then refuses
// a claim another custom scope already releases: two definitions of one
// claim name would make its value depend on which scopes were granted.
func (s *Scopes) check(ctx context.Context, spec *clients.ScopeSpec, self string) error {
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return err
	}
	defs, err := s.st.ListCustomScopes(ctx)
	if err != nil {
		return err
	}
	for _, d := range defs {
		if d.Name == spec.Name && self == "" {
			return errScopeTaken
		}
		if d.Name == self {
			continue
		}
		for _, c := range spec.Claims {
			if slices.ContainsFunc(d.Claims, func(o models.ScopeClaim) bool { return o.Claim == c.Claim }) {
				return invalid("claims", "claim %q is already released by the scope %q", c.Claim, d.Name)
			}
		}
	}
	return nil
}

// scopeClients maps each scope name to the ids of the clients that
// registered it.
func (s *Scopes) scopeClients(ctx context.Context) (map[string][]string, error) {
	all, err := s.st.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, c := range all {
		for _, sc := range c.Scopes {
			out[sc] = append(out[sc], c.ID)
		}
	}
	return out, nil
}

func viewScope(d *models.CustomScope, users map[string][]string) ScopeView {
	claims := slices.Clone([]models.ScopeClaim(d.Claims))
	if claims == nil {
		claims = []models.ScopeClaim{}
	}
	cl := users[d.Name]
	if cl == nil {
		cl = []string{}
	}
	return ScopeView{
		ScopeSpec: clients.ScopeSpec{Name: d.Name, Description: d.Description, Claims: claims},
		Clients:   cl, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

// errScopeTaken answers a name another scope holds.
var errScopeTaken = fieldConflict("name", "another custom scope has this name")
