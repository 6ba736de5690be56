package console

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/templates"
)

// UI serves the console's pages (server-rendered from templates/console/,
// with static/console.js and console.css) and the live feed. Pages call
// the same services as the admin API. Changes that are not destructive
// post a form here; destructive ones (delete a client or user, remove a
// credential, rotate keys) go from console.js to the admin API, which
// demands a fresh passkey confirmation (step-up) first.
type UI struct {
	c     *Console
	stats *StatsService
	pages *templates.Renderer
	st    *store.Store
	log   *slog.Logger
	// slow caches the dashboard's whole-table counts (ui_dashboard.go).
	slow slowParts
}

// UIDeps are what the pages are built from.
type UIDeps struct {
	// Console gives the services and the CSRF token; without it only the
	// dashboard is served.
	Console *Console
	Stats   *StatsService
	Pages   *templates.Renderer
	Store   *store.Store
	Logger  *slog.Logger
}

// NewUI returns the console pages.
func NewUI(d UIDeps) *UI {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &UI{c: d.Console, stats: d.Stats, pages: d.Pages, st: d.Store, log: d.Logger}
}

// PathEvents is the console's live feed (server-sent events): a stream
// that no request deadline may cut.
const PathEvents = "/console/events"

// MountUI registers the pages on r, which must already carry the
// console's authentication (Console.AdminPages).
func (u *UI) MountUI(r gin.IRouter) {
	r.GET("/console", u.handle(u.dashboard))
	r.GET(PathEvents, func(c *gin.Context) {
		u.stats.serveEvents(c, func(items []FeedItem) []FeedItem { return u.feedRows(c, items) })
	})
	r.GET("/console/stats", u.handle(u.statsDrilldown))
	if u.c == nil {
		return
	}
	r.POST("/console/language", u.handle(u.languageSave))
	r.GET("/console/clients", u.handle(u.clientList))
	r.GET("/console/clients/new", u.handle(u.clientNew))
	r.POST("/console/clients", u.handle(u.clientCreate))
	r.GET("/console/clients/:id", u.handle(u.clientShow))
	r.POST("/console/clients/:id", u.handle(u.clientUpdate))
	r.POST("/console/clients/:id/rotate-secret", u.handle(u.clientRotate))
	r.POST("/console/clients/:id/disabled", u.handle(u.clientSetDisabled))
	u.mountUsers(r)
	r.GET(PathSignIns, u.handle(u.signIns))
	r.GET("/console/credentials", u.handle(u.credentialHealth))
	u.mountGroups(r)
	u.mountWebhooks(r)
	u.mountRegistration(r)
	u.mountUpstreams(r)
	r.GET("/console/scopes", u.handle(u.scopeList))
	r.POST("/console/scopes", u.handle(u.scopeCreate))
	r.GET("/console/scopes/:name", u.handle(u.scopeShow))
	r.POST("/console/scopes/:name", u.handle(u.scopeUpdate))
	r.GET("/console/resources", u.handle(u.resourceList))
	r.POST("/console/resources", u.handle(u.resourceCreate))
	r.GET("/console/resources/:name", u.handle(u.resourceShow))
	r.POST("/console/resources/:name", u.handle(u.resourceUpdate))
	r.GET("/console/policies", u.handle(u.policiesShow))
	r.POST("/console/policies", u.handle(u.policiesSave))
	u.mountBranding(r)
	r.GET("/console/keys", u.handle(u.keysShow))
	r.GET("/console/audit", u.handle(u.auditList))
}

// handle adapts a page handler that returns an error: a problem the
// person can act on is shown as such; anything else is logged once.
func (u *UI) handle(fn func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := fn(c)
		if err == nil {
			return
		}
		p := toProblem(err)
		title, msg := p.Title, p.Detail
		if msg == "" {
			msg = p.Title + "."
		}
		switch {
		case p.Status == http.StatusServiceUnavailable:
			u.log.WarnContext(c.Request.Context(), "console page: database unavailable", "path", httpx.RoutePath(c), "err", err)
			c.Header("Retry-After", httpx.OutageRetryAfter)
			title, msg = u.T(c, "errors.outage.title"), u.T(c, "api.outage")
		case p.Status >= 500:
			u.log.ErrorContext(c.Request.Context(), "console page", "path", httpx.RoutePath(c), "err", err)
			title, msg = u.T(c, "errors.internal.title"), u.T(c, "console.error.server")
		}
		if p.Status < 500 && u.lang(c) != i18n.Default {
			if s, ok := problemText(u.pages.Catalog(), u.lang(c), p); ok {
				title, msg = u.T(c, "console.error.title"), s
			}
		}
		if p.Detail == "" && p.Status < 500 {
			for _, fe := range p.Errors {
				msg += " " + capitalize(u.fieldMessage(c, fe)) + "."
			}
		}
		if p.Status == http.StatusNotFound {
			title, msg = u.T(c, "console.error.not_found_title"), u.T(c, "console.error.not_found")
		}
		_ = u.pages.ConsoleError(c.Writer, p.Status, templates.Page{Title: title}, u.shell(c, ""), templates.ConsoleErrorView{Message: msg})
	}
}

// shell is what the console layout shows around a page of section nav.
func (u *UI) shell(c *gin.Context, nav string) templates.ConsoleShell {
	s := templates.ConsoleShell{Lang: u.lang(c), Path: c.Request.URL.RequestURI(), Nav: nav, Admin: ActorFrom(c.Request.Context()).Label}
	if code := c.Query("done"); flashCodes[code] {
		s.Flash = u.T(c, "console.flash."+code)
	}
	if u.c != nil {
		s.CSRF = u.c.CSRFToken(c)
		s.Alerts = append(u.metadataAlerts(c), u.webhookAlerts(c)...)
	}
	return s
}

// flashCodes are the confirmations shown after a change (?done=…); each
// is the catalogue's console.flash.CODE.
var flashCodes = map[string]bool{
	"client_saved":               true,
	"client_deleted":             true,
	"client_disabled":            true,
	"client_enabled":             true,
	"user_disabled":              true,
	"user_added":                 true,
	"user_added_link":            true,
	"user_saved":                 true,
	"recovery_codes_invalidated": true,
	"sessions_revoked":           true,
	"grants_revoked":             true,
	"admin_granted":              true,
	"admin_revoked":              true,
	"user_enabled":               true,
	"user_deleted":               true,
	"deletion_cancelled":         true,
	"cred_removed":               true,
	"cred_suspended":             true,
	"cred_unsuspended":           true,
	"passlink_sent":              true,
	"policies_saved":             true,
	"branding_saved":             true,
	"branding_logo":              true,
	"branding_logo_removed":      true,
	"keys_rotated":               true,
	"group_created":              true,
	"webhook_enabled":            true,
	"webhook_saved":              true,
	"webhook_disabled":           true,
	"webhook_deleted":            true,
	"webhook_redelivered":        true,
	"group_saved":                true,
	"group_deleted":              true,
	"member_added":               true,
	"member_removed":             true,
	"profile_saved":              true,
	"group_joined":               true,
	"group_left":                 true,
	"scope_saved":                true,
	"scope_deleted":              true,
	"upstream_saved":             true,
	"upstream_deleted":           true,
	"resource_saved":             true,
	"resource_deleted":           true,
	"token_revoked":              true,
}

// redirectDone sends the browser to path with a confirmation code.
func redirectDone(c *gin.Context, path, code string) {
	c.Redirect(http.StatusSeeOther, path+"?done="+url.QueryEscape(code))
}

// pageParams reads ?page (1-based) into an offset for size rows a page.
func pageParams(c *gin.Context, size int) (page, offset int) {
	page, _ = strconv.Atoi(c.Query("page"))
	page = max(1, min(page, MaxOffset/size))
	return page, (page - 1) * size
}

func uiMakePager(base url.Values, path string, page int, more bool) templates.Pager {
	p := templates.Pager{Page: page}
	link := func(n int) string {
		q := url.Values{}
		for k, v := range base {
			if len(v) > 0 && v[0] != "" {
				q[k] = v
			}
		}
		if n > 1 {
			q.Set("page", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if more {
		p.Next = link(page + 1)
	}
	return p
}
