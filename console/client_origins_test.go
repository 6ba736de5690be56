package console_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestAPIClientWebOrigins: allowed_web_origins through the admin API. A bad
// origin (a path, a wildcard, user info, "null", http off loopback) is a
// 422 problem naming the field and nothing is written; a change takes
// effect at the provider's CORS at once (the console drops its cache).
func TestAPIClientWebOrigins(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		s := loadSpec(t, env)
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		p := console.APIPrefix
		allowed := func(origin string) bool {
			req, _ := http.NewRequest(http.MethodOptions, env.Issuer+"/oauth2/token", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.Header.Get("Access-Control-Allow-Origin") == origin
		}

		spec := clients.Spec{Name: "Shop", Public: true, RedirectURIs: []string{"https://shop.example/cb"},
			AllowedWebOrigins: []string{"https://shop.example", "http://localhost:5173"}}
		var created struct {
			ID                string   `json:"client_id"`
			AllowedWebOrigins []string `json:"allowed_web_origins"`
		}
		if err := json.Unmarshal(api.call(s, "POST", p+"/clients", spec, 201), &created); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(created.AllowedWebOrigins, spec.AllowedWebOrigins) {
			t.Fatalf("allowed_web_origins %v", created.AllowedWebOrigins)
		}
		if !allowed("http://localhost:5173") || allowed("https://other.example") {
			t.Fatal("a new client's origins are not in force at once")
		}

		for _, bad := range []string{"https://shop.example/app", "https://shop.example/", "https://*.shop.example", "*", "null",
			"https://user@shop.example", "http://shop.example", "https://shop.example?x=1"} {
			upd := spec
			upd.AllowedWebOrigins = []string{"https://ok.example", bad}
			b := api.call(s, "PUT", p+"/clients/"+created.ID, upd, 422)
			var problem struct {
				Errors []struct{ Field, Message string } `json:"errors"`
			}
			_ = json.Unmarshal(b, &problem)
			if len(problem.Errors) != 1 || problem.Errors[0].Field != "allowed_web_origins" || !strings.Contains(problem.Errors[0].Message, bad) {
				t.Errorf("%q: problem %s", bad, b)
			}
		}
		b := api.call(s, "GET", p+"/clients/"+created.ID, nil, 200)
		var got struct {
			AllowedWebOrigins []string `json:"allowed_web_origins"`
		}
		_ = json.Unmarshal(b, &got)
		if !slices.Equal(got.AllowedWebOrigins, spec.AllowedWebOrigins) || allowed("https://ok.example") {
			t.Fatalf("a refused update was written: %v", got.AllowedWebOrigins)
		}

		spec.AllowedWebOrigins = []string{"https://app.shop.example"}
		api.call(s, "PUT", p+"/clients/"+created.ID, spec, 200)
		if allowed("http://localhost:5173") || !allowed("https://app.shop.example") {
			t.Fatal("an update of the origins is not in force at once")
		}
	})
}
