package authn

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

type appView struct {
	ClientID string
	Name     string
	Scopes   []string
	Since    string
}

type sessionView struct {
	ID       string
	Device   string
	Since    string
	LastSeen string
	Current  bool
}

// handleAccount shows the signed-in user's apps (remembered consents) and
// sessions.
func (h *Handler) handleAccount(c *gin.Context) {
	ctx := c.Request.Context()
	ls, u, err := h.currentUser(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	if ls == nil {
		if err := h.pages.Render(c.Writer, http.StatusOK, "signed_out", templates.Page{Title: "Your account"}); err != nil {
			h.fail(c, err)
		}
		return
	}
	consents, err := h.st.ListConsents(ctx, u.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	apps := make([]appView, 0, len(consents))
	for _, cs := range consents {
		name := cs.ClientID
		if cl, err := h.st.GetClient(ctx, cs.ClientID); err == nil {
			name = cl.Name
		}
		apps = append(apps, appView{ClientID: cs.ClientID, Name: name, Scopes: cs.Scopes, Since: cs.CreatedAt.Format("2 Jan 2006")})
	}
	sessions, err := h.st.ListUserLoginSessions(ctx, u.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	sv := make([]sessionView, 0, len(sessions))
	for _, s := range sessions {
		sv = append(sv, sessionView{
			ID: s.ID, Device: describeUserAgent(s.UserAgent), Since: s.CreatedAt.Format("2 Jan 2006 15:04 MST"),
			LastSeen: s.LastSeenAt.Format("2 Jan 2006 15:04 MST"), Current: s.ID == ls.ID,
		})
	}
	if err := h.pages.Render(c.Writer, http.StatusOK, "account", templates.Page{
		Title: "Your account",
		Data: map[string]any{
			"User":     u,
			"Apps":     apps,
			"Sessions": sv,
			"CSRF":     h.sessions.CSRFToken(c.Writer, c.Request),
			"Notice":   c.Query("done"),
		},
	}); err != nil {
		h.fail(c, err)
	}
}

// accountAction checks the form and the session for an account change.
func (h *Handler) accountAction(c *gin.Context) (*models.LoginSession, *models.User, bool) {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		h.fail(c, errBadForm)
		return nil, nil, false
	}
	ls, u, err := h.currentUser(c)
	if err != nil {
		h.fail(c, err)
		return nil, nil, false
	}
	if ls == nil {
		c.Redirect(http.StatusSeeOther, "/account")
		return nil, nil, false
	}
	return ls, u, true
}

// handleRevokeApp withdraws a consent and the app's tokens.
func (h *Handler) handleRevokeApp(c *gin.Context) {
	_, u, ok := h.accountAction(c)
	if !ok {
		return
	}
	err := h.st.DeleteConsent(c.Request.Context(), u.ID, c.PostForm("client_id"))
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/account?done=app")
}

// handleRevokeSession signs out one of the user's other sessions.
func (h *Handler) handleRevokeSession(c *gin.Context) {
	ctx := c.Request.Context()
	ls, u, ok := h.accountAction(c)
	if !ok {
		return
	}
	id := c.PostForm("session_id")
	// Only the user's own sessions: look the id up in their list.
	sessions, err := h.st.ListUserLoginSessions(ctx, u.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	for _, s := range sessions {
		if s.ID == id {
			if id == ls.ID {
				if err := h.sessions.End(ctx, c.Writer, c.Request); err != nil {
					h.fail(c, err)
					return
				}
				c.Redirect(http.StatusSeeOther, "/account")
				return
			}
			if err := h.st.RevokeLoginSession(ctx, id); err != nil && !errors.Is(err, models.ErrNotFound) {
				h.fail(c, err)
				return
			}
			break
		}
	}
	c.Redirect(http.StatusSeeOther, "/account?done=session")
}

// handleSignOut ends this browser's session.
func (h *Handler) handleSignOut(c *gin.Context) {
	if _, _, ok := h.accountAction(c); !ok {
		return
	}
	if err := h.sessions.End(c.Request.Context(), c.Writer, c.Request); err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/account")
}
