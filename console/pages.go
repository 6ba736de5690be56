package console

import (
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
)

// The console's sign-in and setup pages: small, with the hosted pages'
// stylesheet and a script from /static (CSP script-src 'self').
var authPages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{.Title}} · Sesame console</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
<script src="/static/webauthn.js" defer></script>
<script src="/static/console-auth.js" defer></script>
</head>
<body>
<main class="card" id="page" data-page="{{.Page}}" data-csrf="{{.CSRF}}" data-return="{{.Return}}" data-token="{{.Token}}">
<h1>{{.Title}}</h1>
{{if .Message}}<p class="muted">{{.Message}}</p>{{end}}
<div id="status" class="alert" role="alert" hidden></div>
{{if .Action}}<div class="actions">
  <button type="button" id="console-action" class="primary"><span class="spinner" aria-hidden="true" hidden></span>{{.Action}}</button>
</div>{{end}}
{{if eq .Page "console-login"}}<p class="muted footer-link">Admin with a password and security key? <a href="/login?return={{.Return}}" id="password-signin">Sign in here</a>; you come back to the console.</p>{{end}}
<p id="no-webauthn" class="notice" role="status" hidden>This browser can't use passkeys. Try an up-to-date browser.</p>
</main>
<footer class="brand">Sesame console</footer>
</body>
</html>`))

type authPage struct {
	Page, Title, Message, Action, CSRF, Return, Token string
}

func (c *Console) renderAuthPage(g *gin.Context, status int, p authPage) {
	p.CSRF = c.CSRFToken(g)
	g.Header("Content-Type", "text/html; charset=utf-8")
	g.Status(status)
	if err := authPages.Execute(g.Writer, p); err != nil {
		c.log.ErrorContext(g.Request.Context(), "console: render page", "err", err)
	}
}

func (c *Console) handleLoginPage(g *gin.Context) {
	p := authPage{Page: "console-login", Title: "Sign in to the console", Action: "Sign in with a passkey",
		Message: "Admins sign in with a passkey.", Return: SafeReturn(g.Query("return"))}
	if ls, u, prob := c.adminSession(g.Request); prob == nil && ls != nil && u != nil {
		g.Redirect(http.StatusSeeOther, p.Return)
		return
	} else if prob == errNotAdmin {
		p.Message = "The account you are signed in with is not an admin. Sign in with an admin's passkey."
	} else if prob == errNeedPhishingResistant {
		p.Message = "You signed in with a link by email. The console needs your passkey: sign in with it."
	} else if prob == errIdle {
		p.Message = "You were signed out of the console after a while without activity. Sign in again."
	}
	c.renderAuthPage(g, http.StatusOK, p)
}

func (c *Console) handleSetupPage(g *gin.Context) {
	in, prob := c.invite(g)
	if prob != nil {
		c.renderAuthPage(g, prob.Status, authPage{Page: "console-setup-gone", Title: prob.Title, Message: prob.Detail})
		return
	}
	p := authPage{Page: "console-setup", Title: "Become a Sesame admin", Token: g.Param("token"),
		Message: "Create a passkey for " + in.Email + " to manage this Sesame. This link works once.",
		Action:  "Create a passkey"}
	u, _, prob := c.setupUser(g, in)
	switch {
	case prob != nil:
		p.Message, p.Action = prob.Detail, ""
	case u != nil && u.Role == models.RoleAdmin:
		p.Message = "You are signed in as " + u.Email + ", already an admin. Creating a passkey here uses up the link."
	case u != nil:
		p.Message = "You are signed in as " + u.Email + ". Add a passkey to become an admin."
	}
	c.renderAuthPage(g, http.StatusOK, p)
}
