package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/keys"
	"github.com/sesame-idp/sesame/templates"
)

// handleLogout implements OIDC RP-Initiated Logout 1.0. The browser's
// session ends at once when an id_token_hint proves the client knows this
// session (same sid); otherwise the user confirms on a page (a CSRF-bound
// form), so a third party cannot sign a user out with a bare link.
func (p *Provider) handleLogout(c *gin.Context) {
	ctx := c.Request.Context()
	if err := c.Request.ParseForm(); err != nil {
		p.errorPage(c, http.StatusBadRequest, p.t(c, "logout.failed"), p.t(c, "logout.unreadable"), "")
		return
	}
	if err := checkParams(c.Request.Form); err != nil {
		p.errorPage(c, http.StatusBadRequest, p.t(c, "logout.failed"), p.t(c, "logout.too_large"), "")
		return
	}
	f := c.Request.Form
	hint, clientID, redirect, state := f.Get("id_token_hint"), f.Get("client_id"), f.Get("post_logout_redirect_uri"), f.Get("state")

	var hintSub, hintSID string
	if hint != "" {
		tok, err := (&keys.Signer{M: p.keys}).Decode(ctx, hint)
		var ve *jwt.ValidationError
		if err != nil && !(errors.As(err, &ve) && ve.Has(jwt.ValidationErrorExpired) && ve.Errors == jwt.ValidationErrorExpired) {
			p.errorPage(c, http.StatusBadRequest, p.t(c, "logout.failed"), p.t(c, "logout.bad_hint"), p.t(c, "logout.tell_developers"))
			return
		}
		if iss, _ := tok.Claims["iss"].(string); iss != p.cfg.Issuer {
			p.errorPage(c, http.StatusBadRequest, p.t(c, "logout.failed"), p.t(c, "logout.other_issuer"), "")
			return
		}
		hintSub, _ = tok.Claims["sub"].(string)
		hintSID, _ = tok.Claims["sid"].(string)
		aud := audiences(tok.Claims["aud"])
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
		} else if clientID != "" && !slices.Contains(aud, clientID) {
			p.errorPage(c, http.StatusBadRequest, p.t(c, "logout.failed"), p.t(c, "logout.client_mismatch"), "")
			return
		}
	}
	var client *Client
	if clientID != "" {
		fc, err := p.GetClient(ctx, clientID)
		if err != nil {
			p.errorPage(c, http.StatusBadRequest, p.t(c, "logout.failed"), p.t(c, "logout.unknown_app"), "")
			return
		}
		client = fc.(*Client)
	}
	if redirect != "" {
		// Exact match against the registered list only (no prefix or
		// pattern), and only for an identified client.
		if client == nil || !slices.Contains([]string(client.m.PostLogoutRedirectURIs), redirect) {
			p.errorPage(c, http.StatusBadRequest, p.t(c, "logout.failed"),
				p.t(c, "logout.bad_redirect"), p.t(c, "logout.tell_developers"))
			return
		}
	}

	ls, err := p.sessions.Current(c.Request)
	if httpx.Outage(c, err) {
		p.outagePage(c, err)
		return
	}
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		p.log.ErrorContext(ctx, "logout", "err", err)
		p.errorPage(c, http.StatusInternalServerError, p.t(c, "logout.failed"), p.t(c, "logout.error"), "")
		return
	}
	confirmed := ls == nil ||
		(hintSID != "" && hintSID == ls.ID) ||
		(hintSID == "" && hintSub != "" && hintSub == p.subjectFor(client.model(), ls.UserID)) ||
		(c.Request.Method == http.MethodPost && f.Get("confirm") == "yes" && p.sessions.CheckCSRF(c.Request, f.Get("csrf")))
	if !confirmed {
		params := map[string]string{}
		for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
			if v := f.Get(k); v != "" {
				params[k] = v
			}
		}
		name, primary, accent := client.look()
		c.Header("Cache-Control", "no-store")
		if redirect != "" {
			// The confirmation POST redirects there; CSP form-action
			// applies to that redirect.
			httpx.AllowFormAction(c, redirect)
		}
		if err := p.pages.Logout(c.Writer, http.StatusOK, templates.Page{Lang: p.lang(c, nil, nil), Path: c.Request.URL.RequestURI(), Title: p.t(c, "logout.page_title"), AppName: name, AppPrimary: primary, AppAccent: accent},
			templates.LogoutView{Params: params, CSRF: p.sessions.CSRFToken(c.Writer, c.Request)}); err != nil {
			p.log.ErrorContext(ctx, "render logout", "err", err)
		}
		return
	}
	// The clients to tell in this browser (front-channel), read while the
	// session still lists them.
	frames := p.frontchannelFrames(ctx, ls)
	// End keeps the cookie when the session could not be deleted: the page
	// says sign-out failed, never "signed out" with the session alive.
	if err := p.sessions.End(ctx, c.Writer, c.Request); err != nil {
		if httpx.Outage(c, err) {
			p.errorPage(c, http.StatusServiceUnavailable, p.t(c, "logout.failed"), p.t(c, "logout.outage"), p.t(c, "errors.outage.hint"))
			return
		}
		p.log.ErrorContext(ctx, "logout", "err", err)
		p.errorPage(c, http.StatusInternalServerError, p.t(c, "logout.failed"), p.t(c, "logout.error"), "")
		return
	}
	// The clients the session signed in to hear of it now rather than at
	// the next poll (backchannel.go).
	p.backchannel.Kick()
	c.Header("Cache-Control", "no-store")
	var next string
	if redirect != "" {
		u, _ := url.Parse(redirect)
		if state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		next = u.String()
	}
	if next != "" && len(frames) == 0 {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	// With front-channel clients the page loads them first, then goes on
	// to next (frontchannel.go, static/logout.js).
	allowFrames(c, frames)
	name, primary, accent := client.look()
	if err := p.pages.LoggedOut(c.Writer, http.StatusOK, templates.Page{Lang: p.lang(c, nil, nil), Path: c.Request.URL.RequestURI(), Title: p.t(c, "logout.page_title_done"), AppName: name, AppPrimary: primary, AppAccent: accent},
		templates.LoggedOutView{Frames: frames, Continue: next}); err != nil {
		p.log.ErrorContext(ctx, "render logged_out", "err", err)
	}
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []string:
		return a
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
