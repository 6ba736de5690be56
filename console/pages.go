package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The console's two pages outside its shell, in the hosted pages' layout:
// the first-admin setup link (templates/admin_setup.html with
// static/console-setup.js) and the refusal of a signed-in non-admin
// (templates/admin_refused.html). Signing in is the hosted /login.

// appName heads the hosted layout on the console's pages.
const appName = "Sesame console"

// setupView is the data of admin_setup.html.
type setupView struct {
	CSRF, Token, Message string
	// Action labels the button that creates the passkey; empty when the
	// page can only explain.
	Action string
}

// refusedView is the data of admin_refused.html.
type refusedView struct {
	Email string
	// Login signs in with another account and comes back.
	Login string
}

func (c *Console) render(g *gin.Context, status int, name, title string, data any) {
	g.Header("Cache-Control", "no-store")
	if err := c.pages.Render(g.Writer, status, name, templates.Page{Title: title, AppName: appName, Data: data}); err != nil {
		c.log.ErrorContext(g.Request.Context(), "console: render page", "page", name, "err", err)
		c.abort(g, toProblem(err))
	}
}

// renderNotAdmin answers a console page asked for by a signed-in user who
// is not an admin: signing in again as them would only lead back here.
func (c *Console) renderNotAdmin(g *gin.Context) {
	v := refusedView{Login: LoginURL(g.Request.URL.RequestURI())}
	if ls, err := c.sessions.Current(g.Request); err == nil {
		if u, err := c.st.GetUser(g.Request.Context(), ls.UserID); err == nil {
			v.Email = u.Email
		}
	}
	c.render(g, http.StatusForbidden, "admin_refused", "Not an admin", v)
}

func (c *Console) handleSetupPage(g *gin.Context) {
	in, prob := c.invite(g)
	if prob != nil {
		c.render(g, prob.Status, "admin_setup", prob.Title, setupView{CSRF: c.CSRFToken(g), Message: prob.Detail})
		return
	}
	v := setupView{CSRF: c.CSRFToken(g), Token: g.Param("token"),
		Message: "Create a passkey for " + in.Email + " to manage this Sesame. This link works once.",
		Action:  "Create a passkey"}
	u, _, prob := c.setupUser(g, in)
	switch {
	case prob != nil:
		v.Message, v.Action = prob.Detail, ""
	case u != nil && u.Role == models.RoleAdmin:
		v.Message = "You are signed in as " + u.Email + ", already an admin. Creating a passkey here uses up the link."
	case u != nil:
		v.Message = "You are signed in as " + u.Email + ". Add a passkey to become an admin."
	}
	c.render(g, http.StatusOK, "admin_setup", "Become a Sesame admin", v)
}
