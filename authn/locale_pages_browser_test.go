package authn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestGermanSelfServicePagesInChromium: a German browser (Accept-Language
// de) meets the pages after sign-in in German: the email-code page (in
// the app's own colour), the account page (dates, "last used", device
// and sync words), the device-code page and sign-out with its result.
// Each has <html lang="de">, no English sentence of the catalogue, and
// passes the hosted-page checks (axe, one h1, labels, focus, no sideways
// scrolling) at 1280×800 and 390×844, in light and dark.
func TestGermanSelfServicePagesInChromium(t *testing.T) {
	env := servertest.New(t)
	rp := newRelyingParty(t, env, clients.Spec{Name: "Acme Notes", PrimaryColor: "#0f766e", AccentColor: "#9333ea"})
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	germanBrowser(t, ctx)
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	restore := browsertest.WithoutAutofill(t, ctx)
	defer restore()

	german := func(where string, english ...string) {
		t.Helper()
		if got := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); got != "de" {
			t.Errorf("%s: <html lang=%q>, want de", where, got)
		}
		text := browsertest.Eval[string](t, ctx, `document.body.innerText`)
		for _, en := range append(english, "Secured by", "Sign in", "Your account", "Continue", " ago", "Never used") {
			if strings.Contains(text, en) {
				t.Errorf("%s: English %q on the German page:\n%s", where, en, text)
			}
		}
	}
	bg := func(sel string) string {
		return browsertest.Eval[string](t, ctx, `getComputedStyle(document.querySelector(`+jsQuote(sel)+`)).backgroundColor`)
	}

	// Sign up for Acme Notes; the address is proven with the mailed code.
	a := rp.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	browsertest.Do(t, ctx, "sign up",
		chromedp.SendKeys("#email", "lena@example.com"),
		chromedp.SendKeys("#name", "Lena Vogt"),
		chromedp.Click("#signup-button"),
	)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/verify-email?")
	browsertest.Do(t, ctx, "wait for the code page", chromedp.WaitVisible("#verify-button"))
	browsertest.WaitText(t, ctx, "h1", "E-Mail-Adresse bestätigen")
	german("verify-email", "We sent", "Skip")
	if got := bg("#verify-button"); got != "rgb(15, 118, 110)" {
		t.Errorf("verify-email: button %s, want Acme Notes' #0f766e", got)
	}
	checkHostedPage(t, ctx, hostedPage{name: "de-verify-email", primary: "#verify-button", dark: true})
	browsertest.Do(t, ctx, "type the code",
		chromedp.SendKeys("#code", outboxVerifyCode(t, env, "lena@example.com")),
		chromedp.Click("#verify-button"),
	)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/consent?interaction=")
	browsertest.Do(t, ctx, "allow", chromedp.WaitVisible(`button[value="allow"]`), chromedp.Click(`button[value="allow"]`))
	a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))

	// The account page: every word German, dates and devices too.
	browsertest.Do(t, ctx, "open account", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("#passkeys"))
	browsertest.WaitText(t, ctx, "h1", "Ihr Konto")
	browsertest.WaitText(t, ctx, "#passkeys", "Erstellt am ")
	text := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	for _, want := range []string{"Dieses Gerät · Seit ", "Chrome unter Linux", "Apps mit Zugriff", "Acme Notes", "Konto löschen"} {
		if !strings.Contains(text, want) {
			t.Errorf("account: %q missing:\n%s", want, text)
		}
	}
	german("account", "Created", "Last used", "This device", " on Linux", "Delete")
	browsertest.Do(t, ctx, "open manage", chromedp.Click("details.manage summary"), chromedp.WaitVisible(`form[action="/account/passkeys/rename"] input[name="name"]`))
	checkHostedPage(t, ctx, hostedPage{name: "de-account", primary: "#add-passkey", dark: true})

	// Connect a device: the code form.
	browsertest.Do(t, ctx, "open device page", chromedp.Navigate(env.Issuer+"/device"), chromedp.WaitVisible("#device-form"))
	browsertest.WaitText(t, ctx, "h1", "Gerät verbinden")
	german("device", "Enter the code")
	browsertest.Do(t, ctx, "send a malformed code", chromedp.SendKeys("#user_code", "XY"), chromedp.Click("#device-continue"), chromedp.WaitVisible("#code-error"))
	browsertest.WaitText(t, ctx, "#code-error", "8-stelligen Code")
	checkHostedPage(t, ctx, hostedPage{name: "de-device", primary: "#device-continue", dark: true})

	// Sign out: the question, then the answer.
	browsertest.Do(t, ctx, "open logout", chromedp.Navigate(env.Issuer+"/oauth2/logout"), chromedp.WaitVisible(`button[value="yes"]`))
	browsertest.WaitText(t, ctx, "h1", "Abmelden?")
	german("logout", "Stay signed in")
	checkHostedPage(t, ctx, hostedPage{name: "de-logout", primary: `button[value="yes"]`, dark: true})
	browsertest.Do(t, ctx, "confirm logout", chromedp.Click(`button[value="yes"]`))
	browsertest.WaitText(t, ctx, "h1", "Sie sind abgemeldet")
	german("logged-out", "signed out")
	checkHostedPage(t, ctx, hostedPage{name: "de-logged-out", dark: true})

	// An emailed link for Acme Notes: the request and the waiting page,
	// German and in the app's colour.
	a = rp.start()
	browsertest.Do(t, ctx, "open login for a link", chromedp.Navigate(a.url), chromedp.WaitVisible("#passlink-link"),
		chromedp.Click("#passlink-link"), chromedp.WaitVisible("#passlink-form"))
	german("passlink-request", "Email me")
	if got := bg("#passlink-send"); got != "rgb(15, 118, 110)" {
		t.Errorf("passlink request: button %s, want Acme Notes' #0f766e", got)
	}
	checkHostedPage(t, ctx, hostedPage{name: "de-passlink-request", primary: "#passlink-send", dark: true})
	browsertest.Do(t, ctx, "ask for a link", chromedp.SetValue("#email", "lena@example.com"), chromedp.Click("#passlink-send"),
		chromedp.WaitVisible("#passlink-code"))
	german("passlink-sent", "Check your inbox")
	if theme := browsertest.Eval[string](t, ctx, `(document.querySelector('link[href*="/branding/theme.css"]') || {}).href || ""`); !strings.Contains(theme, "p=0f766e") {
		t.Errorf("passlink sent: Acme Notes' colours not applied (theme %q)", theme)
	}
	checkHostedPage(t, ctx, hostedPage{name: "de-passlink-sent", dark: true})

	// Signed out, the account page says so in German.
	browsertest.Do(t, ctx, "open account signed out", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("h1"))
	browsertest.WaitText(t, ctx, "h1", "Ihr Konto")
	german("signed-out", "You are not signed in")
	checkHostedPage(t, ctx, hostedPage{name: "de-account-signed-out", primary: `a.button.primary[href="/login"]`, dark: true})
}

// TestGermanDeviceFlowInChromium: a CLI (x/oauth2's device flow) asks; a
// German browser opens verification_uri_complete, signs up with a
// passkey and meets the confirmation in German, in the app's own colour:
// which app, which device ("Go-Programm", the CLI's User-Agent in German)
// and when ("gerade eben"); allowing gives the CLI its tokens. The
// confirmation and the result pass the hosted-page checks, light and dark.
func TestGermanDeviceFlowInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails(), func(c *config.Config) { c.DevicePollInterval = time.Second })
	clientID, _ := env.CreateClient(clients.Spec{Name: "Acme TV", Public: true, TokenEndpointAuthMethod: "none", PrimaryColor: "#0f766e",
		GrantTypes: []string{clients.GrantDeviceCode, "refresh_token"}, Scopes: []string{"openid", "email", "offline_access"}})
	p, err := gooidc.NewProvider(context.Background(), env.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	germanBrowser(t, ctx)
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())

	cli := startCLI(t, p, clientID)
	browsertest.Do(t, ctx, "open verification_uri_complete", chromedp.Navigate(cli.da.VerificationURIComplete), chromedp.WaitVisible("#device-continue"))
	browsertest.WaitText(t, ctx, "main", "Prüfen Sie, ob dieser Code")
	browsertest.Do(t, ctx, "continue", chromedp.Click("#device-continue"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
	browsertest.Do(t, ctx, "go to sign-up", chromedp.WaitVisible("#passkey-button"), chromedp.Click(`a[href^="/signup?interaction="]`), chromedp.WaitVisible("#signup-form"))
	browsertest.Do(t, ctx, "sign up with a passkey",
		chromedp.SendKeys("#email", "tv@example.com"),
		chromedp.SendKeys("#name", "Jonas Keller"),
		chromedp.Click("#signup-button"),
	)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/device/confirm?interaction=")
	browsertest.Do(t, ctx, "wait for the confirmation", chromedp.WaitVisible("#device-allow"))
	browsertest.WaitText(t, ctx, "h1", "Auf Ihrem Gerät bei Acme TV anmelden?")
	text := browsertest.Eval[string](t, ctx, `document.body.innerText`)
	for _, want := range []string{"Angemeldet als tv@example.com", "Go-Programm", "gerade eben", "Acme TV erhält folgende Rechte", "Zulassen", "Ablehnen"} {
		if !strings.Contains(text, want) {
			t.Errorf("confirmation does not say %q:\n%s", want, text)
		}
	}
	for _, en := range []string{"Go program", "just now", "ago", "Allow", "Deny", "Signed in as"} {
		if strings.Contains(text, en) {
			t.Errorf("English %q on the German confirmation:\n%s", en, text)
		}
	}
	if got := browsertest.Eval[string](t, ctx, `getComputedStyle(document.querySelector("#device-allow")).backgroundColor`); got != "rgb(15, 118, 110)" {
		t.Errorf("Allow is %s, want Acme TV's #0f766e", got)
	}
	checkHostedPage(t, ctx, hostedPage{name: "de-device-confirm", primary: "#device-allow", dark: true})
	browsertest.Do(t, ctx, "allow", chromedp.Click("#device-allow"), chromedp.WaitVisible(`#device-result[data-result="approved"]`))
	browsertest.WaitText(t, ctx, "h1", "Ihr Gerät ist angemeldet")
	checkHostedPage(t, ctx, hostedPage{name: "de-device-approved", dark: true})
	if r := cli.wait(t); r.err != nil || r.tok.AccessToken == "" {
		t.Fatalf("CLI: %v", r.err)
	}
}
