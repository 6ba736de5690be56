package oidc

import (
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/models"
)

// ScopeGroups releases the groups claim: the names of the user's groups.
const ScopeGroups = "groups"

// grantGroups loads the user's group names when the client limits who may
// use it or the grant releases the groups claim (nil otherwise: no query
// for the common case), and reports whether the user may use the client.
// Read fresh for every token, so a membership change takes effect at the
// next one.
func (p *Provider) grantGroups(ctx context.Context, client *Client, userID string, scopes fosite.Arguments) (groups []string, allowed bool, err error) {
	limited := len(client.m.AllowedGroups) > 0
	if !limited && !scopes.Has(ScopeGroups) {
		return nil, true, nil
	}
	groups, err = p.st.UserGroups(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	if groups == nil {
		groups = []string{}
	}
	return groups, !limited || slices.ContainsFunc(groups, func(g string) bool {
		return slices.Contains(client.m.AllowedGroups, g)
	}), nil
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
	c.Header("Cache-Control", "no-store")
	p.errorPage(c, http.StatusForbidden, "You don't have access to "+client.m.Name,
		"You're signed in as "+u.Email+", but this account isn't allowed to use "+client.m.Name+".",
		"Ask the administrator of "+client.m.Name+" for access, or sign out and use another account.")
}
