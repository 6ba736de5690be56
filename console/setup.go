package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// InviteTTL is how long an admin setup link works.
const InviteTTL = 24 * time.Hour

// PathSetup is the prefix of setup links: /console/setup/{token}.
const PathSetup = "/console/setup/"

// DevAdminEmail is the address of the first admin that `serve --dev`
// invites when there is none.
const DevAdminEmail = "admin@localhost"

// Invite creates a one-time link that makes whoever registers a passkey
// through it (as email) an admin, and returns the URL. Only the token's
// hash is stored; the link works once, for InviteTTL.
func Invite(ctx context.Context, st *store.Store, issuer, email string) (string, error) {
	email = strings.TrimSpace(email)
	if len(email) > 254 || !strings.Contains(email, "@") {
		return "", invalid("email", "must be an email address")
	}
	// A bare address ("Ada <ada@example.com>" is refused): it becomes the
	// account's email.
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return "", invalid("email", "must be a bare email address such as ada@example.com")
	}
	act := ActorFrom(ctx)
	token := websession.RandomToken(32)
	now := store.Now()
	in := &models.AdminInvite{
		ID: uuid.NewString(), TokenHash: websession.Hash(token), Email: email,
		CreatedBy: act.Kind + ":" + act.ID, CreatedAt: now, ExpiresAt: now.Add(InviteTTL),
	}
	err := st.WithTx(ctx, func(ctx context.Context) error {
		if err := st.CreateAdminInvite(ctx, in); err != nil {
			return err
		}
		audit := &Audit{st: st, log: slog.Default()}
		return audit.Record(ctx, "admin.invite", "admin_invite", in.ID, nil, map[string]any{"email": email, "expires_at": in.ExpiresAt})
	})
	if err != nil {
		return "", fmt.Errorf("invite admin: %w", err)
	}
	return strings.TrimRight(issuer, "/") + PathSetup + token, nil
}

// EnsureSetupLink is the dev-mode bootstrap: when no admin exists it
// returns a fresh setup link for DevAdminEmail (printed in the banner),
// otherwise "". Each start without an admin mints a new link; older ones
// stay valid until they expire.
func EnsureSetupLink(ctx context.Context, st *store.Store, issuer string) (string, error) {
	n, err := st.CountAdmins(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	return Invite(WithActor(ctx, Actor{Kind: models.ActorSystem, Label: "dev bootstrap"}), st, issuer, DevAdminEmail)
}

// --- the setup page ---

func (c *Console) mountSetup(r gin.IRouter) {
	r.GET("/setup/:token", c.handleSetupPage)
	r.POST("/setup/:token/options", c.handleSetupOptions)
	r.POST("/setup/:token/verify", c.handleSetupVerify)
}

var errInviteGone = problem(http.StatusGone, "invite-gone", "This setup link no longer works",
	"It was used already or has expired. Ask an admin for a new one (sesame admin invite --email …).")

// invite loads the live invite named by the path.
func (c *Console) invite(g *gin.Context) (*models.AdminInvite, *Problem) {
	tok := g.Param("token")
	if tok == "" || len(tok) > 100 {
		return nil, errInviteGone
	}
	in, err := c.st.GetAdminInviteByTokenHash(g.Request.Context(), websession.Hash(tok))
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrConsumed), errors.Is(err, models.ErrExpired):
		return nil, errInviteGone
	case err != nil:
		return nil, toProblem(err)
	}
	return in, nil
}

// setupUser decides whose passkey the setup registers: the signed-in user
// when that is the invited address; a new account when the address has
// none; otherwise the person must first sign in as that address.
func (c *Console) setupUser(g *gin.Context, in *models.AdminInvite) (*models.User, *passkey.NewUser, *Problem) {
	ctx := g.Request.Context()
	if _, u, err := c.sessions.CurrentWithUser(g.Request); err == nil && !u.Disabled && u.EmailNormalized == store.NormalizeEmail(in.Email) {
		return u, nil, nil
	}
	_, err := c.st.GetUserByEmail(ctx, in.Email)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, &passkey.NewUser{Email: in.Email, DisplayName: strings.Split(in.Email, "@")[0]}, nil
	case err != nil:
		return nil, nil, toProblem(err)
	}
	return nil, nil, problem(http.StatusConflict, "sign-in-first", "Sign in first",
		"An account with this address exists. Sign in to it, then open this link again.")
}

func (c *Console) handleSetupOptions(g *gin.Context) {
	if _, ok := c.readJSON(g); !ok {
		return
	}
	in, p := c.invite(g)
	if p != nil {
		c.abort(g, p)
		return
	}
	u, nu, p := c.setupUser(g, in)
	if p != nil {
		c.abort(g, p)
		return
	}
	opts, id, err := c.passkeys.BeginRegistration(g.Request.Context(), u, nu, models.CredentialPasskey, c.sessions.Browser(g.Writer, g.Request), "")
	c.answerOptions(g, opts, id, err)
}

func (c *Console) handleSetupVerify(g *gin.Context) {
	ctx := g.Request.Context()
	req, ok := c.readVerify(g, "passkey")
	if !ok {
		return
	}
	in, p := c.invite(g)
	if p != nil {
		c.abort(g, p)
		return
	}
	u, cred, _, err := c.passkeys.FinishRegistration(ctx, req.Ceremony, c.sessions.Browser(g.Writer, g.Request), req.Credential)
	if err != nil {
		c.passkeyProblem(g, err)
		return
	}
	if u.EmailNormalized != store.NormalizeEmail(in.Email) {
		// A ceremony begun for another address (another invite or page).
		c.abort(g, problem(http.StatusForbidden, "wrong-account", "This passkey is for another account", ""))
		return
	}
	actx := WithActor(ctx, Actor{Kind: models.ActorUser, ID: u.ID, Label: u.Email, IP: g.ClientIP(), UserAgent: g.Request.UserAgent()})
	err = c.st.WithTx(actx, func(ctx context.Context) error {
		if err := c.st.ConsumeAdminInvite(ctx, in.ID, u.ID); err != nil {
			return err
		}
		if err := c.st.SetUserRole(ctx, u.ID, models.RoleAdmin); err != nil {
			return err
		}
		return c.Audit.Record(ctx, "admin.setup", "user", u.ID, map[string]any{"admin": u.IsAdmin()},
			map[string]any{"admin": true, "email": u.Email, "invite_id": in.ID, "credential_id": cred.ID})
	})
	if errors.Is(err, models.ErrConsumed) {
		c.abort(g, errInviteGone)
		return
	}
	if err != nil {
		c.abort(g, toProblem(err))
		return
	}
	// Registering the passkey proved possession of it on this origin.
	if _, err := c.sessions.Start(ctx, g.Writer, g.Request, websession.Login{
		UserID: u.ID, AMR: []string{"pop", "user"}, ACR: models.ACRPhishingResistant, AuthTime: clock.Now(),
	}); err != nil {
		c.abort(g, toProblem(err))
		return
	}
	g.JSON(http.StatusOK, gin.H{"redirect": PathHome})
}
