package authn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
)

// TestRecoveryCodesJourneyInChromium: with recovery codes offered, a
// person with a passkey (virtual authenticator) signs in freshly, creates
// codes on /account (shown once), signs out, then — passkey gone — signs
// in with "Use a recovery code" (a wrong code first), lands straight on
// "add a passkey", adds one on a new authenticator and sees the count go
// down. Every new page is checked with axe and screenshotted at 1280x800
// and 390x844 (light and dark where it matters).
func TestRecoveryCodesJourneyInChromium(t *testing.T) {
	env := newPLEnv(t)
	setRecoveryPolicy(t, env, policy.RecoveryOffer)
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	email := "grace-" + randomString()[:6] + "@example.com"
	u := plUser(t, env, email, true)

	old := linkThenPasskey(t, env, ctx, email)

	// The link sign-in is not fresh enough to create codes: sign in again
	// with the passkey, as the page says.
	browsertest.Do(t, ctx, "account", chromedp.WaitVisible("#reauth-recovery"))
	restore := browsertest.WithoutAutofill(t, ctx)
	browsertest.Do(t, ctx, "sign in again", chromedp.Click("#reauth-recovery"), chromedp.WaitVisible("#passkey-button"),
		chromedp.Click("#passkey-button"))
	restore()
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	browsertest.Do(t, ctx, "recovery section", chromedp.WaitVisible("#create-codes"))
	browsertest.Do(t, ctx, "scroll", chromedp.ScrollIntoView("#recovery"))
	checkHostedPage(t, ctx, hostedPage{name: "recovery-1-account"})
	browsertest.Do(t, ctx, "create codes", chromedp.Click("#create-codes"), chromedp.WaitVisible("#recovery-codes"))
	checkHostedPage(t, ctx, hostedPage{name: "recovery-2-codes", primary: "#codes-done", dark: true})
	codes := browsertest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#recovery-codes code"), c => c.innerText)`)
	if len(codes) != 10 {
		t.Fatalf("%d codes shown, want 10", len(codes))
	}
	if href := browsertest.Eval[string](t, ctx, `document.getElementById("download-codes").getAttribute("href")`); !strings.HasPrefix(href, "data:text/plain") || !strings.Contains(href, codes[9]) {
		t.Fatalf("download link %.60q does not hold the codes", href)
	}
	if hidden := browsertest.Eval[bool](t, ctx, `document.getElementById("copy-codes").hidden`); hidden {
		t.Error("the copy button stays hidden in a browser with the Clipboard API")
	}
	browsertest.Do(t, ctx, "saved", chromedp.Click("#codes-done"), chromedp.WaitVisible("#recovery-left"))
	browsertest.WaitText(t, ctx, "#recovery-left", "10 of 10")

	// Sign out; the passkey is lost with its device.
	browsertest.Do(t, ctx, "sign out", chromedp.Click(`form[action="/account/signout"] button`),
		chromedp.WaitVisible(`.actions a.button.primary[href="/login"]`))
	browsertest.RemoveAuthenticator(t, ctx, old)

	browsertest.Do(t, ctx, "login page", chromedp.Click(`a[href="/login"]`), chromedp.WaitVisible("#recovery-link"))
	checkHostedPage(t, ctx, hostedPage{name: "recovery-3-login", primary: "#passkey-button"})
	browsertest.Do(t, ctx, "use a recovery code", chromedp.Click("#recovery-link"), chromedp.WaitVisible("#recovery-form"))
	checkHostedPage(t, ctx, hostedPage{name: "recovery-4-form", primary: "#recovery-continue", dark: true})
	browsertest.Do(t, ctx, "a wrong code", chromedp.SendKeys("#identifier", email), chromedp.SendKeys("#code", "0000-0000-0000-0000"),
		chromedp.Click("#recovery-continue"), chromedp.WaitVisible("#status"))
	browsertest.WaitText(t, ctx, "#status", "didn't work")
	checkHostedPage(t, ctx, hostedPage{name: "recovery-5-wrong", primary: "#recovery-continue"})
	browsertest.Do(t, ctx, "the right code", chromedp.SendKeys("#code", strings.ToUpper(codes[2])),
		chromedp.Click("#recovery-continue"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/passlink/passkey?via=recovery")
	browsertest.Do(t, ctx, "offer", chromedp.WaitVisible("#recovery-used"))
	browsertest.WaitText(t, ctx, "#recovery-used", "9 codes remain")
	checkHostedPage(t, ctx, hostedPage{name: "recovery-6-add-passkey", primary: "#add-passkey"})

	// A new device: add a passkey, land on the account page.
	fresh := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "add a passkey", chromedp.Click("#add-passkey"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	browsertest.WaitText(t, ctx, "#recovery-left", "9 of 10")
	if n := len(browsertest.Credentials(t, ctx, fresh)); n != 1 {
		t.Fatalf("new authenticator holds %d credentials, want 1", n)
	}
	sessions, err := env.Store.ListUserLoginSessions(context.Background(), u.ID)
	if err != nil || len(sessions) == 0 || sessions[0].ACR != models.ACRBasic {
		t.Fatalf("session after a recovery code: %+v, %v (want basic)", sessions, err)
	}
}

// linkThenPasskey gives the account of email (which has no credential) a
// passkey as a person would: a sign-in link from the login page, then the
// offer page's "add a passkey" on a new virtual authenticator. The browser
// ends on /account, signed in by the link (not fresh enough for changes
// that need a recent passkey sign-in). It returns the authenticator.
func linkThenPasskey(t *testing.T, env *plEnv, ctx context.Context, email string) webauthn.AuthenticatorID {
	t.Helper()
	a := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "ask for a link", chromedp.Navigate(env.Issuer+"/login"), chromedp.WaitVisible("#passlink-link"),
		chromedp.SendKeys("#email", email), chromedp.Click("#passlink-link"), chromedp.WaitVisible("#passlink-form"),
		chromedp.Click("#passlink-send"), chromedp.WaitVisible("#passlink-code"))
	_, link := env.mailTo(t, 1, email)
	browsertest.Do(t, ctx, "use the link", chromedp.Navigate(env.Issuer+link), chromedp.WaitVisible("#passlink-signin"),
		chromedp.Click("#passlink-signin"), chromedp.WaitVisible("#add-passkey"), chromedp.Click("#add-passkey"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	return a
}
