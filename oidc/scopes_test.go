package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// defineScope stores a custom scope with a unique name (prefix +
// random) and the given claims, drops the provider's copy (another
// replica hears the store's announcement) and returns the name.
func defineScope(t *testing.T, env *servertest.Env, prefix, description string, claims ...models.ScopeClaim) string {
	t.Helper()
	name := prefix + "-" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(websession.RandomToken(5)))
	now := time.Now()
	err := env.Store.CreateCustomScope(context.Background(), &models.CustomScope{Name: name, Description: description, Claims: claims, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatalf("define scope: %v", err)
	}
	env.Server.Provider().InvalidateScopes()
	return name
}

// TestCustomScopesReleaseTheirClaims_OIDCCore_5_4: a custom scope the
// client registered and the user was granted releases its claims — an
// attribute's value (any JSON), the user's groups — in the ID token, at
// userinfo and in introspection, and only then; an attribute the user
// lacks is left out; a change to the attributes shows at the next token;
// discovery lists the scope and its claims; a client that did not register
// the scope gets invalid_scope; the consent page says what it shares.
func TestCustomScopesReleaseTheirClaims_OIDCCore_5_4(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		ctx := context.Background()
		// Unique claim names per database: both servers share nothing, but
		// the names read better with the scope's.
		roles := defineScope(t, env, "roles", "Your roles and teams",
			models.ScopeClaim{Claim: "roles", Source: models.ClaimFromAttribute, Attribute: "roles"},
			models.ScopeClaim{Claim: "teams", Source: models.ClaimFromGroups},
			models.ScopeClaim{Claim: "clearance", Source: models.ClaimFromAttribute, Attribute: "clearance"})
		f := newE2EFlow(t, env, clients.Spec{Name: "HR", SkipConsent: true, Scopes: []string{"openid", "profile", "email", "offline_access", roles}})
		team := newGroup(t, env, "team", f.user)
		err := env.Store.SetUserProfile(ctx, f.user.ID, store.UserProfile{Attributes: models.JSONObject{"roles": []any{"admin", "editor"}, "desk": 42}})
		if err != nil {
			t.Fatal(err)
		}

		// Discovery lists the scope and its claims (OIDC Discovery §3).
		var doc struct {
			Scopes []string `json:"scopes_supported"`
			Claims []string `json:"claims_supported"`
		}
		getJSON(t, env.Issuer+"/.well-known/openid-configuration", &doc)
		if !slices.Contains(doc.Scopes, roles) || !slices.Contains(doc.Claims, "roles") || !slices.Contains(doc.Claims, "teams") || !slices.Contains(doc.Scopes, "groups") {
			t.Fatalf("discovery: scopes %v claims %v", doc.Scopes, doc.Claims)
		}

		tok := f.tokens("openid", roles, "offline_access")
		wantClaims := func(where string, got map[string]any, roles []string, teams []string) {
			t.Helper()
			if !slices.Equal(stringsOf(got["roles"]), roles) || !slices.Equal(stringsOf(got["teams"]), teams) {
				t.Errorf("%s: roles %v teams %v, want %v %v (%v)", where, got["roles"], got["teams"], roles, teams, got)
			}
			if _, ok := got["clearance"]; ok {
				t.Errorf("%s: an attribute the user lacks is released: %v", where, got)
			}
			if _, ok := got["desk"]; ok {
				t.Errorf("%s: an attribute no scope releases is released: %v", where, got)
			}
		}
		wantClaims("id token", f.idTokenClaims(tok), []string{"admin", "editor"}, []string{team})
		_, ui := userinfo(t, env, tok.AccessToken)
		wantClaims("userinfo", ui, []string{"admin", "editor"}, []string{team})
		wantClaims("introspection", f.wantActive(tok.AccessToken, "access_token", true), []string{"admin", "editor"}, []string{team})

		// A change shows at the next token.
		err = env.Store.SetUserProfile(ctx, f.user.ID, store.UserProfile{Attributes: models.JSONObject{"roles": []any{"viewer"}}})
		if err != nil {
			t.Fatal(err)
		}
		next, err := f.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		wantClaims("refreshed id token", f.idTokenClaims(next), []string{"viewer"}, []string{team})

		t.Run("not granted, not released", func(t *testing.T) {
			tok := f.tokens("openid", "profile")
			for where, got := range map[string]map[string]any{"id token": f.idTokenClaims(tok), "introspection": f.wantActive(tok.AccessToken, "access_token", true)} {
				if got["roles"] != nil || got["teams"] != nil {
					t.Errorf("%s without the scope: %v", where, got)
				}
			}
		})

		t.Run("a client that did not register it cannot ask", func(t *testing.T) {
			g := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			resp, _, _ := g.start("state-custom", url.Values{"scope": {"openid " + roles}})
			wantAuthorizeError(t, env, resp, "invalid_scope", "state-custom")
		})

		t.Run("consent lists it", func(t *testing.T) {
			g := newE2EFlow(t, env, clients.Spec{Name: "Consenting", Scopes: []string{"openid", "profile", "email", "offline_access", "groups", roles}})
			resp, _, _ := g.start("state-consent", url.Values{"scope": {"openid groups " + roles}})
			resp, body, _ := g.signIn(resp, models.ACRPhishingResistant)
			interactionFrom(t, resp, "/consent")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("consent page: %d", resp.StatusCode)
			}
			for _, want := range []string{"Your roles and teams", "Shares: roles, teams, clearance.", "See your groups"} {
				if !strings.Contains(body, want) {
					t.Errorf("consent page lacks %q:\n%s", want, body)
				}
			}
		})
	})
}
