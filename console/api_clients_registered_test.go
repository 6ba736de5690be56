package console_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestAPIClientsRegisteredFilter: GET /clients?registered=dynamic lists
// only the apps that registered themselves at /oauth2/register (RFC 7591),
// registered=admin only those an admin created, no parameter both; the
// filter combines with q, and another value is a 422 problem naming the
// parameter. Answers are checked against the OpenAPI document. On SQLite
// and PostgreSQL.
func TestAPIClientsRegisteredFilter(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.Registration(config.RegistrationOpen))...)
		s := loadSpec(t, env)
		api := &caller{t: t, env: env, bearer: adminToken(t, env)} // the "automation" client, admin-created
		p := console.APIPrefix
		adminID, _ := env.CreateClient(clients.Spec{Name: "Portal (admin)", RedirectURIs: []string{"https://admin-made.example/cb"}})
		var dynIDs []string
		for _, name := range []string{"Portal (self)", "Tool (self)"} {
			code, reg := register(t, env, "", map[string]any{"client_name": name, "redirect_uris": []string{"https://self.example/cb"}})
			if code != http.StatusCreated {
				t.Fatalf("register %s: %d %v", name, code, reg)
			}
			dynIDs = append(dynIDs, reg["client_id"].(string))
		}
		list := func(query string) []string {
			t.Helper()
			var l struct {
				Items []struct {
					ID      string `json:"client_id"`
					Dynamic bool   `json:"dynamic"`
				} `json:"items"`
			}
			must(t, json.Unmarshal(api.call(s, "GET", p+"/clients"+query, nil, 200), &l))
			var ids []string
			for _, it := range l.Items {
				ids = append(ids, it.ID)
			}
			slices.Sort(ids)
			return ids
		}
		sorted := func(ids ...string) []string { ids = slices.Clone(ids); slices.Sort(ids); return ids }
		all := list("")
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"?registered=dynamic", sorted(dynIDs...)},
			{"?registered=dynamic&q=portal", sorted(dynIDs[0])},
			{"?registered=admin&q=portal", sorted(adminID)},
			{"?registered=admin", slices.DeleteFunc(slices.Clone(all), func(id string) bool { return slices.Contains(dynIDs, id) })},
		} {
			if got := list(c.query); !slices.Equal(got, c.want) {
				t.Errorf("GET /clients%s = %v, want %v", c.query, got, c.want)
			}
		}
		if len(all) != 4 {
			t.Errorf("GET /clients = %v, want the automation client, the admin's and the two self-registered", all)
		}
		b := api.call(s, "GET", p+"/clients?registered=self", nil, 422)
		var pr console.Problem
		must(t, json.Unmarshal(b, &pr))
		if len(pr.Errors) == 0 || pr.Errors[0].Field != "registered" {
			t.Errorf("registered=self: %s", b)
		}
	})
}
