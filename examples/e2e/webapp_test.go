package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestWebappCallsAPIInChromium: the example server-rendered app
// (examples/webapp, on sdk/go/webapp) and the example API, each started
// with its one command against a real Sesame. A new user signs up with a
// passkey through the app, whose page shows who they are and what the API
// answered to the user's access token (me 200, reports and admin 403).
// Made a member of staff and admins, the user signs out (through Sesame's
// end-session endpoint, back to the app, which then needs a new sign-in)
// and in again with the passkey: now every call answers 200.
func TestWebappCallsAPIInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails())...)
		reportsScope(t, env)
		group(t, env, "staff", nil)
		group(t, env, "admins", nil)
		appAddr, apiAddr := freeAddr(t), freeAddr(t)
		app, api := "http://"+appAddr, "http://"+apiAddr

		apiID, apiSecret := env.CreateClient(clients.Spec{Name: "Example API", GrantTypes: []string{"client_credentials"}, Scopes: []string{clients.ScopeIntrospect}})
		appID, appSecret := env.CreateClient(clients.Spec{Name: "Example web app", SkipConsent: true,
			RedirectURIs: []string{app + "/callback"}, PostLogoutRedirectURIs: []string{app + "/"},
			Scopes: []string{"openid", "profile", "email", "groups", "offline_access", "reports:read"}})
		start(t, "api", apiAddr, "-listen", apiAddr, "-issuer", env.Issuer, "-client-id", apiID, "-client-secret", apiSecret)
		start(t, "webapp", appAddr, "-listen", appAddr, "-issuer", env.Issuer, "-client-id", appID, "-client-secret", appSecret, "-api", api)

		ctx := browsertest.New(t)
		browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
		email := newEmail("web")
		browsertest.Do(t, ctx, "open the app", chromedp.Navigate(app+"/"))
		signUpWithPasskey(t, ctx, env, email, "Ada Web")
		browsertest.WaitLocation(t, ctx, app+"/")
		browsertest.WaitText(t, ctx, "#who", email)
		browsertest.Screenshot(t, ctx, "example-webapp")
		want := func(what string, statuses map[string]string) {
			t.Helper()
			for name, status := range statuses {
				if got := waitOutput(t, ctx, "#result-"+name); !strings.HasPrefix(got, status) {
					t.Fatalf("%s: /api/%s answered %q, want %s", what, name, got, status)
				}
			}
		}
		want("a new user", map[string]string{"me": "200", "reports": "403", "admin": "403"})
		if got := browsertest.Eval[string](t, ctx, `document.querySelector("#groups").textContent`); got != "none" {
			t.Fatalf("groups shown: %q", got)
		}

		u := userByEmail(t, env, email)
		group(t, env, "staff", u)
		group(t, env, "admins", u)
		passkey := signInWithPasskey(t, ctx, env)
		browsertest.Do(t, ctx, "sign out", chromedp.Click("#sign-out"))
		// Signed out at Sesame and back at the app, which sends the browser
		// to sign in again.
		passkey()
		browsertest.WaitLocation(t, ctx, app+"/")
		browsertest.WaitText(t, ctx, "#groups", "staff")
		want("in staff and admins", map[string]string{"me": "200", "reports": "200", "admin": "200"})
	})
}
