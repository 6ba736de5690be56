package clients

import (
	"strings"
	"testing"
)

// The admin scope is for machine clients only: a token from a user-facing
// grant must never carry it, or any user who consents could administer
// Sesame through that client.
func TestAdminScopeOnlyForConfidentialClientCredentials(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		ok   bool
	}{
		{"client_credentials only", Spec{Name: "ops", GrantTypes: []string{GrantClientCredentials}, Scopes: []string{ScopeAdmin}}, true},
		{"with authorization_code", Spec{Name: "web", GrantTypes: []string{GrantAuthorizationCode, GrantClientCredentials},
			RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{ScopeOpenID, ScopeAdmin}}, false},
		{"user-facing", Spec{Name: "web", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{ScopeOpenID, ScopeAdmin}}, false},
		{"not a default", Spec{Name: "web", RedirectURIs: []string{"https://a.example/cb"}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Normalize()
			err := tc.spec.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), ScopeAdmin) {
				t.Errorf("error does not name the scope: %v", err)
			}
			for _, s := range tc.spec.Scopes {
				if tc.name == "not a default" && s == ScopeAdmin {
					t.Error("the admin scope is granted by default")
				}
			}
		})
	}
}
