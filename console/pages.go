package console

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The console's two pages outside its shell, in the hosted pages' layout:
// the first-admin setup link (templates/hosted/admin_setup.html with
// static/console-setup.js) and the refusal of a signed-in non-admin
// (templates/hosted/admin_refused.html). Signing in is the hosted /login.

// hostedLang is the language of these two pages, negotiated as on the
// other hosted pages: the switcher's pick, then Accept-Language (the
// console itself is English).
func (c *Console) hostedLang(g *gin.Context) string {
	cat := c.pages.Catalog()
	p := i18n.Prefs{Choice: c.sessions.Language(g.Request), AcceptLanguage: g.GetHeader("Accept-Language")}
	if q := g.Query("lang"); q != "" && cat.Supported(q) {
		if q != p.Choice {
			c.sessions.SetLanguage(g.Writer, q)
		}
		p.Choice = q
	}
	return cat.Negotiate(p)
}

// hostedPage is the layout's data for these pages; the console's name
// (the operator's product's) heads them.
func (c *Console) hostedPage(g *gin.Context, lang, title string) templates.Page {
	return templates.Page{Lang: lang, Path: g.Request.URL.RequestURI(), Title: title,
		AppName: c.pages.T(lang, "admin.console", "product", c.pages.Product())}
}

func (c *Console) renderSetup(g *gin.Context, status int, lang, title string, v templates.AdminSetupView) {
	g.Header("Cache-Control", "no-store")
	c.rendered(g, "admin_setup", c.pages.AdminSetup(g.Writer, status, c.hostedPage(g, lang, title), v))
}

func (c *Console) renderRefused(g *gin.Context, v templates.AdminRefusedView) {
	g.Header("Cache-Control", "no-store")
	lang := c.hostedLang(g)
	c.rendered(g, "admin_refused", c.pages.AdminRefused(g.Writer, http.StatusForbidden, c.hostedPage(g, lang, c.pages.T(lang, "admin.refused_title")), v))
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
	if _, u, err := c.sessions.CurrentWithUser(g.Request); err == nil {
		v.Email = u.Email
	}
	c.renderRefused(g, v)
}

func (c *Console) handleSetupPage(g *gin.Context) {
	lang := c.hostedLang(g)
	t := func(key string, args ...any) string { return c.pages.T(lang, key, args...) }
	product := c.pages.Product()
	in, prob := c.invite(g)
	if prob != nil {
		c.renderSetup(g, prob.Status, lang, prob.Title, templates.AdminSetupView{CSRF: c.CSRFToken(g), Message: prob.Detail})
		return
	}
	v := templates.AdminSetupView{CSRF: c.CSRFToken(g), Token: g.Param("token"),
		Message: t("admin.setup_msg", "email", in.Email, "product", product),
		Action:  t("admin.setup_action")}
	u, _, prob := c.setupUser(g, in)
	switch {
	case prob != nil:
		v.Message, v.Action = prob.Detail, ""
	case u != nil && u.Role == models.RoleAdmin:
		v.Message = t("admin.setup_already", "email", u.Email)
	case u != nil:
		v.Message = t("admin.setup_signed_in", "email", u.Email)
	}
	c.renderSetup(g, http.StatusOK, lang, t("admin.setup_title", "product", product), v)
}
