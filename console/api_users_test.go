package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

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

// JSON Lines bodies are validated as plain strings (kin-openapi has no
// decoder of its own for them).
func init() {
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
}

// raw sends body as is with its content type, and validates the answer
// against the document.
func (c *caller) raw(s *spec, method, path, ctype, body string, want int) []byte {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.env.Issuer+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		c.t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	req.Body = io.NopCloser(strings.NewReader(body))
	s.check(c.t, req, resp, b)
	return b
}

// exerciseBulkUsersAPI imports users from CSV (a dry run first, bad rows
// reported one by one, the rest applied; the same file again changes
// nothing), exports them as JSON Lines and CSV, and imports the export
// back unchanged.
func exerciseBulkUsersAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	ctx := context.Background()
	p := console.APIPrefix
	must(t, env.Store.CreateGroup(ctx, &models.Group{ID: "grp-bulk", Name: "bulk-staff"}))
	file := "email,name,verified,groups,attributes\n" +
		"imp-ada@example.test,Ada,true,bulk-staff,\"{\"\"dept\"\": \"\"R&D\"\"}\"\n" +
		"not-an-address,Bad,maybe,no-such-group,[1]\n" +
		"imp-bob@example.test,,,,\n" +
		"IMP-ADA@example.test,Again,,,\n"
	var rep console.ImportReport
	must(t, json.Unmarshal(api.raw(s, "POST", p+"/users/import?dry_run=true", "text/csv", file, 200), &rep))
	if !rep.DryRun || rep.Created != 2 || rep.Invalid != 2 || len(rep.Rows) != 4 {
		t.Fatalf("dry run: %+v", rep)
	}
	if _, err := env.Store.GetUserByEmail(ctx, "imp-ada@example.test"); err == nil {
		t.Fatal("a dry run wrote")
	}
	bad := rep.Rows[1]
	fields := map[string]bool{}
	for _, fe := range bad.Errors {
		fields[fe.Field] = true
	}
	if bad.Row != 3 || bad.Action != console.ImportInvalid || !fields["verified"] {
		t.Errorf("bad row: %+v", bad)
	}
	if dup := rep.Rows[3]; dup.Action != console.ImportInvalid || !strings.Contains(dup.Errors[0].Message, "row 2") {
		t.Errorf("repeated address: %+v", dup)
	}
	must(t, json.Unmarshal(api.raw(s, "POST", p+"/users/import?format=csv", "text/csv", file, 200), &rep))
	if rep.DryRun || rep.Created != 2 || rep.Invalid != 2 {
		t.Fatalf("import: %+v", rep)
	}
	ada, err := env.Store.GetUserByEmail(ctx, "imp-ada@example.test")
	must(t, err)
	if g, _ := env.Store.UserGroups(ctx, ada.ID); !ada.EmailVerified || ada.DisplayName != "Ada" || ada.Attributes["dept"] != "R&D" || len(g) != 1 {
		t.Errorf("imported ada: %+v in %v", ada, g)
	}
	// Idempotent: the same file again creates and changes nothing.
	must(t, json.Unmarshal(api.raw(s, "POST", p+"/users/import", "text/csv", file, 200), &rep))
	if rep.Created != 0 || rep.Updated != 0 || rep.Unchanged != 2 {
		t.Errorf("second import: %+v", rep)
	}
	// A change in the file is an update.
	must(t, json.Unmarshal(api.raw(s, "POST", p+"/users/import", "application/x-ndjson", `{"email":"imp-bob@example.test","name":"Bob","groups":["bulk-staff"]}`+"\n", 200), &rep))
	if rep.Updated != 1 {
		t.Errorf("update by JSON Lines: %+v", rep)
	}
	api.raw(s, "POST", p+"/users/import", "text/csv", "mail,name\nx@example.test,X\n", 422)
	api.raw(s, "POST", p+"/users/import", "text/plain", "email\n", 422)

	// Export, then import the export: nothing changes.
	jl := string(api.raw(s, "GET", p+"/users/export?format=jsonl&q=imp-", "", "", 200))
	if strings.Count(jl, "\n") != 2 || !strings.Contains(jl, `"dept":"R&D"`) || !strings.Contains(jl, `"groups":["bulk-staff"]`) {
		t.Fatalf("JSON Lines export:\n%s", jl)
	}
	var back []string
	for _, line := range strings.Split(strings.TrimSpace(jl), "\n") {
		var r map[string]any
		must(t, json.Unmarshal([]byte(line), &r))
		b, _ := json.Marshal(map[string]any{"email": r["email"], "name": r["name"], "verified": r["verified"], "groups": r["groups"], "attributes": r["attributes"]})
		back = append(back, string(b))
	}
	must(t, json.Unmarshal(api.raw(s, "POST", p+"/users/import", "application/x-ndjson", strings.Join(back, "\n"), 200), &rep))
	if rep.Unchanged != 2 || rep.Updated != 0 || rep.Created != 0 {
		t.Errorf("re-import of the export: %+v", rep)
	}
	csvOut := string(api.raw(s, "GET", p+"/users/export?q=imp-", "", "", 200))
	if !strings.HasPrefix(csvOut, "email,name,verified,groups,attributes,") || !strings.Contains(csvOut, "imp-bob@example.test,Bob,false,bulk-staff,{}") {
		t.Errorf("CSV export:\n%s", csvOut)
	}
	must(t, json.Unmarshal(api.raw(s, "POST", p+"/users/import?format=csv", "text/csv", csvOut, 200), &rep))
	if rep.Unchanged != 2 || rep.Invalid != 0 {
		t.Errorf("re-import of the CSV export: %+v", rep)
	}
	api.raw(s, "GET", p+"/users/export?format=xml", "", "", 422)
}

// exerciseExportsAPI exports the audit log and sign-in events in both
// formats, filtered and by date range.
func exerciseExportsAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	ctx := context.Background()
	p := console.APIPrefix
	csvAudit := string(api.raw(s, "GET", p+"/audit/export?action=user.import", "", "", 200))
	lines := strings.Split(strings.TrimSpace(csvAudit), "\n")
	if lines[0] != "at,action,actor_kind,actor_id,actor_label,target_type,target_id,before,after,ip,user_agent,id" || len(lines) < 3 {
		t.Fatalf("audit CSV:\n%s", csvAudit)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, ",user.import,client,") {
			t.Errorf("the action filter let through %q", l)
		}
	}
	jl := string(api.raw(s, "GET", p+"/audit/export?format=jsonl&since="+url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)), "", "", 200))
	for _, l := range strings.Split(strings.TrimSpace(jl), "\n") {
		var e struct {
			Action string `json:"action"`
			Actor  struct {
				Kind string `json:"kind"`
			} `json:"actor"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Action == "" || e.Actor.Kind == "" {
			t.Fatalf("audit JSON Lines row %q: %v", l, err)
		}
	}
	if future := string(api.raw(s, "GET", p+"/audit/export?format=jsonl&since=2099-01-01T00:00:00Z", "", "", 200)); future != "" {
		t.Errorf("an export of the future is not empty: %q", future)
	}
	api.raw(s, "GET", p+"/audit/export?format=pdf", "", "", 422)
	api.raw(s, "GET", p+"/audit/export?until=tomorrow", "", "", 422)

	u := env.CreateUser("exported@example.test")
	for i := range 3 {
		must(t, env.Store.RecordAuthEvent(ctx, &models.AuthEvent{ID: "exp-" + u.ID + string(rune('a'+i)), At: time.Now().Add(-time.Duration(i) * time.Minute),
			UserID: u.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: []string{"success", "failure", "success"}[i], IP: "192.0.2.1"}))
	}
	ev := string(api.raw(s, "GET", p+"/events/export?user_id="+u.ID+"&result=success", "", "", 200))
	rows := strings.Split(strings.TrimSpace(ev), "\n")
	if len(rows) != 3 || !strings.Contains(rows[1], ",login,success,,passkey,"+u.ID+",exported@example.test,") {
		t.Fatalf("events CSV:\n%s", ev)
	}
	ev = string(api.raw(s, "GET", p+"/events/export?format=jsonl&user_id="+u.ID, "", "", 200))
	if strings.Count(ev, "\n") != 3 || !strings.Contains(ev, `"email":"exported@example.test"`) {
		t.Errorf("events JSON Lines:\n%s", ev)
	}
	api.raw(s, "GET", p+"/events/export?since=yesterday", "", "", 422)
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
