package authn_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// TestPasswordJourneyInChromium drives headless Chromium through the
// password + security key paths a person takes, with a CDP virtual
// security key (ctap2, usb, no resident key, no user verification), a
// stock OIDC client (go-oidc) at the other end and the mails read from a
// real SMTP server in the test process: the first sign-in, which enrols
// the key before any session; a wrong password; password + key; the
// right password with a key that holds only another account's
// credential; a reset by emailed link; the account page. Every page is
// checked with axe and the layout checks (checkHostedPage), at the
// argon2id parameters a server runs with.
func TestPasswordJourneyInChromium(t *testing.T) {
	env := newPLEnv(t)
	rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	email := "ada-" + randomString()[:6] + "@example.com"
	u := pwUser(t, env.Env, email, "correct horse battery staple")
	bob := pwUser(t, env.Env, "bob-"+randomString()[:6]+"@example.com", "bob's own passphrase")
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	restore := browsertest.WithoutAutofill(t, ctx)
	defer restore()

	// 1. The login page offers "Use password and security key".
	a := rp.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#password-link"))
	checkHostedPage(t, ctx, hostedPage{name: "password-0-login", primary: "#passkey-button"})
	browsertest.Do(t, ctx, "choose password", chromedp.Click("#password-link"), chromedp.WaitVisible("#password-form"))
	checkHostedPage(t, ctx, hostedPage{name: "password-1-form", primary: "#password-continue", dark: true})

	// 2. A wrong password: the answer sits under the field.
	browsertest.Do(t, ctx, "wrong password",
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", "wrong horse battery staple"),
		chromedp.Click("#password-continue"))
	browsertest.WaitText(t, ctx, "#password-error", "email or password is wrong")
	checkHostedPage(t, ctx, hostedPage{name: "password-2-wrong", primary: "#password-continue"})

	// 3. The right password: no key yet, so the page asks to set one up;
	// the key is enrolled before any session exists.
	browsertest.Do(t, ctx, "right password",
		chromedp.Clear("#password"), chromedp.SendKeys("#password", "correct horse battery staple"),
		chromedp.Click("#password-continue"), chromedp.WaitVisible("#key-button"))
	browsertest.WaitText(t, ctx, "h1", "Set up your security key")
	if n := countRows(t, env.Env, "login_sessions"); n != 0 {
		t.Fatalf("%d sessions before the key was enrolled", n)
	}
	checkHostedPage(t, ctx, hostedPage{name: "password-3-enrol", primary: "#key-button", dark: true})
	key := browsertest.AddAuthenticator(t, ctx, browsertest.SecurityKey())
	browsertest.Do(t, ctx, "set up the key", chromedp.Click("#key-button"))
	c := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if c.Sub != u.ID || !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != models.ACRBasic {
		t.Fatalf("enrolment claims %+v, want amr [pwd] at basic", c)
	}
	held := browsertest.Credentials(t, ctx, key)
	if len(held) != 1 || held[0].IsResidentCredential {
		t.Fatalf("the key holds %+v, want one non-resident credential", held)
	}

	// 4. Password + key: the key step runs by itself after the password.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	signInWithPassword := func(what, pw string) {
		t.Helper()
		browsertest.Do(t, ctx, what,
			chromedp.Navigate(a.url), chromedp.WaitVisible("#password-link"), chromedp.Click("#password-link"),
			chromedp.WaitVisible("#password-form"),
			chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", pw), chromedp.Click("#password-continue"))
	}
	signInWithPassword("password and key", "correct horse battery staple")
	c = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if c.Sub != u.ID || !slices.Equal(c.AMR, []string{"pwd", "hwk", "mfa"}) || c.ACR != models.ACRPhishingResistant {
		t.Fatalf("password + key claims %+v, want amr [pwd hwk mfa] at phr", c)
	}

	// 5. The right password, then a key that holds only Bob's credential:
	// Bob enrols it first (signing in without an app), then signs out.
	held = browsertest.Credentials(t, ctx, key) // with its counter now
	browsertest.RemoveAuthenticator(t, ctx, key)
	bobKey := browsertest.AddAuthenticator(t, ctx, browsertest.SecurityKey())
	browsertest.Do(t, ctx, "bob signs in", chromedp.Navigate(env.Issuer+"/login/password"), chromedp.WaitVisible("#password-form"),
		chromedp.SendKeys("#email", bob.Email), chromedp.SendKeys("#password", "bob's own passphrase"),
		chromedp.Click("#password-continue"), chromedp.WaitVisible("#key-button"), chromedp.Click("#key-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	browsertest.Do(t, ctx, "bob signs out", chromedp.WaitVisible(`form[action="/account/signout"] button`),
		chromedp.Click(`form[action="/account/signout"] button`), chromedp.WaitVisible(`a.button.primary[href="/login"]`))
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	signInWithPassword("password and the wrong key", "correct horse battery staple")
	browsertest.WaitText(t, ctx, "#status", "No security key was used")
	if loc := browsertest.Location(t, ctx); strings.HasPrefix(loc, rp.callback) {
		t.Fatal("a key of another account signed in")
	}
	checkHostedPage(t, ctx, hostedPage{name: "password-4-wrong-key", primary: "#key-button"})
	// The right key, and "Try again" on the same page.
	browsertest.RemoveAuthenticator(t, ctx, bobKey)
	key = browsertest.AddAuthenticator(t, ctx, browsertest.SecurityKey())
	browsertest.AddCredential(t, ctx, key, held[0])
	browsertest.Do(t, ctx, "try again", chromedp.Click("#key-button"))
	c = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if c.Sub != u.ID || c.ACR != models.ACRPhishingResistant {
		t.Fatalf("after trying again: %+v", c)
	}

	// 6. Reset by emailed link, in the middle of an authorization.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "forgot password",
		chromedp.Navigate(a.url), chromedp.WaitVisible("#password-link"), chromedp.Click("#password-link"),
		chromedp.WaitVisible("#forgot-link"), chromedp.SendKeys("#email", email),
		chromedp.Click("#forgot-link"), chromedp.WaitVisible("#forgot-form"))
	// The address typed on the sign-in form came along.
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("email").value`); got != email {
		t.Fatalf("the forgot form has %q, want the address typed before", got)
	}
	checkHostedPage(t, ctx, hostedPage{name: "password-5-forgot", primary: "#forgot-send"})
	browsertest.Do(t, ctx, "ask for a reset link", chromedp.Click("#forgot-send"), chromedp.WaitVisible(".notice"))
	browsertest.WaitText(t, ctx, "h1", "Check your inbox")
	checkHostedPage(t, ctx, hostedPage{name: "password-6-sent"})
	msg, _ := env.mailTo(t, 1, email)
	m := resetLinkRE.FindString(msg.Text)
	if m == "" {
		t.Fatalf("no reset link in:\n%s", msg.Text)
	}
	browsertest.Do(t, ctx, "open the reset link", chromedp.Navigate(env.Issuer+m), chromedp.WaitVisible("#reset-form"))
	checkHostedPage(t, ctx, hostedPage{name: "password-7-reset", primary: "#reset-save", dark: true})
	browsertest.Do(t, ctx, "a weak password", chromedp.SendKeys("#new-password", "password1"), chromedp.Click("#reset-save"), chromedp.WaitVisible("#new-password-error"))
	browsertest.WaitText(t, ctx, "#new-password-error", "at least 10 characters")
	checkHostedPage(t, ctx, hostedPage{name: "password-8-reset-refused", primary: "#reset-save"})
	browsertest.Do(t, ctx, "a good password",
		chromedp.Clear("#new-password"), chromedp.SendKeys("#new-password", "tulip lantern orbit 42"),
		chromedp.Click("#show-password"), chromedp.Click("#reset-save"), chromedp.WaitVisible("#password-form"))
	browsertest.WaitText(t, ctx, ".notice", "Your password was changed")
	checkHostedPage(t, ctx, hostedPage{name: "password-9-after-reset", primary: "#password-continue"})
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("email").value`); got != email {
		t.Fatalf("the sign-in form after the reset has %q, want the address", got)
	}
	browsertest.Do(t, ctx, "sign in with the new password", chromedp.SendKeys("#password", "tulip lantern orbit 42"), chromedp.Click("#password-continue"))
	c = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if c.Sub != u.ID || !slices.Equal(c.AMR, []string{"pwd", "hwk", "mfa"}) {
		t.Fatalf("after the reset: %+v", c)
	}

	// 7. The account page: the key beside the passkeys, as a second
	// factor; the password can change (a recent sign-in).
	browsertest.Do(t, ctx, "open account", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("#security-key-list"))
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("security-key-list").innerText`); !strings.Contains(got, "Second factor") {
		t.Fatalf("security key listed as %q", got)
	}
	browsertest.Do(t, ctx, "open manage", chromedp.Click("#security-key-list details.manage summary"))
	checkHostedPage(t, ctx, hostedPage{name: "password-10-account", primary: "#add-passkey", dark: true})
	browsertest.Do(t, ctx, "change password", chromedp.SendKeys("#new-password", "violet harbor engine 7"), chromedp.Click("#password-save"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=password_changed")
	checkHostedPage(t, ctx, hostedPage{name: "password-11-changed", primary: "#add-passkey"})
}

// TestPasswordRefusedForPasskeyOnlyClientInChromium: a client that allows
// only passkeys never shows the password form, and a password posted from
// its login page anyway (a forged request, with the page's own CSRF
// token) is refused with 403.
func TestPasswordRefusedForPasskeyOnlyClientInChromium(t *testing.T) {
	env := newPWEnv(t)
	pwUser(t, env.Env, "ada@example.com", "correct horse battery staple")
	rp := newRelyingParty(t, env.Env, clients.Spec{Name: "Passkey Shop", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none",
		AllowedLoginMethods: []string{models.MethodPasskey}})
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	restore := browsertest.WithoutAutofill(t, ctx)
	defer restore()
	a := rp.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#password-link, #password-form, input[type=password]").length`); n != 0 {
		t.Fatal("a passkey-only client's login page shows the password")
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(async function () {
  var p = document.getElementById("page");
  var r = await fetch("/login/password", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": p.dataset.csrf},
    body: JSON.stringify({interaction: p.dataset.interaction, email: "ada@example.com", password: "correct horse battery staple"})});
  return r.status;
})()`, chromedp.EvalAwaitPromise))
	if err != nil || status != 403 {
		t.Fatalf("a forged password post answered %d (%v), want 403", status, err)
	}
	browsertest.Do(t, ctx, "open the password page anyway",
		chromedp.Navigate(env.Issuer+"/login/password?interaction="+strings.TrimPrefix(browsertest.Location(t, ctx), env.Issuer+"/login?interaction=")),
		chromedp.WaitVisible("h1"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("input[type=password]").length`); n != 0 {
		t.Fatal("the password form is shown for a passkey-only client")
	}
	if countRows(t, env.Env, "login_sessions") != 0 {
		t.Fatal("someone was signed in")
	}

	// A client whose methods cannot give what the request asks for: a
	// clear page, not a form that cannot work.
	linkOnly := newRelyingParty(t, env.Env, clients.Spec{Name: "Link App", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none",
		AllowedLoginMethods: []string{models.MethodPasslink}})
	a = linkOnly.start(oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant))
	browsertest.Do(t, ctx, "open a request nothing can meet", chromedp.Navigate(a.url), chromedp.WaitVisible("h1"))
	browsertest.WaitText(t, ctx, "h1", "No way to sign in to Link App")
	checkHostedPage(t, ctx, hostedPage{name: "password-12-no-method"})
}
