// Package servertest starts a real Sesame on a loopback port for tests and
// gives them what a signed-in browser would have. Sessions are created
// through Go (the store and websession), never through an HTTP backdoor.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/telemetry"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
)

// Env is a running Sesame.
type Env struct {
	T      testing.TB
	Store  *store.Store
	Server *server.Server
	HTTP   *httptest.Server
	Issuer string
	Config config.Config
	Secret []byte

	log   *slog.Logger
	dbURL string
	// tracing is handed to the server (NewTraced).
	tracing *telemetry.Tracing
	// outbound wraps the server's outbound transport (NewRouted).
	outbound func(http.RoundTripper) http.RoundTripper
}

// Option adjusts the config before the server starts.
type Option func(*config.Config)

// Postgres runs the env on PostgreSQL (see storetest.OpenPostgres: skips
// when TEST_DATABASE_URL is unset, fails when SESAME_REQUIRE_POSTGRES is set).
func Postgres() Option { return func(c *config.Config) { c.DatabaseURL = storetest.Postgres.Name } }

// EachDialect runs fn as a subtest (or sub-benchmark) per database of
// storetest.Dialects; the options fn is given select that database and go
// to New.
func EachDialect[T storetest.TB[T]](t T, fn func(t T, opts ...Option)) {
	t.Helper()
	storetest.ForEachDialect(t, func(t T, d storetest.Dialect) {
		var opts []Option
		if d.Name == storetest.Postgres.Name {
			opts = append(opts, Postgres())
		}
		fn(t, opts...)
	})
}

// New starts Sesame on 127.0.0.1 with issuer http://localhost:PORT (a
// secure context for WebAuthn in Chromium).
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return start(t, testLogger(), opts...)
}

// testLogger discards all but warnings, or writes everything to stderr
// with SESAME_TEST_LOG set.
func testLogger() *slog.Logger {
	var w io.Writer = io.Discard
	level := slog.LevelWarn
	if os.Getenv("SESAME_TEST_LOG") != "" {
		w, level = os.Stderr, slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// NewLogged is New with every log line, down to debug, written to w: for
// tests of what the logs say (and must not say).
func NewLogged(t testing.TB, w io.Writer, opts ...Option) *Env {
	t.Helper()
	return start(t, slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), opts...)
}

// NewTraced is New with the server's spans going to tr (e.g. an
// in-memory exporter's): the test shuts tr down.
func NewTraced(t testing.TB, tr *telemetry.Tracing, opts ...Option) *Env {
	t.Helper()
	return startWith(t, slog.New(slog.NewTextHandler(io.Discard, nil)), tr, opts...)
}

func start(t testing.TB, log *slog.Logger, opts ...Option) *Env {
	t.Helper()
	return startWith(t, log, nil, opts...)
}

// NewRouted is New with the server's outbound requests for host (e.g.
// appleid.apple.com) sent to the stand-in at to (e.g. http://127.0.0.1:PORT,
// which AllowOutbound must allow): a provider Sesame recognises by its
// public issuer, played by the test.
func NewRouted(t testing.TB, host, to string, opts ...Option) *Env {
	t.Helper()
	u, err := url.Parse(to)
	if err != nil {
		t.Fatalf("route to %q: %v", to, err)
	}
	e := &Env{T: t}
	e.outbound = func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == host {
				r = r.Clone(r.Context())
				r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
			}
			return next.RoundTrip(r)
		})
	}
	return startEnv(t, e, testLogger(), nil, opts...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func startWith(t testing.TB, log *slog.Logger, tr *telemetry.Tracing, opts ...Option) *Env {
	t.Helper()
	return startEnv(t, &Env{}, log, tr, opts...)
}

// startEnv starts e (its test-only collaborators set) with opts.
func startEnv(t testing.TB, e *Env, log *slog.Logger, tr *telemetry.Tracing, opts ...Option) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = t.TempDir()
	for _, o := range opts {
		o(&cfg)
	}
	open := storetest.OpenSQLiteURL
	if cfg.DatabaseURL == storetest.Postgres.Name {
		open = storetest.OpenPostgresURL
	}
	st, dbURL := open(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	host := "localhost"
	if cfg.Issuer == loopbackIPIssuer {
		// WebAuthn wants a domain as RP id: passkeys do not work on
		// this env's pages, but it starts.
		host, cfg.RPID = "127.0.0.1", "localhost"
	}
	cfg.Issuer = "http://" + host + ":" + portOf(ln.Addr())
	cfg.Listen = ln.Addr().String()
	secretBytes := []byte("test-system-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
	e.T, e.Store, e.Issuer, e.Config, e.Secret, e.log, e.dbURL, e.tracing = t, st, cfg.Issuer, cfg, secretBytes, log, dbURL, tr
	e.serve(ln)
	return e
}

func (e *Env) serve(ln net.Listener) {
	e.T.Helper()
	srv, err := server.New(context.Background(), server.Deps{Config: e.Config, Store: e.Store, Secret: e.Secret, Logger: e.log, Tracing: e.tracing,
		OutboundTransport: e.outbound})
	if err != nil {
		e.T.Fatalf("server: %v", err)
	}
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}}
	hs.Start()
	e.T.Cleanup(hs.Close)
	e.Server, e.HTTP = srv, hs
}

// DatabaseURL is the URL of the env's database (a SQLite path, or a
// PostgreSQL URL whose search_path is the test's schema).
func (e *Env) DatabaseURL() string { return e.dbURL }

// Replica starts a second Sesame on the same database with its own
// connection pool and caches, as another replica behind a load balancer:
// the same issuer, secret and configuration, another port. Requests to
// Replica().HTTP.URL reach it; Issuer stays the shared public one.
func (e *Env) Replica() *Env {
	e.T.Helper()
	st, err := store.Open(context.Background(), e.dbURL, store.Options{})
	if err != nil {
		e.T.Fatalf("replica store: %v", err)
	}
	e.T.Cleanup(func() { _ = st.Close() })
	return e.ReplicaOn(st)
}

// ReplicaOn is Replica on a store the test opened itself (for instance
// one whose connection the test can cut).
func (e *Env) ReplicaOn(st *store.Store) *Env {
	e.T.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.T.Fatalf("listen: %v", err)
	}
	r := &Env{T: e.T, Store: st, Issuer: e.Issuer, Config: e.Config, Secret: e.Secret, log: e.log, dbURL: e.dbURL, outbound: e.outbound}
	r.serve(ln)
	return r
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// CreateClient registers a client; it returns the id and the plain secret.
func (e *Env) CreateClient(spec clients.Spec) (string, string) {
	e.T.Helper()
	secrets, err := server.ClientSecrets(e.Secret, nil)
	if err != nil {
		e.T.Fatalf("client secrets: %v", err)
	}
	hc := httpx.OutboundClient(httpx.OutboundOptions{Allow: e.Config.OutboundAllowPrefixes()})
	c, secret, err := clients.NewService(e.Store, secrets, clients.WithOutbound(hc)).Create(context.Background(), spec)
	if err != nil {
		e.T.Fatalf("create client: %v", err)
	}
	// As the console does: the provider's union of web origins (CORS)
	// takes the new client in at once.
	e.Server.Provider().InvalidateClient(c.ID)
	return c.ID, secret
}

// MintInitialAccessToken mints an initial access token for dynamic client
// registration (as an admin would) and returns its id and value.
func (e *Env) MintInitialAccessToken(label string, uses int, ttl time.Duration) (string, string) {
	e.T.Helper()
	secrets, err := server.ClientSecrets(e.Secret, nil)
	if err != nil {
		e.T.Fatalf("client secrets: %v", err)
	}
	r := clients.NewRegistrar(clients.RegistrarConfig{Issuer: e.Issuer}, clients.NewService(e.Store, secrets), e.Store, secrets, policy.New(e.Store, e.Config))
	t, tok, err := r.MintInitialToken(context.Background(), clients.InitialTokenSpec{Label: label, MaxUses: uses, TTL: ttl}, "cli:test")
	if err != nil {
		e.T.Fatalf("mint initial access token: %v", err)
	}
	return t.ID, tok
}

// Registration sets the dynamic client registration mode (off,
// protected or open).
func Registration(mode string) Option { return func(c *config.Config) { c.Registration = mode } }

// CreateUser adds a user with the given address.
func (e *Env) CreateUser(email string) *models.User {
	e.T.Helper()
	u := &models.User{ID: uuid.NewString(), Email: email, DisplayName: "Test User", EmailVerified: true}
	if err := e.Store.CreateUser(context.Background(), u); err != nil {
		e.T.Fatalf("create user: %v", err)
	}
	return u
}

// Browser returns an HTTP client with a cookie jar that stops at
// redirects leaving the issuer (to the client's redirect URI), so tests
// can read the authorization response.
func (e *Env) Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	iss, _ := url.Parse(e.Issuer)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != iss.Host {
				return http.ErrUseLastResponse
			}
			if len(via) > 20 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// Login signs userID in in the browser's jar: a login session row plus
// its cookie, as a sign-in method would leave them.
func (e *Env) Login(browser *http.Client, userID string, amr []string, acr string, authTime time.Time) *models.LoginSession {
	e.T.Helper()
	ls, secret, err := websession.NewLoginSession(websession.Login{UserID: userID, AMR: amr, ACR: acr, AuthTime: authTime},
		e.Config.LoginSessionTTL, "Go test", "127.0.0.1")
	if err != nil {
		e.T.Fatalf("login session: %v", err)
	}
	if err := e.Store.CreateLoginSession(context.Background(), ls); err != nil {
		e.T.Fatalf("login session: %v", err)
	}
	iss, _ := url.Parse(e.Issuer)
	browser.Jar.SetCookies(iss, []*http.Cookie{e.Server.Sessions().SessionCookie(secret)})
	return ls
}

// CompleteInteraction does what a sign-in method does at the end: a login
// session for userID in this browser, recorded on the interaction.
func (e *Env) CompleteInteraction(browser *http.Client, interactionID, userID string, amr []string, acr string) *models.LoginSession {
	e.T.Helper()
	ls := e.Login(browser, userID, amr, acr, time.Now())
	if err := e.Store.CompleteInteractionLogin(context.Background(), interactionID, ls.ID); err != nil {
		e.T.Fatalf("complete interaction: %v", err)
	}
	return ls
}

// loopbackIPIssuer marks (in Config.Issuer, before the port is known) an
// env reached as 127.0.0.1 rather than localhost.
const loopbackIPIssuer = "http://127.0.0.1"

// LoopbackIPIssuer makes the env's issuer http://127.0.0.1:PORT: a second
// Sesame in one test (an upstream identity provider) whose cookies must
// not mix with the first one's, which browsers would share on localhost
// whatever the port. Its pages cannot use passkeys (WebAuthn refuses an
// IP address as RP ID); sign people in with LoginCookie.
func LoopbackIPIssuer() Option { return func(c *config.Config) { c.Issuer = loopbackIPIssuer } }

// LoginCookie starts a login session for userID and returns its cookie,
// for a browser (Chromium) to carry.
func (e *Env) LoginCookie(userID string, amr []string, acr string) *http.Cookie {
	e.T.Helper()
	ls, secret, err := websession.NewLoginSession(websession.Login{UserID: userID, AMR: amr, ACR: acr, AuthTime: time.Now()},
		e.Config.LoginSessionTTL, "Chromium test", "127.0.0.1")
	if err != nil {
		e.T.Fatalf("login session: %v", err)
	}
	if err := e.Store.CreateLoginSession(context.Background(), ls); err != nil {
		e.T.Fatalf("login session: %v", err)
	}
	return e.Server.Sessions().SessionCookie(secret)
}

// AllowOutbound lets the server's outbound fetches (a client's jwks_uri)
// reach the given networks, e.g. "127.0.0.0/8" for a JWKS served by the
// test on loopback; internal addresses are refused otherwise.
func AllowOutbound(cidrs ...string) Option {
	return func(c *config.Config) { c.OutboundAllowCIDRs = append(c.OutboundAllowCIDRs, cidrs...) }
}

// UnverifiedEmails turns require_verified_email off, for tests of
// something else that sign people up with a passkey and do not read their
// mail (the policy is on by default).
func UnverifiedEmails() Option { return func(c *config.Config) { c.RequireVerifiedEmail = false } }

// AwayFromWindowEdge waits, when less than need is left of the current
// fixed window (internal/ratelimit aligns windows to multiples of their
// length), for the next one to begin, so attempts a test means to count in
// one window do not straddle two on a slow machine.
func AwayFromWindowEdge(window, need time.Duration) {
	now := time.Now()
	if next := now.Truncate(window).Add(window); next.Sub(now) < need {
		time.Sleep(next.Sub(now) + 50*time.Millisecond)
	}
}
