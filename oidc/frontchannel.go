package oidc

// OpenID Connect Front-Channel Logout 1.0. When a browser signs out at the
// end-session endpoint, the logout page loads the frontchannel_logout_uri
// of every client the session signed in to (the store's session clients,
// read before the session ends) in hidden iframes — with iss and sid when
// the client registered frontchannel_logout_session_required — and only
// then returns to the app's post_logout_redirect_uri. The page's CSP
// frame-src lets exactly those origins in (each is a redirect URI's origin,
// clients.Spec checks). Sessions ended elsewhere (an admin, a password
// reset) have no browser to do this in: back-channel logout covers them.

import (
	"context"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// frontchannelFrames returns the front-channel logout pages of the
// clients session ls signed in to (none for a nil session). A failure to
// read them is logged and costs only the iframes: the sign-out goes on.
func (p *Provider) frontchannelFrames(ctx context.Context, ls *models.LoginSession) []templates.LogoutFrame {
	if ls == nil || !p.protocol(ctx).FrontchannelLogout {
		return nil
	}
	scs, err := p.st.ListSessionClients(ctx, ls.ID)
	if err != nil {
		p.log.WarnContext(ctx, "front-channel logout: list the session's clients", "err", err)
		return nil
	}
	var frames []templates.LogoutFrame
	for _, sc := range scs {
		fc, err := p.GetClient(ctx, sc.ClientID)
		if err != nil {
			continue // deleted since
		}
		m := fc.(*Client).m
		if m.FrontchannelLogoutURI == "" || m.Disabled {
			continue
		}
		u, err := url.Parse(m.FrontchannelLogoutURI)
		if err != nil {
			continue
		}
		if m.FrontchannelLogoutSessionRequired {
			q := u.Query()
			q.Set("iss", p.cfg.Issuer)
			q.Set("sid", ls.ID)
			u.RawQuery = q.Encode()
		}
		frames = append(frames, templates.LogoutFrame{URL: u.String(), Name: m.Name})
	}
	return frames
}

// allowFrames lets the frames' origins into this response's CSP frame-src.
func allowFrames(c *gin.Context, frames []templates.LogoutFrame) {
	for _, f := range frames {
		httpx.AllowFrameSrc(c, f.URL)
	}
}
