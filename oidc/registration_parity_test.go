package oidc_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestRegistrationValidatesLikeTheConsole (RFC 7591 §2, §3.2.2): the
// registration endpoint checks metadata with the console form's rules —
// for each bad client, every problem the console's service names (field
// and sentence) is in the endpoint's error_description, with RFC 7591's
// field names (scope, not scopes); and a client the console accepts, the
// endpoint accepts. The registration policy's limits come on top (internal
// addresses in registrants' URLs, grant types, redirect schemes: see
// TestRegistrationRefusesBadMetadata_RFC7591_3_2_2), where an admin may
// name an internal service. On SQLite and PostgreSQL.
func TestRegistrationValidatesLikeTheConsole(t *testing.T) {
	t.Parallel()
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.Registration(config.RegistrationOpen), manyRegistrations)...)
		ctx := t.Context()
		base := func(k string, v any) (clients.Spec, map[string]any) {
			spec := clients.Spec{Name: "Parity App", RedirectURIs: []string{"https://app.example/cb"},
				GrantTypes: []string{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: clients.AuthClientSecretBasic}
			md := map[string]any{"client_name": "Parity App", "redirect_uris": []string{"https://app.example/cb"},
				"grant_types": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "client_secret_basic"}
			switch k {
			case "redirect_uris":
				spec.RedirectURIs = v.([]string)
			case "post_logout_redirect_uris":
				spec.PostLogoutRedirectURIs = v.([]string)
			case "client_name":
				spec.Name = v.(string)
			case "id_token_signed_response_alg":
				spec.IDTokenSignedAlg = v.(string)
			case "logo_uri":
				spec.LogoURI = v.(string)
			case "policy_uri":
				spec.PolicyURI = v.(string)
			case "contacts":
				spec.Contacts = v.([]string)
			case "frontchannel_logout_uri":
				spec.FrontchannelLogoutURI = v.(string)
			case "scope":
				spec.Scopes = strings.Fields(v.(string))
			case "subject_type":
				spec.SubjectType = v.(string)
			case "":
				return spec, md
			default:
				t.Fatalf("no spec field for %s", k)
			}
			md[k] = v
			return spec, md
		}
		for _, tc := range []struct {
			field string
			value any
		}{
			{"redirect_uris", []string{"https://app.example/cb#frag"}},
			{"redirect_uris", []string{"https://*.app.example/cb"}},
			{"redirect_uris", []string{"/relative"}},
			{"post_logout_redirect_uris", []string{"http://app.example/bye"}},
			{"client_name", "Bad\x07Name"},
			{"client_name", strings.Repeat("n", 500)},
			{"id_token_signed_response_alg", "HS256"},
			{"logo_uri", "http://app.example/logo.png"},
			{"policy_uri", "/privacy"},
			{"contacts", []string{"not an address"}},
			{"frontchannel_logout_uri", "https://elsewhere.example/fc"},
			{"scope", "openid billing:read"},
			{"subject_type", "anonymous"},
		} {
			t.Run(tc.field, func(t *testing.T) {
				spec, md := base(tc.field, tc.value)
				_, _, err := env.Server.Console().Clients.Create(ctx, spec)
				if err == nil {
					t.Fatalf("the console accepted %s = %v", tc.field, tc.value)
				}
				resp, got := regCall(t, http.MethodPost, env.Issuer+"/oauth2/register", "", md)
				desc, _ := got["error_description"].(string)
				if resp.StatusCode != http.StatusBadRequest || (got["error"] != "invalid_client_metadata" && got["error"] != "invalid_redirect_uri") {
					t.Fatalf("registration of %s = %v: %d %v", tc.field, tc.value, resp.StatusCode, got)
				}
				for _, problem := range strings.Split(err.Error(), "\n") {
					problem = strings.Replace(problem, "scopes: ", "scope: ", 1)
					if !strings.Contains(desc, problem) {
						t.Errorf("the console says %q; the registration endpoint says %q", problem, desc)
					}
				}
			})
		}
		// What the console accepts, the endpoint accepts.
		spec, md := base("", nil)
		if _, _, err := env.Server.Console().Clients.Create(ctx, spec); err != nil {
			t.Fatalf("console: %v", err)
		}
		if resp, got := regCall(t, http.MethodPost, env.Issuer+"/oauth2/register", "", md); resp.StatusCode != http.StatusCreated {
			t.Fatalf("registration of what the console accepts: %d %v", resp.StatusCode, got)
		}
	})
}
