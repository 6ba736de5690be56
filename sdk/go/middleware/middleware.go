package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config tells a Verifier which issuer to trust and how.
type Config struct {
	// Issuer is the issuer URL, e.g. "https://login.example.com". Its
	// discovery document names the JWKS and introspection endpoints.
	Issuer string
	// Audience, when set, must be among a token's audiences (JWT "aud",
	// introspection "aud"). Set it to the identifier your API's tokens are
	// issued for; empty accepts a token issued for any audience by Issuer.
	Audience string
	// ClientID and ClientSecret authenticate the API at the introspection
	// endpoint (HTTP Basic). Without them only JWT access tokens are
	// accepted.
	ClientID     string
	ClientSecret string
	// HTTPClient makes the discovery, JWKS and introspection requests
	// (default: a client with a 10 s timeout).
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat (default 1 min).
	Leeway time.Duration
	// JWKSMinRefresh is the shortest time between two JWKS fetches caused
	// by unknown key ids (default 30 s). JWKSMaxAge is how long fetched
	// keys are used before they are fetched again anyway (default 10 min).
	JWKSMinRefresh time.Duration
	JWKSMaxAge     time.Duration
	// IntrospectionCacheSize bounds the number of cached introspection
	// answers (default 10,000); IntrospectionCacheTTL is how long one is
	// reused (default 30 s; never past the token's exp). A negative TTL
	// turns the cache off.
	IntrospectionCacheSize int
	IntrospectionCacheTTL  time.Duration
	// Realm goes into WWW-Authenticate (default "api").
	Realm string
	// DPoPMaxAge is how old a DPoP proof (its iat) may be, besides Leeway
	// (default 60 s). DPoPReplayCacheSize bounds the proofs remembered to
	// refuse replays (default 100,000, each for DPoPMaxAge plus twice
	// Leeway): only when more proofs than that arrive within that window
	// could the oldest be replayed. That cache is per process: behind
	// several replicas set DPoPReplay to a store they share.
	DPoPMaxAge          time.Duration
	DPoPReplayCacheSize int
	// DPoPReplay, when set, replaces the in-memory cache of seen proofs
	// (see DPoPReplayStore and NewSQLReplayStore).
	DPoPReplay DPoPReplayStore
	// PublicURL is the API's external base URL (scheme and host, e.g.
	// "https://api.example.com") that DPoP proofs name in htu; empty takes
	// the request's Host, with https when the request came over TLS. Set
	// it behind a proxy that terminates TLS or rewrites the host.
	PublicURL string
	// RequireDPoP refuses tokens that are not DPoP-bound (bearer tokens).
	RequireDPoP bool
}

// Token is a verified access token.
type Token struct {
	// Subject is the user (or, for client_credentials, the client).
	Subject  string
	ClientID string
	Scopes   []string
	// Groups are the user's groups; Sesame includes them when the token
	// was granted the groups scope.
	Groups    []string
	Audience  []string
	Issuer    string
	ExpiresAt time.Time
	IssuedAt  time.Time
	// JWT tells whether the token was a JWT (true) or introspected.
	JWT bool
	// Claims holds every claim of the JWT or of the introspection answer.
	Claims map[string]any
}

// HasScope reports whether the token was granted scope.
func (t *Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// InGroup reports whether the token's user is in group.
func (t *Token) InGroup(group string) bool { return slices.Contains(t.Groups, group) }

// Requirement is a condition a token must meet; see Scopes, AnyScope,
// Groups and AnyGroup.
type Requirement func(*Token) error

// Scopes requires every one of the scopes.
func Scopes(scopes ...string) Requirement {
	return func(t *Token) error {
		for _, s := range scopes {
			if !t.HasScope(s) {
				return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "The access token lacks the scope " + s + ".", Scope: strings.Join(scopes, " ")}
			}
		}
		return nil
	}
}

// AnyScope requires at least one of the scopes.
func AnyScope(scopes ...string) Requirement {
	return func(t *Token) error {
		if slices.ContainsFunc(scopes, t.HasScope) {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "The access token has none of the scopes " + strings.Join(scopes, ", ") + ".", Scope: strings.Join(scopes, " ")}
	}
}

// Groups requires membership of every one of the groups.
func Groups(groups ...string) Requirement {
	return func(t *Token) error {
		for _, g := range groups {
			if !t.InGroup(g) {
				return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "The user is not a member of the group " + g + "."}
			}
		}
		return nil
	}
}

// AnyGroup requires membership of at least one of the groups.
func AnyGroup(groups ...string) Requirement {
	return func(t *Token) error {
		if slices.ContainsFunc(groups, t.InGroup) {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Description: "The user is in none of the groups " + strings.Join(groups, ", ") + "."}
	}
}

// Check runs the requirements in order and returns the first failure (an
// *Error with status 403).
func (t *Token) Check(reqs ...Requirement) error {
	for _, r := range reqs {
		if err := r(t); err != nil {
			return err
		}
	}
	return nil
}

// Error is a refusal in RFC 6750 terms. Verify and Authenticate return it
// for every problem with the token; other errors (the issuer unreachable)
// are wrapped in an Error with status 503.
type Error struct {
	Status      int    // 401, 403 or 503
	Code        string // invalid_request, invalid_token, insufficient_scope, temporarily_unavailable
	Description string
	Scope       string // the scopes a 403 needs, for WWW-Authenticate
	Err         error  // the cause, if any (not shown to the caller)
	// DPoP makes the challenge a DPoP one (RFC 9449 §7.1): the request or
	// the token used DPoP.
	DPoP bool
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Description + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoToken is the cause of the 401 for a request without a bearer token.
var ErrNoToken = errors.New("no bearer token")

func invalidToken(desc string, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc, Err: cause}
}

func unavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: "The token could not be checked; try again.", Err: cause}
}

// WriteError answers err as RFC 6750 §3 describes: the status, a
// WWW-Authenticate header and a small JSON body. An error that is not an
// *Error is answered as 401 invalid_token.
func WriteError(w http.ResponseWriter, err error) { writeError(w, "api", err) }

func writeError(w http.ResponseWriter, realm string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = invalidToken("The access token is invalid.", err)
	}
	scheme := "Bearer"
	if e.DPoP {
		scheme = "DPoP"
	}
	h := fmt.Sprintf("%s realm=%q", scheme, realm)
	if e.Status != http.StatusServiceUnavailable && !errors.Is(e, ErrNoToken) {
		// RFC 6750 §3.1: a request without any credentials gets no error code.
		h += fmt.Sprintf(", error=%q, error_description=%q", e.Code, e.Description)
		if e.Scope != "" {
			h += fmt.Sprintf(", scope=%q", e.Scope)
		}
	}
	if e.DPoP {
		h += fmt.Sprintf(", algs=%q", dpopAlgNames())
	}
	w.Header().Set("WWW-Authenticate", h)
	if errors.Is(e, ErrNoToken) && !e.DPoP {
		// Either scheme will do (RFC 9449 §7.1).
		w.Header().Add("WWW-Authenticate", fmt.Sprintf("DPoP realm=%q, algs=%q", realm, dpopAlgNames()))
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.Code, "error_description": e.Description})
}

type ctxKey struct{}

// NewContext returns ctx carrying tok (what Require does for its handler).
func NewContext(ctx context.Context, tok *Token) context.Context {
	return context.WithValue(ctx, ctxKey{}, tok)
}

// FromContext returns the token Require verified for this request.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(ctxKey{}).(*Token)
	return t, ok
}

// BearerToken returns the token of an "Authorization: Bearer" header
// (RFC 6750 §2.1), or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

// authorization reads the Authorization header's Bearer (RFC 6750 §2.1)
// or DPoP (RFC 9449 §7.1) token.
func authorization(r *http.Request) (scheme, token string) {
	s, t, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case !ok:
		return "", ""
	case strings.EqualFold(s, "Bearer"):
		return "Bearer", strings.TrimSpace(t)
	case strings.EqualFold(s, "DPoP"):
		return "DPoP", strings.TrimSpace(t)
	}
	return "", ""
}

// Authenticate verifies the request's access token and checks the
// requirements: a bearer token, or a DPoP-bound one with its proof (see
// the package documentation). Errors are *Error (pass them to WriteError).
func (v *Verifier) Authenticate(r *http.Request, reqs ...Requirement) (*Token, error) {
	scheme, raw := authorization(r)
	if raw == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "invalid_request", Description: "No access token was presented.", Err: ErrNoToken, DPoP: v.cfg.RequireDPoP}
	}
	tok, err := v.verify(r.Context(), raw)
	if err != nil {
		var e *Error
		if scheme == "DPoP" && errors.As(err, &e) {
			c := *e // possibly cached: not changed in place
			c.DPoP = true
			return nil, &c
		}
		return nil, err
	}
	jkt := boundKey(tok)
	switch {
	case scheme == "Bearer" && jkt != "":
		return nil, &Error{Status: http.StatusUnauthorized, Code: "invalid_token", DPoP: true,
			Description: "The access token is bound to a key: present it as a DPoP token with a proof."}
	case scheme == "Bearer" && v.cfg.RequireDPoP:
		return nil, &Error{Status: http.StatusUnauthorized, Code: "invalid_token", DPoP: true,
			Description: "This API accepts DPoP-bound access tokens only."}
	case scheme == "DPoP" && jkt == "":
		return nil, &Error{Status: http.StatusUnauthorized, Code: "invalid_token", DPoP: true,
			Description: "The access token is not bound to a key: present it as a bearer token."}
	case scheme == "DPoP":
		if err := v.checkDPoP(r, raw, jkt); err != nil {
			return nil, err
		}
	}
	if err := tok.Check(reqs...); err != nil {
		var e *Error
		if jkt != "" && errors.As(err, &e) {
			e.DPoP = true
		}
		return nil, err
	}
	return tok, nil
}

// Require returns middleware that lets a request through only with a
// valid access token (bearer, or DPoP-bound with its proof) meeting every requirement; the handler finds the
// token with FromContext.
func (v *Verifier) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := v.Authenticate(r, reqs...)
			if err != nil {
				var e *Error
				if errors.As(err, &e) && e.Status == http.StatusServiceUnavailable && v.log != nil {
					v.log.ErrorContext(r.Context(), "access token check", "err", err)
				}
				writeError(w, v.cfg.Realm, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), tok)))
		})
	}
}

// discovery holds the fields of the issuer's metadata the verifier uses.
type discovery struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

func discover(ctx context.Context, hc *http.Client, issuer string) (*discovery, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: %s answered %s", u, resp.Status)
	}
	var d discovery
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&d); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	// OIDC Discovery §4.3: the document must name the issuer it was fetched for.
	if d.Issuer != issuer {
		return nil, fmt.Errorf("discovery: issuer %q does not match %q", d.Issuer, issuer)
	}
	if _, err := url.Parse(d.JWKSURI); err != nil || d.JWKSURI == "" {
		return nil, fmt.Errorf("discovery: no usable jwks_uri")
	}
	return &d, nil
}
