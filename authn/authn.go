package authn

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Store is the part of the data layer the hosted pages use.
type Store interface {
	GetInteraction(ctx context.Context, id string) (*models.Interaction, error)
	CompleteInteractionLogin(ctx context.Context, id, loginSessionID string) error
	GetClient(ctx context.Context, id string) (*models.Client, error)
	GetUser(ctx context.Context, id string) (*models.User, error)
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
	ListUserCredentials(ctx context.Context, userID string) ([]models.WebAuthnCredential, error)
	RenameCredential(ctx context.Context, userID, id, name string) error
	DeleteCredential(ctx context.Context, userID, id string) error
	SetUserDisplayName(ctx context.Context, id, name string) error
	ListConsents(ctx context.Context, userID string) ([]models.Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error
	ListUserLoginSessions(ctx context.Context, userID string) ([]models.LoginSession, error)
	RevokeLoginSession(ctx context.Context, id string) error
	// Passwords (password_handlers.go).
	GetUserPassword(ctx context.Context, userID string) (*models.UserPassword, error)
	ChangeUserPassword(ctx context.Context, userID, hash, keepSessionID string) error
	ResetUserPassword(ctx context.Context, userID, hash string) error
}

// Deps are the hosted pages' collaborators.
type Deps struct {
	Store    Store
	Sessions *websession.Manager
	Pages    *templates.Renderer
	Passkeys *passkey.Service
	// Passlinks is the sign-in-by-email method; nil turns it off.
	Passlinks *passlink.Service
	// Passwords is the password + security key method; nil turns it off.
	Passwords *password.Service
	Logger    *slog.Logger
	// SignupOpen lets anyone create an account (at start-up; Policies,
	// when set, is asked on each request instead).
	SignupOpen bool
	// Policies is the live global policy (internal/policy); nil keeps the
	// start-up configuration.
	Policies PolicySource
	// RPID is the WebAuthn relying party id (for the page's signal calls).
	RPID string
	// ResumeURL is where the browser returns to the provider once an
	// interaction is done (oidc.ResumeURL).
	ResumeURL func(interactionID string) string
}

// Handler serves the hosted pages.
type Handler struct {
	st         Store
	sessions   *websession.Manager
	pages      *templates.Renderer
	passkeys   *passkey.Service
	passlinks  *passlink.Service
	passwords  *password.Service
	log        *slog.Logger
	signupOpen bool
	policies   PolicySource
	rpID       string
	resumeURL  func(interactionID string) string
}

// PolicySource gives the live global policy; it is asked on each request,
// so it should cache.
type PolicySource interface {
	SignupOpen(ctx context.Context) (bool, error)
}

// signupAllowed reports whether sign-up is open now: the live policy, or
// the start-up configuration when it is unavailable.
func (h *Handler) signupAllowed(c *gin.Context) bool {
	if h.policies == nil {
		return h.signupOpen
	}
	open, err := h.policies.SignupOpen(c.Request.Context())
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "policy unavailable; using the configuration", "err", err)
		return h.signupOpen
	}
	return open
}

// New returns the hosted pages handler.
func New(deps Deps) *Handler {
	h := &Handler{st: deps.Store, sessions: deps.Sessions, pages: deps.Pages, passkeys: deps.Passkeys, passlinks: deps.Passlinks,
		passwords: deps.Passwords, log: deps.Logger, signupOpen: deps.SignupOpen, policies: deps.Policies, rpID: deps.RPID,
		resumeURL: deps.ResumeURL}
	if h.resumeURL == nil {
		panic("authn: Deps.ResumeURL is required")
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// Mount registers the pages on r, which must carry the same-origin form
// middleware.
func (h *Handler) Mount(r gin.IRouter) {
	r.GET("/login", h.handleLogin)
	r.GET("/signup", h.handleSignup)
	r.POST("/webauthn/login/options", h.handleLoginOptions)
	r.POST("/webauthn/login/verify", h.handleLoginVerify)
	r.POST("/webauthn/register/options", h.handleRegisterOptions)
	r.POST("/webauthn/register/verify", h.handleRegisterVerify)
	r.POST("/account/passkeys/rename", h.handleRenamePasskey)
	r.POST("/account/passkeys/delete", h.handleDeletePasskey)
	r.POST("/account/name", h.handleRename)
	r.GET("/account", h.handleAccount)
	r.POST("/account/apps/revoke", h.handleRevokeApp)
	r.POST("/account/sessions/revoke", h.handleRevokeSession)
	r.POST("/account/signout", h.handleSignOut)
	if h.passlinks != nil {
		h.mountPasslinks(r)
	}
	h.mountPasswords(r)
}

// pageError is an error with a message fit for people.
type pageError struct {
	status int
	title  string
	msg    string
	hint   string
	cause  error
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *pageError) Unwrap() error { return e.cause }

var errInteractionGone = &pageError{
	status: http.StatusBadRequest,
	title:  "This sign-in request has expired",
	msg:    "This sign-in request has expired or was already completed.",
	hint:   "Go back to the app and sign in again.",
}

var errBadForm = &pageError{status: http.StatusForbidden, title: "Please try again",
	msg: "This form expired or was sent from another page.", hint: "Go back, reload the page and try again."}

// fail renders err as a page; unexpected errors are logged once here and
// shown as a generic message.
func (h *Handler) fail(c *gin.Context, err error) {
	var pe *pageError
	if !errors.As(err, &pe) {
		h.log.ErrorContext(c.Request.Context(), "hosted page", "path", httpx.RoutePath(c), "err", err)
		pe = &pageError{status: http.StatusInternalServerError, title: "Something went wrong",
			msg: "Something went wrong on our side.", hint: "Please try again in a moment."}
	} else if pe.cause != nil && pe.status >= 500 {
		h.log.ErrorContext(c.Request.Context(), "hosted page", "path", httpx.RoutePath(c), "err", pe.cause)
	}
	c.Header("Cache-Control", "no-store")
	if rerr := h.pages.Render(c.Writer, pe.status, "error", templates.Page{
		Title: pe.title,
		Data: map[string]string{
			"Message":   pe.msg,
			"Hint":      pe.hint,
			"RequestID": httpx.RequestIDFrom(c.Request.Context()),
		},
	}); rerr != nil {
		h.log.ErrorContext(c.Request.Context(), "render error page", "err", rerr)
	}
	c.Abort()
}

// interaction loads the interaction named in the request and checks it
// belongs to this browser.
func (h *Handler) interaction(c *gin.Context, id string) (*models.Interaction, *models.Client, error) {
	ctx := c.Request.Context()
	if id == "" || len(id) > 64 {
		return nil, nil, errInteractionGone
	}
	in, err := h.st.GetInteraction(ctx, id)
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrExpired), errors.Is(err, models.ErrConsumed):
		return nil, nil, errInteractionGone
	case err != nil:
		return nil, nil, err
	}
	if !h.sessions.SameBrowser(c.Request, in.BrowserHash) {
		return nil, nil, &pageError{status: http.StatusForbidden, title: "Open this in the browser you started in",
			msg: "This sign-in was started in a different browser.", hint: "Go back to the app in the browser where you started."}
	}
	client, err := h.st.GetClient(ctx, in.ClientID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, errInteractionGone
	}
	if err != nil {
		return nil, nil, err
	}
	// Any page of this sign-in may hold the form whose POST ends at the
	// app; let that redirect pass CSP form-action.
	allowRedirect(c, in, client)
	return in, client, nil
}

// appLogo is the logo the hosted pages show for client (none without one).
func appLogo(client *models.Client) string {
	if client == nil {
		return ""
	}
	return client.LogoURI
}

// currentUser returns the signed-in user of this browser, or nil.
func (h *Handler) currentUser(c *gin.Context) (*models.LoginSession, *models.User, error) {
	ls, err := h.sessions.Current(c.Request)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u, err := h.st.GetUser(c.Request.Context(), ls.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, nil
	}
	return ls, u, nil
}
