package oidc

import (
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/models"
)

// lang is the language of a provider page (consent, device) for the
// interaction in (nil: none): the switcher's pick, the request's
// ui_locales, Accept-Language, then the signed-in user's saved locale u
// (nil: none), as on the hosted sign-in pages (authn locale.go).
func (p *Provider) lang(c *gin.Context, in *models.Interaction, u *models.User) string {
	cat := p.pages.Catalog()
	pr := i18n.Prefs{Choice: p.sessions.Language(c.Request), AcceptLanguage: c.GetHeader("Accept-Language")}
	if q := c.Query("lang"); q != "" && cat.Supported(q) {
		if q != pr.Choice {
			p.sessions.SetLanguage(c.Writer, q)
		}
		pr.Choice = q
	}
	if in != nil {
		if q, err := url.ParseQuery(in.Query); err == nil {
			pr.UILocales = q.Get("ui_locales")
		}
	}
	if u != nil {
		pr.Saved = u.Locale
	}
	return cat.Negotiate(pr)
}

// t is key's message in the language of this request's page (lang
// without an interaction or user: the switcher, Accept-Language).
func (p *Provider) t(c *gin.Context, key string, args ...any) string {
	return p.pages.T(p.lang(c, nil, nil), key, args...)
}

// look is what a page shows of the client (nil: none): its name and its
// own colours.
func (c *Client) look() (name, primary, accent string) {
	if c == nil || c.m == nil {
		return "", "", ""
	}
	return c.m.Name, c.m.PrimaryColor, c.m.AccentColor
}
