package console_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsoleRegistrationInChromium: an admin with a passkey switches
// dynamic registration to protected on the policies page (an empty grant
// list is refused next to the field), mints an initial access token on the
// App registration page (bad input named per field; the value shown once
// in a copyable field), a developer registers an app with it (the clients
// list and the client's page mark it self-registered and show its RFC 7591
// links), and the admin revokes the token through the accessible
// confirmation and a passkey step-up, in Chromium. Each page passes
// checkConsolePage (axe-core, CSP, one h1, labelled fields, no sideways
// scrolling, visible focus) at 1280×800 and 390×844, the registration page
// also dark. SESAME_SCREENSHOTS=DIR saves a PNG of each view.
func TestConsoleRegistrationInChromium(t *testing.T) {
	env := servertest.New(t)
	ctx := browsertest.New(t)
	bg := context.Background()
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	link, err := console.Invite(bg, env.Store, env.Issuer, "root@example.test")
	must(t, err)
	jar, _ := cookiejar.New(nil)
	adminInChromium(t, ctx, env, &http.Client{Jar: jar}) // the CSP recorder
	browsertest.Do(t, ctx, "open the setup link", chromedp.Navigate(link), chromedp.WaitVisible("#console-action"))
	browsertest.Do(t, ctx, "create the admin's passkey", chromedp.Click("#console-action"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console")
	browsertest.Do(t, ctx, "see the dashboard", chromedp.WaitVisible("#feed"))
	open := func(path, waitFor string) {
		t.Helper()
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(waitFor))
	}

	// Policies: the registration section; no grant type is refused.
	open("/console/policies", "#registration_mode")
	browsertest.Do(t, ctx, "protected, without grant types", chromedp.SetValue("#registration_mode", config.RegistrationProtected),
		chromedp.Click(`input[name=registration_grant_types][value=authorization_code]`), chromedp.Click(`input[name=registration_grant_types][value=refresh_token]`),
		chromedp.Click(`form.policies button[type=submit]`), chromedp.WaitVisible("#registration_grant_types-error"))
	browsertest.WaitText(t, ctx, "#registration_grant_types-error", "at least one grant type")
	browsertest.Do(t, ctx, "scroll to the section", chromedp.ScrollIntoView("#registration"))
	checkConsolePage(t, ctx, "console-policies-registration-error")
	browsertest.Do(t, ctx, "protected, code flow only", chromedp.SetValue("#registration_mode", config.RegistrationProtected),
		chromedp.Click(`input[name=registration_grant_types][value=authorization_code]`),
		chromedp.Click(`form.policies button[type=submit]`))
	browsertest.WaitText(t, ctx, "main", "Policies saved.")
	p, err := env.Server.Console().Policies.Current(bg)
	if err != nil || p.Registration != config.RegistrationProtected || strings.Join(p.RegistrationGrantTypes, ",") != "authorization_code" {
		t.Fatalf("policy after save: %+v %v", p, err)
	}

	open("/console/registration", "#mint-token")
	browsertest.WaitText(t, ctx, "#registration-mode", "Registration is protected.")
	browsertest.WaitText(t, ctx, "main", "No initial access tokens yet")
	checkConsolePage(t, ctx, "console-registration-empty")

	browsertest.Do(t, ctx, "mint a bad one", chromedp.SetValue("#token_days", "0"), chromedp.SetValue("#token_uses", "0"),
		chromedp.Click(`#mint-token button[type=submit]`), chromedp.WaitVisible("#token_label-error"))
	browsertest.WaitText(t, ctx, "#token_label-error", "Enter a label")
	browsertest.WaitText(t, ctx, "#token_days-error", "1 to 365")
	browsertest.WaitText(t, ctx, "#token_uses-error", "between 1 and")
	checkConsolePage(t, ctx, "console-registration-error")

	browsertest.Do(t, ctx, "mint a good one", chromedp.SetValue("#token_days", "30"), chromedp.SendKeys("#token_label", "Partner Acme"), chromedp.SetValue("#token_uses", "2"),
		chromedp.Click(`#mint-token button[type=submit]`), chromedp.WaitVisible("#initial-token"))
	token := browsertest.Eval[string](t, ctx, `document.getElementById("initial-token").value`)
	if len(token) < 40 {
		t.Fatalf("minted token %q", token)
	}
	browsertest.WaitText(t, ctx, "table", "Partner Acme")
	checkConsolePage(t, ctx, "console-registration-minted")

	// The token shown registers an app.
	code, reg := register(t, env, token, map[string]any{"client_name": "Acme Portal", "redirect_uris": []string{"https://portal.acme.example/cb"},
		"client_uri": "https://acme.example", "policy_uri": "https://acme.example/privacy", "tos_uri": "https://acme.example/terms",
		"contacts": []string{"dev@acme.example"}})
	if code != http.StatusCreated {
		t.Fatalf("registration with the token shown: %d %v", code, reg)
	}
	id, _ := reg["client_id"].(string)
	open("/console/clients", "table")
	browsertest.WaitText(t, ctx, "table", "Self-registered")
	checkConsolePage(t, ctx, "console-clients-dynamic")
	open("/console/clients/"+id, "#client_name")
	browsertest.WaitText(t, ctx, "dl.facts", "the initial access token “Partner Acme”")
	browsertest.WaitText(t, ctx, "dl.facts", "https://acme.example/terms")
	browsertest.WaitText(t, ctx, "dl.facts", "dev@acme.example")
	checkConsolePage(t, ctx, "console-client-dynamic")

	// Revoke: the confirmation names what stops, then a passkey step-up.
	open("/console/registration", "table")
	browsertest.WaitText(t, ctx, "table", "used 1 of 2")
	browsertest.Do(t, ctx, "revoke", chromedp.Click(`button[aria-label="Revoke Partner Acme"]`))
	acceptConfirmation(t, ctx)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console/registration?done=token_revoked")
	browsertest.WaitText(t, ctx, "main", "Token revoked")
	browsertest.WaitText(t, ctx, "table", "revoked")
	checkConsolePage(t, ctx, "console-registration")
	list, err := env.Server.Console().Registration.List(bg)
	if err != nil || len(list) != 1 || list[0].State != console.TokenRevoked {
		t.Fatalf("tokens after revoke: %+v %v", list, err)
	}
	if code, _ := register(t, env, token, map[string]any{"redirect_uris": []string{"https://portal.acme.example/cb2"}}); code != http.StatusUnauthorized {
		t.Errorf("registration with the revoked token: %d, want 401", code)
	}
	stepUps := 0
	evs, err := env.Store.RecentAuthEvents(bg, time.Time{}, 50)
	must(t, err)
	for _, e := range evs {
		if e.Event == "step_up" && e.Result == models.ResultSuccess {
			stepUps++
		}
	}
	if stepUps < 1 {
		t.Error("the token was revoked without a passkey confirmation (step-up)")
	}
}
