package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsoleGroupsForms walks the console's groups pages and the groups,
// profile and allowed-groups parts of the user and client pages with
// plain form posts, on both databases: refusals are shown next to their
// fields with nothing written; saving a client keeps its allowed groups.
func TestConsoleGroupsForms(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env, browser, _ := uiAdmin(t, opts...)
		ctx := context.Background()
		ada := env.CreateUser("ada@example.test")

		body := getPage(t, browser, env.Issuer+"/console/groups", http.StatusOK)
		if !strings.Contains(body, "No groups yet") {
			t.Error("the empty groups page does not say what to do")
		}
		csrf := csrfOf(t, getPage(t, browser, env.Issuer+"/console/groups/new", http.StatusOK))

		res, body := postForm(t, browser, env, "/console/groups", url.Values{"csrf_token": {csrf}, "name": {"has space"}, "description": {"x"}})
		if res.StatusCode != 422 || !strings.Contains(body, `id="group_name-error"`) || !strings.Contains(body, "only letters, digits") {
			t.Fatalf("bad name: %d\n%s", res.StatusCode, body)
		}
		res, body = postForm(t, browser, env, "/console/groups", url.Values{"csrf_token": {csrf}, "name": {"staff"}, "description": {"Everyone on the payroll"}})
		if res.StatusCode != 200 || !strings.Contains(body, "Group created") || !strings.Contains(res.Request.URL.Path, "/console/groups/staff") {
			t.Fatalf("create: %d %s\n%s", res.StatusCode, res.Request.URL, body)
		}
		if res, body = postForm(t, browser, env, "/console/groups", url.Values{"csrf_token": {csrf}, "name": {"staff"}}); res.StatusCode != 422 ||
			!strings.Contains(body, "another group has this name") {
			t.Errorf("taken name: %d", res.StatusCode)
		}

		res, body = postForm(t, browser, env, "/console/groups/staff/members", url.Values{"csrf_token": {csrf}, "user": {"nobody@example.test"}})
		if res.StatusCode != 422 || !strings.Contains(body, "There is no user nobody@example.test") || !strings.Contains(body, `value="nobody@example.test"`) {
			t.Errorf("unknown member: %d\n%s", res.StatusCode, body)
		}
		res, body = postForm(t, browser, env, "/console/groups/staff/members", url.Values{"csrf_token": {csrf}, "user": {"ada@example.test"}})
		if res.StatusCode != 200 || !strings.Contains(body, "Member added") || !strings.Contains(body, "/console/users/"+ada.ID) {
			t.Fatalf("add member: %d\n%s", res.StatusCode, body)
		}
		if res, body = postForm(t, browser, env, "/console/groups/staff", url.Values{"csrf_token": {csrf}, "description": {"Payroll\nteam"}}); res.StatusCode != 422 ||
			!strings.Contains(body, "on one line") {
			t.Errorf("bad description: %d", res.StatusCode)
		}
		postForm(t, browser, env, "/console/groups/staff", url.Values{"csrf_token": {csrf}, "description": {"Payroll"}})
		if g, _ := env.Store.GetGroup(ctx, "staff"); g.Description != "Payroll" {
			t.Errorf("description = %q", g.Description)
		}
		if body := getPage(t, browser, env.Issuer+"/console/groups", http.StatusOK); !strings.Contains(body, "Payroll") || !strings.Contains(body, `href="/console/groups/staff"`) {
			t.Error("the groups table lacks staff")
		}

		// The user page: their groups, the others to join, the profile.
		postForm(t, browser, env, "/console/groups", url.Values{"csrf_token": {csrf}, "name": {"ops"}})
		body = getPage(t, browser, env.Issuer+"/console/users/"+ada.ID, http.StatusOK)
		if !strings.Contains(body, `href="/console/groups/staff"`) || !strings.Contains(body, `<option value="ops">`) || !strings.Contains(body, "Save profile") {
			t.Errorf("user page lacks groups or profile:\n%s", body)
		}
		res, _ = postForm(t, browser, env, "/console/users/"+ada.ID+"/groups", url.Values{"csrf_token": {csrf}, "group": {"ops"}})
		if names, _ := env.Store.UserGroups(ctx, ada.ID); res.StatusCode != 200 || !slices.Equal(names, []string{"ops", "staff"}) {
			t.Errorf("join ops: %d, groups %v", res.StatusCode, names)
		}
		postForm(t, browser, env, "/console/users/"+ada.ID+"/groups/ops/remove", url.Values{"csrf_token": {csrf}})
		if names, _ := env.Store.UserGroups(ctx, ada.ID); !slices.Equal(names, []string{"staff"}) {
			t.Errorf("after leaving ops: %v", names)
		}
		profile := url.Values{"csrf_token": {csrf}, "username": {"ada"}, "given_name": {"Ada"}, "family_name": {"Lovelace"}, "locale": {"en-GB"},
			"picture": {"https://example.test/ada.png"}, "attributes": {`{"email": "spoof@example.test", "department": "R&D"}`}}
		res, body = postForm(t, browser, env, "/console/users/"+ada.ID+"/profile", profile)
		if res.StatusCode != 422 || !strings.Contains(body, `id="attributes-error"`) || !strings.Contains(body, "registered claim") ||
			!strings.Contains(body, "spoof@example.test") {
			t.Errorf("shadowing attribute: %d\n%s", res.StatusCode, body)
		}
		if u, _ := env.Store.GetUser(ctx, ada.ID); u.Username != nil || u.GivenName != "" {
			t.Errorf("the refused profile was written: %+v", u)
		}
		profile.Set("attributes", `{"department": "R&D"}`)
		res, body = postForm(t, browser, env, "/console/users/"+ada.ID+"/profile", profile)
		if res.StatusCode != 200 || !strings.Contains(body, "Profile saved") || !strings.Contains(body, `value="Lovelace"`) {
			t.Errorf("save profile: %d\n%s", res.StatusCode, body)
		}

		// The client form lists the groups; saving keeps what is checked.
		id, _ := env.CreateClient(clients.Spec{Name: "Wiki", RedirectURIs: []string{"https://wiki.example/cb"}, AllowedGroups: []string{"staff"}})
		body = getPage(t, browser, env.Issuer+"/console/clients/"+id, http.StatusOK)
		if !strings.Contains(body, `name="allowed_groups" value="staff" checked`) || !strings.Contains(body, `name="allowed_groups" value="ops">`) {
			t.Fatalf("client form lacks the allowed groups:\n%s", body)
		}
		form := url.Values{"csrf_token": {csrf}, "client_name": {"Wiki"}, "redirect_uris": {"https://wiki.example/cb"},
			"client_type": {"confidential"}, "token_endpoint_auth_method": {"client_secret_basic"},
			"grant_types": {"authorization_code", "refresh_token"}, "scopes": {"openid", "email"}, "allowed_login_methods": {"passkey"},
			"allowed_groups": {"staff", "ops"}}
		if res, body := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 || !strings.Contains(body, "Client saved") {
			t.Fatalf("save client: %d\n%s", res.StatusCode, body)
		}
		if c, _ := env.Store.GetClient(ctx, id); !slices.Equal(c.AllowedGroups, []string{"staff", "ops"}) {
			t.Errorf("allowed groups = %v", c.AllowedGroups)
		}
		form["allowed_groups"] = []string{"staff", "ghosts"}
		if res, body := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 422 || !strings.Contains(body, "unknown group &#34;ghosts&#34;") {
			t.Errorf("unknown group: %d\n%s", res.StatusCode, body)
		}
		if c, _ := env.Store.GetClient(ctx, id); !slices.Equal(c.AllowedGroups, []string{"staff", "ops"}) {
			t.Errorf("a refused save changed the allowed groups: %v", c.AllowedGroups)
		}
		// The group page names the apps limited to it.
		if body := getPage(t, browser, env.Issuer+"/console/groups/staff", http.StatusOK); !strings.Contains(body, "Wiki") {
			t.Error("the group page does not name the app that allows it")
		}
		postForm(t, browser, env, "/console/groups/staff/members/"+ada.ID+"/remove", url.Values{"csrf_token": {csrf}})
		if names, _ := env.Store.UserGroups(ctx, ada.ID); len(names) != 0 {
			t.Errorf("ada still in %v", names)
		}
		getPage(t, browser, env.Issuer+"/console/groups/ghosts", http.StatusNotFound)
	})
}
