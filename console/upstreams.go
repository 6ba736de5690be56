package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/models"
)

// Upstreams manages the upstream identity providers people may sign in
// through (authn/upstream). Client secrets are sealed with a key derived
// from the system secret and never shown again.
type Upstreams struct {
	st    upstreamStore
	audit *Audit
	box   *upstream.Box
	// forget drops a provider's cached discovery on this replica (nil in
	// the CLI; other replicas refetch within minutes).
	forget func(id string)
}

// upstreamStore backs Upstreams.
type upstreamStore interface {
	ListUpstreamProviders(ctx context.Context) ([]models.UpstreamProvider, error)
	GetUpstreamProvider(ctx context.Context, id string) (*models.UpstreamProvider, error)
	CreateUpstreamProvider(ctx context.Context, p *models.UpstreamProvider) error
	UpdateUpstreamProvider(ctx context.Context, p *models.UpstreamProvider) error
	DeleteUpstreamProvider(ctx context.Context, id string) error
}

// SetUpstreamBox gives the service the system secret's box and, on a
// server, the method's cache to drop after a change.
func (s *Upstreams) SetUpstreamBox(box *upstream.Box, forget func(id string)) {
	s.box, s.forget = box, forget
}

// UpstreamView is a provider as the console and API show it: the spec
// without the secret, and whether one is stored.
type UpstreamView struct {
	upstream.Spec
	HasSecret bool      `json:"has_client_secret"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewUpstream(p *models.UpstreamProvider) UpstreamView {
	return UpstreamView{Spec: upstream.SpecOf(p), HasSecret: p.ClientSecretSealed != "", CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

var (
	errUpstreamTaken = problem(http.StatusConflict, "upstream-exists", "A provider with this id exists",
		"Choose another id, or update the existing provider.")
	errNoSystemSecret = problem(http.StatusServiceUnavailable, "no-system-secret", "No system secret",
		"Configure the system secret: provider client secrets are sealed with it.")
)

func upstreamInvalid(errs []upstream.FieldError) *Problem {
	p := problem(http.StatusUnprocessableEntity, "invalid", "Invalid request", "")
	for _, e := range errs {
		p.Errors = append(p.Errors, FieldError{Field: e.Field, Message: e.Message, Format: e.Format, Args: e.Args})
	}
	return p
}

// List returns every provider by name.
func (s *Upstreams) List(ctx context.Context) ([]UpstreamView, error) {
	ps, err := s.st.ListUpstreamProviders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UpstreamView, 0, len(ps))
	for i := range ps {
		out = append(out, viewUpstream(&ps[i]))
	}
	return out, nil
}

// Get returns one provider.
func (s *Upstreams) Get(ctx context.Context, id string) (*UpstreamView, error) {
	p, err := s.st.GetUpstreamProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	v := viewUpstream(p)
	return &v, nil
}

// Create adds a provider (a preset fills what the spec leaves empty);
// nothing is written when any rule fails.
func (s *Upstreams) Create(ctx context.Context, spec upstream.Spec) (*UpstreamView, error) {
	if err := spec.ApplyPreset(); err != nil {
		return nil, invalid("preset", "%s", err.Error())
	}
	spec.Normalize()
	if errs := spec.Validate(true); len(errs) > 0 {
		return nil, upstreamInvalid(errs)
	}
	if s.box == nil {
		return nil, errNoSystemSecret
	}
	p := spec.Provider(s.box, "")
	if err := s.st.CreateUpstreamProvider(ctx, p); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return nil, errUpstreamTaken
		}
		return nil, err
	}
	v := viewUpstream(p)
	if err := s.audit.Record(ctx, "upstream.create", "upstream", p.ID, nil, v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Update replaces a provider's settings; its id is fixed (linked
// identities name it) and an empty client secret keeps the stored one.
func (s *Upstreams) Update(ctx context.Context, id string, spec upstream.Spec) (*UpstreamView, error) {
	cur, err := s.st.GetUpstreamProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	if spec.ID == "" {
		spec.ID = id
	}
	spec.Normalize()
	if spec.ID != id {
		return nil, invalid("id", "a provider cannot be renamed: its linked identities name it")
	}
	if errs := spec.Validate(false); len(errs) > 0 {
		return nil, upstreamInvalid(errs)
	}
	if spec.ClientSecret != "" && s.box == nil {
		return nil, errNoSystemSecret
	}
	p := spec.Provider(s.box, cur.ClientSecretSealed)
	if err := s.st.UpdateUpstreamProvider(ctx, p); err != nil {
		return nil, err
	}
	if s.forget != nil {
		s.forget(id)
	}
	after, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, "upstream.update", "upstream", id, viewUpstream(cur), after); err != nil {
		return nil, err
	}
	return after, nil
}

// Delete removes a provider and unlinks every identity of it.
func (s *Upstreams) Delete(ctx context.Context, id string) error {
	cur, err := s.st.GetUpstreamProvider(ctx, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteUpstreamProvider(ctx, id); err != nil {
		return err
	}
	if s.forget != nil {
		s.forget(id)
	}
	return s.audit.Record(ctx, "upstream.delete", "upstream", id, viewUpstream(cur), nil)
}
