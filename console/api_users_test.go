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

// exerciseEverydayUsersAPI walks the everyday user routes of the admin
// API (add, edit, filters, history, sign out everywhere, withdraw grants)
// against the OpenAPI document, with their refusals.
func exerciseEverydayUsersAPI(t *testing.T, env *servertest.Env, api *caller, s *spec, u *models.User) {
	t.Helper()
	ctx := context.Background()
	p := console.APIPrefix

	// Add: every bad field named at once; a taken address is a conflict.
	b := api.call(s, "POST", p+"/users", map[string]any{"email": "Ada <ada@x.test>", "display_name": "a\nb"}, 422)
	if !strings.Contains(string(b), `"email"`) || !strings.Contains(string(b), `"display_name"`) {
		t.Errorf("add user with two bad fields names only some: %s", b)
	}
	api.call(s, "POST", p+"/users", map[string]any{"email": strings.ToUpper(u.Email)}, 409)
	api.call(s, "POST", p+"/users", map[string]any{"email": "x@example.test", "role": "admin"}, 400)
	var added console.AddedUser
	b = api.call(s, "POST", p+"/users", map[string]any{"email": "grace@example.test", "display_name": "Grace", "send_link": true}, 201)
	must(t, json.Unmarshal(b, &added))
	if added.User.Email != "grace@example.test" || added.User.EmailVerified || added.Link == nil || added.Link.Email != "grace@example.test" {
		t.Fatalf("added: %s", b)
	}
	// The sign-up link went out through the outbox.
	if n, err := env.Store.CountMails(ctx, models.MailPending); err != nil || n == 0 {
		t.Errorf("no mail queued for the sign-up link (%d, %v)", n, err)
	}

	// Edit: a new address is unverified and due a proof; the name changes.
	must(t, env.Store.SetUserIdentity(ctx, added.User.ID, store.UserIdentity{Email: "grace@example.test", DisplayName: "Grace", EmailVerified: true}))
	var edited console.UserView
	b = api.call(s, "PATCH", p+"/users/"+added.User.ID, map[string]any{"email": "grace.hopper@example.test", "display_name": "Grace Hopper"}, 200)
	must(t, json.Unmarshal(b, &edited))
	if edited.Email != "grace.hopper@example.test" || edited.EmailVerified || edited.DisplayName != "Grace Hopper" {
		t.Errorf("edited: %s", b)
	}
	api.call(s, "PATCH", p+"/users/"+added.User.ID, map[string]any{"email_verified": true}, 200)
	api.call(s, "PATCH", p+"/users/"+added.User.ID, map[string]any{"email": u.Email}, 409)
	api.call(s, "PATCH", p+"/users/"+added.User.ID, map[string]any{"email": "nope", "display_name": strings.Repeat("x", 101)}, 422)
	api.call(s, "PATCH", p+"/users/nope", map[string]any{"display_name": "x"}, 404)
	if g, _ := env.Store.GetUser(ctx, added.User.ID); !g.EmailVerified || g.Email != "grace.hopper@example.test" {
		t.Errorf("stored after edits: %+v", g)
	}

	// Filters and activity columns.
	b = api.call(s, "GET", p+"/users?unverified=true&q=grace", nil, 200)
	if strings.Contains(string(b), added.User.ID) {
		t.Error("a verified user is listed as unverified")
	}
	b = api.call(s, "GET", p+"/users?q=grace.hopper", nil, 200)
	if !strings.Contains(string(b), `"last_sign_in_at":null`) {
		t.Errorf("the list lacks the activity columns: %s", b)
	}
	api.call(s, "GET", p+"/users?admin=true&disabled=false", nil, 200)
	api.call(s, "GET", p+"/users?admin=yes", nil, 422)

	// History, filtered and paged.
	for i, r := range []string{models.ResultSuccess, models.ResultFailure, models.ResultSuccess} {
		must(t, env.Store.RecordAuthEvent(ctx, &models.AuthEvent{ID: "hist-" + added.User.ID + string(rune('a'+i)), At: time.Now().Add(time.Duration(i-5) * time.Minute),
			UserID: added.User.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: r}))
	}
	var h console.History
	must(t, json.Unmarshal(api.call(s, "GET", p+"/users/"+added.User.ID+"/events?limit=2", nil, 200), &h))
	if len(h.Items) != 2 || !h.HasMore || h.NextBefore == "" {
		t.Fatalf("history page: %+v", h)
	}
	must(t, json.Unmarshal(api.call(s, "GET", p+"/users/"+added.User.ID+"/events?limit=2&before="+url.QueryEscape(h.NextBefore), nil, 200), &h))
	if len(h.Items) != 1 || h.HasMore {
		t.Errorf("second history page: %+v", h)
	}
	must(t, json.Unmarshal(api.call(s, "GET", p+"/users/"+added.User.ID+"/events?result=failure", nil, 200), &h))
	if len(h.Items) != 1 || h.Items[0].Result != models.ResultFailure {
		t.Errorf("failures only: %+v", h)
	}
	api.call(s, "GET", p+"/users/"+added.User.ID+"/events?result=maybe&method=carrier-pigeon", nil, 422)
	api.call(s, "GET", p+"/users/"+added.User.ID+"/events?before=yesterday", nil, 422)
	api.call(s, "GET", p+"/users/nope/events", nil, 404)

	// Sign out everywhere and withdraw grants, without disabling.
	ls := &models.LoginSession{ID: "ls-" + added.User.ID, TokenHash: "h-" + added.User.ID, UserID: added.User.ID, AuthTime: time.Now(),
		LastSeenAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour), ACR: models.ACRBasic}
	must(t, env.Store.CreateLoginSession(ctx, ls))
	var rv console.Revoked
	must(t, json.Unmarshal(api.call(s, "POST", p+"/users/"+added.User.ID+"/revoke-sessions", nil, 200), &rv))
	if rv.Sessions != 1 {
		t.Errorf("revoke sessions: %+v", rv)
	}
	if n, _ := env.Store.CountLiveLoginSessions(ctx, added.User.ID); n != 0 {
		t.Errorf("%d sessions live after sign out everywhere", n)
	}
	must(t, json.Unmarshal(api.call(s, "POST", p+"/users/"+added.User.ID+"/revoke-grants", nil, 200), &rv))
	api.call(s, "POST", p+"/users/nope/revoke-sessions", nil, 404)
	api.call(s, "POST", p+"/users/nope/revoke-grants", nil, 404)
	if g, _ := env.Store.GetUser(ctx, added.User.ID); g.Disabled {
		t.Error("revoking sessions disabled the user")
	}
	// Every change is in the audit log with its before and after.
	rows, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{TargetID: added.User.ID}, 20)
	must(t, err)
	seen := map[string]bool{}
	for _, e := range rows {
		seen[e.Action] = true
		if e.Action == "user.update" && strings.Contains(e.BeforeJSON, `"email":"grace@example.test"`) && strings.Contains(e.AfterJSON, `"email":"grace.hopper@example.test"`) {
			seen["address change with before and after"] = true
		}
	}
	for _, a := range []string{"user.create", "user.send_passlink", "user.update", "user.revoke_sessions", "user.revoke_grants", "address change with before and after"} {
		if !seen[a] {
			t.Errorf("audit log lacks %s (has %v)", a, seen)
		}
	}
}

// TestGrantAdminNeedsStepUp: making someone admin from a console session
// needs a fresh confirmation, like taking the role.
func TestGrantAdminNeedsStepUp(t *testing.T) {
	env := servertest.New(t)
	b := browser(t, env)
	b.signIn(models.RoleAdmin, models.ACRPhishingResistant)
	other := env.CreateUser("next-admin@example.test")
	resp, body, _ := b.do("POST", console.APIPrefix+"/users/"+other.ID+"/grant-admin", nil)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "step-up-required") {
		t.Fatalf("grant admin without step-up: %d %s", resp.StatusCode, body)
	}
	if u, _ := env.Store.GetUser(context.Background(), other.ID); u.IsAdmin() {
		t.Fatal("granted without step-up")
	}
}
