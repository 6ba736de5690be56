package console_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestUpstreamAPIMatchesOpenAPI: the upstream providers' admin API, each
// answer checked against the OpenAPI document: a provider from a preset,
// its client secret sealed at rest and never returned, every invalid
// field reported at once (422, nothing written), a duplicate id 409, an
// update keeping the stored secret, and a delete.
func TestUpstreamAPIMatchesOpenAPI(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		exerciseUpstreamsAPI(t, env, &caller{t: t, env: env, bearer: adminToken(t, env)}, loadSpec(t, env))
	})
}

// exerciseUpstreamsAPI walks every upstream route against the OpenAPI
// document (TestAPIResponsesMatchOpenAPI calls it too, so its check that
// every route was validated holds).
func exerciseUpstreamsAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	p := console.APIPrefix + "/upstreams"

	b := api.call(s, "POST", p, map[string]any{"preset": "google", "client_id": "cid.apps.googleusercontent.com", "client_secret": "s3cret-value"}, 201)
	if strings.Contains(string(b), "s3cret") {
		t.Fatalf("the secret came back: %s", b)
	}
	var v struct {
		ID        string   `json:"id"`
		Issuer    string   `json:"issuer"`
		Scopes    []string `json:"scopes"`
		HasSecret bool     `json:"has_client_secret"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.ID != "google" || v.Issuer != "https://accounts.google.com" || !v.HasSecret || len(v.Scopes) != 3 {
		t.Fatalf("created %+v", v)
	}
	stored, err := env.Store.GetUpstreamProvider(context.Background(), "google")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored.ClientSecretSealed, "v1.") || strings.Contains(stored.ClientSecretSealed, "s3cret") {
		t.Fatalf("secret stored as %q", stored.ClientSecretSealed)
	}

	api.call(s, "POST", p, map[string]any{"preset": "google", "client_id": "x", "client_secret": "y"}, 409)
	b = api.call(s, "POST", p, map[string]any{"id": "Bad Id!", "kind": "oidc", "issuer": "http://idp.example", "icon": "javascript:alert(1)",
		"provisioning": "sometimes", "domains": []string{"not a domain"}, "claims": map[string]string{"shoe_size": "x"}}, 422)
	for _, field := range []string{"id", "name", "issuer", "client_id", "client_secret", "icon", "provisioning", "domains", "claims"} {
		if !strings.Contains(string(b), `"field":"`+field+`"`) {
			t.Errorf("422 does not name %s: %s", field, b)
		}
	}
	api.call(s, "GET", p, nil, 200)
	api.call(s, "GET", p+"/google", nil, 200)
	api.call(s, "GET", p+"/nope", nil, 404)
	api.call(s, "PUT", p+"/google", map[string]any{"name": "Google Workspace", "kind": "oidc", "issuer": "https://accounts.google.com",
		"client_id": "cid2", "domains": []string{"@Acme.example"}, "provisioning": "link"}, 200)
	after, err := env.Store.GetUpstreamProvider(context.Background(), "google")
	if err != nil {
		t.Fatal(err)
	}
	if after.ClientSecretSealed != stored.ClientSecretSealed || after.ClientID != "cid2" || !after.Domains.Has("acme.example") {
		t.Fatalf("after update %+v", after)
	}
	api.call(s, "DELETE", p+"/google", nil, 204)
	api.call(s, "DELETE", p+"/google", nil, 404)
}
