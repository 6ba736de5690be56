package console_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsoleGermanInChromium: an admin switches the console to German
// with its language switch (the choice is saved as their locale), then
// every console page is German — the shell, the page, the page script's
// words, dates with month names — and passes the console's checks (axe,
// labels, focus, no sideways scrolling) at 1280×800 and 390×844 in light
// and dark. A confirmation dialog speaks German too. On both dialects; the
// page checks run once, as the pages are the same.
// SESAME_SCREENSHOTS=DIR saves a PNG of each view.
func TestConsoleGermanInChromium(t *testing.T) {
	first := true
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		checks := first
		first = false
		germanConsoleJourney(t, checks, opts...)
	})
}

func germanConsoleJourney(t *testing.T, checks bool, opts ...servertest.Option) {
	env, httpBrowser, admin := uiAdmin(t, opts...)
	bg := context.Background()
	// Everything the pages list, made through the console's services as
	// the admin (the browser stays English: the switch decides).
	actx := console.WithActor(bg, console.Actor{Kind: models.ActorUser, ID: admin.ID, Label: admin.Email, IP: "127.0.0.1"})
	con := env.Server.Console()
	cl, _, err := con.Clients.Create(actx, clients.Spec{Name: "Acme Notizen", RedirectURIs: []string{"https://notes.example/cb"}})
	must(t, err)
	ada := env.CreateUser("ada@example.test")
	must(t, env.Store.CreateCredential(bg, &models.WebAuthnCredential{ID: "cred-ada", UserID: ada.ID, Kind: models.CredentialPasskey,
		Name: "MacBook", PublicKey: "k", AAGUID: "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", BackupEligible: true}))
	_, err = con.Groups.Create(actx, console.GroupSpec{Name: "staff", Description: "Belegschaft"})
	must(t, err)
	_, err = con.Groups.AddMember(actx, "staff", ada.Email)
	must(t, err)
	_, err = con.Scopes.Create(actx, clients.ScopeSpec{Name: "roles", Description: "Ihre Rollen",
		Claims: []models.ScopeClaim{{Claim: "roles", Source: "attribute", Attribute: "roles"}}})
	must(t, err)
	_, err = con.Resources.Create(actx, clients.ResourceSpec{Name: "orders", Audience: "https://api.example.com/orders"})
	must(t, err)
	hook, err := con.Webhooks.Create(actx, console.WebhookSpec{URL: "https://crm.example.test/hooks/sesame", EventTypes: []string{models.WebhookUserCreated}})
	must(t, err)
	_, err = con.Upstreams.Create(actx, upstream.Spec{ID: "acme-sso", Name: "Acme SSO", Issuer: "https://sso.example.test",
		ClientID: "sesame", ClientSecret: "s3cret-for-sesame", Provisioning: "create"})
	must(t, err)
	// An endpoint the automatic rule disabled: its reason, and the alert
	// every page then shows, in German.
	failing := time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)
	must(t, env.Store.CreateWebhookEndpoint(bg, &models.WebhookEndpoint{ID: "wh_de_auto", URL: "https://erp.example.test/hooks", EventTypes: models.WebhookUserCreated,
		DisabledReason: fmt.Sprintf(models.WebhookAutoDisabledFormat, failing.Format(time.RFC3339), 72*time.Hour, "HTTP 503"), DisabledAt: &failing}))
	now := time.Now().UTC()
	for i := range 30 {
		e := models.AuthEvent{ID: "de-" + strconv.Itoa(i), At: now.Add(-time.Duration(i*41) * time.Minute), UserID: ada.ID, ClientID: cl.ID,
			Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}
		if i%4 == 0 {
			e.Result, e.Reason = models.ResultFailure, "user_verification_required"
		}
		must(t, env.Store.RecordAuthEvent(bg, &e))
	}
	must(t, env.Store.ScheduleUserDeletion(bg, ada.ID, time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)))

	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	// By CSS only: a plain search for "h1" also matches random key IDs.
	open := func(path, waitFor string) {
		t.Helper()
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
	}

	// The switch: English first (the browser's language), then German,
	// back on the page it was used on.
	open("/console/users?q=ada", "#console-language")
	if lang := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "en" {
		t.Fatalf("console in %q before the switch, want en", lang)
	}
	browsertest.Do(t, ctx, "switch to German", chromedp.Click(`#console-language button[value="de"]`),
		chromedp.WaitVisible(`html[lang="de"] #add-user`))
	if loc := browsertest.Location(t, ctx); !strings.HasSuffix(loc, "/console/users?q=ada") {
		t.Errorf("after the switch at %s, want the users page it was used on", loc)
	}
	browsertest.WaitText(t, ctx, "#add-user", "Benutzer hinzufügen")
	if u, err := env.Store.GetUser(bg, admin.ID); err != nil || u.Locale != "de" {
		t.Errorf("admin's saved locale %q (%v), want de", u.Locale, err)
	}

	pages := []struct{ name, path, wait, says string }{
		{"dashboard", "/console", "#feed", "Anmeldungen heute"},
		{"dashboard-7d", "/console?range=7d", "#feed", "Letzte 7 Tage"},
		{"stats", "/console/stats?method=passkey&range=24h", "#reasons-h", "Fehlschläge nach Grund"},
		{"clients", "/console/clients", "#register-client", "Client registrieren"},
		{"client-new", "/console/clients/new", "#client_name", "Erweiterte Einstellungen"},
		{"client", "/console/clients/" + cl.ID, "#client_name", "Diesen Client löschen"},
		{"users", "/console/users", "#q", "Letzte Anmeldung"},
		{"user", "/console/users/" + ada.ID, "#summary-h", "24. Dezember 2026"},
		{"user-new", "/console/users/new", "#user_email", "Die Adresse ist bestätigt"},
		{"admin-invite", "/console/admins/invite", "#invite-email", "Einrichtungslink erstellen"},
		{"user-import", "/console/users/import", "#import_file", "Datei hochladen"},
		{"signins", "/console/sign-ins", "#s-user", "Anmeldeereignisse"},
		{"credentials", "/console/credentials", "#list-h", "Zustand der Zugangsdaten"},
		{"groups", "/console/groups", "#create-group", "Gruppe erstellen"},
		{"group-new", "/console/groups/new", "#group_name", "lässt sich später nicht ändern"},
		{"group", "/console/groups/staff", "#member", "Mitglied hinzufügen"},
		{"scopes", "/console/scopes", "#scope_name", "Einen Scope definieren"},
		{"scope", "/console/scopes/roles", "#scope_name", "Diesen Scope löschen"},
		{"resources", "/console/resources", "#resource_name", "Eine Ressource registrieren"},
		{"resource", "/console/resources/orders", "#resource_name", "Diese Ressource löschen"},
		{"registration", "/console/registration", "#mint-token", "Initial Access Tokens"},
		{"webhooks", "/console/webhooks", "#webhook_url", "Einen Endpunkt hinzufügen"},
		{"upstreams", "/console/upstreams", "#upstream-callback", "Externe Anmeldedienste"},
		{"webhook", "/console/webhooks/" + hook.ID, "#deliveries-h", "Zustellungen"},
		{"upstream", "/console/upstreams/acme-sso", "#up_name", "Diesen Dienst löschen"},
		{"webhook-auto-disabled", "/console/webhooks/wh_de_auto", "#deliveries-h", "Automatisch deaktiviert: Seit "},
		{"policies", "/console/policies", "#user_verification", "Richtlinien speichern"},
		{"branding", "/console/branding", "#product_name", "Erscheinungsbild speichern"},
		{"keys", "/console/keys", "h1", "Jetzt wechseln"},
		{"audit", "/console/audit", "#action", "Audit-Protokoll"},
		{"not-found", "/console/clients/no-such-client", "h1", "Zurück zur Übersicht"},
	}
	for _, p := range pages {
		open(p.path, p.wait)
		browsertest.WaitText(t, ctx, "main", p.says)
		if lang := browsertest.Eval[string](t, ctx, `document.documentElement.lang`); lang != "de" {
			t.Errorf("%s: lang %q, want de", p.path, lang)
		}
		browsertest.WaitText(t, ctx, "nav[aria-label=Konsole]", "Benutzer")
		// A key the catalogue lacks shows as itself.
		if raw := browsertest.Eval[string](t, ctx, `(document.body.innerText.match(/\bconsole[._][a-z_]+/) || [""])[0]`); raw != "" {
			t.Errorf("%s shows the raw message key %q", p.path, raw)
		}
		if p.name == "client-new" {
			browsertest.Do(t, ctx, "open the advanced settings", chromedp.Click("details.advanced summary"))
		}
		if checks {
			checkConsolePage(t, ctx, "de-console-"+p.name)
		}
	}

	// The live feed: a failed sign-in recorded now arrives through the
	// stream in German.
	open("/console", "#feed")
	browsertest.WaitText(t, ctx, "#live-status", "Live")
	bob := env.CreateUser("bob-live@example.test")
	must(t, env.Store.RecordAuthEvent(bg, &models.AuthEvent{ID: "de-live", At: time.Now(), UserID: bob.ID, ClientID: cl.ID,
		Method: models.MethodPasslink, Event: models.EventLogin, Result: models.ResultFailure, Reason: "expired"}))
	browsertest.WaitText(t, ctx, "#feed-body tr.fresh", "bob-live@example.test")
	browsertest.WaitText(t, ctx, "#feed-body tr.fresh", "Anmeldung fehlgeschlagen (Link abgelaufen)")
	browsertest.WaitText(t, ctx, "#feed-body tr.fresh", "E-Mail-Link")

	// The page script's words: a redirect URI checked as it is typed, and a
	// confirmation dialog, in German.
	open("/console/clients/new", "#redirect_uris")
	browsertest.Do(t, ctx, "type a bad redirect URI", chromedp.SendKeys("#redirect_uris", "https://app.example/cb#x"), chromedp.Click("#client_name"))
	browsertest.WaitText(t, ctx, "#redirect_uris-error", "Entfernen Sie das #Fragment")
	open("/console/users/"+ada.ID, "#revoke-sessions")
	browsertest.Do(t, ctx, "ask to sign out everywhere", chromedp.Click("#revoke-sessions button"), chromedp.WaitVisible("dialog.confirm-dialog"))
	browsertest.WaitText(t, ctx, "dialog.confirm-dialog", "ada@example.test überall abmelden?")
	browsertest.WaitText(t, ctx, "dialog.confirm-dialog .confirm-cancel", "Abbrechen")
	if checks {
		checkConsolePage(t, ctx, "de-console-confirm")
	}
	browsertest.Do(t, ctx, "cancel", chromedp.Click("dialog.confirm-dialog .confirm-cancel"))

	// A refusal of the admin API, said in German: the user is gone by the
	// time the action is confirmed.
	carol := env.CreateUser("carol@example.test")
	open("/console/users/"+carol.ID, "#revoke-sessions")
	must(t, env.Store.DeleteUser(bg, carol.ID))
	browsertest.Do(t, ctx, "sign a deleted user out", chromedp.Click("#revoke-sessions button"), chromedp.WaitVisible("dialog.confirm-dialog .confirm-ok"),
		chromedp.Click("dialog.confirm-dialog .confirm-ok"))
	browsertest.WaitText(t, ctx, "#revoke-sessions .form-status", "Das gibt es nicht mehr")

	// Back to English with the same switch.
	open("/console/users/"+ada.ID, "#revoke-sessions")
	browsertest.Do(t, ctx, "switch to English", chromedp.Click(`#console-language button[value="en"]`),
		chromedp.WaitVisible(`html[lang="en"] #revoke-sessions`))
	browsertest.WaitText(t, ctx, "#revoke-sessions", "Sign out everywhere")
}
