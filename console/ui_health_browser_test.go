package console_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestCredentialHealthInChromium opens the dashboard's health card and
// funnel, the credential health page and a user's page in Chromium (axe,
// CSP, labels, focus, no sideways scrolling; light and dark, 1280 and 390
// px; once), on SQLite and PostgreSQL, the synced share and the people whose every passkey syncs, and
// follows a finding to the user it concerns.
func TestCredentialHealthInChromium(t *testing.T) {
	first := true
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		pages := first // axe and screenshots once: the pages are the same
		first = false
		credentialHealthJourney(t, pages, opts...)
	})
}

func credentialHealthJourney(t *testing.T, pages bool, opts ...servertest.Option) {
	env, httpBrowser, _ := uiAdmin(t, opts...)
	check := func(t *testing.T, ctx context.Context, name string, _ bool) {
		t.Helper()
		if pages {
			checkConsolePage(t, ctx, name)
		}
	}
	ctx := browsertest.New(t)
	bg := context.Background()
	old := time.Now().Add(-120 * 24 * time.Hour)
	ada := env.CreateUser("ada.lovelace.with.a.long.address@example.test")
	bob := env.CreateUser("bob@example.test")
	for _, c := range []models.WebAuthnCredential{
		{ID: "cred-mac", UserID: ada.ID, Name: "MacBook", AAGUID: "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", BackupEligible: true, LastUsedAt: &old, CreatedAt: old},
		{ID: "cred-key", UserID: ada.ID, Name: "YubiKey", AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", CloneWarning: true, LastUsedAt: ptrTime(time.Now())},
		{ID: "cred-phone", UserID: bob.ID, Name: "Pixel", BackupEligible: true},
	} {
		c.Kind, c.PublicKey = models.CredentialPasskey, "k"
		must(t, env.Store.CreateCredential(bg, &c))
	}
	must(t, env.Store.RecordAuthEvent(bg, &models.AuthEvent{ID: "ev-ada", At: time.Now(), UserID: ada.ID,
		Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}))

	adminInChromium(t, ctx, env, httpBrowser)
	open := func(path, waitFor string) {
		t.Helper()
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(waitFor))
	}
	text := func(sel string) string {
		return browsertest.Eval[string](t, ctx, "document.querySelector("+strconv.Quote(sel)+").innerText")
	}

	open("/console", "#funnel-h")
	funnel := text(".funnel")
	for _, want := range []string{"Signed up\n3", "Added a passkey\n2 (67%)", "A second passkey, or a device-bound one\n1 (33%; 50% of the stage above)", "Only passkeys in the last 30 days\n1 (33%; 100% of the stage above)"} {
		if !strings.Contains(funnel, want) {
			t.Errorf("funnel lacks %q:\n%s", want, funnel)
		}
	}
	card := text(`section[aria-labelledby="health-h"] dl`)
	for _, want := range []string{"Possibly cloned\n1 of 1 user", "Never used\n1 of 1 user", "Unused for 90 days\n1 of 1 user", "Compromised model\nnot checked"} {
		if !strings.Contains(card, want) {
			t.Errorf("health card lacks %q:\n%s", want, card)
		}
	}
	// The synced share, and who a block of synced passkeys would lock
	// out: Ada (her YubiKey is clone-flagged, her MacBook syncs) and Bob.
	if creds := text(`section[aria-labelledby="creds-h"] dl`); !strings.Contains(creds, "2 (67%)") || text("#only-synced dd") != "2" {
		t.Errorf("credentials card lacks the synced share or the people with only synced passkeys:\n%s", creds)
	}
	check(t, ctx, "console-dashboard-health", true)

	// The chart legends drill down into one method or one app.
	browsertest.Do(t, ctx, "drill into passkeys", chromedp.Click(`a[href="/console/stats?method=passkey&range=24h"]`), chromedp.WaitVisible("#reasons-h"))
	if got, main := text("h1"), text("main"); got != "Sign-ins: Passkey" || !strings.Contains(main, "Signed in\n1") || !strings.Contains(main, "Account page") {
		t.Errorf("passkey drill-down %q:\n%s", got, main)
	}
	check(t, ctx, "console-stats-method", true)
	open("/console/stats?client_id=&range=7d", "#split-h")
	if got, split := text("h1"), text(`section[aria-labelledby="split-h"]`); got != "Sign-ins: Account page" || !strings.Contains(split, "Passkey") {
		t.Errorf("account page drill-down %q:\n%s", got, split)
	}
	check(t, ctx, "console-stats-client", false)
	open("/console", "#funnel-h")

	// The card's finding opens the list; the list links to the user.
	browsertest.Do(t, ctx, "follow the stale finding", chromedp.Click(`a[href="/console/credentials?finding=stale"]`), chromedp.WaitVisible("#list-h"))
	if got := text("#list-h"); got != "Unused for 90 days" {
		t.Errorf("list heading %q", got)
	}
	if got := text("#synced-share"); !strings.Contains(got, "67% of them sync between devices") || !strings.Contains(got, "2 people have only synced passkeys") {
		t.Errorf("health page synced share: %q", got)
	}
	rows := text("tbody")
	if !strings.Contains(rows, ada.Email) || !strings.Contains(rows, "MacBook") || strings.Contains(rows, "YubiKey") || strings.Contains(rows, "Pixel") {
		t.Errorf("stale credentials:\n%s", rows)
	}
	check(t, ctx, "console-credentials", true)
	browsertest.Do(t, ctx, "open the user", chromedp.Click(`tbody a[href^="/console/users/`+ada.ID+`"]`), chromedp.WaitVisible("#creds-h"))
	creds := text("#creds-h + .table-wrap")
	if !strings.Contains(creds, "MacBook Unused for 90 days") || !strings.Contains(creds, "YubiKey Possibly cloned") {
		t.Errorf("user's credentials lack their findings:\n%s", creds)
	}
	check(t, ctx, "console-user-health", true)

	open("/console/credentials?finding=compromised_model", "#list-h")
	if !strings.Contains(text("main"), "has not loaded FIDO metadata yet") {
		t.Error("compromised models: no word that nothing checks them")
	}
	check(t, ctx, "console-credentials-unchecked", false)
}

func ptrTime(t time.Time) *time.Time { return &t }
