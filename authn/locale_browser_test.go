package authn_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// germanBrowser makes the tab a German browser: Accept-Language de on
// every request (and navigator.languages), as Chromium set to German
// sends it.
func germanBrowser(t *testing.T, ctx context.Context) {
	t.Helper()
	browsertest.Do(t, ctx, "open a blank page", chromedp.Navigate("about:blank"))
	ua := browsertest.Eval[string](t, ctx, `navigator.userAgent`)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Chromium takes the list and weighs it itself (de-DE,de;q=0.9).
	const accept = "de-DE,de"
	if _, err := chromedp.Call(sctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: accept}); err != nil {
		t.Fatalf("speak German: %v", err)
	}

}

// TestGermanPasskeySignInInChromium: a German browser signs up and signs
// in with a passkey (CDP virtual authenticator) through a stock OIDC
// client, and every page it meets is German (<html lang="de">, German
// headings and script messages), passes axe at 1280×800 and 390×844 and
// keeps its language on the next page.
func TestGermanPasskeySignInInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails()) // about the language, not the mail
	// Consent is asked: the provider's page is German too.
	rp := newRelyingParty(t, env, clients.Spec{Name: "Acme Notes", Public: true, TokenEndpointAuthMethod: "none"})
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	germanBrowser(t, ctx)
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	restore := browsertest.WithoutAutofill(t, ctx)
	defer restore()

	lang := func(where string) {
		t.Helper()
		if got := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); got != "de" {
			t.Fatalf("%s: <html lang=%q>, want de", where, got)
		}
	}

	// Sign-in page, German, with a German script message.
	a := rp.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	lang("login")
	browsertest.WaitText(t, ctx, "h1", "Bei Acme Notes anmelden")
	browsertest.WaitText(t, ctx, "#passkey-button", "Mit einem Passkey anmelden")
	checkHostedPage(t, ctx, hostedPage{name: "de-login", primary: "#passkey-button"})
	browsertest.Do(t, ctx, "continue without an email", chromedp.Click("#continue-button"))
	browsertest.WaitText(t, ctx, "#email-error", "Geben Sie Ihre E-Mail-Adresse ein")
	checkHostedPage(t, ctx, hostedPage{name: "de-login-email-error", primary: "#passkey-button"})

	// Sign-up page, German; creating the account signs in to the app.
	browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	lang("signup")
	browsertest.WaitText(t, ctx, "h1", "Konto für Acme Notes erstellen")
	checkHostedPage(t, ctx, hostedPage{name: "de-signup", primary: "#signup-button"})
	browsertest.Do(t, ctx, "sign up",
		chromedp.SendKeys("#email", "jonas@example.com"),
		chromedp.SendKeys("#name", "Jonas Keller"),
		chromedp.Click("#signup-button"),
		chromedp.WaitVisible(`button[value="allow"]`),
	)
	lang("consent")
	browsertest.WaitText(t, ctx, "h1", "Acme Notes möchte auf Ihr Konto zugreifen")
	browsertest.WaitText(t, ctx, "ul.scopes", "Sie anmelden")
	checkHostedPage(t, ctx, hostedPage{name: "de-consent", primary: `button[value="allow"]`})
	browsertest.Do(t, ctx, "allow", chromedp.Click(`button[value="allow"]`))
	claims := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if claims.Email != "jonas@example.com" {
		t.Fatalf("sign-up claims = %+v", claims)
	}
	u, err := env.Store.GetUserByEmail(context.Background(), "jonas@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Locale != "de" {
		t.Errorf("locale saved at the German sign-up = %q, want de", u.Locale)
	}

	// Sign in again with the passkey: German page, code for the client.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "open login", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	lang("login again")
	browsertest.Do(t, ctx, "sign in with the passkey", chromedp.Click("#passkey-button"))
	if got := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback)); got.Sub != claims.Sub {
		t.Fatalf("passkey sign-in: sub %s, want %s", got.Sub, claims.Sub)
	}

	// The emailed-link page and the switcher back to English.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "open login for a link", chromedp.Navigate(a.url), chromedp.WaitVisible("#passlink-link"), chromedp.Click("#passlink-link"), chromedp.WaitVisible("#passlink-form"))
	lang("passlink")
	browsertest.WaitText(t, ctx, "#passlink-send", "Anmeldelink per E-Mail senden")
	checkHostedPage(t, ctx, hostedPage{name: "de-passlink-request", primary: "#passlink-send"})
	browsertest.Do(t, ctx, "switch to English", chromedp.Click(`nav.langs a[lang="en"]`), chromedp.WaitVisible("#passlink-form"))
	if got := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); got != "en" {
		t.Fatalf("after the switcher: lang %q, want en", got)
	}
	browsertest.WaitText(t, ctx, "#passlink-send", "Email me a sign-in link")
}
