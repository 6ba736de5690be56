package oidc_test

// Groups, allowed groups and profile claims (oidc/groups.go, session.go)
// through stock clients (go-oidc, x/oauth2) on every database.

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
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

// userScopesWithGroups is what a client that may ask for groups registers.
var userScopesWithGroups = []string{"openid", "profile", "email", "offline_access", "groups"}

// newGroup stores a group with a unique name (prefix + random) and the
// given members, and returns its name.
func newGroup(t *testing.T, env *servertest.Env, prefix string, members ...*models.User) string {
	t.Helper()
	ctx := context.Background()
	name := prefix + "-" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(websession.RandomToken(6)))
	now := time.Now()
	if err := env.Store.CreateGroup(ctx, &models.Group{ID: "grp-" + websession.RandomToken(9), Name: name, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("create group: %v", err)
	}
	for _, u := range members {
		if err := env.Store.AddGroupMember(ctx, name, u.ID); err != nil {
			t.Fatalf("add member: %v", err)
		}
	}
	return name
}

// stringsOf turns a decoded JSON array into strings (nil when v is not one).
func stringsOf(v any) []string {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// idTokenClaims verifies tok's ID token and returns all its claims.
func (f *e2eFlow) idTokenClaims(tok interface{ Extra(string) any }) map[string]any {
	f.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.r.verifier().Verify(context.Background(), raw)
	if err != nil {
		f.t.Fatalf("verify id token: %v", err)
	}
	out := map[string]any{}
	if err := idt.Claims(&out); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestGroupsClaimOnlyWithGroupsScope: the groups claim (the names of the
// user's groups, sorted) is in the ID token, at userinfo and in
// introspection exactly when the groups scope was granted (OIDC Core §5.4:
// scopes select claims), and a membership change shows at the next token
// (the refreshed ID token, OIDC Core §12.2).
func TestGroupsClaimOnlyWithGroupsScope(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, Scopes: userScopesWithGroups})
		eng := newGroup(t, env, "eng", f.user)
		ops := newGroup(t, env, "ops", f.user)
		newGroup(t, env, "other") // the user is not in it
		want := []string{eng, ops}
		slices.Sort(want)

		tok := f.tokens("openid", "groups", "offline_access")
		if got := stringsOf(f.idTokenClaims(tok)["groups"]); !slices.Equal(got, want) {
			t.Fatalf("id token groups = %v, want %v", got, want)
		}
		if _, ui := userinfo(t, env, tok.AccessToken); !slices.Equal(stringsOf(ui["groups"]), want) {
			t.Fatalf("userinfo = %v, want groups %v", ui, want)
		}
		if in := f.wantActive(tok.AccessToken, "access_token", true); !slices.Equal(stringsOf(in["groups"]), want) {
			t.Fatalf("introspection = %v, want groups %v", in, want)
		}

		// Membership changes show at the next token.
		if err := env.Store.RemoveGroupMember(context.Background(), ops, f.user.ID); err != nil {
			t.Fatal(err)
		}
		next, err := f.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if got := stringsOf(f.idTokenClaims(next)["groups"]); !slices.Equal(got, []string{eng}) {
			t.Fatalf("refreshed id token groups = %v, want [%s]", got, eng)
		}
		if in := f.wantActive(next.AccessToken, "access_token", true); !slices.Equal(stringsOf(in["groups"]), []string{eng}) {
			t.Fatalf("introspection after refresh = %v, want groups [%s]", in, eng)
		}

		t.Run("without the scope", func(t *testing.T) {
			tok := f.tokens("openid", "profile", "email")
			if c := f.idTokenClaims(tok); c["groups"] != nil {
				t.Fatalf("id token without the groups scope has groups: %v", c)
			}
			if _, ui := userinfo(t, env, tok.AccessToken); ui["groups"] != nil || ui["sub"] != f.user.ID {
				t.Fatalf("userinfo without the groups scope = %v", ui)
			}
			if in := f.wantActive(tok.AccessToken, "access_token", true); in["groups"] != nil {
				t.Fatalf("introspection without the groups scope = %v", in)
			}
		})

		t.Run("no groups is an empty list", func(t *testing.T) {
			g := newE2EFlow(t, env, clients.Spec{SkipConsent: true, Scopes: userScopesWithGroups})
			tok := g.tokens("openid", "groups")
			if got, ok := g.idTokenClaims(tok)["groups"].([]any); !ok || len(got) != 0 {
				t.Fatalf("groups of a user in none = %#v, want []", got)
			}
		})

		t.Run("a client that did not register the scope cannot ask", func(t *testing.T) {
			g := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			resp, _, _ := g.start("state-nogroups", url.Values{"scope": {"openid groups"}})
			wantAuthorizeError(t, env, resp, "invalid_scope", "state-nogroups")
		})
	})
}

// TestUserOutsideAllowedGroupsGetsNoCode_OIDCCore_3_1_2_6: a client that
// names allowed groups serves their members only. Anyone else who signs in
// gets a page "You don't have access to <app>" and no code; under
// prompt=none (no page may be shown) the app gets access_denied (OIDC Core
// §3.1.2.6); a member taken out of the groups gets invalid_grant at the
// next refresh (RFC 6749 §5.2) — and members get through all along.
func TestUserOutsideAllowedGroupsGetsNoCode_OIDCCore_3_1_2_6(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		staff := newGroup(t, env, "staff")
		spec := clients.Spec{Name: "Payroll", SkipConsent: true, AllowedGroups: []string{staff}}

		t.Run("outsider", func(t *testing.T) {
			f := newE2EFlow(t, env, spec)
			newGroup(t, env, "visitors", f.user) // in a group, but not an allowed one
			resp, _, _ := f.start("state-outsider", url.Values{})
			resp, body, _ := f.signIn(resp, models.ACRPhishingResistant)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("outsider: status %d at %s, want 403", resp.StatusCode, resp.Request.URL)
			}
			if !strings.Contains(body, "have access to Payroll") || !strings.Contains(body, f.user.Email) {
				t.Fatalf("outsider: the page does not say so:\n%s", body)
			}
			if strings.Contains(resp.Request.URL.String(), "code=") || resp.Header.Get("Location") != "" {
				t.Fatalf("outsider: sent towards the client: %s %s", resp.Request.URL, resp.Header.Get("Location"))
			}
			// The way on: the same request with prompt=login, where another
			// account (a member) signs in and the app gets its code.
			m := regexp.MustCompile(`id="error-action" class="button primary" href="([^"]+)"`).FindStringSubmatch(body)
			if m == nil || !strings.Contains(body, "Sign in with another account") {
				t.Fatalf("outsider: no way to sign in with another account:\n%s", body)
			}
			again, err := url.Parse(htmlUnescape(m[1]))
			if err != nil || again.Path != "/oauth2/authorize" || again.Query().Get("prompt") != "login" || again.Query().Get("client_id") != f.r.clientID {
				t.Fatalf("outsider: the link is %s", m[1])
			}
			member := env.CreateUser("member-" + strings.ToLower(websession.RandomToken(6)) + "@example.com")
			if err := env.Store.AddGroupMember(context.Background(), staff, member.ID); err != nil {
				t.Fatal(err)
			}
			other := env.Browser()
			linkResp, _ := get(t, other, env.Issuer+again.String())
			in := interactionFrom(t, linkResp, "/login")
			env.CompleteInteraction(other, in, member.ID, []string{"pop", "hwk", "user"}, models.ACRPhishingResistant)
			linkResp, _ = get(t, other, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
			if q := callback(t, linkResp); q.Get("code") == "" || q.Get("state") != "state-outsider" {
				t.Fatalf("another account after the link: %v", q)
			}

			// The session stays: prompt=none tells the app access_denied.
			resp, _, _ = f.start("state-none", url.Values{"prompt": {"none"}})
			wantAuthorizeError(t, env, resp, "access_denied", "state-none")
			// A new request without prompt=none shows the page again.
			resp, body, _ = f.start("state-again", url.Values{})
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "have access to Payroll") {
				t.Fatalf("outsider with a session: %d at %s", resp.StatusCode, resp.Request.URL)
			}
		})

		t.Run("member, then removed", func(t *testing.T) {
			f := newE2EFlow(t, env, spec)
			if err := env.Store.AddGroupMember(context.Background(), staff, f.user.ID); err != nil {
				t.Fatal(err)
			}
			tok := f.tokens("openid", "offline_access")
			if tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatalf("member got %+v", tok)
			}
			next, err := f.refresh(tok.RefreshToken)
			if err != nil {
				t.Fatalf("member refresh: %v", err)
			}
			if err := env.Store.RemoveGroupMember(context.Background(), staff, f.user.ID); err != nil {
				t.Fatal(err)
			}
			_, err = f.refresh(next.RefreshToken)
			wantOAuthError(t, err, "invalid_grant")
			resp, _, _ := f.start("state-removed", url.Values{"prompt": {"none"}})
			wantAuthorizeError(t, env, resp, "access_denied", "state-removed")
		})

		t.Run("clients without allowed groups serve everyone", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			if tok := f.tokens("openid"); tok.AccessToken == "" {
				t.Fatal("no access token")
			}
		})
	})
}

// TestPreferredUsernameOnlyFromAUsername: preferred_username is the
// user's username when one is set and absent otherwise — never the email
// address, which changes hands (OIDC Core §5.7: not to be relied on as a
// unique identifier); the standard profile claims come from the profile.
func TestPreferredUsernameOnlyFromAUsername(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		tok := f.tokens("openid", "profile", "email", "offline_access")
		c := f.idTokenClaims(tok)
		if _, ok := c["preferred_username"]; ok {
			t.Fatalf("preferred_username without a username: %v", c)
		}
		if c["name"] == nil || c["email"] != f.user.Email {
			t.Fatalf("profile/email claims = %v", c)
		}
		if _, ui := userinfo(t, env, tok.AccessToken); ui["preferred_username"] != nil {
			t.Fatalf("userinfo has preferred_username without a username: %v", ui)
		}
		// Introspection tells a resource server the address and whether it
		// is proven, with the email scope (RFC 7662 §2.2 extensions).
		if in := f.wantActive(tok.AccessToken, "access_token", true); in["email"] != f.user.Email || in["email_verified"] != true {
			t.Fatalf("introspection = %v, want email and email_verified", in)
		}

		username := "ada" + strings.ToLower(websession.RandomToken(4))
		username = strings.NewReplacer("-", "", "_", "").Replace(username)
		err := env.Store.SetUserProfile(context.Background(), f.user.ID, store.UserProfile{
			Username: &username, GivenName: "Ada", FamilyName: "Lovelace", Locale: "en-GB", Picture: "https://example.com/ada.png",
		})
		if err != nil {
			t.Fatal(err)
		}
		next, err := f.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		c = f.idTokenClaims(next)
		for k, v := range map[string]string{"preferred_username": username, "given_name": "Ada", "family_name": "Lovelace", "locale": "en-GB", "picture": "https://example.com/ada.png"} {
			if c[k] != v {
				t.Errorf("refreshed id token %s = %v, want %q", k, c[k], v)
			}
		}
		if _, ui := userinfo(t, env, next.AccessToken); ui["preferred_username"] != username || ui["given_name"] != "Ada" {
			t.Fatalf("userinfo = %v", ui)
		}
		// Without the profile scope none of them.
		tok = f.tokens("openid", "email")
		if c := f.idTokenClaims(tok); c["preferred_username"] != nil || c["given_name"] != nil {
			t.Fatalf("profile claims without the profile scope: %v", c)
		}
		tok = f.tokens("openid")
		if in := f.wantActive(tok.AccessToken, "access_token", true); in["email"] != nil || in["email_verified"] != nil {
			t.Fatalf("introspection without the email scope = %v", in)
		}
	})
}
