package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The console's two pages outside its shell, in the hosted pages' layout:
// the first-admin setup link (templates/hosted/admin_setup.html with
// static/console-setup.js) and the refusal of a signed-in non-admin
// (templates/hosted/admin_refused.html). Signing in is the hosted /login.

// appName heads the hosted layout on the console's pages.
const appName = "Sesame console"

func (c *Console) renderSetup(g *gin.Context, status int, title string, v templates.AdminSetupView) {
	g.Header("Cache-Control", "no-store")
	c.rendered(g, "admin_setup", c.pages.AdminSetup(g.Writer, status, templates.Page{Title: title, AppName: appName}, v))
}

func (c *Console) renderRefused(g *gin.Context, v templates.AdminRefusedView) {
	g.Header("Cache-Control", "no-store")
	c.rendered(g, "admin_refused", c.pages.AdminRefused(g.Writer, http.StatusForbidden, templates.Page{Title: "Not an admin", AppName: appName}, v))
}

// rendered answers a page that failed to render (nothing was written).
func (c *Console) rendered(g *gin.Context, page string, err error) {
	if err != nil {
		c.log.ErrorContext(g.Request.Context(), "console: render page", "page", page, "err", err)
		c.abort(g, toProblem(err))
	}
}

// renderNotAdmin answers a console page asked for by a signed-in user who
// is not an admin: signing in again as them would only lead back here.
func (c *Console) renderNotAdmin(g *gin.Context) {
	v := templates.AdminRefusedView{Login: LoginURL(g.Request.URL.RequestURI())}
	if ls, err := c.sessions.Current(g.Request); err == nil {
		if u, err := c.st.GetUser(g.Request.Context(), ls.UserID); err == nil {
			v.Email = u.Email
		}
	}
	c.renderRefused(g, v)
}

func (c *Console) handleSetupPage(g *gin.Context) {
	in, prob := c.invite(g)
	if prob != nil {
		c.renderSetup(g, prob.Status, prob.Title, templates.AdminSetupView{CSRF: c.CSRFToken(g), Message: prob.Detail})
		return
	}
	v := templates.AdminSetupView{CSRF: c.CSRFToken(g), Token: g.Param("token"),
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
	c.renderSetup(g, http.StatusOK, "Become a Sesame admin", v)
}
