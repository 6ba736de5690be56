package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
)

// TestConsoleUpstreamsInChromium: an admin adds an upstream sign-in
// service in the console — a refusal names each bad field and keeps no
// secret in the form — from the Google preset (issuer and scopes filled
// in, the secret sealed), edits its domains keeping the secret, and
// deletes it after the confirmation. Each page passes checkConsolePage
// (axe-core, CSP, one h1, labelled fields, no sideways scrolling, visible
// focus) at 1280×800 and 390×844.
func TestConsoleUpstreamsInChromium(t *testing.T) {
	env, httpBrowser, admin := uiAdmin(t)
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	browsertest.Do(t, ctx, "open", chromedp.Navigate(env.Issuer+"/console/upstreams"), chromedp.WaitVisible("#upstream-save"))
	browsertest.WaitText(t, ctx, "#upstream-callback", "/login/upstream/callback")
	checkConsolePage(t, ctx, "console-upstreams-empty")

	browsertest.Do(t, ctx, "add a bad one", chromedp.SendKeys("#up_id", "Acme!"), chromedp.SendKeys("#up_issuer", "http://sso.acme.example"),
		chromedp.SendKeys("#up_client_secret", "typed-secret"), chromedp.Click("#upstream-save"), chromedp.WaitVisible("#up_issuer-error"))
	browsertest.WaitText(t, ctx, "#up_issuer-error", "https")
	browsertest.WaitText(t, ctx, "#up_id-error", "Lower-case")
	browsertest.WaitText(t, ctx, "#up_client_id-error", "Required")
	if v := browsertest.Eval[string](t, ctx, `document.getElementById("up_client_secret").value`); v != "" {
		t.Errorf("the refused form kept the secret %q", v)
	}
	checkConsolePage(t, ctx, "console-upstreams-error")

	browsertest.Do(t, ctx, "add from the preset", chromedp.Navigate(env.Issuer+"/console/upstreams"), chromedp.WaitVisible("#upstream-save"),
		chromedp.SetValue("#up_preset", "google"), chromedp.SendKeys("#up_client_id", "123.apps.googleusercontent.com"),
		chromedp.SendKeys("#up_client_secret", "g-secret"), chromedp.Click("#upstream-save"), chromedp.WaitVisible(".danger-zone"))
	browsertest.WaitText(t, ctx, "main", "saved")
	checkConsolePage(t, ctx, "console-upstream")
	p, err := env.Store.GetUpstreamProvider(context.Background(), "google")
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer != "https://accounts.google.com" || p.ClientSecretSealed == "" || strings.Contains(p.ClientSecretSealed, "g-secret") {
		t.Fatalf("stored %+v", p)
	}

	browsertest.Do(t, ctx, "edit domains", chromedp.Navigate(env.Issuer+"/console/upstreams/google"), chromedp.WaitVisible("#up_domains"),
		chromedp.SendKeys("#up_domains", "acme.example"), chromedp.Click("#upstream-save"))
	browsertest.WaitText(t, ctx, "main", "saved")
	after, err := env.Store.GetUpstreamProvider(context.Background(), "google")
	if err != nil {
		t.Fatal(err)
	}
	if !after.Domains.Has("acme.example") || after.ClientSecretSealed != p.ClientSecretSealed {
		t.Fatalf("after edit %+v", after)
	}

	// A fresh confirmation, as for every deletion (the client deletion
	// test walks that dialog).
	sessions, err := env.Store.ListUserLoginSessions(context.Background(), admin.ID)
	if err != nil || len(sessions) == 0 {
		t.Fatalf("admin sessions: %v %v", sessions, err)
	}
	if err := env.Store.SetLoginSessionSteppedUp(context.Background(), sessions[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, ctx, "delete", chromedp.Click("details.danger-zone summary"), chromedp.Click(".danger-zone button.danger"))
	acceptConfirmation(t, ctx)
	browsertest.WaitText(t, ctx, "main", "deleted")
	if list, _ := env.Store.ListUpstreamProviders(context.Background()); len(list) != 0 {
		t.Fatalf("still configured: %+v", list)
	}
}
