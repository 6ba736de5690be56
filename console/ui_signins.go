package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The Sign-ins page: every user's sign-in events (Events.Search) with
// filters — who (address or id), app, method, result, a date range — a
// page of 50 at a time going back by cursor, and the filtered set as CSV
// or JSON Lines from the admin API's export. A bad filter on a page is
// dropped, not refused (the API refuses it).

// PathSignIns is the page's path (/console/events is the live feed).
const PathSignIns = "/console/sign-ins"

// signInPageSize is how many events a page shows.
const signInPageSize = 50

// dateLayout is an <input type="date"> value.
const dateLayout = "2006-01-02"

func (u *UI) signIns(c *gin.Context) error {
	ctx := c.Request.Context()
	bound := func(s string) string {
		s = strings.TrimSpace(s)
		if len(s) > MaxQueryLen {
			return ""
		}
		return s
	}
	q := EventSearch{User: bound(c.Query("user")), Cursor: bound(c.Query("cursor")), Limit: signInPageSize}
	q.ClientID, q.Method, q.Result = bound(c.Query("client")), c.Query("method"), c.Query("result")
	if q.Result != models.ResultSuccess && q.Result != models.ResultFailure {
		q.Result = ""
	}
	if !slices.Contains(historyMethods, q.Method) {
		q.Method = ""
	}
	from, to := c.Query("from"), c.Query("to")
	if t, err := time.Parse(dateLayout, from); err == nil {
		q.Since = t
	} else {
		from = ""
	}
	if t, err := time.Parse(dateLayout, to); err == nil && (q.Since.IsZero() || !t.Before(q.Since)) {
		q.Until = t.AddDate(0, 0, 1) // the whole last day
	} else {
		to = ""
	}
	page, err := u.c.Events.Search(ctx, q)
	if err != nil && q.Cursor != "" && toProblem(err).Status == http.StatusUnprocessableEntity {
		q.Cursor = "" // a stale or mangled link: the first page
		page, err = u.c.Events.Search(ctx, q)
	}
	if err != nil {
		return err
	}
	names, err := u.stats.clientNames(ctx)
	if err != nil {
		return err
	}
	v := templates.ConsoleSignInsView{User: q.User, From: from, To: to}
	v.Filter = u.historyFilter(c, HistoryQuery{Result: q.Result, Method: q.Method, ClientID: q.ClientID}, names, nil)
	v.Filter.Filtered = v.Filter.Filtered || q.User != "" || from != "" || to != ""
	for _, e := range page.Items {
		r := templates.SignInRow{EventRow: u.eventRow(c, EventView{At: e.At, Event: e.Event, Method: e.Method, Result: e.Result, Reason: e.Reason,
			ClientID: e.ClientID, IP: e.IP}, names), Email: e.Email}
		if e.Email != "" {
			r.UserLink = userPath(e.UserID)
		} else if e.UserID != "" {
			r.Email = u.T(c, "console.signins.deleted_user")
		}
		v.Rows = append(v.Rows, r)
	}
	filters := url.Values{"user": {q.User}, "client": {q.ClientID}, "method": {q.Method}, "result": {q.Result}, "from": {from}, "to": {to}}
	if page.NextCursor != "" {
		next := url.Values{"cursor": {page.NextCursor}}
		for k, val := range filters {
			if val[0] != "" {
				next.Set(k, val[0])
			}
		}
		v.Filter.Older = PathSignIns + "?" + next.Encode()
	}
	export := url.Values{"user": {q.User}, "client_id": {q.ClientID}, "method": {q.Method}, "result": {q.Result}}
	if !q.Since.IsZero() {
		export.Set("since", q.Since.Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		export.Set("until", q.Until.Format(time.RFC3339))
	}
	v.ExportCSV, v.ExportJSONL = exportLinks("events", export)
	return u.pages.ConsoleSignIns(c.Writer, 200, u.page(c, "console.nav.signins"), u.shell(c, "signins"), v)
}
