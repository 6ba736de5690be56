package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// StepUpWindow is how long a passkey confirmation allows destructive
// actions.
const StepUpWindow = 5 * time.Minute

// touchEvery limits idle-timeout bookkeeping to one write per this long.
const touchEvery = 30 * time.Second

// Where the console sends people.
const (
	// PathLogin is the hosted sign-in (authn), the one door for admins
	// too: the console sends a page request without a good admin session
	// to PathLogin?return=<the page>, and a passkey or password + security
	// key sign-in comes back there.
	PathLogin = "/login"
	PathHome  = "/console"
)

// returnRoot is the tree of console pages a sign-in may return to.
const returnRoot = "/console"

// LoginURL is the hosted sign-in that returns to the console page ret
// (checked with httpx.SafeReturn; the console's home when it is not a
// console path).
func LoginURL(ret string) string {
	if r := httpx.SafeReturn(ret, returnRoot); r != "" {
		ret = r
	} else {
		ret = PathHome
	}
	return PathLogin + "?return=" + url.QueryEscape(ret)
}

var (
	errNeedPhishingResistant = problem(http.StatusForbidden, "phishing-resistant-required",
		"Sign in with a passkey", "The console needs a sign-in with a passkey or a password and security key; a link by email is not enough.")
	errIdle = problem(http.StatusUnauthorized, "idle-timeout", "Signed out after inactivity",
		"Sign in to the console again.")
	errNotAdmin = problem(http.StatusForbidden, "not-admin", "Not an admin",
		"This account has no access to the console.")
)

// Session returns the console login session and admin of a request that
// passed Auth with a cookie (nil for bearer-token callers).
func Session(c *gin.Context) (*models.LoginSession, *models.User) {
	ls, _ := c.Get(sessionKeyName)
	u, _ := c.Get(userKeyName)
	lsv, _ := ls.(*models.LoginSession)
	uv, _ := u.(*models.User)
	return lsv, uv
}

const (
	sessionKeyName = "console.session"
	userKeyName    = "console.user"
)

// adminSession resolves the browser's login session to an admin, or a
// problem: no session (401), not an admin (403), not phishing-resistant
// (403), idle too long (401).
func (c *Console) adminSession(r *http.Request) (*models.LoginSession, *models.User, *Problem) {
	ctx := r.Context()
	ls, u, err := c.sessions.CurrentWithUser(r)
	if errors.Is(err, models.ErrUnavailable) {
		// Not knowing who this is differs from knowing nobody signed in:
		// sending an admin to sign in again would not help.
		return nil, nil, httpx.OutageProblem(err)
	}
	if err != nil {
		if !errors.Is(err, models.ErrNotFound) {
			c.log.ErrorContext(ctx, "console: load session", "err", err)
		}
		return nil, nil, errUnauthenticated
	}
	if u.Disabled {
		return nil, nil, errUnauthenticated
	}
	if !u.IsAdmin() {
		return nil, nil, errNotAdmin
	}
	// phr or any passkey level above it (models/acr.go).
	if !models.ACRAtLeast(ls.ACR, models.ACRPhishingResistant) {
		return nil, nil, errNeedPhishingResistant
	}
	now := c.now().UTC()
	if now.Sub(ls.LastSeenAt) > c.idle {
		return nil, nil, errIdle
	}
	if now.Sub(ls.LastSeenAt) > touchEvery {
		if err := c.st.TouchLoginSession(ctx, ls.ID, now); err != nil {
			c.log.WarnContext(ctx, "console: touch session", "err", err)
		}
	}
	return ls, u, nil
}

// Auth guards the console's pages and JSON endpoints: an admin's
// phishing-resistant, non-idle login session. Unsafe methods also need
// the CSRF token (X-CSRF-Token header or csrf_token form field). A page
// request (GET that accepts HTML) that fails is sent to the hosted
// sign-in with a return path (LoginURL), or shown why a non-admin is
// refused; anything else gets a problem.
func (c *Console) Auth() gin.HandlerFunc {
	return func(g *gin.Context) {
		ls, u, p := c.adminSession(g.Request)
		if p == nil && !isSafe(g.Request.Method) && !c.csrfOK(g) {
			p = errCSRF
		}
		if p != nil {
			// A page request goes to the hosted sign-in, which comes back
			// here after a phishing-resistant sign-in (no session, a link
			// by email only, idle). A signed-in non-admin would only come
			// back to the same refusal: a page says so instead.
			switch {
			case isPage(g.Request) && p.Status == http.StatusServiceUnavailable:
				// Who this is cannot be known now; signing in again would
				// not help either.
				c.renderOutage(g, p)
				return
			case isPage(g.Request) && p == errNotAdmin:
				c.renderNotAdmin(g)
				g.Abort()
				return
			case isPage(g.Request) && p != errCSRF:
				g.Redirect(http.StatusSeeOther, LoginURL(g.Request.URL.RequestURI()))
				g.Abort()
				return
			}
			c.abort(g, p)
			return
		}
		c.setSession(g, ls, u)
		g.Next()
	}
}

func (c *Console) setSession(g *gin.Context, ls *models.LoginSession, u *models.User) {
	g.Set(sessionKeyName, ls)
	g.Set(userKeyName, u)
	g.Request = g.Request.WithContext(WithActor(g.Request.Context(), Actor{
		Kind: models.ActorUser, ID: u.ID, Label: u.Email, IP: g.ClientIP(), UserAgent: g.Request.UserAgent(), SessionID: ls.ID,
	}))
}

func (c *Console) csrfOK(g *gin.Context) bool {
	tok := g.GetHeader(httpx.CSRFHeader)
	// Forms post urlencoded, or multipart when they upload a file (the
	// user import); the body limit bounds either.
	if ct := g.ContentType(); tok == "" && (strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")) {
		tok = g.PostForm("csrf_token")
	}
	return c.sessions.CheckCSRF(g.Request, tok)
}

// CSRFToken returns the token console pages put in forms and the header.
func (c *Console) CSRFToken(g *gin.Context) string { return c.sessions.CSRFToken(g.Writer, g.Request) }

func isSafe(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func isPage(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// apiAuth guards /api/admin/v1: a bearer access token issued by
// client_credentials to a client that holds the sesame:admin scope, or the
// console session (same origin, plus the CSRF header for unsafe methods).
func (c *Console) apiAuth() gin.HandlerFunc {
	return func(g *gin.Context) {
		if h := g.GetHeader("Authorization"); h != "" {
			c.bearer(g, h)
			return
		}
		if !isSafe(g.Request.Method) && !httpx.SameOrigin(g.Request, c.cfg.Issuer) {
			c.abort(g, errCrossSite)
			return
		}
		ls, u, p := c.adminSession(g.Request)
		if p == nil && !isSafe(g.Request.Method) && !c.sessions.CheckCSRF(g.Request, g.GetHeader(httpx.CSRFHeader)) {
			p = errCSRF
		}
		if p != nil {
			c.abort(g, p)
			return
		}
		c.setSession(g, ls, u)
		g.Next()
	}
}

func (c *Console) bearer(g *gin.Context, header string) {
	ctx := g.Request.Context()
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		g.Header("WWW-Authenticate", `Bearer realm="sesame-admin"`)
		c.abort(g, errUnauthenticated)
		return
	}
	subject, clientID, scopes, err := c.provider.IntrospectAccessToken(ctx, strings.TrimSpace(token))
	if err != nil {
		if !errors.Is(err, oidc.ErrInactiveToken) {
			c.abort(g, toProblem(err))
			return
		}
		g.Header("WWW-Authenticate", `Bearer realm="sesame-admin", error="invalid_token"`)
		c.abort(g, errUnauthenticated)
		return
	}
	// A client_credentials token stands for the client itself (subject ==
	// client id); a user's token never carries admin rights, whatever its
	// scopes.
	if subject != clientID || !slices.Contains(scopes, clients.ScopeAdmin) {
		g.Header("WWW-Authenticate", `Bearer realm="sesame-admin", error="insufficient_scope", scope="`+clients.ScopeAdmin+`"`)
		c.abort(g, errForbidden)
		return
	}
	// The grant may have been taken away after the token was issued.
	cl, still, err := c.Clients.HasAdminScope(ctx, clientID)
	if err != nil || !still {
		g.Header("WWW-Authenticate", `Bearer realm="sesame-admin", error="insufficient_scope", scope="`+clients.ScopeAdmin+`"`)
		c.abort(g, errForbidden)
		return
	}
	g.Request = g.Request.WithContext(WithActor(ctx, Actor{
		Kind: models.ActorClient, ID: clientID, Label: cl.Name, IP: g.ClientIP(), UserAgent: g.Request.UserAgent(),
	}))
	g.Next()
}

// RequireStepUp guards destructive actions: a console session must have
// confirmed with a user-verified passkey (or its password and a security
// key, stepup_password.go) within StepUpWindow. API clients
// (bearer tokens) have no passkey to confirm with; their token, bound to a
// confidential client's credentials, is the proof.
func (c *Console) RequireStepUp() gin.HandlerFunc {
	return func(g *gin.Context) {
		if !c.steppedUp(g) {
			c.abort(g, ErrStepUpRequired)
			return
		}
		g.Next()
	}
}

func (c *Console) steppedUp(g *gin.Context) bool {
	return checkStepUp(g.Request.Context(), c.st) == nil
}

// checkStepUp is the step-up rule, enforced by the services themselves so
// no entry point (API, console form, a future one) can skip it: a console
// user's session must have confirmed with a user-verified passkey within
// StepUpWindow. API clients (bearer tokens) and the CLI (shell access to
// the server) have no passkey to confirm with and pass.
func checkStepUp(ctx context.Context, st stepUpStore) error {
	a := ActorFrom(ctx)
	if a.Kind != models.ActorUser {
		return nil
	}
	if a.SessionID == "" {
		return ErrStepUpRequired
	}
	// Read now: the confirmation may have happened after Auth loaded it.
	ls, err := st.GetLoginSession(ctx, a.SessionID)
	if err != nil || ls.SteppedUpAt == nil || clock.Since(*ls.SteppedUpAt) > StepUpWindow {
		return ErrStepUpRequired
	}
	return nil
}

// abort writes p as application/problem+json; 5xx causes are logged once.
// renderOutage answers a console page during a database outage: the
// plain 503 page with Retry-After.
func (c *Console) renderOutage(g *gin.Context, p *Problem) {
	c.log.WarnContext(g.Request.Context(), "console: database unavailable", "path", httpx.RoutePath(g), "err", p)
	g.Header("Retry-After", httpx.OutageRetryAfter)
	// In the hosted pages' language: who is signed in (and their saved
	// locale) cannot be known now.
	lang := c.hostedLang(g)
	if err := c.pages.Error(g.Writer, http.StatusServiceUnavailable, templates.Page{Lang: lang, Path: g.Request.URL.RequestURI(), Title: c.pages.T(lang, "errors.outage.title")}, templates.ErrorView{
		Message: c.pages.T(lang, "errors.outage.msg"), Hint: c.pages.T(lang, "errors.outage.hint"), RequestID: httpx.RequestIDFrom(g.Request.Context()),
	}); err != nil {
		c.log.ErrorContext(g.Request.Context(), "render error page", "err", err)
	}
	g.Abort()
}

func (c *Console) abort(g *gin.Context, p *Problem) {
	if p.Status == http.StatusServiceUnavailable {
		g.Header("Retry-After", httpx.OutageRetryAfter)
	}
	if p.Status >= 500 {
		c.log.ErrorContext(g.Request.Context(), "console", "path", httpx.RoutePath(g), "err", p)
	} else if c.pages != nil {
		// The console's own calls show the detail: in the admin's words.
		cat := c.pages.Catalog()
		if lang := consoleLang(cat, g); lang != "" && lang != i18n.Default {
			if s, ok := problemText(cat, lang, p); ok {
				cp := *p
				cp.Detail = s
				p = &cp
			}
		}
	}
	httpx.WriteProblem(g, p)
}

// --- sign-out and step-up (JSON like authn's passkey API) ---

func (c *Console) mountAuth(r gin.IRouter) {
	r.POST("/logout", c.Auth(), c.handleLogout)
	r.POST("/stepup/options", c.Auth(), c.handleStepUpOptions)
	r.POST("/stepup/verify", c.Auth(), c.handleStepUpVerify)
	c.mountPasswordStepUp(r) // stepup_password.go
}

const maxJSONBody = passkey.MaxResponseBytes + 4<<10

type verifyRequest struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
}

// jsonBody is the guard and reader of the console's JSON posts: same
// origin, the CSRF header, JSON, a bounded body.
func (c *Console) jsonBody() httpx.JSONReader {
	return httpx.JSONReader{Origin: c.cfg.Issuer, CSRF: c.sessions, MaxBytes: maxJSONBody}
}

// jsonProblem maps an error of httpx.JSONReader to a problem.
func jsonProblem(err error) *Problem {
	switch {
	case errors.Is(err, httpx.ErrCrossSite):
		return errCrossSite
	case errors.Is(err, httpx.ErrCSRF):
		return errCSRF
	case errors.Is(err, httpx.ErrNotJSON):
		return problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Send JSON", "Content-Type must be application/json.")
	case errors.Is(err, httpx.ErrTooLarge):
		return problem(http.StatusRequestEntityTooLarge, "too-large", "The request is too large", "")
	}
	return problem(http.StatusBadRequest, "bad-json", "The body is not valid JSON for this request",
		strings.TrimPrefix(err.Error(), httpx.ErrInvalidJSON.Error()+": "))
}

// readJSON passes jsonBody and returns the body; on failure it has
// answered.
func (c *Console) readJSON(g *gin.Context) ([]byte, bool) {
	body, err := c.jsonBody().Read(g.Request)
	if err != nil {
		c.abort(g, jsonProblem(err))
		return nil, false
	}
	return body, true
}

// readVerify reads the request that finishes a ceremony (jsonBody, then
// the ceremony and the credential); what names the authenticator whose
// response could not be read.
func (c *Console) readVerify(g *gin.Context, what string) (verifyRequest, bool) {
	var req verifyRequest
	err := c.jsonBody().Decode(g.Request, &req)
	if err != nil && !errors.Is(err, httpx.ErrInvalidJSON) {
		c.abort(g, jsonProblem(err))
		return req, false
	}
	if err != nil || req.Ceremony == "" || len(req.Credential) == 0 {
		c.abort(g, invalid("credential", "the %s response could not be read", what))
		return req, false
	}
	return req, true
}

// answerOptions answers the options of a ceremony begun, or the problem
// of beginning it.
func (c *Console) answerOptions(g *gin.Context, opts any, id string, err error) {
	if err != nil {
		c.passkeyProblem(g, err)
		return
	}
	g.JSON(http.StatusOK, gin.H{"publicKey": opts, "ceremony": id})
}

func (c *Console) passkeyProblem(g *gin.Context, err error) {
	status, code, msg := passkey.HTTPStatusAndCode(err)
	if status >= 500 {
		c.abort(g, toProblem(err))
		return
	}
	c.log.InfoContext(g.Request.Context(), "console passkey refused", "code", code, "err", err)
	c.abort(g, problem(status, "passkey-"+code, msg, ""))
}

func (c *Console) handleLogout(g *gin.Context) {
	if err := c.sessions.End(g.Request.Context(), g.Writer, g.Request); err != nil {
		c.abort(g, toProblem(err))
		return
	}
	if isPage(g.Request) || strings.HasPrefix(g.ContentType(), "application/x-www-form-urlencoded") {
		g.Redirect(http.StatusSeeOther, LoginURL(PathHome))
		return
	}
	g.Status(http.StatusNoContent)
}

func (c *Console) handleStepUpOptions(g *gin.Context) {
	if _, ok := c.readJSON(g); !ok {
		return
	}
	_, u := Session(g)
	opts, id, err := c.passkeys.BeginLogin(g.Request.Context(), u, c.sessions.Browser(g.Writer, g.Request), "")
	c.answerOptions(g, opts, id, err)
}

func (c *Console) handleStepUpVerify(g *gin.Context) {
	ctx := g.Request.Context()
	req, ok := c.readVerify(g, "passkey")
	if !ok {
		return
	}
	ls, u := Session(g)
	res, err := c.passkeys.FinishLogin(ctx, req.Ceremony, c.sessions.Browser(g.Writer, g.Request), req.Credential)
	if err != nil {
		c.recordEvent(g, u.ID, "step_up", models.ResultFailure, "", err)
		c.passkeyProblem(g, err)
		return
	}
	if res.User.ID != u.ID {
		c.abort(g, problem(http.StatusForbidden, "wrong-user", "That passkey belongs to another account", ""))
		return
	}
	// amr "mfa" is set exactly when the authenticator verified the user
	// (UV flag): presence alone is not a confirmation.
	if !slices.Contains(res.AMR, "mfa") {
		c.abort(g, problem(http.StatusForbidden, "user-verification-required", "Unlock your passkey",
			"Confirm with your fingerprint, face or PIN; a touch alone is not enough for this."))
		return
	}
	now := c.now().UTC()
	if err := c.st.SetLoginSessionSteppedUp(ctx, ls.ID, now); err != nil {
		c.abort(g, toProblem(err))
		return
	}
	c.recordEvent(g, u.ID, "step_up", models.ResultSuccess, res.Credential.AAGUID, nil)
	g.JSON(http.StatusOK, gin.H{"stepped_up_until": now.Add(StepUpWindow)})
}

// recordEvent stores an auth event of a passkey step-up; failures to
// record are logged, not fatal.
func (c *Console) recordEvent(g *gin.Context, userID, event, result, aaguid string, cause error) {
	e := &models.AuthEvent{UserID: userID, Method: models.MethodPasskey, Event: event, Result: result, AAGUID: aaguid,
		IP: g.ClientIP(), UserAgent: g.Request.UserAgent(), ClientID: "console"}
	var err error
	if cause != nil {
		err = c.passkeys.RecordFailure(g.Request.Context(), e, cause)
	} else {
		err = c.passkeys.Record(g.Request.Context(), e)
	}
	if err != nil {
		c.log.WarnContext(g.Request.Context(), "console: record auth event", "err", err)
	}
}
