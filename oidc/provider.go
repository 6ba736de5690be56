package oidc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-idp/sesame/internal/outbox"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/oidc/keys"
	"github.com/sesame-idp/sesame/templates"
)

// Config holds the provider's settings; cmd fills it from config.Config.
type Config struct {
	Issuer          string
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	IDTokenTTL      time.Duration
	AuthCodeTTL     time.Duration
	InteractionTTL  time.Duration
	// RefreshTokenReuseInterval is how long a rotated refresh token may be
	// presented again by its client for a fresh pair without revoking its
	// family (concurrent refreshes, retries); 0 turns it off.
	RefreshTokenReuseInterval time.Duration
	// ClockSkewLeeway is how far apart replicas' (and clients') clocks may
	// be (skew.go).
	ClockSkewLeeway time.Duration
	// HMACKey signs opaque tokens (32 bytes derived from the system secret).
	HMACKey []byte
	// CacheKey keys the verified-client-secret cache.
	CacheKey []byte
	// PairwiseKey keys pairwise subject identifiers (pairwise.go); empty
	// derives one from HMACKey.
	PairwiseKey []byte
	// ClientCacheTTL bounds how stale a replica's view of a client may be.
	ClientCacheTTL time.Duration
	// DPoPNonce requires every DPoP proof (RFC 9449, dpop.go; switched by
	// Protocol.DPoP) to carry a server-provided nonce.
	DPoPNonce bool
	// DeviceCodeTTL and DevicePollInterval are the device grant's
	// (device.go; switched by Protocol.DeviceGrant) code lifetime and
	// minimum poll interval (whole seconds).
	DeviceCodeTTL      time.Duration
	DevicePollInterval time.Duration
	// PARTTL is how long a pushed request's request_uri lives (par.go;
	// Protocol.RequirePAR makes every client push).
	PARTTL time.Duration
	// TokenExchange serves the token exchange grant (RFC 8693,
	// exchange.go) to the clients registered for it: the switch when
	// there is no PolicySource, or while it cannot be read.
	TokenExchange bool
	// Protocol switches the logout channels, pairwise subjects, the device
	// grant, DPoP and required PAR (protocol.go): the switches when there
	// is no PolicySource, or while it cannot be read.
	Protocol policy.Protocol
}

// DataStore is the part of the store the provider uses beyond fosite's.
type DataStore interface {
	Store
	GetClient(ctx context.Context, id string) (*models.Client, error)
	GetUser(ctx context.Context, id string) (*models.User, error)
	// UserGroups names the groups a user belongs to (groups.go).
	UserGroups(ctx context.Context, userID string) ([]string, error)
	CreateInteraction(ctx context.Context, in *models.Interaction) error
	GetInteraction(ctx context.Context, id string) (*models.Interaction, error)
	// InteractionWithSession reads the interaction a resume names with the
	// browser's session and its user, in one statement.
	InteractionWithSession(ctx context.Context, id, sessionHash string) (*models.InteractionRead, error)
	ConsumeInteraction(ctx context.Context, id string) error
	GetConsent(ctx context.Context, userID, clientID string) (*models.Consent, error)
	// The consent page (consent.go).
	SaveConsent(ctx context.Context, c *models.Consent) error
	SetInteractionConsent(ctx context.Context, id string) error
	SetInteractionError(ctx context.Context, id, code string) error
	GetLoginSession(ctx context.Context, id string) (*models.LoginSession, error)
	RevokeLoginSession(ctx context.Context, id string) error
	ReplaceClientSecretHash(ctx context.Context, old, hash string) error
	// ListCustomScopes feeds the custom scopes (scopes.go).
	ListCustomScopes(ctx context.Context) ([]models.CustomScope, error)
	// ListClients feeds the union of the clients' web origins (cors.go).
	ListClients(ctx context.Context) ([]models.Client, error)
	// CompleteAuthorization writes a granted authorization: the
	// interaction spent (models.ErrConsumed if it already was), the
	// session's new client (back-channel logout, backchannel.go) and
	// fosite's records, all or none (authorize.go).
	CompleteAuthorization(ctx context.Context, interactionID string, sc *models.SessionClient, rows []*models.OAuth2Request) error
	// ListSessionClients: front-channel logout (frontchannel.go).
	ListSessionClients(ctx context.Context, sessionID string) ([]models.SessionClient, error)
	LogoutStore
	// ListResources feeds the resource indicators (resources.go).
	ListResources(ctx context.Context) ([]models.Resource, error)
	DeviceStore
	// RecordAuthEvent records token exchanges (exchange.go).
	RecordAuthEvent(ctx context.Context, e *models.AuthEvent) error
}

// PolicySource supplies the live global token lifetimes (the global
// policy, internal/policy; a zero field means the Config's), the token
// exchange switch and the logout-channel and pairwise switches. It is asked each time a client is handed to fosite and
// at each token request, so a cached implementation is expected.
type PolicySource interface {
	TokenLifespans(ctx context.Context) (policy.Lifespans, error)
	TokenExchange(ctx context.Context) (bool, error)
	Protocol(ctx context.Context) (policy.Protocol, error)
}

// Deps are the provider's collaborators.
type Deps struct {
	Store    DataStore
	Keys     *keys.Manager
	Sessions *websession.Manager
	Pages    *templates.Renderer
	Logger   *slog.Logger
	// Secrets verifies client secrets (required).
	Secrets *clients.Secrets
	// AuthFailures throttles failed client authentication; nil turns it off.
	AuthFailures FailureLimiter
	// Policy, when set, gives the global token lifetimes live (a client's
	// own lifetimes still win); without one they are the Config's.
	Policy PolicySource
	// Assurance, when set, says which acr levels can be reached now; the
	// discovery document lists only those (discovery_acr.go).
	Assurance AssuranceSource
	// Outbound fetches clients' jwks_uri; nil means httpx.OutboundClient
	// with no internal network allowed (jwks_fetch.go).
	Outbound *http.Client
	// Tokens counts the token endpoint's answers; nil counts nothing.
	Tokens TokenObserver
	// LogoutDelivery tunes the back-channel logout outbox (backchannel.go);
	// zero values take the defaults.
	LogoutDelivery outbox.Options
	// Registrar serves dynamic client registration (registration.go);
	// nil leaves the endpoint out whatever the policy says.
	Registrar *clients.Registrar
	// Tracer makes spans of work a request's own spans do not show (a
	// jwks_uri fetch, whose HTTP request fosite makes without the
	// request's context); nil traces nothing.
	Tracer trace.Tracer
}

// TokenObserver is told of every token endpoint answer
// (internal/telemetry.Metrics implements it). clientID is set only for a
// client the provider authenticated; errorCode is the OAuth error code.
type TokenObserver interface {
	TokenIssued(grantType, clientID string)
	TokenRefused(grantType, errorCode string)
}

// Provider is the OpenID Connect provider.
type Provider struct {
	// fositeClientAuth is fosite's own client authentication, which
	// authenticateClient extends.
	fositeClientAuth fosite.ClientAuthenticationStrategy
	cfg              Config
	st               DataStore
	keys             *keys.Manager
	sessions         *websession.Manager
	policies         PolicySource
	pages            *templates.Renderer
	log              *slog.Logger
	fosite           fosite.OAuth2Provider
	fcfg             *fosite.Config
	storage          *Storage
	clients          *expirable.LRU[string, *Client]
	// discovery is the document without custom scopes, served until they
	// can be read; scopes the custom scopes and the full document.
	discovery []byte
	scopes    scopeCache
	// resources is the registry of resources (resources.go).
	resources resourceCache
	// originCache is the union of the clients' web origins (cors.go).
	originCache originCache
	tokens      TokenObserver
	// backchannel delivers logout tokens (backchannel.go).
	backchannel *BackchannelLogout
	// clientHits and clientMisses count lookups of the client cache.
	clientHits, clientMisses atomic.Uint64
	// failures counts wrong user codes (device_pages.go) and registration
	// requests (registration.go); nil: no limit.
	failures FailureLimiter
	// assurance says which acr levels can be reached (discovery_acr.go).
	assurance AssuranceSource
	// registrar serves dynamic client registration; nil: none.
	registrar *clients.Registrar
}

// New builds the provider.
func New(cfg Config, deps Deps) (*Provider, error) {
	if len(cfg.HMACKey) < 32 {
		return nil, errors.New("oidc: HMAC key must be at least 32 bytes")
	}
	if deps.Secrets == nil {
		return nil, errors.New("oidc: no client secret hasher")
	}
	if cfg.ClientCacheTTL <= 0 {
		cfg.ClientCacheTTL = 30 * time.Second
	}
	if len(cfg.PairwiseKey) == 0 {
		// A provider built without one (tests) still never hands a
		// pairwise client the user's id.
		cfg.PairwiseKey = keyFor(cfg.HMACKey, "pairwise-subjects")
	}
	p := &Provider{
		cfg:       cfg,
		st:        deps.Store,
		keys:      deps.Keys,
		sessions:  deps.Sessions,
		policies:  deps.Policy,
		pages:     deps.Pages,
		log:       deps.Logger,
		tokens:    deps.Tokens,
		failures:  deps.AuthFailures,
		registrar: deps.Registrar,
		// Client records change rarely; a short TTL bounds how long another
		// replica serves a stale copy after an update.
		clients: expirable.NewLRU[string, *Client](1024, nil, cfg.ClientCacheTTL),
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.storage = NewStorage(deps.Store, p, cfg.RefreshTokenReuseInterval)
	p.storage.assertionLeeway = max(cfg.ClockSkewLeeway, 0)
	p.fcfg = &fosite.Config{
		AccessTokenLifespan:            cfg.AccessTokenTTL,
		RefreshTokenLifespan:           cfg.RefreshTokenTTL,
		AuthorizeCodeLifespan:          cfg.AuthCodeTTL,
		IDTokenLifespan:                cfg.IDTokenTTL,
		IDTokenIssuer:                  cfg.Issuer,
		AccessTokenIssuer:              cfg.Issuer,
		TokenURL:                       cfg.Issuer + PathToken,
		GlobalSecret:                   cfg.HMACKey[:32],
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       acceptAudience, // resources.go
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		RefreshTokenScopes:             []string{"offline_access"},
		MinParameterEntropy:            fosite.MinParameterEntropy,
		AllowedPromptValues:            []string{"none", "login", "consent"},
		ClientSecretsHasher:            newSecretHasher(cfg.CacheKey, deps.Secrets, deps.AuthFailures, deps.Store, p.log),
		SendDebugMessagesToClients:     false,
		FormPostHTMLTemplate:           nil,
		JWTScopeClaimKey:               0,
	}
	p.fcfg.PushedAuthorizeContextLifespan = cmp.Or(cfg.PARTTL, time.Minute)
	// The only URLs fosite fetches are others' choice: a client's jwks_uri
	// (and request_uri, refused here): through the guarded client only.
	jwks := newJWKSFetcher(deps.Outbound, p.log, deps.Tracer)
	p.fcfg.JWKSFetcherStrategy = jwks
	p.fcfg.HTTPClient = jwks.http()
	signer := &keys.Signer{M: deps.Keys}
	strategy := &compose.CommonStrategy{
		CoreStrategy: &tokenStrategy{
			skewStrategy: &skewStrategy{HMACSHAStrategy: compose.NewOAuth2HMACStrategy(p.fcfg), leeway: max(cfg.ClockSkewLeeway, 0)},
			keys:         deps.Keys,
			issuer:       cfg.Issuer,
			subject:      p.subjectFor,
		},
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{
			Signer: signer,
			Config: p.fcfg,
		},
		Signer: signer,
	}
	factories := []compose.Factory{
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
		compose.PushedAuthorizeHandlerFactory,
	}
	// Always composed: the live policy switches the device and token
	// exchange grants (the token endpoint refuses each first while it is
	// off, token.go).
	factories = append(factories, p.deviceGrantFactory, p.exchangeFactory)
	p.fosite = compose.Compose(p.fcfg, p.storage, strategy, factories...)
	p.storage.codeSignature = strategy.AuthorizeCodeSignature
	askHandlersFirst(p.fcfg) // dispatch.go
	// Client assertions get the clock-skew leeway (skew.go).
	p.fositeClientAuth = p.fosite.(*fosite.Fosite).DefaultClientAuthenticationStrategy
	p.fcfg.ClientAuthenticationStrategy = p.authenticateClient
	p.backchannel = p.NewBackchannelLogout(deps.Store, deps.Outbound, deps.LogoutDelivery)
	p.assurance = deps.Assurance
	d, err := p.buildDiscovery(nil, models.ACRLevels, discoveryFeatures{})
	if err != nil {
		return nil, err
	}
	p.discovery = d
	return p, nil
}

// BackchannelLogout is the deliverer of logout tokens; the server runs
// its Run loop on every replica.
func (p *Provider) BackchannelLogout() *BackchannelLogout { return p.backchannel }

// Endpoint paths.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/oauth2/jwks"
	PathAuthorize  = "/oauth2/authorize"
	PathResume     = "/oauth2/authorize/resume"
	PathToken      = "/oauth2/token"
	PathUserinfo   = "/oauth2/userinfo"
	PathIntrospect = "/oauth2/introspect"
	PathRevoke     = "/oauth2/revoke"
	PathLogout     = "/oauth2/logout"
	// PathLogin is authn's sign-in page; PathConsent is the provider's
	// consent page (consent.go, mounted by MountPages).
	PathLogin   = "/login"
	PathConsent = "/consent"
)

// Mount registers the provider's protocol endpoints (no same-origin form
// check: cross-site requests are their normal case); MountPages registers
// its hosted page.
func (p *Provider) Mount(r gin.IRouter) {
	r.GET(PathDiscovery, p.handleDiscovery)
	r.GET(PathJWKS, p.handleJWKS)
	r.GET(PathAuthorize, p.handleAuthorize)
	r.POST(PathAuthorize, p.handleAuthorize)
	r.GET(PathResume, p.handleResume)
	r.POST(PathToken, p.handleToken)
	r.GET(PathUserinfo, p.handleUserinfo)
	r.POST(PathUserinfo, p.handleUserinfo)
	r.POST(PathIntrospect, p.handleIntrospect)
	r.POST(PathRevoke, p.handleRevoke)
	r.GET(PathLogout, p.handleLogout)
	r.POST(PathLogout, p.handleLogout)
	// Always mounted: 404 while the live policy's switches are off.
	r.POST(PathPAR, p.parGate, p.handlePAR)
	r.POST(PathDeviceAuthorize, p.deviceGate, p.handleDeviceAuthorize)
	p.mountRegistration(r)
	p.mountCORS(r)
}

// GetClient loads a client through the cache. It implements fosite's
// client manager for the storage adapter.
func (p *Provider) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if id == "" || len(id) > 200 {
		return nil, fosite.ErrNotFound
	}
	c, err := p.cachedClient(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fosite.ErrNotFound.WithHint("Unknown client.")
	}
	if err != nil {
		return nil, fmt.Errorf("load client: %w", err)
	}
	return p.withPolicy(ctx, c)
}

// ClientModel returns the stored client id through this replica's client
// cache — the hosted sign-in pages read an interaction's client on every
// request of a sign-in — invalidated like the provider's own copies
// (InvalidateClient). The copy is shared: callers must not modify it.
func (p *Provider) ClientModel(ctx context.Context, id string) (*models.Client, error) {
	if id == "" || len(id) > 200 {
		return nil, fmt.Errorf("load client: %w", models.ErrNotFound)
	}
	c, err := p.cachedClient(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.m, nil
}

// cachedClient loads a client through the cache (errors are the store's).
func (p *Provider) cachedClient(ctx context.Context, id string) (*Client, error) {
	if c, ok := p.clients.Get(id); ok {
		p.clientHits.Add(1)
		return c, nil
	}
	p.clientMisses.Add(1)
	m, err := p.st.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	c := newClient(m)
	p.clients.Add(id, c)
	return c, nil
}

// withPolicy returns a per-request copy of a cached client carrying the
// current global token lifetimes: fosite's GetEffectiveLifespan has no
// context, so they are resolved here, with the request's. A policy that
// cannot be read leaves the configuration's lifetimes in force.
func (p *Provider) withPolicy(ctx context.Context, c *Client) (fosite.Client, error) {
	if c.m.Disabled {
		return enabled(c)
	}
	if p.policies == nil {
		return c, nil
	}
	l, err := p.policies.TokenLifespans(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "token lifetimes from policy not read; using the configuration's", "err", err)
		return c, nil
	}
	cp := *c
	cp.global = l
	return &cp, nil
}

// enabled refuses a disabled client as if it did not exist: fosite then
// answers invalid_client at the token endpoint, the authorization endpoint
// shows an error page, and grants already issued to it (refresh tokens,
// access tokens at userinfo and introspection) stop working, since the
// storage adapter loads the client of every stored request here too.
func enabled(c *Client) (fosite.Client, error) {
	if c.m.Disabled {
		return nil, fosite.ErrNotFound.WithHint("The client is disabled.")
	}
	return c, nil
}

// InvalidateClient drops a client from this replica's cache, and the
// union of the clients' web origins (cors.go): after an update through
// this process, and when another replica announces one (the server
// subscribes it to models/store's change feed; the TTL is only the safety
// net).
func (p *Provider) InvalidateClient(id string) {
	p.clients.Remove(id)
	p.originCache.invalidate()
}

// ClientCacheStats reports the client cache's hits and misses so far.
func (p *Provider) ClientCacheStats() (hits, misses uint64) {
	return p.clientHits.Load(), p.clientMisses.Load()
}

// InvalidateClients drops every cached client (the change feed missed
// announcements while reconnecting).
func (p *Provider) InvalidateClients() { p.clients.Purge() }

func (p *Provider) handleJWKS(c *gin.Context) {
	b, err := p.keys.JWKS(c.Request.Context())
	if err != nil {
		p.log.ErrorContext(c.Request.Context(), "jwks", "err", err)
		c.Status(http.StatusServiceUnavailable)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	p.corsAnyClient(c)
	c.Data(http.StatusOK, "application/jwk-set+json", b)
}
