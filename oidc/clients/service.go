package clients

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
)

// Store is the part of models/store the service uses.
type Store interface {
	CreateClient(ctx context.Context, c *models.Client) error
	GetClient(ctx context.Context, id string) (*models.Client, error)
	ListClients(ctx context.Context) ([]models.Client, error)
	UpdateClient(ctx context.Context, c *models.Client) error
	DeleteClient(ctx context.Context, id string) error
	// MissingGroups returns those of names that name no group.
	MissingGroups(ctx context.Context, names []string) ([]string, error)
	ListCustomScopes(ctx context.Context) ([]models.CustomScope, error)
	// ListResources: a token exchange target must be registered.
	ListResources(ctx context.Context) ([]models.Resource, error)
	// WithTx runs fn in one transaction (a registration's other writes
	// go with the client's, registration.go).
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// writeHook runs in the transaction that stores a client, just before
// the client's row is written: it may change c and write rows of its own.
type writeHook func(ctx context.Context, c *models.Client) error

// Service registers and manages clients.
type Service struct {
	st      Store
	secrets *Secrets
	// outbound fetches sector_identifier_uri documents (pairwise.go).
	outbound *http.Client
	// pairwiseOn reports whether a client may become pairwise now (the
	// live policy's pairwise_subjects); nil: always.
	pairwiseOn func(ctx context.Context) (bool, error)
}

// Option configures a Service.
type Option func(*Service)

// WithOutbound makes the service fetch others' URLs (a pairwise client's
// sector_identifier_uri) with hc, which should be the server's guarded
// outbound client (internal/httpx); the default is that client with no
// internal network allowed.
func WithOutbound(hc *http.Client) Option { return func(s *Service) { s.outbound = hc } }

// WithPairwiseSwitch makes the service refuse to make a client pairwise
// while on reports false (the live policy's pairwise_subjects). A client
// already pairwise stays so through updates: its users' subjects never
// change under it.
func WithPairwiseSwitch(on func(ctx context.Context) (bool, error)) Option {
	return func(s *Service) { s.pairwiseOn = on }
}

// NewService returns a Service over st that stores new secrets in the form
// secrets makes; with nil secrets it manages clients but cannot make a
// secret (ErrNoSecretKey).
func NewService(st Store, secrets *Secrets, opts ...Option) *Service {
	s := &Service{st: st, secrets: secrets}
	for _, o := range opts {
		o(s)
	}
	if s.outbound == nil {
		s.outbound = httpx.OutboundClient(httpx.OutboundOptions{})
	}
	return s
}

const (
	idBytes     = 16 // 128-bit client ids
	secretBytes = 32 // 256-bit client secrets
)

// Create registers a client. It returns the stored client and, for
// client_secret_basic and client_secret_post, the plain secret, which is
// not kept anywhere and must be shown to the caller once; otherwise "".
func (s *Service) Create(ctx context.Context, spec Spec) (*models.Client, string, error) {
	return s.create(ctx, spec, nil)
}

// create is Create with a hook that runs in the insert's transaction.
func (s *Service) create(ctx context.Context, spec Spec, hook writeHook) (*models.Client, string, error) {
	if err := s.check(ctx, &spec); err != nil {
		return nil, "", err
	}
	if err := s.checkPairwiseOn(ctx, spec, nil); err != nil {
		return nil, "", err
	}
	id, err := newClientID()
	if err != nil {
		return nil, "", fmt.Errorf("create client: %w", err)
	}
	c := &models.Client{ID: id}
	apply(c, spec)
	var plain string
	if UsesSecret(spec.TokenEndpointAuthMethod) {
		if plain, c.SecretHash, err = s.newSecret(); err != nil {
			return nil, "", fmt.Errorf("create client: %w", err)
		}
	}
	if err := s.write(ctx, c, hook, s.st.CreateClient); err != nil {
		return nil, "", err
	}
	return c, plain, nil
}

// write stores c with store, after hook in the same transaction when
// there is one.
func (s *Service) write(ctx context.Context, c *models.Client, hook writeHook, store func(context.Context, *models.Client) error) error {
	if hook == nil {
		return store(ctx, c)
	}
	return s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := hook(ctx, c); err != nil {
			return err
		}
		return store(ctx, c)
	})
}

// check normalizes and validates spec, and refuses allowed groups that do
// not exist (a typo would otherwise lock every user out).
func (s *Service) check(ctx context.Context, spec *Spec) error {
	spec.Normalize()
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.SubjectType == SubjectPairwise && spec.SectorIdentifierURI != "" {
		if err := s.checkSector(ctx, spec.SectorIdentifierURI, spec.RedirectURIs); err != nil {
			return err
		}
	}
	missing, err := s.st.MissingGroups(ctx, spec.AllowedGroups)
	if err != nil {
		return fmt.Errorf("check client groups: %w", err)
	}
	if len(missing) > 0 {
		return invalid("allowed_groups", "unknown group %q", missing[0])
	}
	if err := s.checkExchangeTargets(ctx, spec.TokenExchangeResources); err != nil {
		return err
	}
	var custom []string
	for _, sc := range spec.Scopes {
		if !slices.Contains(userScopes, sc) && sc != ScopeAdmin && sc != ScopeIntrospect {
			custom = append(custom, sc)
		}
	}
	if len(custom) == 0 {
		return nil
	}
	defined, err := s.st.ListCustomScopes(ctx)
	if err != nil {
		return fmt.Errorf("check client scopes: %w", err)
	}
	for _, sc := range custom {
		if !slices.ContainsFunc(defined, func(d models.CustomScope) bool { return d.Name == sc }) {
			return invalid("scopes", "unknown scope %q (define it as a custom scope first)", sc)
		}
	}
	return nil
}

// Get returns a client; an unknown id gives an error wrapping
// models.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*models.Client, error) {
	return s.st.GetClient(ctx, id)
}

// List returns every client, ordered by name.
func (s *Service) List(ctx context.Context) ([]models.Client, error) {
	return s.st.ListClients(ctx)
}

// Update replaces every settable field of a client with spec (normalized
// and validated like Create). The secret is kept while the client still
// authenticates with one and dropped when it no longer does, so an old
// secret cannot come back to life later. Switching a client without a
// secret to client_secret_basic or client_secret_post needs a new secret:
// use UpdateAndRotateSecret.
func (s *Service) Update(ctx context.Context, id string, spec Spec) (*models.Client, error) {
	c, _, err := s.update(ctx, id, spec, false, nil)
	return c, err
}

// UpdateAndRotateSecret is Update followed by RotateSecret in one write. It
// is the way to turn a public or private_key_jwt client into one that
// authenticates with a secret.
func (s *Service) UpdateAndRotateSecret(ctx context.Context, id string, spec Spec) (*models.Client, string, error) {
	return s.update(ctx, id, spec, true, nil)
}

func (s *Service) update(ctx context.Context, id string, spec Spec, rotate bool, hook writeHook) (*models.Client, string, error) {
	if err := s.check(ctx, &spec); err != nil {
		return nil, "", err
	}
	c, err := s.st.GetClient(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if err := s.checkPairwiseOn(ctx, spec, c); err != nil {
		return nil, "", err
	}
	apply(c, spec)
	var plain string
	switch {
	case !UsesSecret(spec.TokenEndpointAuthMethod):
		if rotate {
			return nil, "", invalid("token_endpoint_auth_method", "%s clients have no secret to rotate", spec.TokenEndpointAuthMethod)
		}
		c.SecretHash = ""
	case rotate:
		if plain, c.SecretHash, err = s.newSecret(); err != nil {
			return nil, "", fmt.Errorf("update client: %w", err)
		}
	case c.SecretHash == "":
		return nil, "", invalid("token_endpoint_auth_method", "the client has no secret yet; rotate the secret in the same update to switch to %s", spec.TokenEndpointAuthMethod)
	}
	if err := s.write(ctx, c, hook, s.st.UpdateClient); err != nil {
		return nil, "", err
	}
	return c, plain, nil
}

// RotateSecret replaces a client's secret and returns the new one; the old
// one stops working at once. Only clients that authenticate with a secret
// have one.
func (s *Service) RotateSecret(ctx context.Context, id string) (string, error) {
	c, err := s.st.GetClient(ctx, id)
	if err != nil {
		return "", err
	}
	if !UsesSecret(c.TokenEndpointAuthMethod) {
		return "", invalid("token_endpoint_auth_method", "%s clients have no secret to rotate", c.TokenEndpointAuthMethod)
	}
	plain, hash, err := s.newSecret()
	if err != nil {
		return "", fmt.Errorf("rotate client secret: %w", err)
	}
	c.SecretHash = hash
	if err := s.st.UpdateClient(ctx, c); err != nil {
		return "", err
	}
	return plain, nil
}

// Delete removes a client and everything issued to it.
func (s *Service) Delete(ctx context.Context, id string) error {
	return s.st.DeleteClient(ctx, id)
}

// ToSpec returns the settable fields of c, e.g. as the starting point of a
// partial update.
func ToSpec(c *models.Client) Spec {
	return Spec{
		Name:                    c.Name,
		RedirectURIs:            list(c.RedirectURIs),
		PostLogoutRedirectURIs:  list(c.PostLogoutRedirectURIs),
		GrantTypes:              list(c.GrantTypes),
		ResponseTypes:           list(c.ResponseTypes),
		Scopes:                  list(c.Scopes),
		Public:                  c.Public,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		IDTokenSignedAlg:        c.IDTokenSignedAlg,
		JWKS:                    c.JWKS,
		JWKSURI:                 c.JWKSURI,
		SkipConsent:             c.SkipConsent,
		AllowedLoginMethods:     list(c.AllowedLoginMethods),
		Disabled:                c.Disabled,
		LogoURI:                 c.LogoURI,
		PrimaryColor:            c.PrimaryColor,
		AccentColor:             c.AccentColor,
		AccessTokenTTL:          c.AccessTokenTTL,
		RefreshTokenTTL:         c.RefreshTokenTTL,
		IDTokenTTL:              c.IDTokenTTL,
		MinACR:                  c.MinACR,
		UserVerification:        c.UserVerification,
		SyncedPasskeys:          c.SyncedPasskeys,
		AAGUIDAllow:             list(c.AAGUIDAllow),
		AAGUIDAllowMode:         c.AAGUIDAllowMode,
		AllowedGroups:           list(c.AllowedGroups),
		AllowedWebOrigins:       list(c.AllowedWebOrigins),
		RequireVerifiedEmail:    c.RequireVerifiedEmail,
		BackchannelLogoutURI:    c.BackchannelLogoutURI,

		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI:            c.FrontchannelLogoutURI,

		RequirePushedAuthorizationRequests: c.RequirePushedAuthorizationRequests,
		FrontchannelLogoutSessionRequired:  c.FrontchannelLogoutSessionRequired,
		SubjectType:                        cmp.Or(c.SubjectType, SubjectPublic),
		SectorIdentifierURI:                c.SectorIdentifierURI,
		AccessTokenFormat:                  cmp.Or(c.AccessTokenFormat, models.TokenFormatOpaque),
		DPoPBoundAccessTokens:              c.DPoPBoundAccessTokens,
		TokenExchangeResources:             list(c.TokenExchangeResources),
		TokenExchangeSubjectAudiences:      list(c.TokenExchangeSubjectAudiences),
		ClientURI:                          c.ClientURI,
		PolicyURI:                          c.PolicyURI,
		TOSURI:                             c.TOSURI,
		Contacts:                           list(c.Contacts),
	}
}

// list copies l so callers cannot alias the client's slices; never nil.
func list(l models.StringList) []string {
	if l == nil {
		return []string{}
	}
	return slices.Clone([]string(l))
}

// apply copies a normalized spec onto c.
func apply(c *models.Client, s Spec) {
	c.Name = s.Name
	c.RedirectURIs = models.StringList(slices.Clone(s.RedirectURIs))
	c.PostLogoutRedirectURIs = models.StringList(slices.Clone(s.PostLogoutRedirectURIs))
	c.GrantTypes = models.StringList(slices.Clone(s.GrantTypes))
	c.ResponseTypes = models.StringList(slices.Clone(s.ResponseTypes))
	c.Scopes = models.StringList(slices.Clone(s.Scopes))
	c.Public = s.Public
	c.TokenEndpointAuthMethod = s.TokenEndpointAuthMethod
	c.IDTokenSignedAlg = s.IDTokenSignedAlg
	c.JWKS = s.JWKS
	c.JWKSURI = s.JWKSURI
	c.SkipConsent = s.SkipConsent
	c.AllowedLoginMethods = models.StringList(slices.Clone(s.AllowedLoginMethods))
	c.Disabled = s.Disabled
	c.LogoURI = s.LogoURI
	c.PrimaryColor = s.PrimaryColor
	c.AccentColor = s.AccentColor
	c.AllowedGroups = models.StringList(slices.Clone(s.AllowedGroups))
	c.AccessTokenTTL = s.AccessTokenTTL
	c.RefreshTokenTTL = s.RefreshTokenTTL
	c.IDTokenTTL = s.IDTokenTTL
	c.MinACR = s.MinACR
	c.UserVerification = s.UserVerification
	c.SyncedPasskeys = s.SyncedPasskeys
	c.AAGUIDAllow, c.AAGUIDAllowMode = models.StringList(s.AAGUIDAllow), s.AAGUIDAllowMode
	c.AllowedWebOrigins = models.StringList(slices.Clone(s.AllowedWebOrigins))
	c.RequireVerifiedEmail = s.RequireVerifiedEmail
	c.BackchannelLogoutURI = s.BackchannelLogoutURI
	c.BackchannelLogoutSessionRequired = s.BackchannelLogoutSessionRequired
	c.FrontchannelLogoutURI = s.FrontchannelLogoutURI
	c.FrontchannelLogoutSessionRequired = s.FrontchannelLogoutSessionRequired
	c.RequirePushedAuthorizationRequests = s.RequirePushedAuthorizationRequests
	c.SubjectType = s.SubjectType
	c.SectorIdentifierURI = s.SectorIdentifierURI
	c.AccessTokenFormat = s.AccessTokenFormat
	c.DPoPBoundAccessTokens = s.DPoPBoundAccessTokens
	c.TokenExchangeResources = models.StringList(slices.Clone(s.TokenExchangeResources))
	c.TokenExchangeSubjectAudiences = models.StringList(slices.Clone(s.TokenExchangeSubjectAudiences))
	c.ClientURI = s.ClientURI
	c.PolicyURI = s.PolicyURI
	c.TOSURI = s.TOSURI
	c.Contacts = models.StringList(slices.Clone(s.Contacts))
}

// ErrNoSecretKey: the service was built without the key client secrets
// are hashed under, so it cannot make one.
var ErrNoSecretKey = errors.New("client secrets are hashed with a key derived from the system secret: set SESAME_SYSTEM_SECRET or --system-secret-file (or use --dev)")

// newSecret returns a fresh 256-bit secret and its stored form.
func (s *Service) newSecret() (plain, hash string, err error) {
	if s.secrets == nil {
		return "", "", ErrNoSecretKey
	}
	plain, err = randomString(secretBytes)
	if err != nil {
		return "", "", err
	}
	return plain, s.secrets.Hash(plain), nil
}

// checkExchangeTargets refuses token exchange targets that are not
// registered resources (a typo would otherwise fail every exchange).
func (s *Service) checkExchangeTargets(ctx context.Context, auds []string) error {
	if len(auds) == 0 {
		return nil
	}
	rs, err := s.st.ListResources(ctx)
	if err != nil {
		return fmt.Errorf("check token exchange resources: %w", err)
	}
	for _, a := range auds {
		if !slices.ContainsFunc(rs, func(r models.Resource) bool { return r.Audience == a }) {
			return invalid("token_exchange_resources", "%q is not a registered resource", a)
		}
	}
	return nil
}

// checkPairwiseOn refuses to make a client pairwise (a new one, or cur
// from public) while the policy's switch is off.
func (s *Service) checkPairwiseOn(ctx context.Context, spec Spec, cur *models.Client) error {
	if s.pairwiseOn == nil || spec.SubjectType != SubjectPairwise || (cur != nil && cur.SubjectType == SubjectPairwise) {
		return nil
	}
	on, err := s.pairwiseOn(ctx)
	if err != nil {
		return fmt.Errorf("check client subject type: %w", err)
	}
	if !on {
		return invalid("subject_type", "pairwise subjects are switched off (policy pairwise_subjects); only public is available")
	}
	return nil
}
