package oidc

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// ScopeGroups releases the groups claim: the names of the user's groups.
const ScopeGroups = "groups"

// grant is what a grant's claims are built from besides the user: the
// user's group names (nil when nothing needs them) and the definitions of
// the granted custom scopes.
type grant struct {
	groups []string
	custom []models.CustomScope
}

// grantGroups loads what the claims of a grant need and reports whether
// the user may use the client. The user's group names are read when the
// client limits who may use it or a granted scope releases groups (not
// otherwise: no query for the common case), fresh for every token, so a
// membership change takes effect at the next one.
func (p *Provider) grantGroups(ctx context.Context, client *Client, userID string, scopes fosite.Arguments) (g grant, allowed bool, err error) {
	g, err = p.loadGrant(ctx, userID, scopes, len(client.m.AllowedGroups) > 0)
	if err != nil {
		return g, false, err
	}
	return g, len(client.m.AllowedGroups) == 0 || slices.ContainsFunc(g.groups, func(name string) bool {
		return slices.Contains(client.m.AllowedGroups, name)
	}), nil
}

// loadGrant loads the granted custom scopes and, when wanted or released,
// the user's groups.
func (p *Provider) loadGrant(ctx context.Context, userID string, scopes fosite.Arguments, wantGroups bool) (g grant, err error) {
	if g.custom, err = p.grantedCustom(ctx, scopes); err != nil {
		return g, err
	}
	if !wantGroups && !scopes.Has(ScopeGroups) && !needsGroups(g.custom) {
		return g, nil
	}
	if g.groups, err = p.st.UserGroups(ctx, userID); err != nil {
		return g, err
	}
	if g.groups == nil {
		g.groups = []string{}
	}
	return g, nil
}

// noAccess answers a signed-in user outside the client's allowed groups:
// no code, and a page that says so plainly — or, under prompt=none, where
// no page may be shown, access_denied to the app (OIDC Core §3.1.2.6).
func (p *Provider) noAccess(c *gin.Context, ar fosite.AuthorizeRequester, client *Client, u *models.User, in *models.Interaction, promptNone bool) {
	ctx := c.Request.Context()
	p.log.InfoContext(ctx, "authorize: user not in an allowed group", "client_id", client.GetID(), "user_id", u.ID)
	if in != nil {
		// The request is over; its interaction must not be resumed.
		if err := p.st.ConsumeInteraction(ctx, in.ID); err != nil {
			p.log.WarnContext(ctx, "authorize: consume interaction", "err", err)
		}
	}
	if promptNone {
		p.authorizeError(c, ar, fosite.ErrAccessDenied.WithHint("The user is not a member of a group allowed to use this client."))
		return
	}
	// The way on: the same request again, asking for a fresh sign-in
	// (prompt=login), so another account can be used.
	again := url.Values{}
	for k, v := range ar.GetRequestForm() {
		again[k] = slices.Clone(v)
	}
	again.Set("prompt", "login")
	again.Del("request_uri") // spent; the pushed parameters are in the form
	p.noAccessPage(c, client, u, PathAuthorize+"?"+again.Encode())
}

// noAccessPage tells a signed-in user plainly that the client is not for
// them; link signs in with another account.
func (p *Provider) noAccessPage(c *gin.Context, client *Client, u *models.User, link string) {
	ctx := c.Request.Context()
	c.Header("Cache-Control", "no-store")
	lang := p.lang(c, nil, u)
	t := func(key string, args ...any) string { return p.pages.T(lang, key, args...) }
	app := client.m.Name
	err := p.pages.Error(c.Writer, http.StatusForbidden, templates.Page{Lang: lang, Title: t("errors.no_access.title", "app", app), AppName: app, AppLogo: client.m.LogoURI,
		AppPrimary: client.m.PrimaryColor, AppAccent: client.m.AccentColor},
		templates.ErrorView{
			Message:   t("errors.no_access.msg", "app", app, "email", u.Email),
			Hint:      t("errors.no_access.hint", "app", app),
			RequestID: httpx.RequestIDFrom(ctx),
			Link:      link, LinkLabel: t("errors.no_access.link"),
		})
	if err != nil {
		p.log.ErrorContext(ctx, "render no-access page", "err", err)
	}
	c.Abort()
}
