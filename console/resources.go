package console

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Resources manages the registry of protected resources (APIs) for
// resource indicators (RFC 8707): each has a unique name and audience,
// the custom scopes a token for it may carry, and its access token format
// (RFC 9068 JWT by default). oidc/clients owns the rules of a resource;
// this service adds that its scopes exist. The store announces every
// change, so each replica's provider reloads the registry.
type Resources struct {
	st    resourceStore
	audit *Audit
	// cache is the provider's copy of the registry on this replica,
	// dropped at once (others hear the store's announcement); nil in the
	// CLI.
	cache ResourceCache
}

// ResourceCache is the provider's copy of the registry (oidc.Provider).
type ResourceCache interface {
	InvalidateResources()
}

// ResourceView is a resource as the console and API show it.
type ResourceView struct {
	clients.ResourceSpec
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewResource(r *models.Resource) ResourceView {
	scopes := slices.Clone([]string(r.Scopes))
	if scopes == nil {
		scopes = []string{}
	}
	return ResourceView{
		ResourceSpec: clients.ResourceSpec{Name: r.Name, Description: r.Description, Audience: r.Audience, Scopes: scopes, AccessTokenFormat: r.AccessTokenFormat},
		CreatedAt:    r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func (s *Resources) invalidate() {
	if s.cache != nil {
		s.cache.InvalidateResources()
	}
}

// List returns every resource, ordered by name.
func (s *Resources) List(ctx context.Context) ([]ResourceView, error) {
	rs, err := s.st.ListResources(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ResourceView, 0, len(rs))
	for i := range rs {
		out = append(out, viewResource(&rs[i]))
	}
	return out, nil
}

// Get returns one resource.
func (s *Resources) Get(ctx context.Context, name string) (*ResourceView, error) {
	r, err := s.st.GetResource(ctx, name)
	if err != nil {
		return nil, err
	}
	v := viewResource(r)
	return &v, nil
}

// Create registers a resource; nothing is written when any rule fails.
func (s *Resources) Create(ctx context.Context, spec clients.ResourceSpec) (*ResourceView, error) {
	if err := s.check(ctx, &spec); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	r := &models.Resource{Name: spec.Name, Description: spec.Description, Audience: spec.Audience,
		Scopes: models.StringList(spec.Scopes), AccessTokenFormat: spec.AccessTokenFormat, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateResource(ctx, r); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return nil, s.taken(ctx, r.Name)
		}
		return nil, err
	}
	s.invalidate()
	v := viewResource(r)
	if err := s.audit.Record(ctx, "resource.create", "resource", r.Name, nil, v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Update replaces a resource's settings; its name is fixed (the API and
// CLI address it by name), so a spec's name must be empty or the same.
func (s *Resources) Update(ctx context.Context, name string, spec clients.ResourceSpec) (*ResourceView, error) {
	before, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if err := s.check(ctx, &spec); err != nil {
		return nil, err
	}
	if spec.Name != name {
		return nil, invalid("name", "a resource cannot be renamed: register a new one")
	}
	r := &models.Resource{Name: name, Description: spec.Description, Audience: spec.Audience,
		Scopes: models.StringList(spec.Scopes), AccessTokenFormat: spec.AccessTokenFormat}
	if err := s.st.UpdateResource(ctx, r); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return nil, errAudienceTaken
		}
		return nil, err
	}
	s.invalidate()
	after, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, "resource.update", "resource", name, before, after); err != nil {
		return nil, err
	}
	return after, nil
}

// Delete removes a resource: requests naming it are refused from then on
// (invalid_target); tokens already issued for it live out their lifetime.
func (s *Resources) Delete(ctx context.Context, name string) error {
	before, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if err := s.st.DeleteResource(ctx, name); err != nil {
		return err
	}
	s.invalidate()
	return s.audit.Record(ctx, "resource.delete", "resource", name, before, nil)
}

// check normalizes and validates spec (oidc/clients' rules), then refuses
// a scope that is not a defined custom scope: no client could register it.
func (s *Resources) check(ctx context.Context, spec *clients.ResourceSpec) error {
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return err
	}
	if len(spec.Scopes) == 0 {
		return nil
	}
	defs, err := s.st.ListCustomScopes(ctx)
	if err != nil {
		return err
	}
	for _, sc := range spec.Scopes {
		if !slices.ContainsFunc(defs, func(d models.CustomScope) bool { return d.Name == sc }) {
			return invalid("scopes", "%q is not a custom scope: define it first (sesame scope create, or the console's Scopes)", sc)
		}
	}
	return nil
}

// taken tells which of name and audience another resource holds.
func (s *Resources) taken(ctx context.Context, name string) error {
	if _, err := s.st.GetResource(ctx, name); err == nil {
		return errResourceTaken
	}
	return errAudienceTaken
}

var (
	errResourceTaken = fieldConflict("name", "another resource has this name")
	errAudienceTaken = fieldConflict("audience", "another resource has this audience")
)
