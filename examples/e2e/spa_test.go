package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestSPACallsAPIInChromium: the example SPA (examples/spa, on the browser
// SDK sdk/js) and the example API (examples/api, on sdk/go/middleware),
// each started with its one command against a real Sesame. A new user
// signs up with a passkey through the SPA and calls the API with the
// access token: /api/me answers 200, /api/reports 403 (not in staff) and
// /api/admin 403. Added to staff, the next token (a refresh) opens
// /api/reports. Two browsing contexts refresh at the same instant with Sesame's
// refresh-token reuse interval at 0, where a refresh token spent twice
// kills the grant: the SDK's lock lets only one spend it, and the grant
// lives on. Signing out in one signs the other out (sessionchange);
// the next sign-in needs the passkey again.
func TestSPACallsAPIInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails(),
			func(c *config.Config) { c.RefreshTokenReuseInterval = 0 })...)
		reportsScope(t, env)
		group(t, env, "staff", nil)
		group(t, env, "admins", nil)
		spaAddr, apiAddr := freeAddr(t), freeAddr(t)
		spa, api := "http://"+spaAddr, "http://"+apiAddr

		apiID, apiSecret := env.CreateClient(clients.Spec{Name: "Example API", GrantTypes: []string{"client_credentials"}, Scopes: []string{clients.ScopeIntrospect}})
		spaID, _ := env.CreateClient(clients.Spec{Name: "Example SPA", Public: true, SkipConsent: true,
			RedirectURIs: []string{spa + "/"}, PostLogoutRedirectURIs: []string{spa + "/"},
			Scopes: []string{"openid", "profile", "email", "groups", "offline_access", "reports:read"}})
		start(t, "api", apiAddr, "-listen", apiAddr, "-issuer", env.Issuer, "-client-id", apiID, "-client-secret", apiSecret, "-allow-origin", spa)
		// -refresh-before beyond the token lifetime: every getAccessToken refreshes.
		start(t, "spa", spaAddr, "-listen", spaAddr, "-issuer", env.Issuer, "-client-id", spaID, "-api", api, "-sdk", sdkDir(t), "-refresh-before", "7200")

		ctx := browsertest.New(t)
		browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
		email := newEmail("spa")
		browsertest.Do(t, ctx, "open the SPA", chromedp.Navigate(spa+"/"))
		browsertest.Do(t, ctx, "sign in", chromedp.WaitVisible("#sign-in"), chromedp.Click("#sign-in"))
		signUpWithPasskey(t, ctx, env, email, "Ada SPA")
		browsertest.WaitLocation(t, ctx, spa+"/")
		browsertest.WaitText(t, ctx, "#who", email)
		browsertest.Screenshot(t, ctx, "example-spa")

		calls := func(what string, want map[string]int) {
			t.Helper()
			for name, status := range want {
				browsertest.Do(t, ctx, what+": call "+name, chromedp.Click("#call-"+name))
				got := waitOutput(t, ctx, "#result-"+name)
				if !strings.HasPrefix(got, fmt.Sprint(status)) {
					t.Fatalf("%s: /api/%s answered %q, want %d", what, name, got, status)
				}
			}
		}
		calls("a new user", map[string]int{"me": 200, "reports": 403, "admin": 403})
		me := browsertest.Eval[string](t, ctx, `document.querySelector("#result-me").textContent`)
		if !strings.Contains(me, `"client_id":"`+spaID+`"`) || !strings.Contains(me, "reports:read") {
			t.Fatalf("/api/me = %s", me)
		}

		group(t, env, "staff", userByEmail(t, env, email))
		calls("in staff", map[string]int{"reports": 200, "admin": 403})

		// A second browsing context of the app (a same-origin frame: the
		// same storage, Web Locks and BroadcastChannel as another tab, and
		// reachable from this page's script) refreshes at the same
		// instant as the page.
		browsertest.Eval[bool](t, ctx, `(() => { const f = document.createElement("iframe"); f.id = "tab2"; f.src = "/"; document.body.append(f); return true })()`)
		waitEval[bool](t, ctx, `document.getElementById("tab2").contentDocument?.body?.dataset.ready === "true" && document.getElementById("tab2").contentWindow.sesame.user()?.email === `+jsQuote(email))
		browsertest.Eval[bool](t, ctx, `(() => {
			const other = document.getElementById("tab2").contentWindow.sesame;
			window.__race = null;
			Promise.all([sesame.getAccessToken(), other.getAccessToken()]).then(
				(ts) => window.__race = ts.map((t) => t ? "token" : "none").join(" "), (e) => window.__race = "error: " + e);
			return true })()`)
		if got := waitEval[string](t, ctx, `window.__race`); got != "token token" {
			t.Fatalf("concurrent refreshes in two browsing contexts: %s", got)
		}
		// The grant survived: another refresh and a call work.
		calls("after the concurrent refreshes", map[string]int{"me": 200})

		// Signed out in the other context (without leaving Sesame): this
		// page hears of it and shows the sign-in button.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("tab2").contentWindow.sesame.signOut({endSession: false}).then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("sign out in the other context: %v", err)
		}
		browsertest.Do(t, ctx, "the page shows the sign-out", chromedp.WaitVisible("#sign-in"))
		if got := browsertest.Eval[string](t, ctx, `JSON.stringify(sesame.user())`); got != "null" {
			t.Fatalf("still a user after the other context signed out: %s", got)
		}
		// Sesame's session lives on: signing in comes straight back.
		browsertest.Do(t, ctx, "sign in (single sign-on)", chromedp.Click("#sign-in"))
		browsertest.WaitLocation(t, ctx, spa+"/")
		browsertest.WaitText(t, ctx, "#who", email)

		// Signing out through Sesame ends its session too.
		// The SDK forgets the tokens (showing #sign-in) before it sends the
		// browser to Sesame's end-session endpoint, so wait for the document
		// that comes back from there: the marker set here is gone in it.
		browsertest.Eval[bool](t, ctx, `window.beforeSignOut = true`)
		browsertest.Do(t, ctx, "sign out", chromedp.Click("#sign-out"))
		// Evaluated step by step: a poll inside the page ends at each navigation.
		back := `location.href.startsWith(` + strconv.Quote(spa+"/") + `) && window.beforeSignOut === undefined && document.readyState === "complete"`
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](back)); err == nil && ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("never came back from Sesame's end-session endpoint (at %s)", browsertest.Location(t, ctx))
			}
		}
		browsertest.Do(t, ctx, "signed out", chromedp.WaitVisible("#sign-in"))
		// Sesame's session ended too: signing in asks for the passkey.
		passkey := signInWithPasskey(t, ctx, env)
		browsertest.Do(t, ctx, "sign in again", chromedp.Click("#sign-in"))
		passkey()
		browsertest.WaitLocation(t, ctx, spa+"/")
		browsertest.WaitText(t, ctx, "#who", email)
		var user map[string]any
		if err := json.Unmarshal([]byte(browsertest.Eval[string](t, ctx, `JSON.stringify(sesame.user())`)), &user); err != nil || user["email"] != email {
			t.Fatalf("user after signing in again: %v %v", user, err)
		}
		calls("signed in again", map[string]int{"reports": 200})
	})
}

// waitEval polls a JavaScript expression until it is truthy and returns it.
func waitEval[T comparable](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	var zero T
	js := "false" // the zero value in JavaScript (chromedp refuses null)
	if _, ok := any(zero).(string); ok {
		js = `""`
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := browsertest.Eval[T](t, ctx, `(() => { try { return (`+expr+`) || `+js+` } catch (e) { return `+js+` } })()`); got != zero {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waited for %s", expr)
	return zero
}

func jsQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
