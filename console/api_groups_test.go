package console_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// callGroupsAPI exercises every groups and profile route against the
// OpenAPI document (TestAPIResponsesMatchOpenAPI checks that every route
// was).
func callGroupsAPI(t *testing.T, env *servertest.Env, s *spec, api *caller) {
	t.Helper()
	p := console.APIPrefix
	u := env.CreateUser("grace@example.test")

	api.call(s, "POST", p+"/groups", map[string]string{"name": "staff", "description": "Everyone on the payroll"}, 201)
	api.call(s, "POST", p+"/groups", map[string]string{"name": "staff"}, 409)
	api.call(s, "POST", p+"/groups", map[string]string{"name": "no spaces"}, 422)
	api.call(s, "POST", p+"/groups", map[string]any{"name": "x", "members": []string{}}, 400)
	api.call(s, "GET", p+"/groups?q=payroll", nil, 200)
	api.call(s, "GET", p+"/groups?limit=0", nil, 422)
	api.call(s, "GET", p+"/groups/staff", nil, 200)
	api.call(s, "GET", p+"/groups/nope", nil, 404)
	api.call(s, "PUT", p+"/groups/staff", map[string]string{"description": "Staff"}, 200)
	api.call(s, "PUT", p+"/groups/staff", map[string]string{"name": "renamed"}, 422)
	api.call(s, "PUT", p+"/groups/nope", map[string]string{"description": "x"}, 404)

	api.call(s, "POST", p+"/groups/staff/members", map[string]string{"user": u.Email}, 201)
	api.call(s, "POST", p+"/groups/staff/members", map[string]string{"user": u.ID}, 409)
	api.call(s, "POST", p+"/groups/staff/members", map[string]string{"user": "nobody@example.test"}, 422)
	api.call(s, "POST", p+"/groups/nope/members", map[string]string{"user": u.ID}, 404)
	api.call(s, "GET", p+"/groups/staff/members?limit=10", nil, 200)
	api.call(s, "GET", p+"/groups/nope/members", nil, 404)
	api.call(s, "GET", p+"/users/"+u.ID+"/groups", nil, 200)
	api.call(s, "GET", p+"/users/nope/groups", nil, 404)

	api.call(s, "PUT", p+"/users/"+u.ID+"/profile", map[string]any{"username": "Grace", "given_name": "Grace", "family_name": "Hopper",
		"locale": "en-US", "picture": "https://example.test/grace.png", "attributes": map[string]any{"department": "Navy", "rank": 7}}, 200)
	api.call(s, "PUT", p+"/users/"+u.ID+"/profile", map[string]any{"attributes": map[string]any{"sub": "admin"}}, 422)
	api.call(s, "PUT", p+"/users/nope/profile", map[string]any{}, 404)
	other := env.CreateUser("grace2@example.test")
	api.call(s, "PUT", p+"/users/"+other.ID+"/profile", map[string]any{"username": "grace"}, 409)
	api.call(s, "GET", p+"/users/"+u.ID, nil, 200)

	api.call(s, "DELETE", p+"/groups/staff/members/"+u.ID, nil, 204)
	api.call(s, "DELETE", p+"/groups/staff/members/"+u.ID, nil, 404)
	api.call(s, "DELETE", p+"/groups/staff", nil, 204)
	api.call(s, "DELETE", p+"/groups/staff", nil, 404)
}

// TestProfileRefusesBadInput: every bad profile is refused with a 422
// naming the field, and nothing is written — not even the fields that
// were fine (issue 10: oversized attributes, claim names that shadow
// registered ones).
func TestProfileRefusesBadInput(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		u := env.CreateUser("ada@example.test")
		path := console.APIPrefix + "/users/" + u.ID + "/profile"
		good := map[string]any{"username": "ada", "given_name": "Ada", "family_name": "Lovelace", "locale": "en-GB",
			"picture": "https://example.test/ada.png", "attributes": map[string]any{"roles": []string{"admin"}, "employee_id": 12345678901234567}}
		big := strings.Repeat("x", console.MaxAttributesBytes)
		for _, tc := range []struct {
			name, field, want string
			change            map[string]any
		}{
			{"oversized attributes", "attributes", "at most 4096", map[string]any{"attributes": map[string]any{"notes": big}}},
			{"shadows sub", "attributes", `"sub" is a registered claim`, map[string]any{"attributes": map[string]any{"sub": "someone-else"}}},
			{"shadows email", "attributes", `"Email" is a registered claim`, map[string]any{"attributes": map[string]any{"Email": "x@example.test"}}},
			{"shadows groups", "attributes", `"groups" is a registered claim`, map[string]any{"attributes": map[string]any{"groups": []string{"admins"}}}},
			{"shadows iss", "attributes", `"iss" is a registered claim`, map[string]any{"attributes": map[string]any{"iss": "https://evil.example"}}},
			{"key not a claim name", "attributes", "letters, digits", map[string]any{"attributes": map[string]any{"has space": 1}}},
			{"attributes not an object", "attributes", "JSON object", map[string]any{"attributes": []string{"a"}}},
			{"username charset", "username", "lower-case letters", map[string]any{"username": "ada@example"}},
			{"username too long", "username", "1 to 64", map[string]any{"username": strings.Repeat("a", 65)}},
			{"locale", "locale", "BCP 47", map[string]any{"locale": "english"}},
			{"locale underscore", "locale", "BCP 47", map[string]any{"locale": "en_GB"}},
			{"picture http", "picture", "https URL", map[string]any{"picture": "http://example.test/a.png"}},
			{"picture javascript", "picture", "https URL", map[string]any{"picture": "javascript:alert(1)"}},
			{"name on two lines", "given_name", "one line", map[string]any{"given_name": "Ada\nLovelace"}},
		} {
			body := map[string]any{}
			for k, v := range good {
				body[k] = v
			}
			for k, v := range tc.change {
				body[k] = v
			}
			resp, b, _ := api.do("PUT", path, body)
			var prob struct {
				Errors []struct{ Field, Message string }
			}
			_ = json.Unmarshal(b, &prob)
			if resp.StatusCode != 422 || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!slices.ContainsFunc(prob.Errors, func(e struct{ Field, Message string }) bool {
					return e.Field == tc.field && strings.Contains(e.Message, tc.want)
				}) {
				t.Errorf("%s: %d %s, want 422 naming %s with %q", tc.name, resp.StatusCode, b, tc.field, tc.want)
			}
			got, err := env.Store.GetUser(context.Background(), u.ID)
			must(t, err)
			if got.Username != nil || got.GivenName != "" || len(got.Attributes) != 0 {
				t.Errorf("%s: the refused profile was written: %+v", tc.name, got)
			}
		}

		resp, b, _ := api.do("PUT", path, good)
		if resp.StatusCode != 200 {
			t.Fatalf("good profile: %d %s", resp.StatusCode, b)
		}
		got, err := env.Store.GetUser(context.Background(), u.ID)
		must(t, err)
		if got.Username == nil || *got.Username != "ada" || got.Locale != "en-GB" || got.Picture != "https://example.test/ada.png" {
			t.Errorf("stored profile %+v", got)
		}
		// Numbers keep their digits (no float rounding).
		if raw, _ := json.Marshal(got.Attributes); !strings.Contains(string(raw), `"employee_id":12345678901234567`) {
			t.Errorf("attributes stored as %s", raw)
		}
		// Just under the bound is fine.
		fits := map[string]any{"attributes": map[string]any{"notes": strings.Repeat("x", console.MaxAttributesBytes-len(`{"notes":""}`))}}
		if resp, b, _ := api.do("PUT", path, fits); resp.StatusCode != 200 {
			t.Errorf("attributes of exactly 4096 bytes: %d %s", resp.StatusCode, b)
		}
	})
}

// TestGroupsAPI: groups and memberships through the admin API, audited,
// refusing unknown groups and users with a clear problem; a client's
// allowed_groups must name existing groups.
func TestGroupsAPI(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		p := console.APIPrefix
		ada := env.CreateUser("ada@example.test")
		bob := env.CreateUser("bob@example.test")

		for _, g := range []string{"engineering", "ops:oncall"} {
			if resp, b, _ := api.do("POST", p+"/groups", map[string]string{"name": g, "description": "The " + g + " team"}); resp.StatusCode != 201 ||
				resp.Header.Get("Location") != p+"/groups/"+url.PathEscape(g) {
				t.Fatalf("create %s: %d %s", g, resp.StatusCode, b)
			}
		}
		for _, ref := range []string{ada.ID, "BOB@example.test"} {
			if resp, b, _ := api.do("POST", p+"/groups/engineering/members", map[string]string{"user": ref}); resp.StatusCode != 201 {
				t.Fatalf("add %s: %d %s", ref, resp.StatusCode, b)
			}
		}
		api.do("POST", p+"/groups/ops:oncall/members", map[string]string{"user": ada.Email})

		_, b, _ := api.do("GET", p+"/groups/engineering/members", nil)
		var members console.List[console.UserView]
		must(t, json.Unmarshal(b, &members))
		if len(members.Items) != 2 || members.Items[0].Email != "ada@example.test" || members.Items[1].Email != "bob@example.test" {
			t.Errorf("members: %s", b)
		}
		// Members come a page at a time.
		_, b, _ = api.do("GET", p+"/groups/engineering/members?limit=1&offset=1", nil)
		var page console.List[console.UserView]
		must(t, json.Unmarshal(b, &page))
		if len(page.Items) != 1 || page.Items[0].Email != "bob@example.test" || page.HasMore {
			t.Errorf("second page of members: %s", b)
		}
		_, b, _ = api.do("GET", p+"/groups/engineering/members?limit=1", nil)
		must(t, json.Unmarshal(b, &page))
		if len(page.Items) != 1 || page.Items[0].Email != "ada@example.test" || !page.HasMore || page.NextOffset == nil || *page.NextOffset != 1 {
			t.Errorf("first page of members: %s", b)
		}
		_, b, _ = api.do("GET", p+"/groups/engineering", nil)
		var g console.GroupView
		must(t, json.Unmarshal(b, &g))
		if g.MemberCount != 2 || g.Description != "The engineering team" {
			t.Errorf("group: %s", b)
		}
		_, b, _ = api.do("GET", p+"/users/"+ada.ID, nil)
		var detail console.UserDetail
		must(t, json.Unmarshal(b, &detail))
		if !slices.Equal(detail.Groups, []string{"engineering", "ops:oncall"}) {
			t.Errorf("user detail groups = %v", detail.Groups)
		}

		// A client may only allow existing groups; nothing is written otherwise.
		spec := clients.Spec{Name: "Wiki", RedirectURIs: []string{"https://wiki.example/cb"}, AllowedGroups: []string{"engineering", "ghosts"}}
		resp, b, _ := api.do("POST", p+"/clients", spec)
		if resp.StatusCode != 422 || !strings.Contains(string(b), `unknown group \"ghosts\"`) {
			t.Errorf("client with an unknown group: %d %s", resp.StatusCode, b)
		}
		all, err := env.Store.ListClients(ctx)
		must(t, err)
		if slices.ContainsFunc(all, func(c models.Client) bool { return c.Name == "Wiki" }) {
			t.Error("the refused client was stored")
		}
		spec.AllowedGroups = []string{"engineering"}
		if resp, b, _ := api.do("POST", p+"/clients", spec); resp.StatusCode != 201 || !strings.Contains(string(b), `"allowed_groups":["engineering"]`) {
			t.Errorf("client with a known group: %d %s", resp.StatusCode, b)
		}

		if resp, _, _ := api.do("DELETE", p+"/groups/engineering/members/"+bob.ID, nil); resp.StatusCode != 204 {
			t.Errorf("remove bob: %d", resp.StatusCode)
		}
		if names, _ := env.Store.UserGroups(ctx, bob.ID); len(names) != 0 {
			t.Errorf("bob still in %v", names)
		}
		if resp, _, _ := api.do("DELETE", p+"/groups/ops:oncall", nil); resp.StatusCode != 204 {
			t.Errorf("delete ops:oncall: %d", resp.StatusCode)
		}

		entries, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{TargetType: "group"}, 50)
		must(t, err)
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{"group.create", "group.add_member", "group.remove_member", "group.delete"} {
			if !slices.Contains(actions, want) {
				t.Errorf("no %s in the audit log (have %v)", want, actions)
			}
		}
	})
}
