package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// TestConsoleSignInsPage: the Sign-ins page lists every user's events
// newest first with the user, app and method in words, filters by user
// (address), app, method, result and a date range (a whole last day), goes
// back page by page, and its export links carry the filters to the admin
// API's export, which answers the console session with the same set.
func TestConsoleSignInsPage(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	ctx := context.Background()
	app, _ := env.CreateClient(clients.Spec{Name: "Acme Notes", RedirectURIs: []string{"https://notes.example/cb"}})
	ann, bo := env.CreateUser("ann@example.test"), env.CreateUser("bo@example.test")
	day := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	for i := range 60 { // 60 of ann's, one a minute: two pages
		must(t, env.Store.RecordAuthEvent(ctx, &models.AuthEvent{ID: "pg-ann-" + string(rune('A'+i)), At: day.Add(time.Duration(i) * time.Minute),
			UserID: ann.ID, ClientID: app, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}))
	}
	must(t, env.Store.RecordAuthEvent(ctx, &models.AuthEvent{ID: "pg-bo-fail", At: day.AddDate(0, 0, 1), UserID: bo.ID, ClientID: app,
		Method: models.MethodPasslink, Event: models.EventLogin, Result: models.ResultFailure, Reason: "expired_link", IP: "198.51.100.4"}))

	p := getPage(t, browser, env.Issuer+"/console/sign-ins", http.StatusOK)
	for _, want := range []string{`aria-current="page">Sign-ins`, "bo@example.test", "Sign-in failed", "Email link", "Acme Notes", `rel="next"`, `id="s-from"`} {
		if !strings.Contains(p, want) {
			t.Errorf("sign-ins page lacks %q", want)
		}
	}
	if strings.Index(p, "bo@example.test") > strings.Index(p, "ann@example.test") {
		t.Error("not newest first")
	}
	// The older page, with the filters kept.
	older := between(p, `<nav class="pager" aria-label="Pages"><span></span><a href="`, `"`)
	p2 := getPage(t, browser, env.Issuer+strings.ReplaceAll(older, "&amp;", "&"), http.StatusOK)
	if n := strings.Count(p2, "ann@example.test"); n != 11 || strings.Contains(p2, `rel="next"`) {
		t.Errorf("second page: %d of ann's events (want 11) or another page", n)
	}

	// Filters: user by address, result, method, app, dates.
	q := url.Values{"user": {"BO@example.test"}, "result": {"failure"}, "method": {"passlink"}, "client": {app}, "from": {"2026-11-04"}, "to": {"2026-11-04"}}
	p = getPage(t, browser, env.Issuer+"/console/sign-ins?"+q.Encode(), http.StatusOK)
	if !strings.Contains(p, "bo@example.test") || strings.Contains(p, "ann@example.test") || !strings.Contains(p, "Sign-in failed") {
		t.Errorf("filtered page:\n%s", p)
	}
	if p = getPage(t, browser, env.Issuer+"/console/sign-ins?user=ann@example.test&from=2026-11-04", http.StatusOK); !strings.Contains(p, "No sign-in matches these filters") {
		t.Error("a date range without events does not say so")
	}
	// Bad filters are dropped, not refused.
	getPage(t, browser, env.Issuer+"/console/sign-ins?result=maybe&from=yesterday&cursor=!!", http.StatusOK)

	// The export links: the filtered set through the console session.
	p = getPage(t, browser, env.Issuer+"/console/sign-ins?user=bo@example.test&to=2026-11-04", http.StatusOK)
	link := strings.ReplaceAll(between(p, `id="export-csv" href="`, `"`), "&amp;", "&")
	if !strings.Contains(link, "until=2026-11-05T00%3A00%3A00Z") || !strings.Contains(link, "user=bo%40example.test") {
		t.Fatalf("export link %q", link)
	}
	csv := getPage(t, browser, env.Issuer+link, http.StatusOK)
	if rows := strings.Split(strings.TrimSpace(csv), "\n"); len(rows) != 2 || !strings.Contains(rows[1], "bo@example.test") {
		t.Errorf("exported:\n%s", csv)
	}
}

// TestConsoleCancelDeletionShown: a user who asked to delete their
// account shows the date and a "Cancel the deletion" action, wired to the
// admin API with a confirmation dialog; a user without a request shows
// neither.
func TestConsoleCancelDeletionShown(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	u := env.CreateUser("leaving@example.test")
	if p := getPage(t, browser, env.Issuer+"/console/users/"+u.ID, 200); strings.Contains(p, "cancel-deletion") {
		t.Error("a user without a deletion request offers to cancel one")
	}
	must(t, env.Store.ScheduleUserDeletion(context.Background(), u.ID, time.Date(2026, 12, 12, 10, 30, 0, 0, time.UTC)))
	p := getPage(t, browser, env.Issuer+"/console/users/"+u.ID, 200)
	for _, want := range []string{"Deletion requested.", "12 December 2026 at 10:30", `data-api="/api/admin/v1/users/` + u.ID + `/cancel-deletion"`, `data-confirm-title="Keep this account?"`} {
		if !strings.Contains(p, want) {
			t.Errorf("user page lacks %q", want)
		}
	}
}

// between is the text of s after start up to end ("" when absent).
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	return s[:strings.Index(s, end)]
}

// TestConsoleAuditDateRange: the audit log page filters by a date range
// (whole days, UTC), and its export links carry the range as since/until.
func TestConsoleAuditDateRange(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	ctx := context.Background()
	for i, day := range []time.Time{time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 23, 59, 0, 0, time.UTC)} {
		must(t, env.Store.CreateAuditEntry(ctx, &models.AuditEntry{ID: "range-" + string(rune('a'+i)), At: day, ActorKind: models.ActorCLI,
			Action: "range.test", TargetType: "thing", TargetID: "day-" + day.Format("02")}))
	}
	p := getPage(t, browser, env.Issuer+"/console/audit?action=range.test&from=2026-11-03&to=2026-11-03", http.StatusOK)
	if !strings.Contains(p, "day-03") || strings.Contains(p, "day-02") {
		t.Errorf("one day of the audit log:\n%s", p)
	}
	if !strings.Contains(p, "since=2026-11-03T00%3A00%3A00Z") || !strings.Contains(p, "until=2026-11-04T00%3A00%3A00Z") {
		t.Error("the export links lack the date range")
	}
	if p := getPage(t, browser, env.Issuer+"/console/audit?action=range.test&from=nonsense", http.StatusOK); !strings.Contains(p, "day-02") {
		t.Error("an unreadable date is not dropped")
	}
}
