package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Verifier checks access tokens of one issuer. It is safe for concurrent
// use; build one per process and share it.
type Verifier struct {
	cfg        Config
	hc         *http.Client
	keys       *keySet
	introspect string
	cache      *expirable.LRU[[32]byte, cached]
	replay     DPoPReplayStore
	public     *url.URL
	log        *slog.Logger
}

type cached struct {
	tok *Token
	err error
	exp time.Time
}

// algorithms accepted on JWT access tokens: asymmetric only (never none or
// an HMAC keyed with a public key).
var algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// maxTokenLen refuses absurd tokens before any parsing or network call.
const maxTokenLen = 8192

// New reads the issuer's discovery document and returns a Verifier.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("middleware: Issuer is required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = time.Minute
	}
	if cfg.JWKSMinRefresh == 0 {
		cfg.JWKSMinRefresh = 30 * time.Second
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = 10 * time.Minute
	}
	if cfg.IntrospectionCacheSize <= 0 {
		cfg.IntrospectionCacheSize = 10000
	}
	if cfg.IntrospectionCacheTTL == 0 {
		cfg.IntrospectionCacheTTL = 30 * time.Second
	}
	if cfg.Realm == "" {
		cfg.Realm = "api"
	}
	if cfg.DPoPMaxAge <= 0 {
		cfg.DPoPMaxAge = time.Minute
	}
	if cfg.DPoPReplayCacheSize <= 0 {
		cfg.DPoPReplayCacheSize = 100000
	}
	var public *url.URL
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("middleware: PublicURL %q is not an absolute URL", cfg.PublicURL)
		}
		public = u
	}
	d, err := discover(ctx, cfg.HTTPClient, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	v := &Verifier{cfg: cfg, hc: cfg.HTTPClient, keys: newKeySet(cfg.HTTPClient, d.JWKSURI, cfg.JWKSMinRefresh, cfg.JWKSMaxAge), public: public,
		replay: cfg.DPoPReplay}
	if v.replay == nil {
		// A proof is remembered as long as it could pass the iat check.
		v.replay = newMemoryReplay(cfg.DPoPReplayCacheSize, cfg.DPoPMaxAge+2*cfg.Leeway+time.Second)
	}
	if cfg.ClientID != "" {
		if d.IntrospectionEndpoint == "" {
			return nil, errors.New("middleware: the issuer publishes no introspection_endpoint")
		}
		v.introspect = d.IntrospectionEndpoint
		if cfg.IntrospectionCacheTTL > 0 {
			v.cache = expirable.NewLRU[[32]byte, cached](cfg.IntrospectionCacheSize, nil, cfg.IntrospectionCacheTTL)
		}
	}
	return v, nil
}

// WithLogger makes the middleware log checks that failed on the server's
// side (the issuer unreachable) to log; it returns v.
func (v *Verifier) WithLogger(log *slog.Logger) *Verifier { v.log = log; return v }

// Verify checks a bearer access token: a JWT (three dot-separated parts)
// against the JWKS, anything else by introspection. A DPoP-bound token is
// refused (it needs its proof: use Authenticate or Require). Every
// refusal is an *Error.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	tok, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if err := checkUnbound(tok.Claims); err != nil {
		return nil, err
	}
	return tok, nil
}

// verify checks a token whatever it is bound to.
func (v *Verifier) verify(ctx context.Context, raw string) (*Token, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return nil, invalidToken("The access token is invalid.", nil)
	}
	if strings.Count(raw, ".") == 2 {
		return v.verifyJWT(ctx, raw)
	}
	if v.introspect == "" {
		return nil, invalidToken("The access token is invalid.", errors.New("not a JWT and no introspection configured"))
	}
	return v.introspectToken(ctx, raw)
}

// verifyJWT follows RFC 9068 §4.
func (v *Verifier) verifyJWT(ctx context.Context, raw string) (*Token, error) {
	jws, err := jose.ParseSigned(raw, algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, invalidToken("The access token is invalid.", err)
	}
	h := jws.Signatures[0].Header
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if t := strings.ToLower(typ); t != "at+jwt" && t != "application/at+jwt" {
		return nil, invalidToken("The token is not a JWT access token.", fmt.Errorf("typ %q", typ))
	}
	key, err := v.keys.key(ctx, h.KeyID, h.Algorithm)
	if err != nil {
		if errors.Is(err, errUnknownKey) {
			return nil, invalidToken("The access token is invalid.", err)
		}
		return nil, unavailable(err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, invalidToken("The access token is invalid.", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, invalidToken("The access token is invalid.", err)
	}
	tok := tokenFromClaims(claims)
	tok.JWT = true
	if tok.Issuer != v.cfg.Issuer {
		return nil, invalidToken("The access token is from another issuer.", nil)
	}
	if tok.ExpiresAt.IsZero() {
		return nil, invalidToken("The access token has no expiry.", nil)
	}
	if err := v.checkTimes(tok, claims); err != nil {
		return nil, err
	}
	if err := v.checkAudience(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// checkUnbound refuses a sender-constrained token (RFC 9449 DPoP, RFC 8705
// mTLS: a cnf claim) presented as a bearer token: only the key holder may
// use it, with its proof.
func checkUnbound(claims map[string]any) error {
	if _, bound := claims["cnf"]; bound {
		e := invalidToken("The access token is bound to a key (DPoP): present it with a DPoP proof.", nil)
		e.DPoP = true
		return e
	}
	return nil
}

func (v *Verifier) checkTimes(tok *Token, claims map[string]any) error {
	now := time.Now()
	if !tok.ExpiresAt.IsZero() && now.After(tok.ExpiresAt.Add(v.cfg.Leeway)) {
		return invalidToken("The access token has expired.", nil)
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && now.Add(v.cfg.Leeway).Before(nbf) {
		return invalidToken("The access token is not valid yet.", nil)
	}
	if !tok.IssuedAt.IsZero() && now.Add(v.cfg.Leeway).Before(tok.IssuedAt) {
		return invalidToken("The access token was issued in the future.", nil)
	}
	return nil
}

func (v *Verifier) checkAudience(tok *Token) error {
	if v.cfg.Audience == "" {
		return nil
	}
	for _, a := range tok.Audience {
		if a == v.cfg.Audience {
			return nil
		}
	}
	return invalidToken("The access token is not meant for this API.", nil)
}

// introspectToken asks the issuer (RFC 7662), through the cache.
func (v *Verifier) introspectToken(ctx context.Context, raw string) (*Token, error) {
	var key [32]byte
	if v.cache != nil {
		key = sha256.Sum256([]byte(raw))
		if c, ok := v.cache.Get(key); ok && time.Now().Before(c.exp) {
			return c.tok, c.err
		}
	}
	tok, err := v.callIntrospection(ctx, raw)
	var e *Error
	if v.cache != nil && (err == nil || errors.As(err, &e) && e.Status == http.StatusUnauthorized) {
		exp := time.Now().Add(v.cfg.IntrospectionCacheTTL)
		if tok != nil && tok.ExpiresAt.Before(exp) {
			exp = tok.ExpiresAt
		}
		v.cache.Add(key, cached{tok: tok, err: err, exp: exp})
	}
	return tok, err
}

func (v *Verifier) callIntrospection(ctx context.Context, raw string) (*Token, error) {
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.introspect, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, unavailable(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(v.cfg.ClientID), url.QueryEscape(v.cfg.ClientSecret))
	resp, err := v.hc.Do(req)
	if err != nil {
		return nil, unavailable(fmt.Errorf("introspect: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(fmt.Errorf("introspect: %s", resp.Status))
	}
	var claims map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&claims); err != nil {
		return nil, unavailable(fmt.Errorf("introspect: %w", err))
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, invalidToken("The access token is invalid, expired or revoked.", nil)
	}
	// A refresh token presented as a bearer token is refused: Sesame (like
	// Ory Hydra) names the kind in token_use.
	if use, _ := claims["token_use"].(string); use != "" && use != "access_token" {
		return nil, invalidToken("The token is not an access token.", nil)
	}
	tok := tokenFromClaims(claims)
	if tok.Issuer != "" && tok.Issuer != v.cfg.Issuer {
		return nil, invalidToken("The access token is from another issuer.", nil)
	}
	if err := v.checkTimes(tok, claims); err != nil {
		return nil, err
	}
	if err := v.checkAudience(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// tokenFromClaims reads the registered claims shared by RFC 9068 and
// RFC 7662 answers.
func tokenFromClaims(c map[string]any) *Token {
	t := &Token{Claims: c}
	t.Subject, _ = c["sub"].(string)
	t.ClientID, _ = c["client_id"].(string)
	t.Issuer, _ = c["iss"].(string)
	if s, ok := c["scope"].(string); ok {
		t.Scopes = strings.Fields(s)
	} else {
		t.Scopes = strings_(c["scp"])
	}
	t.Groups = strings_(c["groups"])
	t.Audience = strings_(c["aud"])
	t.ExpiresAt, _ = numericDate(c["exp"])
	t.IssuedAt, _ = numericDate(c["iat"])
	return t
}

// strings_ reads a claim that is a string or an array of strings.
func strings_(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}
