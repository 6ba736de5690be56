package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// Resource indicators (RFC 8707). A client names the APIs it wants a token
// for with the resource parameter (any number of times) at the
// authorization and token endpoints; each must be the audience of a
// registered resource (models.Resource), else invalid_target. At the
// authorization endpoint (and for client_credentials) the resources become
// the grant's audience, and every requested scope must be an OpenID scope
// or one a requested resource allows (invalid_scope otherwise). At the
// token endpoint, a code exchange or a refresh may narrow the access
// token's audience to some of the granted resources (and its scopes to
// those they allow); the refresh token keeps the whole grant. The
// audience ends in the JWT access token's aud and in introspection's. The
// registry is cached per replica like the custom scopes (dropped by the
// change feed, at most ClientCacheTTL old).

// errInvalidTarget is RFC 8707 §2's error.
var errInvalidTarget = &fosite.RFC6749Error{
	ErrorField:       "invalid_target",
	DescriptionField: "The requested resource is invalid, missing, unknown, or malformed.",
	CodeField:        http.StatusBadRequest,
}

// maxResources bounds the resource parameters of one request.
const maxResources = 10

// openIDScopes pass with any resource: they are about the user, not an
// API.
var openIDScopes = []string{"openid", "profile", "email", "offline_access", ScopeGroups}

// resourceCache is this replica's copy of the registry.
type resourceCache struct {
	mu    sync.Mutex
	at    time.Time
	byAud map[string]models.Resource
}

// InvalidateResources drops this replica's copy of the registry (the
// change feed announced a change, or may have missed one).
func (p *Provider) InvalidateResources() {
	p.resources.mu.Lock()
	p.resources.at = time.Time{}
	p.resources.mu.Unlock()
}

// resourcesByAudience returns the registry keyed by audience, loading it
// when missing or stale; when the store cannot answer, the last copy
// serves (or the error, before any).
func (p *Provider) resourcesByAudience(ctx context.Context) (map[string]models.Resource, error) {
	c := &p.resources
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < p.cfg.ClientCacheTTL {
		return c.byAud, nil
	}
	list, err := p.st.ListResources(ctx)
	if err != nil {
		if c.byAud != nil {
			p.log.WarnContext(ctx, "resources: reload failed; the last copy serves", "err", err)
			return c.byAud, nil
		}
		return nil, err
	}
	m := make(map[string]models.Resource, len(list))
	for _, r := range list {
		m[r.Audience] = r
	}
	c.at, c.byAud = time.Now(), m
	return m, nil
}

// requestedResources resolves the resource parameters of form: none gives
// nil; a malformed or unknown one is invalid_target.
func (p *Provider) requestedResources(ctx context.Context, form url.Values) ([]models.Resource, error) {
	values := form["resource"]
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > maxResources {
		return nil, errInvalidTarget.WithHintf("At most %d resource parameters are accepted.", maxResources)
	}
	for _, v := range values {
		if msg := clients.ResourceURIProblem(v); msg != "" {
			return nil, errInvalidTarget.WithHintf("The resource '%s' %s.", v, msg)
		}
	}
	reg, err := p.resourcesByAudience(ctx)
	if err != nil {
		return nil, fosite.ErrServerError.WithWrap(err)
	}
	out := make([]models.Resource, 0, len(values))
	for _, v := range values {
		r, ok := reg[v]
		if !ok {
			return nil, errInvalidTarget.WithHintf("The resource '%s' is not registered.", v)
		}
		if !slices.ContainsFunc(out, func(x models.Resource) bool { return x.Audience == v }) {
			out = append(out, r)
		}
	}
	return out, nil
}

// scopeAllowed reports whether scope s may go with the resources rs: an
// OpenID scope always, another one when a resource allows it (a resource
// with no scopes listed allows any).
func scopeAllowed(rs []models.Resource, s string) bool {
	if len(rs) == 0 || slices.Contains(openIDScopes, s) {
		return true
	}
	return slices.ContainsFunc(rs, func(r models.Resource) bool { return len(r.Scopes) == 0 || slices.Contains(r.Scopes, s) })
}

// checkResourceScopes refuses a scope the requested resources do not
// allow (RFC 8707 §2: the scope is interpreted for the resources).
func checkResourceScopes(rs []models.Resource, scopes []string) error {
	for _, s := range scopes {
		if !scopeAllowed(rs, s) {
			return fosite.ErrInvalidScope.WithHintf("The scope '%s' is not allowed for the requested resources.", s)
		}
	}
	return nil
}

// resourceAudiences are the audiences of rs.
func resourceAudiences(rs []models.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Audience
	}
	return out
}

// anyJWT reports whether a resource among auds issues JWT access tokens.
func (p *Provider) anyJWT(ctx context.Context, auds []string) (bool, error) {
	if len(auds) == 0 {
		return false, nil
	}
	reg, err := p.resourcesByAudience(ctx)
	if err != nil {
		return false, err
	}
	for _, a := range auds {
		if r, ok := reg[a]; ok && r.AccessTokenFormat != models.TokenFormatOpaque {
			return true, nil
		}
	}
	return false, nil
}

// resourceViews names the resources an interaction's request asks for,
// for the consent page; those that cannot be resolved (deleted since, or
// the registry unreadable) are left out — the resumed request is checked
// again anyway.
func (p *Provider) resourceViews(ctx context.Context, in *models.Interaction) []templates.ScopeView {
	q, err := url.ParseQuery(in.Query)
	if err != nil {
		return nil
	}
	return p.audienceViews(ctx, q["resource"])
}

// audienceViews names the registered resources of auds for the consent
// and device confirmation pages.
func (p *Provider) audienceViews(ctx context.Context, auds []string) []templates.ScopeView {
	if len(auds) == 0 {
		return nil
	}
	reg, err := p.resourcesByAudience(ctx)
	if err != nil {
		return nil
	}
	var out []templates.ScopeView
	for _, a := range auds {
		if r, ok := reg[a]; ok {
			title := r.Description
			if title == "" {
				title = r.Name
			}
			out = append(out, templates.ScopeView{Title: title, Description: r.Audience})
		}
	}
	return out
}

// acceptAudience is fosite's audience matching strategy here: the grant's
// audience is set by this package from resource parameters (never from
// fosite's non-standard audience parameter, refused before fosite reads
// it), so what fosite re-checks on a refresh is already vetted.
func acceptAudience(_, _ []string) error { return nil }
