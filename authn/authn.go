package authn

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/authn/recovery"
	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Store is the part of the data layer the hosted pages use.
type Store interface {
	GetInteraction(ctx context.Context, id string) (*models.Interaction, error)
	// InteractionWithSession reads an interaction with the browser's
	// session and its user, in one statement (interaction.go).
	InteractionWithSession(ctx context.Context, id, sessionHash string) (*models.InteractionRead, error)
	GetClient(ctx context.Context, id string) (*models.Client, error)
	GetUser(ctx context.Context, id string) (*models.User, error)
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
	ListUserCredentials(ctx context.Context, userID string) ([]models.WebAuthnCredential, error)
	RenameCredential(ctx context.Context, userID, id, name string) error
	DeleteCredential(ctx context.Context, userID, id string) error
	SetUserDisplayName(ctx context.Context, id, name string) error
	SetUserLocale(ctx context.Context, id, locale string) error
	ListConsents(ctx context.Context, userID string) ([]models.Consent, error)
	DeleteConsent(ctx context.Context, userID, clientID string) error
	ListUserLoginSessions(ctx context.Context, userID string) ([]models.LoginSession, error)
	RevokeLoginSession(ctx context.Context, id string) error
	// Passwords (password_handlers.go).
	GetUserPassword(ctx context.Context, userID string) (*models.UserPassword, error)
	ChangeUserPassword(ctx context.Context, userID, hash, keepSessionID string) error
	ResetUserPassword(ctx context.Context, userID, hash string) error
	// Verified emails (verify_email.go).
	ClearEmailVerificationDue(ctx context.Context, id string) error
	// Self-service (account_self.go) and the janitor's purge.
	CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error
	CountAdmins(ctx context.Context) (int64, error)
	RevokeUserLoginSessions(ctx context.Context, userID string) error
	ScheduleUserDeletion(ctx context.Context, id string, due time.Time) error
	CancelUserDeletion(ctx context.Context, id string) (bool, error)
	DueUserDeletions(ctx context.Context, now time.Time, limit int) ([]string, error)
	PurgeUser(ctx context.Context, id, pseudonym string, now time.Time) error
	SetUserEmailProven(ctx context.Context, id, email string) (*models.User, error)
	ProveCurrentEmail(ctx context.Context, id, email string) error
	// Recovery codes (recovery_codes.go): whether the user has a set.
	HasRecoveryCodes(ctx context.Context, userID string) (bool, error)
	// Upstream sign-in (upstream_handlers.go): identities keyed by
	// (provider, subject), accounts created for new ones, links held for
	// a proof.
	CreateUser(ctx context.Context, u *models.User) error
	SyncGrantedGroups(ctx context.Context, userID, grantor string, want []string) (added, removed []string, err error)
	GetUpstreamProvider(ctx context.Context, id string) (*models.UpstreamProvider, error)
	GetUpstreamIdentity(ctx context.Context, providerID, subject string) (*models.UpstreamIdentity, error)
	CreateUpstreamIdentity(ctx context.Context, i *models.UpstreamIdentity) error
	TouchUpstreamIdentity(ctx context.Context, id string, at time.Time) error
	ListUserUpstreamIdentities(ctx context.Context, userID string) ([]models.UpstreamIdentity, error)
	DeleteUpstreamIdentity(ctx context.Context, userID, id string) error
	GetUpstreamFlow(ctx context.Context, id string) (*models.UpstreamFlow, error)
	HoldUpstreamLink(ctx context.Context, id, subject, email, name, userID string, until time.Time) error
	PendingUpstreamLink(ctx context.Context, userID, browser string, now time.Time) (*models.UpstreamFlow, error)
	FinishUpstreamLink(ctx context.Context, id string, now time.Time) (*models.UpstreamFlow, error)
	// WithTx runs fn in one transaction carried by its context (the end
	// of a sign-in: complete.go, inTx).
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Deps are the hosted pages' collaborators.
type Deps struct {
	Store Store
	// Events records the auth events of every method (*store.Store);
	// nil: Store, when it records events, else none are recorded.
	Events   EventRecorder
	Sessions *websession.Manager
	Pages    *templates.Renderer
	Passkeys *passkey.Service
	// Passlinks is the sign-in-by-email method; nil turns it off.
	Passlinks *passlink.Service
	// Passwords is the password + security key method; nil turns it off.
	Passwords *password.Service
	// Upstream is sign-in through upstream identity providers; nil turns
	// it off.
	Upstream *upstream.Service
	// Recovery is the recovery-code method; nil turns it off (the live
	// policy, a RecoveryPolicy, switches it too).
	Recovery *recovery.Service
	Logger   *slog.Logger
	// SignupOpen lets anyone create an account (at start-up; Policies,
	// when set, is asked on each request instead).
	SignupOpen bool
	// RequireVerifiedEmail holds passkey sign-ins of unproven addresses
	// until a mailed code proves them (at start-up; Policies, when it
	// implements VerifiedEmailPolicy, is asked on each sign-in instead).
	// Without Passlinks (no mail) nothing is held.
	RequireVerifiedEmail bool
	// Policies is the live global policy (internal/policy); nil keeps the
	// start-up configuration.
	Policies PolicySource
	// RPID is the WebAuthn relying party id (for the page's signal calls).
	RPID string
	// ResumeURL is where the browser returns to the provider once an
	// interaction is done (oidc.ResumeURL).
	ResumeURL func(interactionID string) string
	// DeletionGrace is how long a requested account deletion waits
	// (default DefaultDeletionGrace).
	DeletionGrace time.Duration
	// PseudonymKey keys the pseudonym a deleted user keeps in the audit
	// log (derived from the system secret); required for the purge.
	PseudonymKey []byte
}

// Handler serves the hosted pages.
type Handler struct {
	st         Store
	events     EventRecorder
	sessions   *websession.Manager
	pages      *templates.Renderer
	passkeys   *passkey.Service
	passlinks  *passlink.Service
	passwords  *password.Service
	recovery   *recovery.Service
	upstream   *upstream.Service
	log        *slog.Logger
	signupOpen bool
	// requireVerifiedEmail is Deps.RequireVerifiedEmail.
	requireVerifiedEmail bool
	policies             PolicySource
	rpID                 string
	resumeURL            func(interactionID string) string
	deletionGrace        time.Duration
	pseudonymKey         []byte
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
	h := &Handler{st: deps.Store, events: deps.Events, sessions: deps.Sessions, pages: deps.Pages, passkeys: deps.Passkeys, passlinks: deps.Passlinks,
		passwords: deps.Passwords, recovery: deps.Recovery, upstream: deps.Upstream, log: deps.Logger, signupOpen: deps.SignupOpen, requireVerifiedEmail: deps.RequireVerifiedEmail, policies: deps.Policies, rpID: deps.RPID,
		resumeURL: deps.ResumeURL, deletionGrace: deps.DeletionGrace, pseudonymKey: deps.PseudonymKey}
	if h.deletionGrace <= 0 {
		h.deletionGrace = DefaultDeletionGrace
	}
	if h.resumeURL == nil {
		panic("authn: Deps.ResumeURL is required")
	}
	if er, ok := deps.Store.(EventRecorder); ok && h.events == nil {
		h.events = er
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// Mount registers the pages on r, which must carry the same-origin form
// middleware.
func (h *Handler) Mount(r gin.IRouter) {
	r.GET("/login", h.page(h.handleLogin))
	r.GET("/signup", h.page(h.handleSignup))
	r.POST("/webauthn/login/options", h.api(h.handleLoginOptions))
	r.POST("/webauthn/login/verify", h.api(h.handleLoginVerify))
	r.POST("/webauthn/register/options", h.api(h.handleRegisterOptions))
	r.POST("/webauthn/register/verify", h.api(h.handleRegisterVerify))
	r.POST("/account/passkeys/rename", h.page(h.handleRenamePasskey))
	r.POST("/account/passkeys/delete", h.page(h.handleDeletePasskey))
	r.POST("/account/name", h.page(h.handleRename))
	r.GET("/account", h.page(h.handleAccount))
	r.POST("/account/apps/revoke", h.page(h.handleRevokeApp))
	r.POST("/account/sessions/revoke", h.page(h.handleRevokeSession))
	r.POST("/account/signout", h.page(h.handleSignOut))
	r.POST("/account/delete", h.page(h.handleDeleteAccount))
	r.POST("/account/delete/cancel", h.page(h.handleCancelDeletion))
	if h.passlinks != nil {
		r.POST("/account/email", h.page(h.handleEmailChange))
		r.GET(passlink.AccountPath+":token", h.page(h.handleAccountLinkOpen))
		r.POST(passlink.AccountPath+":token", h.page(h.handleAccountLinkUse))
		h.mountPasslinks(r)
		r.GET("/verify-email", h.page(h.handleVerifyEmail))
		r.POST("/verify-email", h.page(h.handleVerifyCode))
		r.POST("/verify-email/resend", h.page(h.handleVerifyResend))
		r.POST("/verify-email/skip", h.page(h.handleVerifySkip))
		r.GET(passlink.VerifyPath+":token", h.page(h.handleVerifyLinkOpen))
		r.POST(passlink.VerifyPath+":token", h.page(h.handleVerifyLinkUse))
	}
	h.mountPasswords(r)
	h.mountRecovery(r)
	h.mountUpstream(r)
	// The passkey offer after a sign-in without one (a link, a code).
	r.GET(passkeyOfferPath, h.page(h.handlePasskeyOffer))
}

// currentUserKey memoises currentUser for the rest of the request: a page
// asks for it for its language and for its content. Whatever starts or
// ends this browser's session in the request calls forgetCurrentUser.
const currentUserKey = "authn.current_user"

type currentUserMemo struct {
	ls *models.LoginSession
	u  *models.User
}

// currentUser returns the signed-in user of this browser, or nil.
func (h *Handler) currentUser(c *gin.Context) (*models.LoginSession, *models.User, error) {
	if v, ok := c.Get(currentUserKey); ok {
		if m, ok := v.(*currentUserMemo); ok && m != nil {
			return m.ls, m.u, nil
		}
	}
	ls, u, err := h.loadCurrentUser(c)
	if err == nil {
		h.memoCurrentUser(c, ls, u)
	}
	return ls, u, err
}

// memoCurrentUser keeps the browser's live session and its user (nil for
// none) for the rest of the request. A disabled user is no one.
func (h *Handler) memoCurrentUser(c *gin.Context, ls *models.LoginSession, u *models.User) {
	if u == nil || u.Disabled {
		ls, u = nil, nil
	}
	c.Set(currentUserKey, &currentUserMemo{ls: ls, u: u})
}

// currentUserRead says whether this request already knows its browser's
// session (read, or dropped after a start or an end).
func currentUserRead(c *gin.Context) bool {
	_, ok := c.Get(currentUserKey)
	return ok
}

// forgetCurrentUser drops currentUser's memo after this request started or
// ended a session.
func (h *Handler) forgetCurrentUser(c *gin.Context) {
	c.Set(currentUserKey, (*currentUserMemo)(nil))
}

func (h *Handler) loadCurrentUser(c *gin.Context) (*models.LoginSession, *models.User, error) {
	ls, u, err := h.sessions.CurrentWithUser(c.Request)
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
