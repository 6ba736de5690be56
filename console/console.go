package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/branding"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/oidc/keys"
	"github.com/sesame-idp/sesame/templates"
)

// Services are the admin operations, shared by the API, the console UI
// and the CLI.
type Services struct {
	Clients   *Clients
	Users     *Users
	Scopes    *Scopes
	Resources *Resources
	Groups    *Groups
	Keys      *Keys
	Policies  *Policies
	Audit     *Audit
	Webhooks  *Webhooks
	Health    *Health
	Branding  *Branding
	Events    *Events
	// Registration mints and revokes initial access tokens.
	Registration *Registration
	// Upstreams are the upstream identity providers (authn/upstream).
	Upstreams *Upstreams
}

// NewServices builds the services. live is the global policy every
// reader asks (policy.New over st and cfg); secrets stores new client
// secrets. cache (the provider's client cache) and km may be nil where they
// do not exist (the CLI); Keys is then nil.
func NewServices(st *store.Store, cfg config.Config, live LivePolicy, secrets *clients.Secrets, cache ClientCache, km *keys.Manager, log *slog.Logger) *Services {
	if log == nil {
		log = slog.Default()
	}
	audit := &Audit{st: st, log: log}
	pol := &Policies{live: live, base: cfg, audit: audit, lock: st}
	// A pairwise client's sector_identifier_uri is fetched like a jwks_uri:
	// guarded, internal networks only when allowed.
	// The policy's pairwise switch decides whether a client may become
	// pairwise.
	csvc := clients.NewService(st, secrets, clients.WithOutbound(httpx.OutboundClient(httpx.OutboundOptions{Allow: cfg.OutboundAllowPrefixes()})),
		clients.WithPairwiseSwitch(func(ctx context.Context) (bool, error) {
			p, err := live.Current(ctx)
			return p.PairwiseSubjects, err
		}))
	// The registrar mints initial access tokens with the same secrets as
	// the server's, whose registration endpoint checks them.
	reg := clients.NewRegistrar(clients.RegistrarConfig{Issuer: cfg.Issuer, OutboundAllow: cfg.OutboundAllowPrefixes(), Logger: log, Now: clock.Now},
		csvc, st, secrets, live)
	s := &Services{
		Audit:        audit,
		Policies:     pol,
		Clients:      &Clients{svc: csvc, st: st, cache: cache, audit: audit, policies: pol, activity: st},
		Registration: &Registration{reg: reg, st: st, audit: audit},
		Users:        &Users{st: st, audit: audit, live: live},
		Scopes:       &Scopes{st: st, audit: audit},
		Resources:    &Resources{st: st, audit: audit},
		Groups:       &Groups{st: st, audit: audit},
		Webhooks:     &Webhooks{st: st, audit: audit, allow: cfg.OutboundAllowPrefixes()},
		Health:       &Health{st: st, live: live, now: clock.Now},
		Branding:     &Branding{st: st, live: branding.NewLive(st, log), audit: audit},
		Events:       &Events{st: st, key: audit.key},
		Upstreams:    &Upstreams{st: st, audit: audit},
	}
	if sc, ok := cache.(ScopeCache); ok {
		s.Scopes.cache = sc
	}
	if rc, ok := cache.(ResourceCache); ok {
		s.Resources.cache = rc
	}
	if km != nil {
		s.Keys = &Keys{km: km, st: st, audit: audit}
	}
	return s
}

// Introspector checks bearer access tokens in-process (oidc.Provider).
type Introspector interface {
	ClientCache
	IntrospectAccessToken(ctx context.Context, token string) (subject, clientID string, scopes []string, err error)
}

// Deps are the console's collaborators.
type Deps struct {
	Store    *store.Store
	Provider Introspector
	Keys     *keys.Manager
	Sessions *websession.Manager
	Passkeys *passkey.Service
	// Policy is the live global policy, shared with its readers (the
	// provider, the methods, the session manager), so a change saved here
	// applies on this replica at once.
	Policy LivePolicy
	// Passlinks, when set, lets admins send sign-in links.
	Passlinks *passlink.Service
	// Passwords, when set, offers the password + security key step-up.
	Passwords *password.Service
	// Stats, when set, backs the API's /stats endpoints.
	Stats *StatsService
	// Pages renders the setup and refusal pages; nil parses the
	// embedded templates.
	Pages  *templates.Renderer
	Logger *slog.Logger
	// Secrets stores new client secrets (required).
	Secrets *clients.Secrets
	// Branding is the live branding the pages read, so a change saved
	// here applies on this replica at once (nil: one of the console's own).
	Branding *branding.Live
	// CursorKey authenticates the audit log's page cursors (the same on
	// every replica: derive it from the system secret); random when nil.
	CursorKey []byte
}

// Console is the admin console's backend: services, auth and the API.
type Console struct {
	*Services
	cfg      config.Config
	st       *store.Store
	provider Introspector
	sessions *websession.Manager
	passkeys *passkey.Service
	// passwords backs the password + security key step-up (nil: off).
	passwords *password.Service
	stats     *StatsService
	pages     *templates.Renderer
	log       *slog.Logger
	idle      time.Duration
	now       func() time.Time
}

// New builds the console backend.
func New(cfg config.Config, deps Deps) (*Console, error) {
	if deps.Store == nil || deps.Sessions == nil || deps.Passkeys == nil || deps.Provider == nil || deps.Keys == nil || deps.Policy == nil || deps.Secrets == nil {
		return nil, errors.New("console: missing dependency")
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	idle := cfg.ConsoleIdleTimeout
	if idle <= 0 {
		idle = 15 * time.Minute
	}
	pages := deps.Pages
	if pages == nil {
		var err error
		if pages, err = templates.New(); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
	}
	c := &Console{
		Services: NewServices(deps.Store, cfg, deps.Policy, deps.Secrets, deps.Provider, deps.Keys, log),
		cfg:      cfg, st: deps.Store, provider: deps.Provider, sessions: deps.Sessions, passkeys: deps.Passkeys,
		stats: deps.Stats, pages: pages, log: log, idle: idle, now: time.Now,
	}
	c.Policies.checkMDS = deps.Passkeys.CheckMDSFile
	c.Health.metadataInForce = func(ctx context.Context) bool {
		st := deps.Passkeys.MetadataStatus(ctx).State
		return st == passkey.MetadataCurrent || st == passkey.MetadataStale
	}
	// Models are named as the sign-in pages name them: by the FIDO
	// metadata in force first.
	c.SetModelNamer(deps.Passkeys.ModelName)
	if deps.Passlinks != nil {
		c.Users.SetPasslinks(deps.Passlinks)
	}
	c.passwords = deps.Passwords
	c.Audit.cursorKey = deps.CursorKey
	if deps.Branding != nil {
		c.Branding.live = deps.Branding
	}
	return c, nil
}

// AdminPages returns a group on r whose routes need a console admin
// (same-origin forms, no-store, Auth); the console UI mounts its pages
// there with their full /console/... paths.
func (c *Console) AdminPages(r gin.IRouter) gin.IRouter {
	return r.Group("", httpx.SameOriginForms(c.cfg.Issuer), httpx.NoStore(), c.Auth())
}

// Mount registers the console's routes (sign-out, setup, step-up, the
// admin API; the pages mount on AdminPages) on r. Signing in is authn's
// /login (PathLogin).
func (c *Console) Mount(r gin.IRouter) {
	pages := r.Group("/console", httpx.SameOriginForms(c.cfg.Issuer), httpx.NoStore())
	c.mountAuth(pages)
	c.mountSetup(pages)
	c.mountAPI(r.Group("/api/admin/v1", httpx.NoStore()))
}
