package oidc_test

import (
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestIntrospectionOnlyForTheTokensOwner: a client learns only about
// tokens issued to it (RFC 7662 §4: the server decides what a caller may
// learn); another client — even a confidential one that authenticates —
// gets {"active":false} for access and refresh tokens alike, unless it is a
// resource server registered with sesame:introspect.
func TestIntrospectionOnlyForTheTokensOwner(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		owner, ownerSecret := env.CreateClient(clients.Spec{Name: "Owner", SkipConsent: true, RedirectURIs: []string{redirectURI},
			Scopes: []string{"openid", "offline_access"}})
		other, otherSecret := env.CreateClient(clients.Spec{Name: "Other", SkipConsent: true, RedirectURIs: []string{redirectURI}})
		api, apiSecret := env.CreateClient(clients.Spec{Name: "Orders API", GrantTypes: []string{clients.GrantClientCredentials},
			Scopes: []string{clients.ScopeIntrospect}})
		b, _ := negSignedIn(t, env)
		tok := negExchange(t, env, b, owner, ownerSecret, "openid offline_access")
		for _, kind := range []string{"access_token", "refresh_token"} {
			token, _ := tok[kind].(string)
			if token == "" {
				t.Fatalf("no %s: %v", kind, tok)
			}
			for _, tc := range []struct {
				name, id, secret string
				want             bool
			}{
				{"the owner", owner, ownerSecret, true},
				{"another client", other, otherSecret, false},
				{"a resource server allowed to introspect", api, apiSecret, true},
			} {
				if got := negIntrospect(t, env, tc.id, tc.secret, token); got != tc.want {
					t.Errorf("%s introspecting the %s: active %v, want %v", tc.name, kind, got, tc.want)
				}
			}
		}
	})
}

// TestIntrospectScopeOnlyForConfidentialClients: a public client cannot
// authenticate, so it cannot be a resource server.
func TestIntrospectScopeOnlyForConfidentialClients(t *testing.T) {
	s := clients.Spec{Name: "SPA", Public: true, RedirectURIs: []string{"http://localhost:3000/cb"}, Scopes: []string{"openid", clients.ScopeIntrospect}}
	s.Normalize()
	if err := s.Validate(); err == nil {
		t.Fatal("a public client was allowed sesame:introspect")
	}
}
