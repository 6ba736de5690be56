package authn

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// loginView is the data of the sign-in and sign-up pages.
type loginView struct {
	Interaction string
	LoginHint   string
	CSRF        string
	Passkey     bool
	// Passlink offers "Email me a sign-in link".
	Passlink   bool
	SignupOpen bool
	RPID       string
}

// handleLogin shows the sign-in page, for an interaction (an app asked)
// or on its own (to reach the account page). It offers only the methods
// that the client's policy allows.
func (h *Handler) handleLogin(c *gin.Context) {
	view := loginView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Passkey: true, Passlink: h.passlinks != nil, SignupOpen: h.signupOpen, RPID: h.rpID}
	title, app := "Sign in", ""
	if id := c.Query("interaction"); id != "" {
		in, client, err := h.interaction(c, id)
		if err != nil {
			h.fail(c, err)
			return
		}
		view.Interaction, view.LoginHint = in.ID, in.LoginHint
		view.Passkey = clientAllows(client, models.MethodPasskey)
		view.Passlink = h.passlinks != nil && passlinkOffered(in, client)
		title, app = "Sign in to "+client.Name, client.Name
	}
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, http.StatusOK, "login", templates.Page{Title: title, AppName: app, Data: view}); err != nil {
		h.fail(c, err)
	}
}

// handleSignup shows the account creation page.
func (h *Handler) handleSignup(c *gin.Context) {
	view := loginView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Passkey: true, SignupOpen: h.signupOpen, RPID: h.rpID}
	title, app := "Create your account", ""
	if id := c.Query("interaction"); id != "" {
		in, client, err := h.interaction(c, id)
		if err != nil {
			h.fail(c, err)
			return
		}
		view.Interaction, view.LoginHint = in.ID, in.LoginHint
		view.Passkey = clientAllows(client, models.MethodPasskey)
		title, app = "Create your account for "+client.Name, client.Name
	}
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, http.StatusOK, "signup", templates.Page{Title: title, AppName: app, Data: view}); err != nil {
		h.fail(c, err)
	}
}
