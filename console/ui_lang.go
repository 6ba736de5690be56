package console

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/templates"
)

// The console's language: the signed-in admin's saved locale (what they
// picked with the console's switch, or last signed in with), else the
// browser's Accept-Language, else English. The words are the catalogue's
// "console.*" messages (internal/i18n), as the hosted pages' are theirs.

// langKey memoises the request's language in the gin context.
const langKey = "console.lang"

// lang is the language of this request's console page.
func (u *UI) lang(c *gin.Context) string {
	if v, ok := c.Get(langKey); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	cat := u.pages.Catalog()
	saved := ""
	if _, admin := Session(c); admin != nil {
		saved = admin.Locale
	}
	lang, ok := cat.Match(saved, false)
	if !ok {
		lang = cat.Negotiate(i18n.Prefs{AcceptLanguage: c.GetHeader("Accept-Language")})
	}
	c.Set(langKey, lang)
	return lang
}

// T is key's message in the request's language.
func (u *UI) T(c *gin.Context, key string, args ...any) string {
	return u.pages.T(u.lang(c), key, args...)
}

// page is the layout's data for a console page titled by key's message.
func (u *UI) page(c *gin.Context, key string, args ...any) templates.Page {
	return templates.Page{Title: u.T(c, key, args...)}
}

// date, dateTime and ago say a time in the request's language.
func (u *UI) date(c *gin.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return u.pages.Catalog().Date(u.lang(c), t)
}

func (u *UI) longDate(c *gin.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return u.pages.Catalog().LongDate(u.lang(c), t)
}

// when is a time for tables, to the minute (UTC), in the console's
// compact form for the language.
func (u *UI) when(c *gin.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(u.T(c, "console.common.when_layout"))
}

// ago is a past time as people say it: "just now", "5 min ago", "3 hours
// ago", "2 days ago", then the date; "never" for nil.
func (u *UI) ago(c *gin.Context, t *time.Time) string {
	if t == nil {
		return u.T(c, "console.common.never")
	}
	d := clock.Since(*t)
	switch {
	case d < time.Minute:
		return u.T(c, "console.ago.now")
	case d < time.Hour:
		return u.T(c, "console.ago.minutes", "count", int(d/time.Minute))
	case d < 24*time.Hour:
		return u.T(c, "console.ago.hours", "count", int(d/time.Hour))
	case d < 30*24*time.Hour:
		return u.T(c, "console.ago.days", "count", int(d/(24*time.Hour)))
	}
	return u.date(c, *t)
}

// yesNo is a boolean in words.
func (u *UI) yesNo(c *gin.Context, b bool) string {
	if b {
		return u.T(c, "console.common.yes")
	}
	return u.T(c, "console.common.no")
}

func (u *UI) whenPtr(c *gin.Context, t *time.Time) string {
	if t == nil {
		return u.T(c, "console.common.never")
	}
	return u.when(c, *t)
}

// number is a count with the language's thousands separator.
func (u *UI) number(c *gin.Context, n int64) string {
	return u.pages.Catalog().Number(u.lang(c), n)
}

// languageSave is the console's language switch: it saves the admin's
// locale (so the console, the hosted pages and mails follow it), keeps
// the pick in the browser for the hosted pages, and returns to the page.
func (u *UI) languageSave(c *gin.Context) error {
	ctx := c.Request.Context()
	lang := c.PostForm("lang")
	back := httpx.SafeReturn(c.PostForm("return"), "/console")
	if back == "" {
		back = "/console"
	}
	cat := u.pages.Catalog()
	if !cat.Supported(lang) {
		return problem(http.StatusUnprocessableEntity, "invalid-language", "Unknown language",
			"The language must be one of the console's.")
	}
	_, admin := Session(c)
	if admin == nil {
		return errNotAdmin
	}
	if admin.Locale != lang {
		if err := u.st.SetUserLocale(ctx, admin.ID, lang); err != nil {
			return err
		}
		if err := u.c.Audit.Record(ctx, "user.locale", "user", admin.ID,
			map[string]string{"locale": admin.Locale}, map[string]string{"locale": lang}); err != nil {
			return err
		}
		admin.Locale = lang
	}
	u.c.sessions.SetLanguage(c.Writer, lang)
	c.Redirect(http.StatusSeeOther, back)
	return nil
}

// tfunc says a catalogue key in one language, for the view builders
// that run outside a handler's gin context.
type tfunc func(key string, args ...any) string

// tr is the request's tfunc.
func (u *UI) tr(c *gin.Context) tfunc {
	return func(key string, args ...any) string { return u.T(c, key, args...) }
}
