package console_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// exerciseResourcesAPI drives every resource route through the OpenAPI
// validator: malformed audiences (RFC 8707 §2), unknown scopes and taken
// names or audiences are refused with the field named and nothing
// written; the provider uses a change at once (a machine token for the
// resource is a JWT for its audience), and a deleted resource is
// invalid_target.
func exerciseResourcesAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	p := console.APIPrefix
	// A permission scope: no claims, allowed by the resource.
	api.call(s, "POST", p+"/scopes", clients.ScopeSpec{Name: "orders:read", Description: "Read your orders"}, 201)
	orders := clients.ResourceSpec{Name: "orders", Description: "Orders API", Audience: "https://api.example.com/orders", Scopes: []string{"orders:read"}}
	b := api.call(s, "POST", p+"/resources", orders, 201)
	var got console.ResourceView
	if err := json.Unmarshal(b, &got); err != nil || got.Audience != orders.Audience || got.AccessTokenFormat != "jwt" || !slices.Equal(got.Scopes, []string{"orders:read"}) {
		t.Fatalf("create resource: %s (%v)", b, err)
	}
	api.call(s, "POST", p+"/resources", orders, 409)
	sameAud := orders
	sameAud.Name = "orders2"
	b = api.call(s, "POST", p+"/resources", sameAud, 409)
	if !strings.Contains(string(b), "audience") {
		t.Errorf("taken audience: %s does not name the audience", b)
	}

	for _, tc := range []struct {
		name, field string
		spec        clients.ResourceSpec
	}{
		{"relative audience", "audience", clients.ResourceSpec{Name: "r1", Audience: "/orders"}},
		{"fragment", "audience", clients.ResourceSpec{Name: "r2", Audience: "https://api.example.com/x#frag"}},
		{"no audience", "audience", clients.ResourceSpec{Name: "r3"}},
		{"space in audience", "audience", clients.ResourceSpec{Name: "r4", Audience: "https://api.example.com/a b"}},
		{"unknown scope", "scopes", clients.ResourceSpec{Name: "r5", Audience: "https://api.example.com/r5", Scopes: []string{"nope:read"}}},
		{"OpenID scope", "scopes", clients.ResourceSpec{Name: "r6", Audience: "https://api.example.com/r6", Scopes: []string{"openid"}}},
		{"bad format", "access_token_format", clients.ResourceSpec{Name: "r7", Audience: "https://api.example.com/r7", AccessTokenFormat: "paseto"}},
		{"bad name", "name", clients.ResourceSpec{Name: "Orders API", Audience: "https://api.example.com/r8"}},
	} {
		b := api.call(s, "POST", p+"/resources", tc.spec, 422)
		var prob console.Problem
		_ = json.Unmarshal(b, &prob)
		if !slices.ContainsFunc(prob.Errors, func(e console.FieldError) bool { return e.Field == tc.field }) {
			t.Errorf("%s: problem %s does not name %s", tc.name, b, tc.field)
		}
		if tc.field != "name" {
			api.call(s, "GET", p+"/resources/"+tc.spec.Name, nil, 404)
		}
	}
	api.call(s, "POST", p+"/resources", map[string]any{"name": "x", "audience": "https://x.example", "typo": 1}, 400)

	api.call(s, "GET", p+"/resources", nil, 200)
	api.call(s, "GET", p+"/resources/orders", nil, 200)
	api.call(s, "GET", p+"/resources/nope", nil, 404)

	// The provider sees the registry at once: a machine token for it.
	id, secret := env.CreateClient(clients.Spec{Name: "Orders worker", GrantTypes: []string{"client_credentials"}, Scopes: []string{"orders:read"}})
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: env.Issuer + "/oauth2/token", Scopes: []string{"orders:read"},
		EndpointParams: url.Values{"resource": {orders.Audience}}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(context.Background())
	if err != nil || strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("token for the new resource: %v %v", tok, err)
	}

	// Updates: a scope the resource allows cannot go; another resource's
	// audience is taken; the name is fixed.
	api.call(s, "DELETE", p+"/scopes/orders:read", nil, 409)
	other := clients.ResourceSpec{Name: "calendar", Audience: "https://api.example.com/calendar", AccessTokenFormat: "opaque"}
	api.call(s, "POST", p+"/resources", other, 201)
	other.Audience = orders.Audience
	api.call(s, "PUT", p+"/resources/calendar", other, 409)
	b = api.call(s, "GET", p+"/resources/calendar", nil, 200)
	if err := json.Unmarshal(b, &got); err != nil || got.Audience != "https://api.example.com/calendar" {
		t.Errorf("a refused update was written: %s", b)
	}
	upd := orders
	upd.Name, upd.Scopes, upd.AccessTokenFormat = "", []string{}, "opaque"
	b = api.call(s, "PUT", p+"/resources/orders", upd, 200)
	if err := json.Unmarshal(b, &got); err != nil || got.AccessTokenFormat != "opaque" || len(got.Scopes) != 0 {
		t.Errorf("update resource: %s", b)
	}
	upd.Name = "renamed"
	api.call(s, "PUT", p+"/resources/orders", upd, 422)
	api.call(s, "PUT", p+"/resources/nope", orders, 404)
	// Now opaque for this resource: the provider follows at once.
	if tok, err := cc.Token(context.Background()); err != nil || !strings.HasPrefix(tok.AccessToken, "ory_at_") {
		t.Fatalf("token after the switch to opaque: %v %v", tok, err)
	}

	api.call(s, "DELETE", p+"/resources/orders", nil, 204)
	api.call(s, "DELETE", p+"/resources/orders", nil, 404)
	api.call(s, "DELETE", p+"/resources/calendar", nil, 204)
	if _, err := cc.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_target") {
		t.Fatalf("token for a deleted resource: %v", err)
	}
	api.call(s, "PUT", p+"/clients/"+id, clients.Spec{Name: "Orders worker", GrantTypes: []string{"client_credentials"}}, 200)
	api.call(s, "DELETE", p+"/scopes/orders:read", nil, 204)
}
