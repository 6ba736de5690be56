package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestGroupChangesApplyAtNextAuthorize (issue 10 item 3): group changes
// made through the admin API take effect at the very next authorization
// request, with no cache to wait for. A signed-in user outside the
// client's allowed groups gets the no-access page and no code; added to
// the group, the next request gets a code whose ID token carries the
// group (go-oidc verifies it); removed again, the next request is the
// no-access page, and under prompt=none access_denied (OIDC Core
// §3.1.2.6).
func TestGroupChangesApplyAtNextAuthorize(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		p := console.APIPrefix
		const redirect = "http://127.0.0.1:9999/callback"

		if resp, b, _ := api.do("POST", p+"/groups", map[string]string{"name": "staff"}); resp.StatusCode != 201 {
			t.Fatalf("create group: %d %s", resp.StatusCode, b)
		}
		id, secret := env.CreateClient(clients.Spec{Name: "Payroll", RedirectURIs: []string{redirect}, SkipConsent: true,
			Scopes: []string{clients.ScopeOpenID, clients.ScopeEmail, clients.ScopeGroups}, AllowedGroups: []string{"staff"}})
		provider, err := gooidc.NewProvider(ctx, env.Issuer)
		must(t, err)
		rp := oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect,
			Scopes: []string{gooidc.ScopeOpenID, "email", "groups"}}

		u := env.CreateUser("casey@example.test")
		b := env.Browser()
		env.Login(b, u.ID, []string{"pop", "user"}, models.ACRPhishingResistant, time.Now())

		authorize := func(extra ...oauth2.AuthCodeOption) (*http.Response, string) {
			t.Helper()
			resp, err := b.Get(rp.AuthCodeURL("state-0123456789", extra...))
			must(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp, string(body)
		}
		wantNoAccess := func(when string) {
			t.Helper()
			resp, body := authorize()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "have access to Payroll") || resp.Header.Get("Location") != "" {
				t.Fatalf("%s: %d at %s, want the no-access page\n%s", when, resp.StatusCode, resp.Request.URL, body)
			}
		}

		wantNoAccess("before joining")

		if resp, b, _ := api.do("POST", p+"/groups/staff/members", map[string]string{"user": u.Email}); resp.StatusCode != 201 {
			t.Fatalf("add member: %d %s", resp.StatusCode, b)
		}
		resp, body := authorize()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code := loc.Query().Get("code")
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || code == "" || !strings.HasPrefix(loc.String(), redirect) {
			t.Fatalf("after joining: %d %s, want a code\n%s", resp.StatusCode, loc, body)
		}
		tok, err := rp.Exchange(ctx, code)
		must(t, err)
		raw, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&gooidc.Config{ClientID: id}).Verify(ctx, raw)
		must(t, err)
		var claims struct {
			Groups []string `json:"groups"`
		}
		must(t, idt.Claims(&claims))
		if !slices.Equal(claims.Groups, []string{"staff"}) {
			t.Errorf("ID token groups = %v, want [staff]", claims.Groups)
		}

		if resp, b, _ := api.do("DELETE", p+"/groups/staff/members/"+u.ID, nil); resp.StatusCode != 204 {
			t.Fatalf("remove member: %d %s", resp.StatusCode, b)
		}
		wantNoAccess("after leaving")
		resp, _ = authorize(oauth2.SetAuthURLParam("prompt", "none"))
		loc, _ = url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" {
			t.Errorf("prompt=none after leaving: %d %s, want access_denied", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
