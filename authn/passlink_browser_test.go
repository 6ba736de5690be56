package authn_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// TestPasslinkJourneyInChromium drives headless Chromium through the
// passlink paths a person takes, with the mails read from a real SMTP
// server in the test process and a stock OIDC client (go-oidc) at the
// other end: the link opened in the browser that asked; the link opened
// on a second device (a separate browser profile) that types the code the
// first screen shows while the first tab continues by itself; and
// recovery, where someone without a passkey signs in by link and adds a
// passkey (CDP virtual authenticator) that then signs in on its own.
func TestPasslinkJourneyInChromium(t *testing.T) {
	env := newPLEnv(t)
	rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	email := "ada-" + randomString()[:6] + "@example.com"
	u := plUser(t, env, email, false)
	mails := 0
	nextMail := func() string {
		t.Helper()
		mails++
		_, link := env.mailTo(t, mails, email)
		if link == "" {
			t.Fatalf("mail %d has no link", mails)
		}
		return env.Issuer + link
	}
	wantPasslinkClaims := func(c idClaims) {
		t.Helper()
		if c.Sub != u.ID || !slices.Equal(c.AMR, []string{"otp"}) || c.ACR != models.ACRBasic || !c.EmailVerified || c.Email != email {
			t.Fatalf("claims = %+v, want sub %s, amr [otp], acr basic, email verified", c, u.ID)
		}
	}

	// 1. Same browser: login page → "Email me a sign-in link" (the typed
	// address comes along) → check your inbox → the mail's link → confirm →
	// (no passkey yet: the offer; "Not now") → the app gets its code.
	a := rp.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passlink-link"))
	checkHostedPage(t, ctx, hostedPage{name: "passlink-1-login", primary: "#passkey-button"})
	browsertest.WaitLoaded(t, ctx)
	browsertest.Do(t, ctx, "ask for a link", chromedp.SendKeys("#email", email), chromedp.Click("#passlink-link"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/passlink?")
	browsertest.Do(t, ctx, "request form", chromedp.WaitVisible("#passlink-form"))
	browsertest.WaitLoaded(t, ctx)
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("email").value`); got != email {
		t.Fatalf("the request form has %q, want the address typed on the login page", got)
	}
	checkHostedPage(t, ctx, hostedPage{name: "passlink-2-request", primary: "#passlink-send"})
	browsertest.Do(t, ctx, "send", chromedp.Click("#passlink-send"), chromedp.WaitVisible("#passlink-code"))
	browsertest.WaitText(t, ctx, "#passlink-status", "Waiting")
	checkHostedPage(t, ctx, hostedPage{name: "passlink-3-sent", dark: true})
	link := nextMail()
	browsertest.Do(t, ctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible("#passlink-signin"))
	checkHostedPage(t, ctx, hostedPage{name: "passlink-4-confirm", primary: "#passlink-signin"})
	browsertest.Do(t, ctx, "confirm", chromedp.Click("#passlink-signin"), chromedp.WaitVisible("#add-passkey"))
	checkHostedPage(t, ctx, hostedPage{name: "passlink-5-passkey-offer", primary: "#add-passkey"})
	browsertest.Do(t, ctx, "not now", chromedp.Click("#not-now"))
	wantPasslinkClaims(a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback)))

	// The used link, opened again, explains itself.
	browsertest.Do(t, ctx, "open the used link", chromedp.Navigate(link), chromedp.WaitVisible("h1"))
	if h := browsertest.Eval[string](t, ctx, `document.querySelector("h1").innerText`); !strings.Contains(h, "already used") {
		t.Fatalf("used link page says %q", h)
	}
	checkHostedPage(t, ctx, hostedPage{name: "passlink-6-used"})

	// 2. Another device: a second browser opens the link, sees which
	// device asked, types the code the first screen shows (a wrong one
	// first) and approves; the first tab continues by itself.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "ask again", chromedp.Navigate(a.url), chromedp.WaitVisible("#passlink-link"))
	browsertest.WaitLoaded(t, ctx)
	browsertest.Do(t, ctx, "to the request form", chromedp.SendKeys("#email", email), chromedp.Click("#passlink-link"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/passlink?")
	browsertest.Do(t, ctx, "request form", chromedp.WaitVisible("#passlink-form"))
	browsertest.WaitLoaded(t, ctx)
	browsertest.Do(t, ctx, "send again", chromedp.Click("#passlink-send"), chromedp.WaitVisible("#passlink-code"))
	code := strings.ReplaceAll(browsertest.Eval[string](t, ctx, `document.getElementById("passlink-code").innerText`), " ", "")
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	link = nextMail()
	phone := browsertest.New(t)
	recordCSPViolations(t, phone)
	browsertest.Do(t, phone, "open the link elsewhere", chromedp.Navigate(link), chromedp.WaitVisible("#code"))
	if who := browsertest.Eval[string](t, phone, `document.querySelector(".device-card").innerText`); !strings.Contains(who, "Chrome on Linux") {
		t.Fatalf("the approval page does not say which device asked: %q", who)
	}
	checkHostedPage(t, phone, hostedPage{name: "passlink-7-approve", primary: "#approve-button", dark: true})
	browsertest.Do(t, phone, "wrong code",
		chromedp.SendKeys("#code", wrongDigits(code)), chromedp.Click("#approve-button"), chromedp.WaitVisible("#code-error"))
	browsertest.WaitText(t, phone, "#code-error", "4 tries left")
	checkHostedPage(t, phone, hostedPage{name: "passlink-8-wrong-code", primary: "#approve-button"})
	browsertest.Do(t, phone, "right code",
		chromedp.SendKeys("#code", code[:3]+" "+code[3:]), chromedp.Click("#approve-button"), chromedp.WaitVisible(".notice"))
	checkHostedPage(t, phone, hostedPage{name: "passlink-9-approved"})
	// The first tab polls, takes the approval and goes on (to the offer).
	browsertest.WaitLocation(t, ctx, env.Issuer+"/passlink/passkey")
	browsertest.Do(t, ctx, "not now again", chromedp.WaitVisible("#not-now"), chromedp.Click("#not-now"))
	wantPasslinkClaims(a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback)))
	// The phone was not signed in.
	browsertest.Do(t, phone, "phone account", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("h1"))
	if body := browsertest.Eval[string](t, phone, `document.body.innerText`); strings.Contains(body, email) {
		t.Fatal("the approving device was signed in without asking")
	}

	// 3. Recovery: no usable passkey → sign in by link → add a passkey on
	// the offer page → the authorization continues; the new passkey then
	// signs in alone, meeting a phishing-resistant acr that a link cannot.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "ask for a recovery link",
		chromedp.Navigate(a.url), chromedp.WaitVisible("#passlink-link"),
		chromedp.SendKeys("#email", email), chromedp.Click("#passlink-link"), chromedp.WaitVisible("#passlink-form"),
		chromedp.Click("#passlink-send"), chromedp.WaitVisible("#passlink-code"))
	link = nextMail()
	browsertest.Do(t, ctx, "confirm recovery", chromedp.Navigate(link), chromedp.WaitVisible("#passlink-signin"),
		chromedp.Click("#passlink-signin"), chromedp.WaitVisible("#add-passkey"))
	auth := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "add a passkey", chromedp.Click("#add-passkey"))
	wantPasslinkClaims(a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback)))
	if n := len(browsertest.Credentials(t, ctx, auth)); n != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", n)
	}
	creds, err := env.Store.ListUserCredentials(context.Background(), u.ID)
	if err != nil || len(creds) != 1 || creds[0].Kind != models.CredentialPasskey {
		t.Fatalf("stored credentials %+v %v", creds, err)
	}

	restore := browsertest.WithoutAutofill(t, ctx)
	defer restore()
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant))
	browsertest.Do(t, ctx, "sign in with the new passkey", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#passlink-link").length`); n != 0 {
		t.Fatal("the login page offers a link to a request that demands a phishing-resistant login")
	}
	browsertest.Screenshot(t, ctx, "passlink-10-login-phr")
	browsertest.Do(t, ctx, "passkey button", chromedp.Click("#passkey-button"))
	c := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if c.Sub != u.ID || c.ACR != models.ACRDeviceBound || !slices.Contains(c.AMR, "pop") {
		t.Fatalf("passkey claims = %+v", c)
	}
}
