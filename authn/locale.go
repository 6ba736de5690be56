package authn

import (
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The language of a hosted page (internal/i18n): the switcher's pick
// (?lang=, then its cookie), the interaction's ui_locales, the browser's
// Accept-Language, then the signed-in user's saved locale. The saved
// locale costs a query, so it is read only when nothing before it decides.

// lang is this request's language.
func (h *Handler) lang(c *gin.Context) string {
	return h.langSaved(c, func() string { return h.savedLocale(c) })
}

// langSaved is lang with the saved locale read by saved, only when nothing
// before it decides.
func (h *Handler) langSaved(c *gin.Context, saved func() string) string {
	cat := h.pages.Catalog()
	p := i18n.Prefs{Choice: h.sessions.Language(c.Request), AcceptLanguage: c.GetHeader("Accept-Language")}
	if q := c.Query("lang"); q != "" && cat.Supported(q) {
		if q != p.Choice {
			h.sessions.SetLanguage(c.Writer, q)
		}
		p.Choice = q
	}
	p.UILocales = h.uiLocales(c)
	if lang, ok := cat.Pick(p); ok {
		return lang
	}
	p.Saved = saved()
	return cat.Negotiate(p)
}

// uiLocales is the ui_locales of the interaction this request loaded, if
// any (OIDC Core §3.1.2.1: the request's preferred languages).
func (h *Handler) uiLocales(c *gin.Context) string {
	// A page may ask before its handler loads the interaction it names;
	// the load is memoised for the handler (interaction.go). Only the
	// language is read here: the handler still checks the browser.
	if id := c.Query("interaction"); id != "" && len(id) <= 64 {
		h.requestInteraction(c, id)
	}
	memo, _ := c.Get(interactionKey)
	loaded, _ := memo.(map[string]*loadedInteraction)
	for _, li := range loaded {
		if li.in == nil {
			continue
		}
		if q, err := url.ParseQuery(li.in.Query); err == nil && q.Get("ui_locales") != "" {
			return q.Get("ui_locales")
		}
	}
	return ""
}

// savedLocale is the signed-in user's stored locale, or "" (currentUser,
// memoised: the page's handler usually asks for the user too).
func (h *Handler) savedLocale(c *gin.Context) string {
	if _, u, err := h.currentUser(c); err == nil && u != nil {
		return u.Locale
	}
	return ""
}

// tr is a request's language and its messages.
type tr struct {
	lang  string
	pages *templates.Renderer
	path  string
}

// tr returns this request's translator.
func (h *Handler) tr(c *gin.Context) tr {
	return tr{lang: h.lang(c), pages: h.pages, path: c.Request.URL.RequestURI()}
}

// T is key's message in the request's language.
func (t tr) T(key string, args ...any) string { return t.pages.T(t.lang, key, args...) }

// page is the layout's data: the language, the switcher's path, the
// title and the app.
func (t tr) page(title, app, logo string) templates.Page {
	return templates.Page{Lang: t.lang, Path: t.path, Title: title, AppName: app, AppLogo: logo}
}

// duration says d in the request's language ("10 minutes").
func (t tr) duration(d time.Duration) string { return t.pages.Catalog().Duration(t.lang, d) }

// saveLocale stores the language of this sign-in as the user's, so mails
// and pages without a better source use it. A stored locale the language
// already matches (en-GB for en) is kept: it may be the admin's, and is
// more precise.
func (h *Handler) saveLocale(c *gin.Context, u *models.User) {
	// The person signing in is u: their locale, not the one of whatever
	// session the browser held before, is the saved preference.
	lang := h.langSaved(c, func() string { return u.Locale })
	if got, ok := h.pages.Catalog().Match(u.Locale, false); ok && got == lang {
		return
	}
	if err := h.st.SetUserLocale(c.Request.Context(), u.ID, lang); err != nil {
		// A preference: the sign-in goes on without it.
		h.log.WarnContext(c.Request.Context(), "save user locale", "err", err)
		return
	}
	u.Locale = lang
}

// appPage is page for a page on behalf of client (nil: none): its name,
// logo and own colours, as the sign-in page shows them.
func (t tr) appPage(title string, client *models.Client) templates.Page {
	if client == nil {
		return t.page(title, "", "")
	}
	p := t.page(title, client.Name, client.LogoURI)
	p.AppPrimary, p.AppAccent = client.PrimaryColor, client.AccentColor
	return p
}
