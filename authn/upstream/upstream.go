package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
)

// AMR and ACR of an upstream sign-in: "fed" (federated, RFC 8176 §2) at
// basic assurance, unless the provider is trusted to pass its own through.
var (
	AMR = []string{"fed"}
	ACR = models.ACRBasic
)

// Defaults.
const (
	// FlowTTL bounds the time between the redirect and the callback, and
	// a pending link's wait for its proof.
	FlowTTL = 10 * time.Minute
	// DefaultSkew is the clock skew tolerated on the ID token's exp.
	DefaultSkew = time.Minute
	// discoveryTTL is how long a provider's discovery document is reused.
	discoveryTTL = 15 * time.Minute
)

// Refusals of a callback. The handler shows a plain page for each and
// records the reason; nothing is written for any of them.
var (
	// ErrDenied: the upstream answered with an error (access_denied…).
	ErrDenied = errors.New("upstream refused the sign-in")
	// ErrState: no redirect of this browser matches the state (unknown,
	// used, expired, or begun in another browser).
	ErrState = errors.New("upstream state unknown, used or expired")
	// ErrToken: the code exchange or the ID token failed validation
	// (issuer, audience, azp, signature, expiry, nonce).
	ErrToken = errors.New("upstream token refused")
	// ErrProvider: the provider is unknown, disabled or unreachable.
	ErrProvider = errors.New("upstream provider unavailable")
)

// Store is the part of the data layer the method uses.
type Store interface {
	GetUpstreamProvider(ctx context.Context, id string) (*models.UpstreamProvider, error)
	ListUpstreamProviders(ctx context.Context) ([]models.UpstreamProvider, error)
	CreateUpstreamFlow(ctx context.Context, f *models.UpstreamFlow) error
	ConsumeUpstreamFlow(ctx context.Context, stateHash string, now time.Time) (*models.UpstreamFlow, error)
	NameUpstreamFlow(ctx context.Context, stateHash string, providerIDs []string, name string, now time.Time) (bool, error)
}

// Config configures the Service.
type Config struct {
	// RedirectURL is Sesame's callback (issuer + CallbackPath).
	RedirectURL string
	// Key seals client secrets and PKCE verifiers (derived from the system
	// secret, 32 bytes).
	Key []byte
	// HTTPClient makes every outbound call (discovery, JWKS, token,
	// GitHub's API): the outbound guard's client.
	HTTPClient *http.Client
	// Skew is the clock skew tolerated on exp (DefaultSkew).
	Skew   time.Duration
	Logger *slog.Logger
	// Limiter bounds the redirects one client address may start
	// (StartLimit per StartWindow): each writes a flow row. nil: none.
	Limiter Limiter
}

// Limiter is the database-backed rate limiter (internal/ratelimit), so the
// bound holds across replicas.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
}

// Start limits: generous enough for an office behind one address.
const (
	StartLimit  = 100
	StartWindow = 10 * time.Minute
)

// ErrLimited: too many redirects started from this address.
var ErrLimited = errors.New("upstream: too many sign-ins started from this address")

// CallbackPath is where every upstream sends the browser back.
const CallbackPath = "/login/upstream/callback"

// Service is the upstream sign-in method.
type Service struct {
	st   Store
	cfg  Config
	box  *Box
	log  *slog.Logger
	mu   sync.Mutex
	disc map[string]cachedProvider
	// enabled caches Enabled for enabledTTL: every passkey and link
	// sign-in asks it (home-realm policy, pending links), and a
	// deployment without upstreams should pay no query for that.
	enabled   []models.UpstreamProvider
	enabledAt time.Time
}

// enabledTTL bounds how long another replica's provider change takes to
// be seen here (a change on this replica is seen at once: Forget).
const enabledTTL = 5 * time.Second

type cachedProvider struct {
	p       *oidc.Provider
	issuer  string
	fetched time.Time
}

// New returns the method.
func New(st Store, cfg Config) (*Service, error) {
	box, err := NewBox(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		return nil, errors.New("upstream: an outbound HTTP client is required")
	}
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{st: st, cfg: cfg, box: box, log: cfg.Logger, disc: map[string]cachedProvider{}}, nil
}

// Box is the sealer of the provider's client secrets.
func (s *Service) Box() *Box { return s.box }

// Enabled returns the providers people may sign in with (cached for
// enabledTTL; callers must not modify the result).
func (s *Service) Enabled(ctx context.Context) ([]models.UpstreamProvider, error) {
	s.mu.Lock()
	if !s.enabledAt.IsZero() && clock.Now().Sub(s.enabledAt) < enabledTTL {
		out := s.enabled
		s.mu.Unlock()
		return out, nil
	}
	s.mu.Unlock()
	all, err := s.st.ListUpstreamProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("list upstream providers: %w", err)
	}
	out := all[:0]
	for _, p := range all {
		if !p.Disabled {
			out = append(out, p)
		}
	}
	s.mu.Lock()
	s.enabled, s.enabledAt = out, clock.Now()
	s.mu.Unlock()
	return out, nil
}

// Start begins a sign-in with providerID for the interaction (or none) in
// the browser whose binding hash is browser; it returns the upstream's
// authorization URL. State, nonce and PKCE verifier are fresh random
// values; the state's hash, the nonce and the sealed verifier are stored.
// loginHint, when set, is passed on as the upstream's login_hint (the
// address typed on Sesame's login page).
// ip is the client's address, for the limit.
func (s *Service) Start(ctx context.Context, providerID, interactionID, browser, loginHint, ip string) (string, error) {
	if s.cfg.Limiter != nil {
		ok, _, err := s.cfg.Limiter.Allow(ctx, "upstream-start:"+ip, StartLimit, StartWindow)
		if err != nil {
			return "", fmt.Errorf("upstream start limit: %w", err)
		}
		if !ok {
			return "", ErrLimited
		}
	}
	p, err := s.provider(ctx, providerID)
	if err != nil {
		return "", err
	}
	conf, err := s.oauth2Config(ctx, p)
	if err != nil {
		return "", err
	}
	state, nonce, verifier := websession.RandomToken(32), websession.RandomToken(32), oauth2.GenerateVerifier()
	now := clock.Now()
	f := &models.UpstreamFlow{ID: uuid.NewString(), StateHash: hashState(state), ProviderID: p.ID, InteractionID: interactionID,
		BrowserHash: browser, VerifierSealed: s.box.Seal("pkce:"+state, verifier), CreatedAt: now, ExpiresAt: now.Add(FlowTTL)}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if loginHint != "" && len(loginHint) <= 254 {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	if p.Kind == models.UpstreamOIDC {
		f.Nonce = nonce
		opts = append(opts, oidc.Nonce(nonce))
	}
	if formPost(p) {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	if err := s.st.CreateUpstreamFlow(ctx, f); err != nil {
		return "", fmt.Errorf("start upstream sign-in: %w", err)
	}
	return conf.AuthCodeURL(state, opts...), nil
}

// Callback is what the upstream sent back to CallbackPath.
type Callback struct {
	State, Code string
	// Error and ErrorDescription are the upstream's refusal (RFC 6749
	// §4.1.2.1), if any.
	Error, ErrorDescription string
}

// Identity is who the upstream says signed in, after the claim mapping.
type Identity struct {
	Subject       string
	Email         string
	EmailVerified bool
	// Name is at most MaxNameLen characters on one line.
	Name string
	// NameFromForm: Name is what Apple's form_post user field said
	// (the first authorization only), not a claim of the ID token.
	NameFromForm bool
	Groups       []string
	// GroupsUnknown: the token says the groups are elsewhere (Entra ID's
	// _claim_names for a member of too many groups), so the groups claim
	// says nothing about them and the memberships stay as they are.
	GroupsUnknown bool
	// AMR and ACR are the upstream's own, used only when the provider
	// passes them through.
	AMR []string
	ACR string
}

// Result is a validated callback.
type Result struct {
	Flow     *models.UpstreamFlow
	Provider *models.UpstreamProvider
	Identity Identity
}

// Reason names a refusal for the auth event (a short code).
func Reason(err error) string {
	var te *oidc.TokenExpiredError
	switch {
	case errors.As(err, &te):
		return "id_token_expired"
	case errors.Is(err, ErrDenied):
		return "upstream_denied"
	case errors.Is(err, ErrState):
		return "bad_state"
	case errors.Is(err, ErrToken):
		return "bad_token"
	case errors.Is(err, ErrProvider):
		return "provider_unavailable"
	}
	return "error"
}

// Finish validates a callback in the browser whose binding hash is
// browser: the state is spent first (so a replayed callback, or a code
// replayed with it, finds nothing), then the code is exchanged with the
// PKCE verifier and the identity read from a validated ID token (or, for
// GitHub, its API). The flow is returned even on a token refusal (for the
// event's interaction); nothing else is written.
func (s *Service) Finish(ctx context.Context, cb Callback, browser string) (*Result, error) {
	if cb.State == "" {
		return nil, ErrState
	}
	f, err := s.st.ConsumeUpstreamFlow(ctx, hashState(cb.State), clock.Now())
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrConsumed), errors.Is(err, models.ErrExpired):
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	case err != nil:
		return nil, fmt.Errorf("finish upstream sign-in: %w", err)
	}
	res := &Result{Flow: f}
	// A state spent by another browser is refused (login CSRF: someone
	// else's callback pasted into this browser).
	if subtle.ConstantTimeCompare([]byte(f.BrowserHash), []byte(browser)) != 1 {
		return res, fmt.Errorf("%w: another browser", ErrState)
	}
	if cb.Error != "" {
		return res, fmt.Errorf("%w: %s", ErrDenied, cb.Error)
	}
	if cb.Code == "" {
		return res, fmt.Errorf("%w: no code", ErrDenied)
	}
	p, err := s.provider(ctx, f.ProviderID)
	if err != nil {
		return res, err
	}
	res.Provider = p
	verifier, err := s.box.Open("pkce:"+cb.State, f.VerifierSealed)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrState, err)
	}
	var id Identity
	if p.Kind == models.UpstreamGitHub {
		id, err = s.finishGitHub(ctx, p, cb.Code, verifier)
	} else {
		id, err = s.finishOIDC(ctx, p, f, cb.Code, verifier)
	}
	if err != nil {
		return res, err
	}
	id.Name = cleanName(id.Name)
	// Apple's ID token has no name: the first authorization's form_post
	// said it (NoteUser kept it on the flow).
	if id.Name == "" && f.Name != "" && NameInForm(p) {
		id.Name, id.NameFromForm = cleanName(f.Name), true
	}
	res.Identity = id
	return res, nil
}

// MaxNameLen bounds a name taken from an upstream (as the console bounds
// a display name).
const MaxNameLen = 100

// cleanName is name on one line (controls dropped, spaces collapsed), at
// most MaxNameLen characters.
func cleanName(name string) string {
	name = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name)), " ")
	if r := []rune(name); len(r) > MaxNameLen {
		name = strings.TrimSpace(string(r[:MaxNameLen]))
	}
	return name
}

// maxUserField bounds the user field read (a name and an address).
const maxUserField = 4 << 10

// NoteUser keeps the person's name from the "user" field of a form_post
// callback (Apple sends it there, on the first authorization only, and
// never in the ID token) on the flow the state names, for Finish. Only a
// flow of a provider that sends it, still waiting for its callback, and
// not named yet, takes it. The field's address is ignored: the address
// comes from the verified ID token only. Nothing is checked here about
// the browser (the cross-site POST carries no cookie); the name is used
// only if the callback then completes in the flow's browser.
func (s *Service) NoteUser(ctx context.Context, state, user string) error {
	if state == "" || user == "" || len(user) > maxUserField {
		return nil
	}
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if json.Unmarshal([]byte(user), &u) != nil {
		return nil
	}
	name := cleanName(u.Name.FirstName + " " + u.Name.LastName)
	if name == "" {
		return nil
	}
	ps, err := s.Enabled(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for i := range ps {
		if NameInForm(&ps[i]) {
			ids = append(ids, ps[i].ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = s.st.NameUpstreamFlow(ctx, hashState(state), ids, name, clock.Now())
	return err
}

func (s *Service) finishOIDC(ctx context.Context, p *models.UpstreamProvider, f *models.UpstreamFlow, code, verifier string) (Identity, error) {
	op, err := s.discover(ctx, p)
	if err != nil {
		return Identity{}, err
	}
	conf, err := s.oauth2Config(ctx, p)
	if err != nil {
		return Identity{}, err
	}
	hctx := oidc.ClientContext(ctx, s.cfg.HTTPClient)
	tok, err := conf.Exchange(hctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: code exchange: %w", ErrToken, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token in the token response", ErrToken)
	}
	skew := s.cfg.Skew
	v := op.VerifierContext(hctx, &oidc.Config{ClientID: p.ClientID, Now: func() time.Time { return clock.Now().Add(-skew) }})
	idt, err := v.Verify(hctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrToken, err)
	}
	// OIDC Core §3.1.3.7: the nonce binds the token to this redirect.
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 || f.Nonce == "" {
		return Identity{}, fmt.Errorf("%w: nonce mismatch", ErrToken)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %w", ErrToken, err)
	}
	// OIDC Core §3.1.3.7 (4, 5): several audiences need azp, and an azp
	// must be us.
	azp, _ := claims["azp"].(string)
	if (len(idt.Audience) > 1 && azp == "") || (azp != "" && azp != p.ClientID) {
		return Identity{}, fmt.Errorf("%w: azp %q is not this client", ErrToken, azp)
	}
	id := mapClaims(p, claims)
	if id.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no subject", ErrToken)
	}
	return id, nil
}

// mapClaims reads the identity through the provider's claim mapping.
func mapClaims(p *models.UpstreamProvider, claims map[string]any) Identity {
	name := func(k string) string {
		if v := p.Claims[k]; v != "" {
			return v
		}
		return k
	}
	str := func(k string) string {
		switch v := claims[name(k)].(type) {
		case string:
			return v
		case float64:
			return fmt.Sprintf("%.0f", v)
		}
		return ""
	}
	sub, _ := claims["sub"].(string)
	id := Identity{Subject: sub, Email: strings.TrimSpace(str("email")), Name: str("name")}
	if k := p.Claims["subject"]; k != "" {
		id.Subject = str("subject")
	}
	// Only a boolean true (or the string "true" some providers send) is a
	// verified address; anything else is unverified.
	switch v := claims[name("email_verified")].(type) {
	case bool:
		id.EmailVerified = v
	case string:
		id.EmailVerified = v == "true"
	}
	if gs, ok := claims[name("groups")].([]any); ok {
		for _, g := range gs {
			if s, ok := g.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	if names, ok := claims["_claim_names"].(map[string]any); ok {
		_, id.GroupsUnknown = names[name("groups")]
	}
	if as, ok := claims["amr"].([]any); ok {
		for _, a := range as {
			if s, ok := a.(string); ok {
				id.AMR = append(id.AMR, s)
			}
		}
	}
	id.ACR, _ = claims["acr"].(string)
	return id
}

// provider loads an enabled provider.
func (s *Service) provider(ctx context.Context, id string) (*models.UpstreamProvider, error) {
	p, err := s.st.GetUpstreamProvider(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q unknown", ErrProvider, id)
	}
	if err != nil {
		return nil, fmt.Errorf("load upstream provider: %w", err)
	}
	if p.Disabled {
		return nil, fmt.Errorf("%w: %q disabled", ErrProvider, id)
	}
	return p, nil
}

// discover returns the provider's discovery (cached a while; a changed
// issuer refetches). go-oidc refuses a document whose issuer is not the
// configured one (OIDC Discovery §4.3).
func (s *Service) discover(ctx context.Context, p *models.UpstreamProvider) (*oidc.Provider, error) {
	s.mu.Lock()
	c, ok := s.disc[p.ID]
	s.mu.Unlock()
	if ok && c.issuer == p.Issuer && clock.Now().Sub(c.fetched) < discoveryTTL {
		return c.p, nil
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, s.cfg.HTTPClient), p.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery of %s: %w", ErrProvider, p.Issuer, err)
	}
	s.mu.Lock()
	s.disc[p.ID] = cachedProvider{p: op, issuer: p.Issuer, fetched: clock.Now()}
	s.mu.Unlock()
	return op, nil
}

// Forget drops a provider's cached discovery and the enabled list (after
// an admin changed it).
func (s *Service) Forget(id string) {
	s.mu.Lock()
	delete(s.disc, id)
	s.enabledAt = time.Time{}
	s.mu.Unlock()
}

func (s *Service) oauth2Config(ctx context.Context, p *models.UpstreamProvider) (*oauth2.Config, error) {
	secret := ""
	if p.ClientSecretSealed != "" {
		var err error
		if secret, err = s.box.Open(p.ID, p.ClientSecretSealed); err != nil {
			return nil, fmt.Errorf("%w: client secret of %q: %w", ErrProvider, p.ID, err)
		}
	}
	conf := &oauth2.Config{ClientID: p.ClientID, ClientSecret: secret, RedirectURL: s.cfg.RedirectURL, Scopes: p.Scopes}
	if len(conf.Scopes) == 0 {
		conf.Scopes = DefaultScopes(p.Kind) // a row stored before the defaults were
	}
	if p.Kind == models.UpstreamGitHub {
		conf.Endpoint = s.githubEndpoint(p)
		return conf, nil
	}
	op, err := s.discover(ctx, p)
	if err != nil {
		return nil, err
	}
	conf.Endpoint = op.Endpoint()
	return conf, nil
}

// hashState is what is stored of a state: its SHA-256.
func hashState(state string) string {
	h := sha256.Sum256([]byte(state))
	return hex.EncodeToString(h[:])
}
