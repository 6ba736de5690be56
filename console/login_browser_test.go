package console_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsoleSignInThroughLoginInChromium: the console has no sign-in of
// its own. An admin (made by a setup link, passkey in a CDP virtual
// authenticator) who is no longer signed in opens a console page, lands on
// the hosted /login ("Sign in to the console", only phishing-resistant
// ways offered), signs in with the passkey and is back on the page asked
// for. The sign-in page passes the console pages' checks (axe, labels,
// one h1, no sideways scrolling, visible focus) in light and dark.
func TestConsoleSignInThroughLoginInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails()) // about the console sign-in, not the mail
	ctx := browsertest.New(t)
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	link, err := console.Invite(context.Background(), env.Store, env.Issuer, "door@example.test")
	must(t, err)
	browsertest.Do(t, ctx, "open the setup link", chromedp.Navigate(link), chromedp.WaitVisible("#console-action"))
	browsertest.Screenshot(t, ctx, "console-setup")
	browsertest.Do(t, ctx, "create the admin's passkey", chromedp.Click("#console-action"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console")
	browsertest.Do(t, ctx, "see the dashboard", chromedp.WaitVisible("#feed"))

	// Signed out (the cookies are gone): a console page sends the admin to
	// the one sign-in door, with the way back.
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	restore := browsertest.WithoutAutofill(t, ctx)
	defer restore()
	browsertest.Do(t, ctx, "open a console page", chromedp.Navigate(env.Issuer+"/console/users?q=ada"), chromedp.WaitVisible("#passkey-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/login?return=%2Fconsole%2Fusers%3Fq%3Dada")
	if h1 := browsertest.Eval[string](t, ctx, `document.querySelector("h1").textContent`); h1 != "Sign in to the console" {
		t.Errorf("sign-in page h1 %q", h1)
	}
	if browsertest.Eval[bool](t, ctx, `!!document.querySelector("#passlink-link")`) {
		t.Error("the console's sign-in offers a link by email, which the console refuses")
	}
	checkConsolePage(t, ctx, "console-signin")
	browsertest.Do(t, ctx, "sign in with the passkey", chromedp.Click("#passkey-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console/users?q=ada")
	browsertest.Do(t, ctx, "the page asked for", chromedp.WaitVisible("#q"))

	// A signed-in user who is not an admin gets a page that says so, with
	// the way to sign in as someone else (signing in again as themself
	// would only lead back here).
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	plain := env.CreateUser("plain@example.test")
	hb := env.Browser()
	env.Login(hb, plain.ID, []string{"pop", "user", "mfa"}, models.ACRPhishingResistant, time.Now())
	iss, _ := url.Parse(env.Issuer)
	for _, c := range hb.Jar.Cookies(iss) {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: env.Issuer}); err != nil {
			t.Fatalf("set cookie: %v", err)
		}
	}
	browsertest.Do(t, ctx, "open the console as a non-admin", chromedp.Navigate(env.Issuer+"/console/clients"), chromedp.WaitVisible("#switch-account"))
	browsertest.WaitText(t, ctx, "main", "plain@example.test")
	checkConsolePage(t, ctx, "console-not-admin")
	browsertest.Do(t, ctx, "sign in as someone else", chromedp.Click("#switch-account"), chromedp.WaitVisible("#passkey-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/login?return=%2Fconsole%2Fclients")
}
