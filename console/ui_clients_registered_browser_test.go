package console_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsoleClientsRegisteredFilterInChromium: the clients list's
// "Registered by" control keeps the apps that registered themselves (RFC
// 7591) or those an admin created, survives a search, and says so when
// none matches; in Chromium. The filtered list passes checkConsolePage
// (axe-core, CSP, labelled fields, no sideways scrolling, visible focus)
// at 1280×800 and 390×844, light and dark. SESAME_SCREENSHOTS=DIR saves
// a PNG of each view.
func TestConsoleClientsRegisteredFilterInChromium(t *testing.T) {
	env, httpBrowser, _ := uiAdmin(t, servertest.Registration(config.RegistrationOpen))
	env.CreateClient(clients.Spec{Name: "Billing (admin)", RedirectURIs: []string{"https://billing.example/cb"}})
	if code, reg := register(t, env, "", map[string]any{"client_name": "Partner Portal", "redirect_uris": []string{"https://partner.example/cb"}}); code != http.StatusCreated {
		t.Fatalf("registration: %d %v", code, reg)
	}
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	rows := func() []string {
		return browsertest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("tbody tr td:first-child a")).map(function (a) { return a.textContent.trim(); })`)
	}
	// submitted waits for the page the search form loads (the old page
	// stays until it arrives).
	submitted := func(query string) {
		t.Helper()
		browsertest.WaitTrue(t, ctx, "the search for "+query+" to load",
			`location.search.indexOf(`+strconv.Quote(query)+`) >= 0 && document.readyState === "complete" && !!document.getElementById("registered")`)
	}
	filter := func(what, value string) {
		t.Helper()
		browsertest.Do(t, ctx, what, chromedp.SetValue("#registered", value), chromedp.Click(`form.toolbar button[type=submit]`))
		submitted("registered=" + value)
	}
	browsertest.Do(t, ctx, "open the clients", chromedp.Navigate(env.Issuer+"/console/clients"), chromedp.WaitVisible("table"))
	if got := rows(); len(got) != 2 {
		t.Fatalf("unfiltered rows %v, want both apps", got)
	}

	filter("self-registered only", "dynamic")
	if got := rows(); len(got) != 1 || got[0] != "Partner Portal" {
		t.Fatalf("self-registered rows %v", got)
	}
	browsertest.WaitText(t, ctx, "table", "Self-registered")
	checkConsolePage(t, ctx, "console-clients-registered-dynamic")

	filter("admin-created only", "admin")
	if got := rows(); len(got) != 1 || got[0] != "Billing (admin)" {
		t.Fatalf("admin-created rows %v", got)
	}

	browsertest.Do(t, ctx, "search the admin's for the partner", chromedp.SetValue("#q", "partner"), chromedp.Click(`form.toolbar button[type=submit]`))
	submitted("q=partner")
	browsertest.WaitText(t, ctx, "#clients-empty", "No client created by an admin matches “partner”.")
	if v := browsertest.Eval[string](t, ctx, `document.getElementById("registered").value`); v != "admin" {
		t.Fatalf("the control shows %q after the search, want admin", v)
	}
	checkConsolePage(t, ctx, "console-clients-registered-empty")
}
