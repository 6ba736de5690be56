package console_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// exerciseEventsSearchAPI searches every user's sign-in events (GET
// /events) by user (ID or address), client, method, result and date
// range, pages back by an authenticated cursor, refuses bad filters, and
// exports the same filtered set (the console's export links).
func exerciseEventsSearchAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	ctx := context.Background()
	p := console.APIPrefix
	ann, bo := env.CreateUser("search-ann@example.test"), env.CreateUser("search-bo@example.test")
	base := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	add := func(id string, u *models.User, at time.Time, client, method, result string) {
		must(t, env.Store.RecordAuthEvent(ctx, &models.AuthEvent{ID: "srch-" + id, At: at, UserID: u.ID, ClientID: client, Method: method,
			Event: models.EventLogin, Result: result, IP: "198.51.100.7"}))
	}
	for i := range 5 { // ann: 5 passkey sign-ins to app-a, one an hour
		add("ann"+string(rune('a'+i)), ann, base.Add(time.Duration(i)*time.Hour), "srch-app-a", models.MethodPasskey, models.ResultSuccess)
	}
	add("bo-fail", bo, base.Add(90*time.Minute), "srch-app-b", models.MethodPasslink, models.ResultFailure)
	add("bo-old", bo, base.Add(-72*time.Hour), "srch-app-b", models.MethodPasslink, models.ResultSuccess)

	type pageT struct {
		Items      []console.SignInEvent `json:"items"`
		HasMore    bool                  `json:"has_more"`
		NextCursor string                `json:"next_cursor"`
	}
	get := func(q string, want int) pageT {
		t.Helper()
		var pg pageT
		b := api.call(s, "GET", p+"/events?"+q, nil, want)
		if want == 200 {
			must(t, json.Unmarshal(b, &pg))
		}
		return pg
	}
	// By address, paged two at a time, newest first, with the address.
	var all []console.SignInEvent
	pg := get("user="+url.QueryEscape("SEARCH-ANN@example.test")+"&limit=2", 200)
	for {
		all = append(all, pg.Items...)
		if !pg.HasMore {
			break
		}
		pg = get("user=search-ann@example.test&limit=2&cursor="+url.QueryEscape(pg.NextCursor), 200)
	}
	if len(all) != 5 || all[0].ID != "srch-anne" || all[4].ID != "srch-anna" || all[0].Email != "search-ann@example.test" {
		t.Fatalf("ann's events by address, paged: %+v", all)
	}
	// By ID, client, method and result, and by date range.
	for q, want := range map[string][]string{
		"user=" + bo.ID:                       {"srch-bo-fail", "srch-bo-old"},
		"client_id=srch-app-b&result=failure": {"srch-bo-fail"},
		"method=passlink&user=" + bo.ID:       {"srch-bo-fail", "srch-bo-old"},
		"client_id=srch-app-a&result=failure": nil,
		"user=nobody-has-this@example.test":   nil,
		"client_id=srch-app-b&since=" + url.QueryEscape(base.Format(time.RFC3339)):                                                                                          {"srch-bo-fail"},
		"client_id=srch-app-a&since=" + url.QueryEscape(base.Add(time.Hour).Format(time.RFC3339)) + "&until=" + url.QueryEscape(base.Add(3*time.Hour).Format(time.RFC3339)): {"srch-annc", "srch-annb"},
	} {
		var got []string
		for _, e := range get(q, 200).Items {
			got = append(got, e.ID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("events?%s = %v, want %v", q, got, want)
		}
	}
	// Bad filters: every one named; cursors are authenticated.
	b := api.call(s, "GET", p+"/events?result=maybe&since="+url.QueryEscape(base.Format(time.RFC3339))+"&until="+url.QueryEscape(base.Add(-time.Hour).Format(time.RFC3339)), nil, 422)
	if !strings.Contains(string(b), `"result"`) || !strings.Contains(string(b), `"until"`) {
		t.Errorf("two bad filters, not both named: %s", b)
	}
	get("since=yesterday", 422)
	get("cursor=!!", 422)
	get("limit=1000", 422)
	get("user="+strings.Repeat("x", 300), 422)

	// The export takes the same filters, the user by address too.
	ev := string(api.raw(s, "GET", p+"/events/export?user=search-bo@example.test&result=failure", "", "", 200))
	if rows := strings.Split(strings.TrimSpace(ev), "\n"); len(rows) != 2 || !strings.Contains(rows[1], ",srch-app-b,") {
		t.Errorf("export by address:\n%s", ev)
	}
	if ev := string(api.raw(s, "GET", p+"/events/export?user=nobody-has-this@example.test", "", "", 200)); strings.Count(ev, "\n") != 1 {
		t.Errorf("export for an unknown address is more than the header:\n%s", ev)
	}
	api.raw(s, "GET", p+"/events/export?format=jsonl&result=maybe", "", "", 422)
}

// exerciseCancelDeletionAPI withdraws a user's own deletion request as an
// admin: the due date goes, the audit entry names the admin with the date
// before and none after, and a second cancellation (nothing pending) or
// an unknown user is refused.
func exerciseCancelDeletionAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	ctx := context.Background()
	p := console.APIPrefix
	u := env.CreateUser("leaving@example.test")
	due := time.Now().UTC().Add(7 * 24 * time.Hour).Truncate(time.Second)
	must(t, env.Store.ScheduleUserDeletion(ctx, u.ID, due))
	var v console.UserView
	must(t, json.Unmarshal(api.call(s, "POST", p+"/users/"+u.ID+"/cancel-deletion", nil, 200), &v))
	if v.DeletionDueAt != nil || v.ID != u.ID {
		t.Fatalf("after cancel: %+v", v)
	}
	if g, _ := env.Store.GetUser(ctx, u.ID); g.DeletionDueAt != nil {
		t.Fatal("the deletion is still scheduled")
	}
	b := api.call(s, "POST", p+"/users/"+u.ID+"/cancel-deletion", nil, 409)
	if !strings.Contains(string(b), "no-deletion-scheduled") {
		t.Errorf("second cancel: %s", b)
	}
	api.call(s, "POST", p+"/users/nope/cancel-deletion", nil, 404)
	rows, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{TargetID: u.ID, Action: "user.deletion_cancelled"}, 5)
	must(t, err)
	if len(rows) != 1 || rows[0].ActorKind == models.ActorSystem || rows[0].ActorID == "" || rows[0].ActorID == u.ID ||
		!strings.Contains(rows[0].BeforeJSON, due.Format("2006-01-02T15:04:05")) || rows[0].AfterJSON != `{"deletion_due_at":null}` {
		t.Fatalf("audit of the cancellation: %+v", rows)
	}
}
