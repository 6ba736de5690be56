package console_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// discoveryLists reads the discovery document's scopes_supported and
// claims_supported.
func discoveryLists(t *testing.T, env *servertest.Env) (scopes, claims []string) {
	t.Helper()
	resp, err := http.Get(env.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Scopes []string `json:"scopes_supported"`
		Claims []string `json:"claims_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Scopes, doc.Claims
}

// exerciseScopesAPI drives every custom scope route through the OpenAPI
// validator: definitions that would shadow a registered claim or a
// built-in scope, or release a claim twice, are refused with the field
// named and nothing written; a scope a client registers is not deleted;
// discovery follows every change.
func exerciseScopesAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	p := console.APIPrefix
	roles := clients.ScopeSpec{Name: "roles", Description: "Your roles in the company", Claims: []models.ScopeClaim{
		{Claim: "roles", Source: models.ClaimFromAttribute, Attribute: "roles"},
		{Claim: "teams", Source: models.ClaimFromGroups},
	}}
	b := api.call(s, "POST", p+"/scopes", roles, 201)
	var got console.ScopeView
	if err := json.Unmarshal(b, &got); err != nil || got.Name != "roles" || len(got.Claims) != 2 || got.Clients == nil {
		t.Fatalf("create scope: %s (%v)", b, err)
	}
	api.call(s, "POST", p+"/scopes", roles, 409)
	if sc, cl := discoveryLists(t, env); !slices.Contains(sc, "roles") || !slices.Contains(cl, "roles") || !slices.Contains(cl, "teams") {
		t.Errorf("discovery after create: scopes %v claims %v", sc, cl)
	}

	for _, tc := range []struct {
		name, field string
		spec        clients.ScopeSpec
	}{
		{"shadows email", "claims", clients.ScopeSpec{Name: "mail2", Claims: []models.ScopeClaim{{Claim: "email", Source: models.ClaimFromAttribute, Attribute: "mail"}}}},
		{"shadows sub", "claims", clients.ScopeSpec{Name: "who", Claims: []models.ScopeClaim{{Claim: "sub", Source: models.ClaimFromAttribute, Attribute: "id"}}}},
		{"shadows groups", "claims", clients.ScopeSpec{Name: "grp", Claims: []models.ScopeClaim{{Claim: "groups", Source: models.ClaimFromGroups}}}},
		{"built-in scope name", "name", clients.ScopeSpec{Name: "groups", Claims: []models.ScopeClaim{{Claim: "team_list", Source: models.ClaimFromGroups}}}},
		{"sesame namespace", "name", clients.ScopeSpec{Name: "sesame:x", Claims: []models.ScopeClaim{{Claim: "x", Source: models.ClaimFromGroups}}}},
		{"claim of another scope", "claims", clients.ScopeSpec{Name: "roles2", Claims: []models.ScopeClaim{{Claim: "roles", Source: models.ClaimFromAttribute, Attribute: "r"}}}},
		{"unknown source", "claims", clients.ScopeSpec{Name: "odd", Claims: []models.ScopeClaim{{Claim: "odd", Source: "ldap"}}}},
		{"bad name", "name", clients.ScopeSpec{Name: "Roles!", Claims: []models.ScopeClaim{{Claim: "r", Source: models.ClaimFromGroups}}}},
	} {
		b := api.call(s, "POST", p+"/scopes", tc.spec, 422)
		var prob console.Problem
		_ = json.Unmarshal(b, &prob)
		if !slices.ContainsFunc(prob.Errors, func(e console.FieldError) bool { return e.Field == tc.field }) {
			t.Errorf("%s: problem %s does not name %s", tc.name, b, tc.field)
		}
		if tc.spec.Name != "groups" && tc.spec.Name != "" {
			api.call(s, "GET", p+"/scopes/"+tc.spec.Name, nil, 404)
		}
	}
	api.call(s, "POST", p+"/scopes", map[string]any{"name": "x", "claims": []any{}, "typo": 1}, 400)
	if sc, cl := discoveryLists(t, env); slices.Contains(sc, "mail2") || slices.Contains(cl, "odd") {
		t.Errorf("a refused scope shows in discovery: %v %v", sc, cl)
	}

	api.call(s, "GET", p+"/scopes", nil, 200)
	api.call(s, "GET", p+"/scopes/roles", nil, 200)
	api.call(s, "GET", p+"/scopes/nope", nil, 404)
	upd := roles
	upd.Name = ""
	upd.Description = "Roles and teams"
	upd.Claims = []models.ScopeClaim{{Claim: "roles", Source: models.ClaimFromAttribute, Attribute: "job_roles"}}
	b = api.call(s, "PUT", p+"/scopes/roles", upd, 200)
	if err := json.Unmarshal(b, &got); err != nil || got.Description != "Roles and teams" || len(got.Claims) != 1 || got.Claims[0].Attribute != "job_roles" {
		t.Errorf("update scope: %s", b)
	}
	if _, cl := discoveryLists(t, env); slices.Contains(cl, "teams") {
		t.Errorf("discovery still lists a claim the scope no longer releases: %v", cl)
	}
	upd.Name = "renamed"
	api.call(s, "PUT", p+"/scopes/roles", upd, 422)
	upd.Name, upd.Claims = "roles", []models.ScopeClaim{{Claim: "locale", Source: models.ClaimFromAttribute, Attribute: "l"}}
	api.call(s, "PUT", p+"/scopes/roles", upd, 422)
	api.call(s, "PUT", p+"/scopes/nope", upd, 404)

	// Clients may register defined custom scopes only.
	api.call(s, "POST", p+"/clients", clients.Spec{Name: "Unknown scope", RedirectURIs: []string{"https://app.example/cb"},
		Scopes: []string{"openid", "undefined-scope"}}, 422)
	var cl struct {
		ID string `json:"client_id"`
	}
	b = api.call(s, "POST", p+"/clients", clients.Spec{Name: "HR", RedirectURIs: []string{"https://hr.example/cb"},
		Scopes: []string{"openid", "profile", "roles"}}, 201)
	_ = json.Unmarshal(b, &cl)
	b = api.call(s, "GET", p+"/scopes/roles", nil, 200)
	if err := json.Unmarshal(b, &got); err != nil || !slices.Equal(got.Clients, []string{cl.ID}) {
		t.Errorf("scope's clients: %s, want [%s]", b, cl.ID)
	}
	api.call(s, "DELETE", p+"/scopes/roles", nil, 409)
	api.call(s, "PUT", p+"/clients/"+cl.ID, clients.Spec{Name: "HR", RedirectURIs: []string{"https://hr.example/cb"}, Scopes: []string{"openid"}}, 200)
	api.call(s, "DELETE", p+"/scopes/roles", nil, 204)
	api.call(s, "DELETE", p+"/scopes/roles", nil, 404)
	if sc, cl := discoveryLists(t, env); slices.Contains(sc, "roles") || slices.Contains(cl, "roles") {
		t.Errorf("discovery after delete: %v %v", sc, cl)
	}
}
