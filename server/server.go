// Package server wires Sesame's parts into one HTTP server: the store,
// the live global policy (built first, handed to every reader at
// construction), the OIDC provider, the hosted pages, the console,
// middleware and background jobs. ValidateConfig is the complete check of
// a configuration, including the settings a component owns.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn"
	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/authn/recovery"
	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/branding"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/hashgate"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/ratelimit"
	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/internal/telemetry"
	"github.com/sesame-idp/sesame/internal/webhook"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/oidc/keys"
	"github.com/sesame-idp/sesame/static"
	"github.com/sesame-idp/sesame/templates"
)

// Purposes for keys derived from the system secret. Each use gets its own
// key so a leak of one (say, a cached HMAC) reveals nothing of the others.
const (
	PurposeSigningKeys = "signing-keys"
	PurposeTokenHMAC   = "token-hmac"
	PurposeCookies     = "cookies"
	PurposeSecretCache = "client-secret-cache"
	PurposeFakeCreds   = "fake-credential-ids"
	PurposePasslink    = "passlink-codes"
	PurposeRateLimit   = "rate-limit-keys"
	PurposeClientHash  = "client-secret-hash"
	PurposeCursors     = "page-cursors"
	// PurposeCeremonies seals passkey login ceremonies, which the browser
	// holds between the options and the assertion (authn/passkey).
	PurposeCeremonies = "passkey-login-ceremonies"
	// PurposePairwise keys pairwise subject identifiers (oidc/pairwise.go):
	// changing the system secret changes every pairwise sub.
	PurposePairwise = "pairwise-subjects"
	// PurposeWebhookSecrets seals webhook endpoints' signing secrets.
	PurposeWebhookSecrets = "webhook-secrets"
	// PurposePseudonyms keys the pseudonym a deleted user keeps in the
	// audit log (authn.Pseudonym).
	PurposePseudonyms = "deleted-user-pseudonyms"
	// PurposeRecoveryCodes keys the stored hashes of recovery codes
	// (authn/recovery): changing the system secret invalidates them.
	PurposeRecoveryCodes = "recovery-codes"
	// PurposeUpstream seals upstream providers' client secrets and the
	// PKCE verifiers of redirects to them (authn/upstream).
	PurposeUpstream = "upstream-secrets"
)

// UpstreamBox seals upstream providers' client secrets for the system
// secret sys: the server and the CLI must derive the same key.
func UpstreamBox(sys []byte) (*upstream.Box, error) {
	return upstream.NewBox(secret.Derive(sys, PurposeUpstream))
}

// WebhookBox seals and opens webhook endpoint secrets for the system
// secret sys: the server and the CLI must derive the same key.
func WebhookBox(sys []byte) (*webhook.Box, error) {
	return webhook.NewBox(secret.Derive(sys, PurposeWebhookSecrets))
}

// ClientSecrets is the client secret hasher for the system secret sys:
// every process that creates or checks client secrets (serve, the CLI)
// must derive the same key. gate bounds its memory-hard checks (nil: one
// of its own).
func ClientSecrets(sys []byte, gate *hashgate.Gate) (*clients.Secrets, error) {
	return clients.NewSecrets(secret.Derive(sys, PurposeClientHash), gate)
}

// maxBody bounds request bodies: OAuth requests and page forms are small;
// WebAuthn responses are a few KiB.
const maxBody = 64 << 10

// Deps are what the server is built from; cmd resolves them.
type Deps struct {
	Config config.Config
	Store  *store.Store
	// Secret is the raw system secret; purposes derive their own keys.
	Secret []byte
	Logger *slog.Logger
	// ClockOffset offsets this process's clock (internal/clock). Only
	// tests set it, to show replicas with skewed clocks agree
	// (server/clustertest).
	ClockOffset time.Duration
	// Tracing, when set, is used instead of the one the tracing setting
	// would start (tests: an in-memory exporter); the caller shuts it down.
	Tracing *telemetry.Tracing
	// OutboundTransport, when set, wraps the outbound client's transport.
	// Only tests set it, to reach a stand-in on loopback for a provider's
	// public host (Apple's); the outbound guard still applies.
	OutboundTransport func(http.RoundTripper) http.RoundTripper
}

// Server is a configured Sesame.
type Server struct {
	cfg      config.Config
	st       *store.Store
	log      *slog.Logger
	keys     *keys.Manager
	provider *oidc.Provider
	sessions *websession.Manager
	// outbox delivers mails (passlinks); nil when mail is off.
	outbox *mail.Outbox
	// webhooks delivers the webhook outbox.
	webhooks *webhook.Deliverer
	// console is the admin console's backend (services, auth, admin API).
	console *console.Console
	stats   *console.StatsService
	pages   *templates.Renderer
	// brand is the live branding (pages, mails, /branding/...).
	brand *branding.Live
	// hosted are the hosted pages (the janitor purges due deletions).
	hosted *authn.Handler
	engine *gin.Engine
	// draining makes /readyz fail while the server finishes its work.
	draining atomic.Bool
	// probed is when /readyz was last asked (Unix nanoseconds): only a
	// server that something probes is drained before it stops listening.
	probed atomic.Int64
	// unsubscribe ends the caches' subscription to the change feed.
	unsubscribe func()
	// metadata keeps the FIDO metadata current (server/metadata.go);
	// unsubscribeMetadata ends its subscription to the change feed.
	metadata            *passkey.Sync
	unsubscribeMetadata func()
	metrics             *telemetry.Metrics
	tracing             *telemetry.Tracing
	// ownTracing: the server started tracing and shuts it down.
	ownTracing  bool
	metricsAddr atomic.Pointer[string]
}

// changeHandler drops what this replica caches when any replica announces
// a change (models/store's change feed: PostgreSQL NOTIFY, in-process on
// SQLite), and everything after a resync. The caches' TTLs stay as the
// safety net. Users are not cached (sessions are read per request), so
// their announcements need nothing here.
func changeHandler(provider *oidc.Provider, live *policy.Live, brand *branding.Live, km *keys.Manager, stats *console.StatsService) func(store.Change) {
	return func(c store.Change) {
		switch c.Kind {
		case store.ChangeClient:
			provider.InvalidateClient(c.ID)
		case store.ChangeScope:
			provider.InvalidateScopes()
		case store.ChangeResource:
			provider.InvalidateResources()
		case store.ChangePolicy:
			if c.ID == branding.Name {
				brand.Invalidate()
				return
			}
			live.Invalidate()
		case store.ChangeKeys:
			km.Invalidate()
		case store.ChangeAuthEvent:
			stats.Wake()
		case store.ChangeResync:
			provider.InvalidateClients()
			provider.InvalidateScopes()
			provider.InvalidateResources()
			live.Invalidate()
			brand.Invalidate()
			km.Invalidate()
			stats.Wake()
		}
	}
}

// Close ends the server's subscription to the store's change feed (the
// store's listener stops with the store) and flushes the spans of tracing
// it started.
func (s *Server) Close() {
	s.unsubscribe()
	s.unsubscribeMetadata()
	if s.ownTracing {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.tracing.Shutdown(ctx); err != nil {
			s.log.Warn("tracing: flush on close", "err", err)
		}
	}
}

// New builds the server: keys are ensured, caches and handlers set up.
func New(ctx context.Context, deps Deps) (*Server, error) {
	cfg := deps.Config
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	// Failures of requests whose client hung up are not the server's.
	log = slog.New(httpx.DemoteClientGone(log.Handler()))
	if deps.ClockOffset != 0 {
		clock.SetOffset(deps.ClockOffset)
	}
	tracing, ownTracing, err := newTracing(ctx, deps)
	if err != nil {
		return nil, err
	}
	deps.Tracing = tracing
	if err := traceStore(deps.Store, tracing); err != nil {
		return nil, err
	}
	metrics := telemetry.NewMetrics()
	// The live global policy, built first and handed to each reader at
	// construction: one cached copy (policy.CacheTTL) asked on each
	// request; a change saved on this replica (the console) is seen at
	// once, on others within the cache's lifetime.
	live := policy.New(deps.Store, cfg)
	km, err := keys.NewManager(deps.Store, secret.Derive(deps.Secret, PurposeSigningKeys), keys.Options{
		RotationPeriod: cfg.KeyRotationPeriod,
		MaxTokenTTL:    signedTokenTTL(ctx, live, cfg, log),
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if err := km.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	// The operator's branding, read by every page through the renderer
	// (cached; another replica's change arrives through the change feed).
	brand := branding.NewLive(deps.Store, log)
	pages, err := templates.New(templates.WithBrand(pageBrand(brand)))
	if err != nil {
		return nil, err
	}
	sessions := websession.New(deps.Store, websession.Config{
		Secure:     !cfg.IssuerIsLocalhost() || isHTTPS(cfg.Issuer),
		SessionTTL: cfg.LoginSessionTTL,
		CSRFKey:    secret.Derive(deps.Secret, PurposeCookies),
		Policy:     live,
	})
	// One bound on memory-hard hashing (argon2id) for the whole process:
	// password checks and old or imported client secrets share it.
	gate := hashgate.New(0)
	secrets, err := ClientSecrets(deps.Secret, gate)
	if err != nil {
		return nil, err
	}
	authLimiter := ratelimit.New(deps.Store, nil, ratelimit.WithSecret(secret.Derive(deps.Secret, PurposeRateLimit)), ratelimit.WithOnLimited(metrics.RateLimited))
	// Clients' jwks_uri: internal addresses only where the operator allows.
	outbound := httpx.OutboundClient(httpx.OutboundOptions{Allow: cfg.OutboundAllowPrefixes()})
	if deps.OutboundTransport != nil {
		outbound.Transport = deps.OutboundTransport(outbound.Transport)
	}
	outbound.Transport = tracing.Transport(outbound.Transport)
	passkeys, err := passkey.New(passkey.Config{
		RPID:              cfg.WebAuthnRPID(),
		RPName:            cfg.RPName,
		Origins:           cfg.WebAuthnOrigins(),
		UserVerification:  cfg.UserVerification,
		Attestation:       cfg.Attestation,
		AAGUIDAllow:       cfg.AAGUIDAllow,
		AAGUIDDeny:        cfg.AAGUIDDeny,
		MDSFile:           cfg.MDSFile,
		MDSRoot:           cfg.MDSRoot,
		FakeCredentialKey: secret.Derive(deps.Secret, PurposeFakeCreds),
		CeremonyKey:       secret.Derive(deps.Secret, PurposeCeremonies),
		Policy:            live,
	}, deps.Store, log)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	// Dynamic client registration: the rules in oidc/clients, switched by
	// the live policy; its URLs are held to the outbound client's rule.
	registrar := clients.NewRegistrar(clients.RegistrarConfig{Issuer: cfg.Issuer, RegistrationPath: oidc.PathRegister,
		OutboundAllow: cfg.OutboundAllowPrefixes(), Logger: log},
		clients.NewService(deps.Store, secrets, clients.WithOutbound(outbound), clients.WithPairwiseSwitch(func(ctx context.Context) (bool, error) {
			p, err := live.Current(ctx)
			return p.PairwiseSubjects, err
		})), deps.Store, secrets, live)
	provider, err := oidc.New(oidc.Config{
		Issuer:                    cfg.Issuer,
		AccessTokenTTL:            cfg.AccessTokenTTL,
		RefreshTokenTTL:           cfg.RefreshTokenTTL,
		IDTokenTTL:                cfg.IDTokenTTL,
		AuthCodeTTL:               cfg.AuthCodeTTL,
		InteractionTTL:            cfg.InteractionTTL,
		RefreshTokenReuseInterval: cfg.RefreshTokenReuseInterval,
		ClockSkewLeeway:           cfg.ClockSkewLeeway,
		DPoPNonce:                 cfg.DPoPNonce,
		HMACKey:                   secret.Derive(deps.Secret, PurposeTokenHMAC),
		CacheKey:                  secret.Derive(deps.Secret, PurposeSecretCache),
		PairwiseKey:               secret.Derive(deps.Secret, PurposePairwise),
		DeviceCodeTTL:             cfg.DeviceCodeTTL,
		DevicePollInterval:        cfg.DevicePollInterval,
		PARTTL:                    cfg.PushedAuthorizationRequestTTL,
		TokenExchange:             cfg.TokenExchange,
		Protocol: policy.Protocol{BackchannelLogout: cfg.BackchannelLogout, FrontchannelLogout: cfg.FrontchannelLogout,
			PairwiseSubjects: cfg.PairwiseSubjects, DeviceGrant: cfg.DeviceGrant, DPoP: cfg.DPoP,
			PAR: cfg.PushedAuthorizationRequests, RequirePAR: cfg.RequirePushedAuthorizationRequests},
	}, oidc.Deps{Store: deps.Store, Keys: km, Sessions: sessions, Pages: pages, Logger: log, Policy: live, Secrets: secrets, AuthFailures: authLimiter,
		Outbound: outbound, Tokens: metrics, Tracer: tracing.Tracer(), Assurance: passkeys, Registrar: registrar})
	if err != nil {
		return nil, err
	}
	outbox, passlinks, err := newPasslinks(cfg, deps, live, brand, metrics, log)
	if err != nil {
		return nil, err
	}
	// Password + security key: argon2id per config; the throttle counts in
	// the database (ratelimit), so it holds across replicas.
	params, err := passwordParams(cfg)
	if err != nil {
		return nil, err
	}
	passwords, err := password.NewService(password.Config{
		Params: params, MinLength: cfg.PasswordMinLength, RequireSecurityKey: cfg.RequireSecurityKey, Gate: gate,
	}, deps.Store, authLimiter, log)
	if err != nil {
		return nil, fmt.Errorf("passwords: %w", err)
	}
	// Recovery codes: switched by the live policy; the throttle shares the
	// database-backed limiter.
	codes, err := recovery.New(deps.Store, authLimiter, secret.Derive(deps.Secret, PurposeRecoveryCodes), recovery.DefaultLimits)
	if err != nil {
		return nil, err
	}
	if err := collect(metrics, deps.Store, provider, live, km); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	stats := console.NewStatsService(deps.Store, console.StatsOptions{Logger: log})
	cons, err := console.New(cfg, console.Deps{
		Store: deps.Store, Provider: provider, Keys: km, Sessions: sessions, Passkeys: passkeys, Stats: stats, Logger: log,
		Passlinks: passlinks, Passwords: passwords, Policy: live, Secrets: secrets, Pages: pages,
		CursorKey: secret.Derive(deps.Secret, PurposeCursors), Branding: brand,
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	// Upstream identity providers: every fetch (discovery, JWKS, token,
	// GitHub's API) through the guarded outbound client.
	upstreams, err := upstream.New(deps.Store, upstream.Config{RedirectURL: strings.TrimRight(cfg.Issuer, "/") + upstream.CallbackPath,
		Key: secret.Derive(deps.Secret, PurposeUpstream), HTTPClient: outbound, Logger: log, Limiter: authLimiter})
	if err != nil {
		return nil, err
	}
	cons.Upstreams.SetUpstreamBox(upstreams.Box(), upstreams.Forget)
	hosted := authn.New(authn.Deps{Upstream: upstreams,
		Store: hostedStore{Store: deps.Store, clients: provider}, Events: countedEvents{next: deps.Store, m: metrics}, Sessions: sessions, Pages: pages, Passkeys: passkeys, Passlinks: passlinks, Passwords: passwords, Recovery: codes, Logger: log,
		SignupOpen: cfg.SignupOpen, RequireVerifiedEmail: cfg.RequireVerifiedEmail, Policies: live, RPID: cfg.WebAuthnRPID(),
		ResumeURL: oidc.ResumeURL, DeletionGrace: cfg.AccountDeletionGrace, PseudonymKey: secret.Derive(deps.Secret, PurposePseudonyms),
	})
	// Webhooks: sealed secrets, posted through the guarded outbound
	// client (its own, for a longer timeout and a small answer bound).
	box, err := WebhookBox(deps.Secret)
	if err != nil {
		return nil, err
	}
	hooksClient := httpx.OutboundClient(httpx.OutboundOptions{Allow: cfg.OutboundAllowPrefixes(), Timeout: webhook.DefaultTimeout, MaxBody: webhook.MaxResponseBody})
	hooksClient.Transport = tracing.Transport(hooksClient.Transport)
	hooks := webhook.NewDeliverer(deps.Store, box, hooksClient, webhook.Options{Logger: log})
	cons.Webhooks.SetWebhookDelivery(box, hooks.Kick)
	if passlinks == nil && cfg.RequireVerifiedEmail {
		log.Warn("require_verified_email is on but mail is off (smtp-host): addresses cannot be proven, so passkey sign-ups are not held for a proof")
	}

	s := &Server{cfg: cfg, st: deps.Store, log: log, keys: km, provider: provider, sessions: sessions, outbox: outbox, webhooks: hooks,
		console: cons, stats: stats, pages: pages, hosted: hosted, metrics: metrics, tracing: tracing, ownTracing: ownTracing, brand: brand}
	s.unsubscribe = deps.Store.Changes().Subscribe(changeHandler(provider, live, brand, km, stats))
	s.metadata, s.unsubscribeMetadata = newMetadataSync(deps.Store, passkeys, metrics, cfg.MDSURL, cfg.MDSRefresh, cfg.MDSStaleGrace)
	s.engine = s.routes(hosted)
	return s, nil
}

// hostedStore is the store of the hosted sign-in pages, reading clients
// through the provider's client cache: every request of a sign-in reads
// its interaction's client, which changes only when an admin edits it (and
// then the cache is invalidated on every replica).
type hostedStore struct {
	*store.Store
	clients interface {
		ClientModel(ctx context.Context, id string) (*models.Client, error)
	}
}

// GetClient reads a client through the cache.
func (s hostedStore) GetClient(ctx context.Context, id string) (*models.Client, error) {
	return s.clients.ClientModel(ctx, id)
}

// newPasslinks builds the mail outbox and the passlink method. Mail goes
// through SMTP when smtp-host is set; in dev mode without it, to the log
// (the developer clicks the link there). Outside dev without SMTP no mail
// can be delivered, so the method is off (nil, nil) rather than promising
// mails that never come.
func newPasslinks(cfg config.Config, deps Deps, live *policy.Live, brand *branding.Live, metrics *telemetry.Metrics, log *slog.Logger) (*mail.Outbox, *passlink.Service, error) {
	var sender mail.Sender
	switch {
	case cfg.MailConfigured():
		tlsCfg, err := smtpTLSConfig(cfg.SMTPCAFile)
		if err != nil {
			return nil, nil, err
		}
		sender = mail.NewSMTPSender(mail.SMTPConfig{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			TLS: cfg.SMTPTLS, From: cfg.MailFrom, TLSConfig: tlsCfg,
		})
	case cfg.Dev:
		log.Warn("no SMTP server configured (smtp-host): dev mode writes mails, sign-in links included, to the log")
		sender = mail.NewLogSender(log)
	default:
		log.Warn("no SMTP server configured (smtp-host): sign-in links by email are off")
		return nil, nil, nil
	}
	sender = mail.WithInline(sender, mailLogo(brand, cfg.Issuer))
	if deps.Tracing != nil {
		sender = tracedSender{next: sender, tracer: deps.Tracing.Tracer()}
	}
	outbox := mail.NewOutbox(deps.Store, sender, mail.OutboxOptions{Logger: log})
	limiter := ratelimit.New(deps.Store, nil, ratelimit.WithSecret(secret.Derive(deps.Secret, PurposeRateLimit)), ratelimit.WithOnLimited(metrics.RateLimited))
	svc, err := passlink.New(passlink.Config{
		BaseURL:     cfg.Issuer,
		Product:     cfg.RPName,
		TTL:         cfg.PasslinkTTL,
		RateEmail:   cfg.PasslinkRateEmail,
		RateIP:      cfg.PasslinkRateIP,
		SignupOpen:  cfg.SignupOpen,
		UnknownMail: cfg.SignupUnknownMail,
		CodeKey:     secret.Derive(deps.Secret, PurposePasslink),
		Policy:      live,
		Brand:       mailBrand(brand, cfg.Issuer),
	}, deps.Store, outbox, limiter, log)
	if err != nil {
		return nil, nil, fmt.Errorf("passlinks: %w", err)
	}
	return outbox, svc, nil
}

// signedTokenTTL is the longest lifetime of a token the signing keys
// sign, which sizes how long a retired key stays published: ID tokens and
// JWT access tokens (RFC 9068; a client may set its own access token
// lifetime up to clients.MaxTokenTTL). The global policy's lifetimes (an
// admin may have saved longer ones than the configuration's) count when
// they can be read.
func signedTokenTTL(ctx context.Context, live *policy.Live, cfg config.Config, log *slog.Logger) time.Duration {
	ttl := max(cfg.IDTokenTTL, cfg.AccessTokenTTL, time.Duration(clients.MaxTokenTTL)*time.Second)
	l, err := live.TokenLifespans(ctx)
	if err != nil {
		log.Warn("global policy not read; signing keys sized by the configured token lifetimes", "err", err)
		return ttl
	}
	return max(ttl, l.IDToken, l.AccessToken)
}

// smtpTLSConfig trusts the certificates of caFile (PEM) besides the
// system roots, e.g. a private CA or the self-signed Mailpit of
// compose.yaml; nil when caFile is empty.
func smtpTLSConfig(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("smtp-ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("smtp-ca-file: no PEM certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func isHTTPS(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && u.Scheme == "https"
}

func (s *Server) routes(hosted *authn.Handler) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if len(s.cfg.TrustedProxies) > 0 {
		_ = r.SetTrustedProxies(s.cfg.TrustedProxies)
	} else {
		_ = r.SetTrustedProxies(nil)
	}
	if s.tracing != nil {
		r.Use(s.tracing.Middleware())
	}
	r.Use(
		s.metrics.Middleware(),
		httpx.ErrorPages(s.errorPage),
		httpx.RequestID(),
		httpx.Logger(s.log),
		httpx.Recovery(s.log),
		httpx.SecurityHeaders(isHTTPS(s.cfg.Issuer)),
		httpx.BodyLimit(maxBody),
		// Every request has a deadline, so slow queries or a held pool end
		// in 503 rather than a pile of waiting requests; the live feed is
		// a stream that lives as long as its page.
		httpx.RequestTimeout(s.cfg.RequestTimeout, console.PathEvents),
	)
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/readyz", s.handleReady)
	if s.cfg.MetricsToken != "" {
		r.GET(telemetry.PathMetrics, gin.WrapH(s.metrics.Handler(s.cfg.MetricsToken)))
	}
	r.GET("/static/*path", gin.WrapH(static.Handler()))
	branding.Mount(r, s.brand, httpx.NotFound)
	r.GET("/favicon.ico", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/static/favicon.svg") })
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/account") })

	// Protocol endpoints: cross-site requests are their normal case
	// (clients post to /token, RPs post logout), so no same-origin check.
	proto := r.Group("", httpx.NoStore())
	s.provider.Mount(proto)
	hosted.MountCrossSite(proto)

	// Hosted pages: forms must come from our own origin.
	pages := r.Group("", httpx.SameOriginForms(s.cfg.Issuer), httpx.NoStore())
	hosted.Mount(pages)
	s.provider.MountPages(pages)

	// The admin console: sign-in, setup links, step-up and the admin API
	// (console.Mount), and the console pages behind console.Auth.
	s.console.Mount(r)
	console.NewUI(console.UIDeps{Console: s.console, Stats: s.stats, Pages: s.pages, Store: s.st, Logger: s.log}).MountUI(s.console.AdminPages(r))

	r.NoRoute(httpx.NotFound)
	r.NoMethod(httpx.MethodNotAllowed)
	return r
}

// errorPageKeys are the catalogue's words (KEY.title, KEY.msg) for the
// statuses httpx answers itself, one cause each.
var errorPageKeys = map[int]string{
	http.StatusNotFound:              "errors.not_found",
	http.StatusMethodNotAllowed:      "errors.not_allowed",
	http.StatusForbidden:             "errors.form_refused",
	http.StatusRequestEntityTooLarge: "errors.too_large",
	http.StatusInternalServerError:   "errors.server",
}

// errorPage is the hosted error page for the answers no handler writes
// (httpx.ErrorPages: no route, wrong method, a panic, a cross-site form,
// a body too large), in the same look as every other page.
func (s *Server) errorPage(c *gin.Context, status int, title, message string) {
	c.Header("Cache-Control", "no-store")
	cat := s.pages.Catalog()
	lang := cat.Negotiate(i18n.Prefs{Choice: s.sessions.Language(c.Request), AcceptLanguage: c.GetHeader("Accept-Language")})
	if key, ok := errorPageKeys[status]; ok {
		title, message = cat.T(lang, key+".title"), cat.T(lang, key+".msg")
	}
	v := templates.ErrorView{Message: message, RequestID: httpx.RequestIDFrom(c.Request.Context())}
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		v.Link, v.LinkLabel = "/account", cat.T(lang, "common.to_account")
	}
	if err := s.pages.Error(c.Writer, status, templates.Page{Lang: lang, Path: c.Request.URL.RequestURI(), Title: title}, v); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render error page", "err", err)
	}
}

// pageBrand adapts the live branding to what the layouts show.
func pageBrand(live *branding.Live) templates.BrandFunc {
	return func(primary, accent string) templates.Brand {
		b := live.Cached()
		return templates.Brand{Product: b.Product, LogoURL: b.LogoPath(), ThemeURL: b.ThemePath(primary, accent),
			CSSURL: b.CSSPath(), SupportURL: b.SupportURL, PrivacyURL: b.PrivacyURL}
	}
}

// mailBrand adapts the live branding to what mails show: the logo by
// its Content-ID (mailLogo attaches it), the primary colour (valid on
// white, as the console requires) with readable text on it.
func mailBrand(live *branding.Live, issuer string) func(ctx context.Context) templates.MailBrand {
	domain := issuerHost(issuer)
	return func(ctx context.Context) templates.MailBrand {
		b, _ := live.Current(ctx) // on error: the last branding, or Sesame's
		mb := templates.MailBrand{Product: b.ProductName, LogoCID: b.LogoContentID(domain)}
		if c, err := branding.ParseColor(b.PrimaryColor); err == nil && branding.ColorProblem(b.PrimaryColor, branding.MinTextContrast) == "" {
			mb.Primary, mb.OnPrimary = c.Hex(), branding.TextOn(c).Hex()
		}
		return mb
	}
}

// mailLogo attaches the logo to a mail whose HTML shows it (cid:, see
// mailBrand), read as the mail leaves the outbox. A logo replaced since
// the mail was written has another Content-ID: that mail goes without it,
// and its alt text (the product name) stands in.
func mailLogo(live *branding.Live, issuer string) mail.InlineFunc {
	domain := issuerHost(issuer)
	return func(ctx context.Context, m mail.Message) []mail.Inline {
		b, _ := live.Current(ctx)
		cid := b.LogoContentID(domain)
		if cid == "" || !strings.Contains(m.HTML, `src="cid:`+url.PathEscape(cid)+`"`) {
			return nil
		}
		return []mail.Inline{{ContentID: cid, Type: b.Logo.Type, Name: "logo" + logoExt(b.Logo.Type), Data: b.Logo.Data}}
	}
}

// logoExt is a file name extension for a logo's type, for mail clients
// that save the part.
func logoExt(typ string) string {
	if exts, _ := mime.ExtensionsByType(typ); len(exts) > 0 {
		return exts[0]
	}
	return ""
}

// issuerHost is the issuer URL's host name ("" when unparsable).
func issuerHost(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func (s *Server) handleReady(c *gin.Context) {
	s.probed.Store(time.Now().UnixNano())
	if s.draining.Load() {
		c.String(http.StatusServiceUnavailable, "shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: database", "err", err)
		c.String(http.StatusServiceUnavailable, "database unavailable")
		return
	}
	c.String(http.StatusOK, "ok")
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Provider exposes the OIDC provider (for tests and admin wiring).
func (s *Server) Provider() *oidc.Provider { return s.provider }

// Sessions exposes the login-session manager (for test helpers).
func (s *Server) Sessions() *websession.Manager { return s.sessions }

// Webhooks exposes the webhook deliverer, for tests that drive a pass.
func (s *Server) Webhooks() *webhook.Deliverer { return s.webhooks }

// Outbox exposes the mail outbox (nil when mail is off), for tests that
// deliver mail themselves.
func (s *Server) Outbox() *mail.Outbox { return s.outbox }

// Console exposes the admin console's backend (services, auth).
func (s *Server) Console() *console.Console { return s.console }

// Store exposes the server's store.
func (s *Server) Store() *store.Store { return s.st }

// Keys exposes the signing-key manager.
func (s *Server) Keys() *keys.Manager { return s.keys }

// Serve serves s on ln until ctx ends, then shuts down gracefully;
// background jobs (key rotation, the janitor) run alongside. (serve uses
// Boot, which also waits for the database.)
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	h := &swapHandler{}
	h.set(s.engine)
	srv, errc := startHTTP(ln, h, s.log)
	s.log.Info("sesame listening", "addr", ln.Addr().String(), "issuer", s.cfg.Issuer)
	return s.serve(ctx, srv, errc)
}

// startHTTP serves h on ln in the background; errc gets Serve's result.
func startHTTP(ln net.Listener, h http.Handler, log *slog.Logger) (*http.Server, chan error) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	return srv, errc
}

// serve runs the background jobs beside srv (already serving this
// server's routes) until ctx ends, then drains and shuts down.
func (s *Server) serve(ctx context.Context, srv *http.Server, errc chan error) error {
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	if err := s.serveMetrics(jobs); err != nil {
		_ = srv.Close()
		return err
	}
	go s.keys.Run(jobs)
	go s.provider.BackchannelLogout().Run(jobs)
	go s.webhooks.Run(jobs)
	if s.outbox != nil {
		go s.outbox.Run(jobs)
	}
	go s.janitor(jobs)
	go s.aggregator(jobs)
	go s.metadata.Run(jobs)

	s.log.Info("sesame ready", "issuer", s.cfg.Issuer)
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	s.drain()
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	// Open live-feed streams end now; Shutdown waits for active requests.
	srv.RegisterOnShutdown(s.stats.Close)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// drain fails /readyz and, when a load balancer or orchestrator has been
// probing it (within the last minute), keeps serving for the configured
// drain delay so it stops sending traffic before the listener closes. A
// server nobody probes (a developer's, behind nothing) stops at once.
func (s *Server) drain() {
	s.draining.Store(true)
	last := s.probed.Load()
	if s.cfg.ShutdownDrainDelay <= 0 || last == 0 || time.Since(time.Unix(0, last)) > time.Minute {
		return
	}
	s.log.Info("draining: /readyz fails while traffic moves away", "delay", s.cfg.ShutdownDrainDelay.String())
	time.Sleep(s.cfg.ShutdownDrainDelay)
}

// rollupInterval is how often the aggregator counts new auth events into
// the statistics rollups. Reads of the rollups catch up first, so this
// only bounds how much a read may find to do.
const rollupInterval = time.Second

// aggregator counts pending auth events into the statistics rollups, off
// the sign-in's path (store.RollUpPending: one replica at a time, each
// event exactly once).
func (s *Server) aggregator(ctx context.Context) {
	t := time.NewTicker(rollupInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.st.RollUpPending(ctx, 0); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "statistics aggregator", "err", err)
		}
	}
}

// janitor sweeps expired rows, and auth events and audit entries past
// their retention, every few minutes, in bounded batches. On PostgreSQL
// only the replica holding an advisory lock sweeps; the others skip that
// round.
func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.st.SweepExpiredOnce(ctx, time.Hour, store.Retention{
			AuthEvents: s.cfg.AuthEventRetention,
			Audit:      s.cfg.AuditRetention,
		})
		if err != nil {
			s.log.WarnContext(ctx, "janitor", "err", err)
			continue
		}
		// Admin setup links (console); idempotent, so every replica may.
		if m, err := s.st.DeleteExpiredAdminInvites(ctx, time.Hour); err != nil {
			s.log.WarnContext(ctx, "janitor: admin invites", "err", err)
		} else {
			n += m
		}
		if n > 0 {
			s.log.InfoContext(ctx, "janitor swept expired rows", "rows", n)
		}
		// Accounts whose owners asked for their deletion, once the grace
		// period is over (each purge one conditional transaction).
		if _, err := s.hosted.PurgeDueDeletions(ctx, 100); err != nil {
			s.log.WarnContext(ctx, "janitor: account deletions", "err", err)
		}
	}
}

// PurgeDueDeletions runs the janitor's account purge once (for tests and
// the CLI): accounts whose deletion grace period is over are removed.
func (s *Server) PurgeDueDeletions(ctx context.Context) (int, error) {
	return s.hosted.PurgeDueDeletions(ctx, 100)
}
