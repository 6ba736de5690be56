package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
)

// Step-up with a password and a security key, for admins who sign in that
// way: the password again (throttled like a sign-in), then an assertion
// of one of the admin's security keys, bound to this browser and to this
// step. Two factors, one of them phishing-resistant: the same confirmation
// as a user-verified passkey, so it records the same stepped-up time.

func (c *Console) mountPasswordStepUp(r gin.IRouter) {
	r.POST("/stepup/methods", c.Auth(), c.handleStepUpMethods)
	r.POST("/stepup/password/options", c.Auth(), c.handlePasswordStepUpOptions)
	r.POST("/stepup/password/verify", c.Auth(), c.handlePasswordStepUpVerify)
}

// passwordStepUpBinding ties the key ceremony to this browser and to the
// password step-up (a sign-in ceremony cannot be finished here).
func passwordStepUpBinding(browser string) string {
	return websession.Hash(browser + "\x00console:stepup:password")
}

// StepUpMethods says how an admin can confirm: with a passkey, with a
// password and security key, or both.
type StepUpMethods struct {
	Passkey     bool `json:"passkey"`
	PasswordKey bool `json:"password_key"`
}

func (c *Console) stepUpMethods(g *gin.Context, u *models.User) (StepUpMethods, error) {
	ctx := g.Request.Context()
	var m StepUpMethods
	creds, err := c.st.ListUserCredentials(ctx, u.ID)
	if err != nil {
		return m, err
	}
	keys := false
	for _, cr := range creds {
		switch cr.Kind {
		case models.CredentialPasskey:
			m.Passkey = true
		case models.CredentialSecurityKey:
			keys = true
		}
	}
	if keys && c.passwords != nil {
		if _, err := c.st.GetUserPassword(ctx, u.ID); err == nil {
			m.PasswordKey = true
		} else if !errors.Is(err, models.ErrNotFound) {
			return m, err
		}
	}
	return m, nil
}

func (c *Console) handleStepUpMethods(g *gin.Context) {
	if _, ok := c.readJSON(g); !ok {
		return
	}
	_, u := Session(g)
	m, err := c.stepUpMethods(g, u)
	if err != nil {
		c.abort(g, toProblem(err))
		return
	}
	g.JSON(http.StatusOK, m)
}

var (
	errStepUpWrongPassword = problem(http.StatusUnauthorized, "wrong-password", "That password is wrong", "Type your password again.")
	errStepUpNoKey         = problem(http.StatusConflict, "no-security-key", "No password and security key",
		"This account has no password with a security key; confirm with your passkey.")
)

func (c *Console) handlePasswordStepUpOptions(g *gin.Context) {
	ctx := g.Request.Context()
	body, ok := c.readJSON(g)
	if !ok {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Password == "" {
		c.abort(g, invalid("password", "enter your password"))
		return
	}
	_, u := Session(g)
	m, err := c.stepUpMethods(g, u)
	if err != nil {
		c.abort(g, toProblem(err))
		return
	}
	if !m.PasswordKey {
		c.abort(g, errStepUpNoKey)
		return
	}
	v, err := c.passwords.SignIn(ctx, password.Attempt{Email: u.Email, Password: req.Password, IP: g.ClientIP()})
	var throttled *password.ThrottledError
	switch {
	case errors.As(err, &throttled):
		g.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter/time.Second)+1))
		c.recordStepUp(g, u.ID, models.ResultFailure, "throttled", "")
		c.abort(g, problem(http.StatusTooManyRequests, "throttled", "Too many attempts", "Wait a moment and try again."))
		return
	case errors.Is(err, password.ErrWrongPassword), errors.Is(err, password.ErrTooLong):
		c.recordStepUp(g, u.ID, models.ResultFailure, "wrong_password", "")
		c.abort(g, errStepUpWrongPassword)
		return
	case err != nil:
		c.abort(g, toProblem(err))
		return
	}
	if v.User.ID != u.ID {
		c.abort(g, errStepUpWrongPassword)
		return
	}
	opts, id, err := c.passkeys.BeginSecurityKeyLogin(ctx, u, passwordStepUpBinding(c.sessions.Browser(g.Writer, g.Request)), "")
	c.answerOptions(g, opts, id, err)
}

func (c *Console) handlePasswordStepUpVerify(g *gin.Context) {
	ctx := g.Request.Context()
	req, ok := c.readVerify(g, "security key's")
	if !ok {
		return
	}
	ls, u := Session(g)
	res, err := c.passkeys.FinishLogin(ctx, req.Ceremony, passwordStepUpBinding(c.sessions.Browser(g.Writer, g.Request)), req.Credential)
	if err != nil {
		c.recordStepUp(g, u.ID, models.ResultFailure, "", "")
		c.passkeyProblem(g, err)
		return
	}
	if res.User.ID != u.ID || res.Credential.Kind != models.CredentialSecurityKey {
		c.abort(g, problem(http.StatusForbidden, "wrong-user", "That security key belongs to another account", ""))
		return
	}
	now := c.now().UTC()
	if err := c.st.SetLoginSessionSteppedUp(ctx, ls.ID, now); err != nil {
		c.abort(g, toProblem(err))
		return
	}
	c.recordStepUp(g, u.ID, models.ResultSuccess, "", res.Credential.AAGUID)
	g.JSON(http.StatusOK, gin.H{"stepped_up_until": now.Add(StepUpWindow)})
}

// recordStepUp stores an auth event of a password + key step-up.
func (c *Console) recordStepUp(g *gin.Context, userID, result, reason, aaguid string) {
	e := &models.AuthEvent{UserID: userID, Method: models.MethodPasswordKey, Event: "step_up", Result: result, Reason: reason,
		AAGUID: aaguid, IP: g.ClientIP(), UserAgent: g.Request.UserAgent(), ClientID: "console"}
	if err := c.passkeys.Record(g.Request.Context(), e); err != nil {
		c.log.WarnContext(g.Request.Context(), "console: record auth event", "err", err)
	}
}
