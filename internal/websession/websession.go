// Package websession keeps the browser-side state that the OIDC provider
// and the hosted pages share: the SSO login-session cookie, the browser
// binding cookie that ties interactions to the browser that started them,
// and CSRF tokens for page forms. Only hashes of cookie secrets are stored.
//
// Cookies are HttpOnly and SameSite=Lax; outside localhost they are Secure
// and carry the __Host- prefix (no Domain, Path=/), so a sibling subdomain
// cannot set or read them.
package websession

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
)

// Store is the part of the data layer this package needs.
type Store interface {
	// StartLoginSession creates st.Session and ends the live session
	// whose token hashes to st.Replaced ("" for none; one already gone is
	// no error), with st's event and interaction mark.
	StartLoginSession(ctx context.Context, st *models.SessionStart) error
	GetLoginSessionByTokenHash(ctx context.Context, hash string) (*models.LoginSession, error)
	GetLoginSessionWithUser(ctx context.Context, hash string) (*models.LoginSession, *models.User, error)
	RevokeLoginSessionByTokenHash(ctx context.Context, hash string) error
}

// Config configures the cookies.
type Config struct {
	// Secure marks cookies Secure and uses the __Host- prefix; false only
	// for an http://localhost issuer in development.
	Secure bool
	// SessionTTL is the absolute lifetime of a login session.
	SessionTTL time.Duration
	// CSRFKey is a 32-byte key derived from the system secret.
	CSRFKey []byte
	// Policy, when set, gives the live login-session lifetime, which then
	// replaces SessionTTL for each session started.
	Policy PolicySource
}

// PolicySource supplies the live login-session lifetime (the global
// policy, internal/policy); it is asked on each Start, so a cached
// implementation is expected. A zero duration means "the Config's".
type PolicySource interface {
	LoginSessionTTL(ctx context.Context) (time.Duration, error)
}

// Manager issues and reads the cookies.
type Manager struct {
	st  Store
	cfg Config
}

// sessionTTL is the lifetime for a session started now: the policy's when
// set and readable, the configuration's otherwise.
func (m *Manager) sessionTTL(ctx context.Context) time.Duration {
	if m.cfg.Policy != nil {
		ttl, err := m.cfg.Policy.LoginSessionTTL(ctx)
		if err != nil {
			slog.WarnContext(ctx, "login session lifetime from policy not read; using the configuration's", "err", err)
		} else if ttl > 0 {
			return ttl
		}
	}
	return m.cfg.SessionTTL
}

// New returns a Manager.
func New(st Store, cfg Config) *Manager { return &Manager{st: st, cfg: cfg} }

func (m *Manager) name(base string) string {
	if m.cfg.Secure {
		return "__Host-" + base
	}
	return base
}

func (m *Manager) set(w http.ResponseWriter, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     m.name(base),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   m.cfg.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// RandomToken returns n random bytes, base64url without padding.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the stored form of a cookie secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

const (
	sessionCookie = "sesame_session"
	browserCookie = "sesame_browser"
	// maxCookieLen bounds what we hash: our values are 43 characters.
	maxCookieLen = 128
)

func (m *Manager) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(m.name(base))
	if err != nil || len(c.Value) == 0 || len(c.Value) > maxCookieLen {
		return ""
	}
	return c.Value
}

// Current returns the browser's live login session, or ErrNotFound.
func (m *Manager) Current(r *http.Request) (*models.LoginSession, error) {
	v := m.cookie(r, sessionCookie)
	if v == "" {
		return nil, fmt.Errorf("current login session: %w", models.ErrNotFound)
	}
	return m.st.GetLoginSessionByTokenHash(r.Context(), Hash(v))
}

// CurrentWithUser is Current with the session's user, read together (one
// statement).
func (m *Manager) CurrentWithUser(r *http.Request) (*models.LoginSession, *models.User, error) {
	h := m.SessionHash(r)
	if h == "" {
		return nil, nil, fmt.Errorf("current login session: %w", models.ErrNotFound)
	}
	return m.st.GetLoginSessionWithUser(r.Context(), h)
}

// SessionHash is the store's key for the browser's session cookie, or ""
// without one: for a read that joins the session to the record a page
// names (store.InteractionWithSession).
func (m *Manager) SessionHash(r *http.Request) string {
	v := m.cookie(r, sessionCookie)
	if v == "" {
		return ""
	}
	return Hash(v)
}

// Login describes a completed authentication.
type Login struct {
	UserID   string
	AMR      []string
	ACR      string
	AuthTime time.Time
	// AAGUID is the attested model of the passkey used (LoginSession.AAGUID).
	AAGUID string
	// Event and InteractionID are written with the session
	// (models.SessionStart): the sign-in's auth event, and the
	// authorization it answers.
	Event         *models.AuthEvent
	InteractionID string
	// Interaction and User, when set, are that interaction as the sign-in
	// read it and the user signing in: the store keeps them with the
	// session for the authorization's resume (models.SessionStart).
	Interaction *models.Interaction
	User        *models.User
	// Ceremony and Use are the passkey sign-in's ceremony and the
	// passkey's use, written with the session and gating it
	// (models.SessionStart).
	Ceremony *models.WebAuthnCeremony
	Use      *models.CredentialUse
}

// Start creates a login session for l and sets its cookie. An existing
// session of this browser is ended first, so a browser holds one session.
// The start's InteractionMarked says whether l's interaction was open and
// now names the session.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, l Login) (*models.SessionStart, error) {
	if l.UserID == "" {
		return nil, errors.New("start login session: no user")
	}
	ttl := m.sessionTTL(ctx)
	ls, secret, err := NewLoginSession(l, ttl, r.UserAgent(), clientIP(r))
	if err != nil {
		return nil, err
	}
	// The session this browser held ends as the new one starts (one
	// statement on PostgreSQL).
	var replaced string
	if v := m.cookie(r, sessionCookie); v != "" {
		replaced = Hash(v)
	}
	st := &models.SessionStart{Session: ls, Replaced: replaced, Event: l.Event, InteractionID: l.InteractionID,
		Interaction: l.Interaction, Owner: l.User, Ceremony: l.Ceremony, Use: l.Use}
	if err := m.st.StartLoginSession(ctx, st); err != nil {
		return nil, fmt.Errorf("start login session: %w", err)
	}
	m.set(w, sessionCookie, secret, int(ttl/time.Second))
	return st, nil
}

// NewLoginSession builds a session row and the cookie secret for it. Tests
// use it (with the store) to sign a user in without any HTTP backdoor.
func NewLoginSession(l Login, ttl time.Duration, userAgent, ip string) (*models.LoginSession, string, error) {
	now := clock.Now().UTC().Truncate(time.Microsecond)
	at := l.AuthTime
	if at.IsZero() {
		at = now
	}
	secret := RandomToken(32)
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	return &models.LoginSession{
		ID:         RandomToken(16),
		TokenHash:  Hash(secret),
		UserID:     l.UserID,
		AuthTime:   at.UTC().Truncate(time.Second),
		AMR:        l.AMR,
		ACR:        l.ACR,
		AAGUID:     l.AAGUID,
		UserAgent:  userAgent,
		IP:         ip,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(ttl),
	}, secret, nil
}

// SessionCookie returns the cookie that carries a session secret, for
// tests that put a session into a cookie jar.
func (m *Manager) SessionCookie(secret string) *http.Cookie {
	return &http.Cookie{Name: m.name(sessionCookie), Value: secret, Path: "/"}
}

// End revokes the browser's session (and its tokens) and clears the
// cookie: by the cookie's hash, without reading the session first (one
// statement on PostgreSQL).
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if v := m.cookie(r, sessionCookie); v != "" {
		if err := m.st.RevokeLoginSessionByTokenHash(ctx, Hash(v)); err != nil && !errors.Is(err, models.ErrNotFound) {
			// The cookie stays: the session is still alive, and the
			// browser must not be told (nor believe) it is signed out.
			return fmt.Errorf("end login session: %w", err)
		}
	}
	m.set(w, sessionCookie, "", -1)
	return nil
}

// Browser returns the hash of this browser's binding secret, setting a new
// binding cookie when there is none. Interactions store the hash; a flow
// may only resume in the browser that began it.
func (m *Manager) Browser(w http.ResponseWriter, r *http.Request) string {
	v := m.cookie(r, browserCookie)
	if v == "" {
		v = RandomToken(32)
		m.set(w, browserCookie, v, 0)
		// Make the new value visible to the rest of this request too,
		// replacing an unusable one (r.Cookie returns the first of a name).
		replaceCookie(r, &http.Cookie{Name: m.name(browserCookie), Value: v})
	}
	return Hash(v)
}

func replaceCookie(r *http.Request, c *http.Cookie) {
	others := r.Cookies()
	r.Header.Del("Cookie")
	for _, o := range others {
		if o.Name != c.Name {
			r.AddCookie(o)
		}
	}
	r.AddCookie(c)
}

// SameBrowser reports whether r comes from the browser whose binding hash
// is want, in constant time.
func (m *Manager) SameBrowser(r *http.Request, want string) bool {
	v := m.cookie(r, browserCookie)
	if v == "" || want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(Hash(v)), []byte(want)) == 1
}

// CSRFToken returns the form token for this browser (an HMAC of its
// binding secret), setting the binding cookie when needed.
func (m *Manager) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	m.Browser(w, r)
	return m.csrf(m.cookie(r, browserCookie))
}

func (m *Manager) csrf(binding string) string {
	mac := hmac.New(sha256.New, m.cfg.CSRFKey)
	mac.Write([]byte("csrf:" + binding))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF verifies a submitted form token against this browser.
func (m *Manager) CheckCSRF(r *http.Request, token string) bool {
	v := m.cookie(r, browserCookie)
	if v == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(m.csrf(v)), []byte(token))
}

func clientIP(r *http.Request) string {
	// The server's trusted-proxy handling has already resolved RemoteAddr
	// where a proxy is trusted; here it is informational only.
	host := r.RemoteAddr
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ':' {
			return host[:i]
		}
	}
	return host
}
