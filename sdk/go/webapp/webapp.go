// Package webapp signs people in to a server-rendered Go web app with
// Sesame (or any OpenID provider): the login redirect (authorization code
// with PKCE S256, state and nonce), the callback (code exchange, ID token
// verification with go-oidc), an encrypted session cookie, access tokens
// refreshed when they are about to expire, and logout at the provider
// (RP-initiated logout).
//
// The session lives only in the browser's cookie: AES-256-GCM under a key
// derived from [Config].CookieSecret, HttpOnly, SameSite=Lax, Secure when
// the redirect URL is https, split over several cookies when it is long.
// Nothing is stored on the server, so any replica of the app can serve any
// request. Changing CookieSecret signs everyone out.
//
// Wire it up:
//
//	app, err := webapp.New(ctx, webapp.Config{Issuer: ..., ClientID: ..., ClientSecret: ...,
//		RedirectURL: "http://localhost:3000/callback", CookieSecret: secret})
//	mux.HandleFunc("GET /login", app.Login)
//	mux.HandleFunc("GET /callback", app.Callback)
//	mux.HandleFunc("POST /logout", app.Logout)
//	mux.Handle("/", app.RequireLogin(home))
//
// and read the signed-in user in a handler with [FromContext] or
// [App.Session].
package webapp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures an App.
type Config struct {
	// Issuer is the provider's issuer URL.
	Issuer string
	// ClientID and ClientSecret of the app (a confidential client; for a
	// public client leave the secret empty).
	ClientID     string
	ClientSecret string
	// RedirectURL is the registered redirect URI; its path serves Callback.
	RedirectURL string
	// PostLogoutRedirectURL is where the provider sends the browser after
	// logout (register it as a post-logout redirect URI). Empty: the
	// provider shows its own signed-out page.
	PostLogoutRedirectURL string
	// Scopes to request (default: openid profile email). Add
	// offline_access for a refresh token, groups for the groups claim.
	Scopes []string
	// CookieSecret encrypts the session cookie: at least 32 random bytes,
	// the same on every replica of the app.
	CookieSecret []byte
	// CookieName names the session cookie (default "sesame_session").
	CookieName string
	// SessionTTL bounds a session (default 12 h); the session also ends
	// when its access token has expired and cannot be refreshed.
	SessionTTL time.Duration
	// RefreshBefore: AccessToken refreshes an access token that expires
	// within this time (default 30 s).
	RefreshBefore time.Duration
	// HTTPClient talks to the provider (default: 10 s timeout).
	HTTPClient *http.Client
	// Logger receives failed logins and refreshes (default: slog.Default).
	Logger *slog.Logger
}

// Session is a signed-in user as the session cookie holds it.
type Session struct {
	Subject string `json:"sub"`
	// Claims are the ID token's claims (email, name, groups, …).
	Claims       map[string]any `json:"claims"`
	IDToken      string         `json:"id_token"`
	AccessToken  string         `json:"access_token"`
	RefreshToken string         `json:"refresh_token,omitempty"`
	TokenExpiry  time.Time      `json:"token_expiry"`
	// Expiry is when the session ends (SessionTTL after sign-in).
	Expiry time.Time `json:"expiry"`
}

// Email returns the email claim, or "".
func (s *Session) Email() string { v, _ := s.Claims["email"].(string); return v }

// Name returns the name claim, or "".
func (s *Session) Name() string { v, _ := s.Claims["name"].(string); return v }

// Groups returns the groups claim (present when the groups scope was granted).
func (s *Session) Groups() []string {
	list, _ := s.Claims["groups"].([]any)
	out := make([]string, 0, len(list))
	for _, g := range list {
		if s, ok := g.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// InGroup reports whether the user is in group.
func (s *Session) InGroup(group string) bool { return slices.Contains(s.Groups(), group) }

// App handles login, callback and logout for one client.
type App struct {
	cfg        Config
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
	seal       *sealer
	secure     bool
	log        *slog.Logger
}

// New discovers the provider and returns an App.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("webapp: Issuer, ClientID and RedirectURL are required")
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil || redirect.Scheme == "" || redirect.Host == "" {
		return nil, fmt.Errorf("webapp: RedirectURL %q is not an absolute URL", cfg.RedirectURL)
	}
	seal, err := newSealer(cfg.CookieSecret)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "sesame_session"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("webapp: %w", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = provider.Claims(&meta)
	a := &App{
		cfg: cfg,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes},
		verifier:   provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		endSession: meta.EndSession,
		seal:       seal,
		secure:     redirect.Scheme == "https",
		log:        cfg.Logger,
	}
	return a, nil
}

// loginState is what the login cookie remembers between Login and Callback.
type loginState struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Return   string `json:"return"`
}

// loginTTL bounds a sign-in from Login to Callback.
const loginTTL = 10 * time.Minute

func (a *App) cookie(name string, maxAge time.Duration) http.Cookie {
	return http.Cookie{Name: name, Path: "/", HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())}
}

// loginCookieName is per sign-in (it carries part of the state), so two
// tabs signing in at once do not overwrite each other's.
func (a *App) loginCookieName(state string) string { return a.cfg.CookieName + "_login_" + state[:12] }

// Login sends the browser to the provider. The query parameter return (a
// local path) is where Callback sends it afterwards; prompt and
// login_hint are passed on.
func (a *App) Login(w http.ResponseWriter, r *http.Request) {
	st := loginState{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), Return: localPath(r.URL.Query().Get("return"))}
	value, err := a.seal.seal(a.loginCookieName(st.State), st, time.Now().Add(loginTTL))
	if err != nil {
		http.Error(w, "cannot start sign-in", http.StatusInternalServerError)
		return
	}
	c := a.cookie(a.loginCookieName(st.State), loginTTL)
	c.Value = value
	http.SetCookie(w, &c)
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce)}
	for _, p := range []string{"prompt", "login_hint", "acr_values", "max_age"} {
		if v := r.URL.Query().Get(p); v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(p, v))
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, a.oauth.AuthCodeURL(st.State, opts...), http.StatusFound)
}

// Callback completes the sign-in: it checks state, exchanges the code
// with the PKCE verifier, verifies the ID token and its nonce, sets the
// session cookie and redirects to the return path. Errors from the
// provider (access_denied, …) and bad requests answer 400 with a short
// page; a failed exchange answers 502.
func (a *App) Callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if len(state) < 12 {
		a.fail(w, r, http.StatusBadRequest, "The sign-in response is missing its state.", nil)
		return
	}
	name := a.loginCookieName(state)
	c, err := r.Cookie(name)
	var st loginState
	if err != nil || a.seal.open(name, c.Value, &st) != nil || st.State != state {
		a.fail(w, r, http.StatusBadRequest, "This sign-in expired or was started in another browser. Please sign in again.", err)
		return
	}
	gone := a.cookie(name, 0)
	gone.MaxAge = -1
	http.SetCookie(w, &gone)
	if e := q.Get("error"); e != "" {
		a.fail(w, r, http.StatusBadRequest, "Sign-in was not completed ("+e+").", errors.New(q.Get("error_description")))
		return
	}
	// RFC 9207: when the provider names itself, it must be ours.
	if iss := q.Get("iss"); iss != "" && iss != a.cfg.Issuer {
		a.fail(w, r, http.StatusBadRequest, "The sign-in response came from another issuer.", nil)
		return
	}
	ctx := oidc.ClientContext(r.Context(), a.cfg.HTTPClient)
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, "The sign-in could not be completed.", err)
		return
	}
	sess, err := a.sessionFromToken(ctx, tok, st.Nonce)
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, "The sign-in could not be completed.", err)
		return
	}
	if err := a.save(w, r, sess); err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The session could not be saved.", err)
		return
	}
	http.Redirect(w, r, st.Return, http.StatusFound)
}

func (a *App) sessionFromToken(ctx context.Context, tok *oauth2.Token, nonce string) (*Session, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("webapp: no id_token in the token response")
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("webapp: %w", err)
	}
	if nonce != "" && idt.Nonce != nonce {
		return nil, errors.New("webapp: the ID token's nonce does not match")
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil && idt.AccessTokenHash != "" {
		return nil, fmt.Errorf("webapp: %w", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("webapp: %w", err)
	}
	// Keep the claims an app shows or checks; the raw ID token stays for logout.
	keep := map[string]any{}
	for _, k := range []string{"email", "email_verified", "name", "preferred_username", "given_name", "family_name", "picture", "locale", "groups", "acr", "amr", "auth_time"} {
		if v, ok := claims[k]; ok {
			keep[k] = v
		}
	}
	return &Session{Subject: idt.Subject, Claims: keep, IDToken: raw, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
		TokenExpiry: tok.Expiry, Expiry: time.Now().Add(a.cfg.SessionTTL)}, nil
}

func (a *App) save(w http.ResponseWriter, r *http.Request, s *Session) error {
	value, err := a.seal.seal(a.cfg.CookieName, s, s.Expiry)
	if err != nil {
		return err
	}
	return writeChunked(w, r, a.cookie(a.cfg.CookieName, time.Until(s.Expiry)), value)
}

// Session returns the request's session, or false when nobody is signed
// in (no cookie, a cookie that does not decrypt, or an expired session).
func (a *App) Session(r *http.Request) (*Session, bool) {
	if s, ok := FromContext(r.Context()); ok {
		return s, true
	}
	value := readChunked(r, a.cfg.CookieName)
	if value == "" {
		return nil, false
	}
	var s Session
	if err := a.seal.open(a.cfg.CookieName, value, &s); err != nil || time.Now().After(s.Expiry) {
		return nil, false
	}
	return &s, true
}

// AccessToken returns a usable access token for the signed-in user,
// refreshing it (and the session cookie, since the provider rotates the
// refresh token) when it expires within Config.RefreshBefore. Call it
// before writing the response body. Two requests of one browser may both
// refresh with the same refresh token (the cookie is the only state):
// Sesame answers the second too within its refresh_token_reuse_interval
// (10 s), and the cookie of the last response wins.
func (a *App) AccessToken(w http.ResponseWriter, r *http.Request) (string, error) {
	s, ok := a.Session(r)
	if !ok {
		return "", ErrNoSession
	}
	if s.TokenExpiry.IsZero() || time.Until(s.TokenExpiry) > a.cfg.RefreshBefore {
		return s.AccessToken, nil
	}
	if s.RefreshToken == "" {
		return "", fmt.Errorf("%w: the access token expired and there is no refresh token (ask for offline_access)", ErrNoSession)
	}
	ctx := oidc.ClientContext(r.Context(), a.cfg.HTTPClient)
	tok, err := a.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: s.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return "", fmt.Errorf("webapp: refresh: %w", err)
	}
	s.AccessToken, s.TokenExpiry = tok.AccessToken, tok.Expiry
	if tok.RefreshToken != "" {
		s.RefreshToken = tok.RefreshToken
	}
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		if idt, err := a.verifier.Verify(ctx, raw); err == nil && idt.Subject == s.Subject {
			s.IDToken = raw
		}
	}
	if err := a.save(w, r, s); err != nil {
		return "", err
	}
	return s.AccessToken, nil
}

// ErrNoSession: nobody is signed in, or the session can no longer get an
// access token.
var ErrNoSession = errors.New("webapp: not signed in")

type ctxKey struct{}

// FromContext returns the session RequireLogin found for the request.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok
}

// RequireLogin lets signed-in requests through (the handler reads the
// session with FromContext) and sends others to sign in: a GET or HEAD is
// redirected to login (the path of Login, default "/login") with the
// current URL as return path, anything else gets 401.
func (a *App) RequireLogin(next http.Handler) http.Handler {
	return a.RequireLoginAt("/login", next)
}

// RequireLoginAt is RequireLogin with Login served at loginPath.
func (a *App) RequireLoginAt(loginPath string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.Session(r)
		if !ok {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				http.Error(w, "sign in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, loginPath+"?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	})
}

// Logout ends the session: it clears the cookie and sends the browser to
// the provider's end-session endpoint with the ID token as hint (the
// provider then ends its own session) and PostLogoutRedirectURL. Serve it
// for POST: a cross-site request (no same-origin Sec-Fetch-Site or
// Origin) is refused with 403, so another site cannot sign users out.
func (a *App) Logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if !sameOrigin(r, a.cfg.RedirectURL) {
		http.Error(w, "cross-site logout refused", http.StatusForbidden)
		return
	}
	s, _ := a.Session(r)
	clearChunked(w, r, a.cookie(a.cfg.CookieName, 0))
	target := a.cfg.PostLogoutRedirectURL
	if a.endSession != "" {
		u, err := url.Parse(a.endSession)
		if err == nil {
			q := u.Query()
			q.Set("client_id", a.cfg.ClientID)
			if s != nil && s.IDToken != "" {
				q.Set("id_token_hint", s.IDToken)
			}
			if a.cfg.PostLogoutRedirectURL != "" {
				q.Set("post_logout_redirect_uri", a.cfg.PostLogoutRedirectURL)
			}
			u.RawQuery = q.Encode()
			target = u.String()
		}
	}
	if target == "" {
		target = "/"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// sameOrigin accepts a request the browser marks same-origin, or whose
// Origin is the app's; requests from non-browser clients (no such
// headers) pass.
func sameOrigin(r *http.Request, appURL string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(appURL)
	return err == nil && strings.EqualFold(origin, u.Scheme+"://"+u.Host)
}

// localPath keeps only a path on this site ("/" otherwise): no scheme or
// host, no "//" or "\" that browsers read as another host.
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return p
}

func (a *App) fail(w http.ResponseWriter, r *http.Request, status int, msg string, cause error) {
	a.log.WarnContext(r.Context(), "sign-in failed", "status", status, "reason", msg, "err", cause)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>Sign-in failed</title><p>%s</p><p><a href=\"/\">Back</a></p>", html.EscapeString(msg))
}
