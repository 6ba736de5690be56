package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// TestConsoleUsersEveryday walks the users pages as an admin through
// forms: the list's filters and activity columns, adding a user (every
// bad field named at once), editing the address (a new one is unverified
// unless ticked on purpose), inviting an admin (the link shown once), and
// the history's filters. Each change lands in the audit log with the
// admin as actor.
func TestConsoleUsersEveryday(t *testing.T) {
	env, browser, admin := uiAdmin(t)
	ctx := context.Background()

	list := getPage(t, browser, env.Issuer+"/console/users", http.StatusOK)
	for _, want := range []string{"Last sign-in", "Passkeys", `name="admin"`, `name="unverified"`, "Add user", "Invite an admin", "Sign out", `href="/account"`} {
		if !strings.Contains(list, want) {
			t.Errorf("users list lacks %q", want)
		}
	}
	csrf := csrfOf(t, list)

	// Add: two bad fields, both named; then a good one.
	res, body := postForm(t, browser, env, "/console/users", url.Values{"csrf_token": {csrf}, "email": {"not an address"}, "display_name": {"a\tb"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="user_email-error"`) || !strings.Contains(body, `id="user_name-error"`) {
		t.Fatalf("add with bad fields: %d\n%s", res.StatusCode, body)
	}
	res, body = postForm(t, browser, env, "/console/users", url.Values{"csrf_token": {csrf}, "email": {"lin@example.test"}, "display_name": {"Lin"}, "email_verified": {"on"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "User added") {
		t.Fatalf("add: %d\n%s", res.StatusCode, body)
	}
	lin, err := env.Store.GetUserByEmail(ctx, "lin@example.test")
	must(t, err)
	if !lin.EmailVerified || lin.DisplayName != "Lin" {
		t.Fatalf("added %+v", lin)
	}
	res, body = postForm(t, browser, env, "/console/users", url.Values{"csrf_token": {csrf}, "email": {"LIN@example.test"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "another user has this address") {
		t.Errorf("adding a taken address: %d, want the form again with the message", res.StatusCode)
	}

	// Edit: the box left ticked for the old address does not vouch for
	// the new one.
	res, body = postForm(t, browser, env, "/console/users/"+lin.ID+"/identity", url.Values{"csrf_token": {csrf}, "email": {"lin.wei@example.test"}, "display_name": {"Lin Wei"}, "email_verified": {"on"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Saved.") {
		t.Fatalf("edit: %d\n%s", res.StatusCode, body)
	}
	if lin, _ = env.Store.GetUser(ctx, lin.ID); lin.Email != "lin.wei@example.test" || lin.EmailVerified || !lin.EmailVerificationDue || lin.DisplayName != "Lin Wei" {
		t.Fatalf("after the edit: %+v", lin)
	}
	// Ticking it on purpose verifies.
	postForm(t, browser, env, "/console/users/"+lin.ID+"/identity", url.Values{"csrf_token": {csrf}, "email": {"lin.wei@example.test"}, "display_name": {"Lin Wei"}, "email_verified": {"on"}})
	if lin, _ = env.Store.GetUser(ctx, lin.ID); !lin.EmailVerified {
		t.Fatal("ticking verified did not verify")
	}
	res, body = postForm(t, browser, env, "/console/users/"+lin.ID+"/identity", url.Values{"csrf_token": {csrf}, "email": {admin.Email}, "display_name": {"Lin Wei"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "another user has this address") {
		t.Errorf("edit to a taken address: %d", res.StatusCode)
	}

	// Filters: unverified finds nobody of ours now; admins finds the admin.
	if p := getPage(t, browser, env.Issuer+"/console/users?admin=true", 200); !strings.Contains(p, admin.Email) || strings.Contains(p, "lin.wei@example.test") {
		t.Error("the admins filter")
	}

	// The list's download links work with the console session: what the
	// filters show, as CSV.
	if p := getPage(t, browser, env.Issuer+"/console/users?q=lin.wei", 200); !strings.Contains(p, `href="/api/admin/v1/users/export?q=lin.wei"`) {
		t.Error("the users list has no export link with its filter")
	}
	req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/api/admin/v1/users/export?q=lin.wei", nil)
	dl, err := browser.Do(req)
	must(t, err)
	csvBody, _ := io.ReadAll(dl.Body)
	_ = dl.Body.Close()
	if dl.StatusCode != 200 || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment;") || !strings.Contains(string(csvBody), "\nlin.wei@example.test,Lin Wei,true,") {
		t.Errorf("export from the console: %d %q\n%s", dl.StatusCode, dl.Header.Get("Content-Disposition"), csvBody)
	}

	// History with filters and words, not codes.
	for i, r := range []string{models.ResultSuccess, models.ResultFailure} {
		e := &models.AuthEvent{ID: "ui-hist-" + string(rune('a'+i)), At: time.Now().Add(-time.Duration(i) * time.Minute), UserID: lin.ID,
			Method: models.MethodPasskey, Event: models.EventLogin, Result: r}
		if r == models.ResultFailure {
			e.Reason = "user_verification_required"
		}
		must(t, env.Store.RecordAuthEvent(ctx, e))
	}
	page := getPage(t, browser, env.Issuer+"/console/users/"+lin.ID+"?result=failure", 200)
	if !strings.Contains(page, "Sign-in failed") || !strings.Contains(page, "not unlocked") || strings.Contains(page, "user_verification_required") || strings.Contains(page, ">Signed in<") {
		t.Errorf("filtered history:\n%s", page[strings.Index(page, "history-h"):])
	}

	// Invite an admin: the link is shown once.
	res, body = postForm(t, browser, env, "/console/admins/invite", url.Values{"csrf_token": {csrf}, "email": {"Root <root@example.test>"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "invite-email-error") {
		t.Errorf("invite a display-name address: %d", res.StatusCode)
	}
	res, body = postForm(t, browser, env, "/console/admins/invite", url.Values{"csrf_token": {csrf}, "email": {"root@example.test"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, env.Issuer+"/console/setup/") {
		t.Fatalf("invite: %d\n%s", res.StatusCode, body)
	}

	rows, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{ActorID: admin.ID}, 50)
	must(t, err)
	seen := map[string]bool{}
	for _, e := range rows {
		seen[e.Action] = true
	}
	for _, a := range []string{"user.create", "user.update", "admin.invite"} {
		if !seen[a] {
			t.Errorf("the audit log lacks %s by the admin (has %v)", a, seen)
		}
	}
}
