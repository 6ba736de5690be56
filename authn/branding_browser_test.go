package authn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/branding"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestBrandedPagesInChromium: with a custom brand (name, colours, logo,
// links, custom CSS) and an app with its own colours, privacy policy and
// terms, the login, consent and 404 pages show the brand in Chromium at
// 1280×800 and 390×844, light and dark: the app's colour on its primary
// button, the global brand where the app sets none, the custom stylesheet
// applied, the consent page linking the app's policy and terms. axe
// passes and the CSP (no inline style) blocks nothing (recordCSPViolations).
func TestBrandedPagesInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails())
	ctx := context.Background()
	admin := console.WithActor(ctx, console.CLIActor())
	if _, err := env.Server.Console().Branding.Update(admin, branding.Settings{
		ProductName: "Acme ID", PrimaryColor: "#0f766e", AccentColor: "#9333ea",
		SupportURL: "https://help.acme.example/", PrivacyURL: "https://acme.example/privacy",
		CustomCSS: "main.card { border-top: 4px solid var(--brand); }",
	}); err != nil {
		t.Fatal(err)
	}
	logo := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="4" fill="#9333ea"/><circle cx="8" cy="8" r="4" fill="#fff"/></svg>`
	if _, err := env.Server.Console().Branding.SetLogo(admin, []byte(logo)); err != nil {
		t.Fatal(err)
	}
	rp := newRelyingParty(t, env, clients.Spec{Name: "Acme Notes", PrimaryColor: "#b91c1c",
		PolicyURI: "https://notes.acme.example/privacy", TOSURI: "https://notes.acme.example/terms"})
	bctx := browsertest.New(t)
	recordCSPViolations(t, bctx)

	footer := func(where string) {
		t.Helper()
		text := browsertest.Eval[string](t, bctx, `document.querySelector("footer.brand").innerText`)
		if !strings.Contains(text, "Secured by Acme ID") || !strings.Contains(text, "Help") || !strings.Contains(text, "Privacy") {
			t.Errorf("%s: footer %q", where, text)
		}
		if !browsertest.Eval[bool](t, bctx, `(() => { const i = document.querySelector("footer.brand img.brand-logo"); return !!i && i.complete && i.naturalWidth > 0 })()`) {
			t.Errorf("%s: the brand logo is not shown in the footer", where)
		}
		if w := browsertest.Eval[string](t, bctx, `getComputedStyle(document.querySelector("main.card")).borderTopWidth`); w != "4px" {
			t.Errorf("%s: the custom stylesheet is not applied (border-top %s)", where, w)
		}
	}
	bg := func(sel string) string {
		return browsertest.Eval[string](t, bctx, `getComputedStyle(document.querySelector(`+jsQuote(sel)+`)).backgroundColor`)
	}

	// Login for an app with its own primary colour.
	a := rp.start()
	browsertest.Do(t, bctx, "open login", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	footer("login")
	if got := bg("#passkey-button"); got != "rgb(185, 28, 28)" {
		t.Errorf("login: the primary button is %s, want the app's #b91c1c", got)
	}
	if got := bg(".app .logo"); got != "rgb(147, 51, 234)" {
		t.Errorf("login: the app tile is %s, want the global accent #9333ea", got)
	}
	checkHostedPage(t, bctx, hostedPage{name: "branded-login", primary: "#passkey-button", dark: true})

	// Sign up with a passkey; consent names the app's policy and terms.
	browsertest.Do(t, bctx, "go to sign-up", chromedp.Click(`a[href^="/signup?interaction="]`), chromedp.WaitVisible("#signup-form"))
	browsertest.AddAuthenticator(t, bctx, browsertest.Passkey())
	browsertest.Do(t, bctx, "sign up",
		chromedp.SendKeys("#email", "ada@example.com"),
		chromedp.SendKeys("#name", "Ada Lovelace"),
		chromedp.Click("#signup-button"),
	)
	browsertest.WaitLocation(t, bctx, env.Issuer+"/consent?interaction=")
	browsertest.Do(t, bctx, "wait for consent", chromedp.WaitVisible(`button[value="allow"]`))
	footer("consent")
	links := browsertest.Eval[[]string](t, bctx, `[...document.querySelectorAll(".app-terms a")].map(a => a.href)`)
	if len(links) != 2 || links[0] != "https://notes.acme.example/privacy" || links[1] != "https://notes.acme.example/terms" {
		t.Errorf("consent: policy and terms links %v", links)
	}
	checkHostedPage(t, bctx, hostedPage{name: "branded-consent", primary: `button[value="allow"]`, dark: true})

	// The 404 page, in the brand's own colours (no app).
	browsertest.Do(t, bctx, "open a missing page", chromedp.Navigate(env.Issuer+"/no/such/page"), chromedp.WaitVisible("h1"))
	browsertest.WaitText(t, bctx, "h1", "Page not found")
	footer("404")
	if got := bg("#error-action"); got != "rgb(15, 118, 110)" {
		t.Errorf("404: the action is %s, want the brand's #0f766e", got)
	}
	checkHostedPage(t, bctx, hostedPage{name: "branded-404", primary: "#error-action", dark: true})
}
