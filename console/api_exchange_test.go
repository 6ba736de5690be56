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

// discoveryGrants reads the discovery document's grant_types_supported.
func discoveryGrants(t *testing.T, env *servertest.Env) []string {
	t.Helper()
	resp, err := http.Get(env.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Grants []string `json:"grant_types_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Grants
}

// TestAPITokenExchangeSwitch: the policy's token_exchange, read and set
// through PUT /policies (answers checked against the OpenAPI document),
// switches the grant in discovery at once and is audited; a value that is
// not a boolean is refused and changes nothing. On SQLite and PostgreSQL.
func TestAPITokenExchangeSwitch(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		s := loadSpec(t, env)
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		p := console.APIPrefix
		read := func() map[string]any {
			var pol map[string]any
			must(t, json.Unmarshal(api.call(s, "GET", p+"/policies", nil, 200), &pol))
			delete(pol, "restart_required")
			return pol
		}
		pol := read()
		if pol["token_exchange"] != false || slices.Contains(discoveryGrants(t, env), clients.GrantTokenExchange) {
			t.Fatalf("default: token_exchange %v, discovery %v", pol["token_exchange"], discoveryGrants(t, env))
		}
		for _, on := range []bool{true, false} {
			pol["token_exchange"] = on
			var saved map[string]any
			must(t, json.Unmarshal(api.call(s, "PUT", p+"/policies", pol, 200), &saved))
			if saved["token_exchange"] != on || read()["token_exchange"] != on {
				t.Fatalf("PUT token_exchange %v: answered %v, read back %v", on, saved["token_exchange"], read()["token_exchange"])
			}
			if got := slices.Contains(discoveryGrants(t, env), clients.GrantTokenExchange); got != on {
				t.Fatalf("token_exchange %v: discovery lists the grant: %v", on, got)
			}
		}
		pol["token_exchange"] = "yes"
		api.call(s, "PUT", p+"/policies", pol, 400)
		if read()["token_exchange"] != false {
			t.Fatal("a refused PUT changed token_exchange")
		}
		rows, err := env.Store.ListAuditEntries(t.Context(), storeFilter("policy.update"), 10)
		must(t, err)
		if len(rows) != 2 {
			t.Fatalf("%d policy.update audit entries, want 2", len(rows))
		}
	})
}

// TestAPIProtocolSwitches: the policy's backchannel_logout,
// frontchannel_logout, pairwise_subjects, device_grant, dpop,
// pushed_authorization_requests (on by default) and
// require_pushed_authorization_requests (off; refused without the PAR
// endpoint), each set
// through PUT /policies (answers checked against the OpenAPI document),
// change what discovery advertises at once and only their own part, and
// are audited; a value that is not a boolean is refused and changes
// nothing. With pairwise_subjects off, POST /clients of a pairwise client
// is a 422 naming subject_type. On SQLite and PostgreSQL.
func TestAPIProtocolSwitches(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		s := loadSpec(t, env)
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		p := console.APIPrefix
		read := func() map[string]any {
			var pol map[string]any
			must(t, json.Unmarshal(api.call(s, "GET", p+"/policies", nil, 200), &pol))
			delete(pol, "restart_required")
			return pol
		}
		keys := []string{"backchannel_logout", "frontchannel_logout", "pairwise_subjects", "device_grant", "dpop", "pushed_authorization_requests", "require_pushed_authorization_requests"}
		defaults := [7]bool{true, true, true, true, true, true, false}
		pol := read()
		if got := protocolAdvertised(t, env); got != defaults {
			t.Fatalf("default: policy %v, discovery %v", pol, got)
		}
		saves := 0
		for i, key := range keys {
			for _, on := range []bool{!defaults[i], defaults[i]} {
				pol[key] = on
				var saved map[string]any
				must(t, json.Unmarshal(api.call(s, "PUT", p+"/policies", pol, 200), &saved))
				saves++
				if saved[key] != on || read()[key] != on {
					t.Fatalf("PUT %s %v: answered %v, read back %v", key, on, saved[key], read()[key])
				}
				want := defaults
				want[i] = on
				if got := protocolAdvertised(t, env); got != want {
					t.Fatalf("%s %v: discovery advertises %v, want %v", key, on, got, want)
				}
				if key == "pairwise_subjects" && !on {
					body := map[string]any{"client_name": "Pairwise", "redirect_uris": []string{"https://pw.example/cb"}, "subject_type": "pairwise"}
					if out := string(api.call(s, "POST", p+"/clients", body, 422)); !strings.Contains(out, "subject_type") {
						t.Fatalf("pairwise client while off: %s", out)
					}
				}
			}
			pol[key] = "no"
			api.call(s, "PUT", p+"/policies", pol, 400)
			if read()[key] != defaults[i] {
				t.Fatalf("a refused PUT changed %s", key)
			}
			pol[key] = defaults[i]
		}
		// Required PAR needs the PAR endpoint: refused together, nothing
		// changed.
		pol["pushed_authorization_requests"], pol["require_pushed_authorization_requests"] = false, true
		if out := string(api.call(s, "PUT", p+"/policies", pol, 422)); !strings.Contains(out, "require_pushed_authorization_requests") {
			t.Fatalf("required PAR without the endpoint: %s", out)
		}
		if got := protocolAdvertised(t, env); got != defaults {
			t.Fatalf("a refused PUT changed discovery: %v", got)
		}
		rows, err := env.Store.ListAuditEntries(t.Context(), storeFilter("policy.update"), 20)
		must(t, err)
		if len(rows) != saves {
			t.Fatalf("%d policy.update audit entries, want %d", len(rows), saves)
		}
	})
}
