package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/axe"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsolePagesInChromium opens every console page as a signed-in admin
// at 1280×800 and 390×844 (the dashboard also in dark mode) and checks
// each: no serious or critical axe-core violation, nothing blocked by the
// CSP, one h1, a label on every field, no sideways scrolling on a phone,
// a visible focus indicator on everything reachable with Tab. Then a
// sign-in recorded while the dashboard is open appears in its live feed
// (server-sent events) within seconds. SESAME_SCREENSHOTS=DIR saves a PNG
// of each view.
//
// The admin's login session is made through the store and its cookie set
// in Chromium (what a passkey sign-in at /login leaves behind); signing
// in through /login is TestConsoleSignInThroughLoginInChromium's.
func TestConsolePagesInChromium(t *testing.T) {
	env, httpBrowser, admin := uiAdmin(t)
	ctx := browsertest.New(t)
	bg := context.Background()

	// Some history so the dashboard has lines and numbers.
	// Through the console's service, as the admin: the audit log has it.
	actx := console.WithActor(bg, console.Actor{Kind: models.ActorUser, ID: admin.ID, Label: admin.Email, IP: "127.0.0.1"})
	view, _, err := env.Server.Console().Clients.Create(actx, clients.Spec{Name: "Acme Notes", RedirectURIs: []string{"https://notes.example/cb"}})
	must(t, err)
	id := view.ID
	ada := env.CreateUser("ada@example.test")
	must(t, env.Store.CreateCredential(bg, &models.WebAuthnCredential{ID: "cred-ada", UserID: ada.ID, Kind: models.CredentialPasskey,
		Name: "MacBook", PublicKey: "k", AAGUID: "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", BackupEligible: true}))
	// A key of a model the FIDO metadata reports revoked, suspended: the
	// shell's warning on every page, the badges on the user's page.
	suspendedAt := time.Now().UTC().Truncate(time.Second)
	must(t, env.Store.CreateCredential(bg, &models.WebAuthnCredential{ID: "cred-ada-key", UserID: ada.ID, Kind: models.CredentialSecurityKey,
		Name: "Old key", PublicKey: "k", AAGUID: "0a1b2c3d-0000-4000-8000-000000000001", CompromisedStatus: "REVOKED",
		CompromisedAt: &suspendedAt, SuspendedAt: &suspendedAt}))
	now := time.Now().UTC()
	for i := range 40 {
		e := models.AuthEvent{ID: "seed-" + strconv.Itoa(i), At: now.Add(-time.Duration(i*37) * time.Minute), UserID: ada.ID, ClientID: id,
			Method: models.MethodPasskey, Event: "login", Result: "success"}
		switch {
		case i%5 == 0:
			e.Method, e.ClientID = models.MethodPasslink, ""
		case i%7 == 0:
			e.Result, e.Reason = "failure", "timeout"
		}
		must(t, env.Store.RecordAuthEvent(bg, &e))
	}

	adminInChromium(t, ctx, env, httpBrowser)

	open := func(path, waitFor string) {
		t.Helper()
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(waitFor))
	}
	open("/console", "#feed")
	checkConsolePage(t, ctx, "console-dashboard")
	open("/console?range=30d", "#feed")
	checkConsolePage(t, ctx, "console-dashboard-30d")
	open("/console/clients", "#register-client")
	checkConsolePage(t, ctx, "console-clients")
	open("/console/clients/new", "#client_name")
	// A redirect URI is checked as it is typed.
	browsertest.Do(t, ctx, "type a bad redirect URI", chromedp.SendKeys("#redirect_uris", "https://app.example/cb#x"), chromedp.Click("#client_name"))
	browsertest.WaitText(t, ctx, "#redirect_uris-error", "fragment")
	checkConsolePage(t, ctx, "console-client-new")
	browsertest.Do(t, ctx, "open the advanced settings", chromedp.Click("details.advanced summary"))
	checkConsolePage(t, ctx, "console-client-new-advanced")
	// Register it properly: the secret is shown once, with a warning.
	browsertest.Do(t, ctx, "register a client",
		chromedp.SetValue("#redirect_uris", "https://billing.example/cb"),
		chromedp.SendKeys("#client_name", "Billing"),
		chromedp.Click(`form.client-form button[type=submit]`),
		chromedp.WaitVisible("#client-secret"))
	if got := browsertest.Eval[string](t, ctx, `document.querySelector("#client-secret").value`); len(got) < 20 {
		t.Errorf("client secret %q looks too short", got)
	}
	// What the developer needs next: the issuer, discovery, the client's
	// registration and a go-oidc snippet with its id (a confidential client).
	secretPage := browsertest.Eval[string](t, ctx, `document.querySelector("main").innerText`)
	snippet := browsertest.Eval[string](t, ctx, `document.querySelector("#snippet").value`)
	newID := browsertest.Eval[string](t, ctx, `document.querySelector("#client-id").value`)
	if browsertest.Eval[string](t, ctx, `document.querySelector("#discovery").value`) != env.Issuer+"/.well-known/openid-configuration" ||
		browsertest.Eval[string](t, ctx, `document.querySelector("#issuer").value`) != env.Issuer ||
		!strings.Contains(secretPage, "https://billing.example/cb") || !strings.Contains(secretPage, "Allowed web origins") ||
		!strings.Contains(snippet, "oidc.NewProvider(ctx, "+strconv.Quote(env.Issuer)+")") || !strings.Contains(snippet, strconv.Quote(newID)) {
		t.Errorf("the client-secret page lacks the setup facts:\n%s\nsnippet:\n%s", secretPage, snippet)
	}
	checkConsolePage(t, ctx, "console-client-secret")
	// A public browser app: no secret; its web origins default to its
	// redirect URIs' and the snippet uses oauth4webapi.
	open("/console/clients/new", "#client_name")
	browsertest.Do(t, ctx, "register a public client",
		chromedp.SetValue("#redirect_uris", "http://localhost:5173/callback"),
		chromedp.SendKeys("#client_name", "Shop SPA"),
		chromedp.Click(`input[name=client_type][value=public]`),
		chromedp.Click(`form.client-form button[type=submit]`),
		chromedp.WaitVisible("#snippet"))
	secretPage = browsertest.Eval[string](t, ctx, `document.querySelector("main").innerText`)
	snippet = browsertest.Eval[string](t, ctx, `document.querySelector("#snippet").value`)
	if !strings.Contains(secretPage, "http://localhost:5173\nFrom the redirect URIs") || !strings.Contains(snippet, `import * as oauth from "oauth4webapi"`) ||
		!strings.Contains(snippet, `redirect_uri = "http://localhost:5173/callback"`) {
		t.Errorf("the public client's page:\n%s\nsnippet:\n%s", secretPage, snippet)
	}
	checkConsolePage(t, ctx, "console-client-public")
	open("/console/clients/"+id, "#client_name")
	browsertest.Do(t, ctx, "open the danger zone", chromedp.Click("details.danger-zone summary"))
	checkConsolePage(t, ctx, "console-client")
	// Blocking synced passkeys names who it locks out (Ada's only passkey
	// syncs) before anything is saved.
	open("/console/clients/"+id, "#synced_passkeys")
	browsertest.Do(t, ctx, "block synced passkeys", chromedp.SetValue("#synced_passkeys", "block"),
		chromedp.Click(`form.client-form button[type=submit]`), chromedp.WaitVisible("#lockout"))
	browsertest.WaitText(t, ctx, "#lockout", "ada@example.test")
	checkConsolePage(t, ctx, "console-client-lockout")
	open("/console/users", "#q")
	checkConsolePage(t, ctx, "console-users")
	open("/console/users?unverified=true&q=nobody-at-all", "#q")
	checkConsolePage(t, ctx, "console-users-none")
	open("/console/users/new", "#user_email")
	checkConsolePage(t, ctx, "console-user-new")
	open("/console/admins/invite", "#invite-email")
	checkConsolePage(t, ctx, "console-admin-invite")
	browsertest.Do(t, ctx, "invite an admin", chromedp.SendKeys("#invite-email", "root@example.test"), chromedp.Click(`main form button[type=submit]`),
		chromedp.WaitVisible("#invite-link"))
	checkConsolePage(t, ctx, "console-admin-invite-link")
	open("/console/users/"+ada.ID, "#creds-h")
	if !browsertest.Eval[bool](t, ctx, `document.body.innerText.includes("iCloud Keychain") && document.body.innerText.includes("Synced")`) {
		t.Error("user page does not name the passkey's model and storage")
	}
	browsertest.Do(t, ctx, "open the edit and the danger zone", chromedp.Click("details.change summary"), chromedp.Click("details.danger-zone summary"))
	checkConsolePage(t, ctx, "console-user")
	// The confirmation is a modal dialog, checked like a page; Escape
	// cancels it and nothing happens.
	browsertest.Do(t, ctx, "ask to sign ada out", chromedp.Click("#revoke-sessions button"), chromedp.WaitVisible("dialog.confirm-dialog"))
	checkConsolePage(t, ctx, "console-confirm")
	browsertest.Do(t, ctx, "cancel with Escape", chromedp.KeyEvent(kb.Escape))
	if browsertest.Eval[bool](t, ctx, `!!document.querySelector("dialog.confirm-dialog")`) || !browsertest.Eval[bool](t, ctx, `document.activeElement === document.querySelector("#revoke-sessions button")`) {
		t.Error("Escape did not close the confirmation, or the focus did not return to its button")
	}
	browsertest.Do(t, ctx, "sign ada out", chromedp.Click("#revoke-sessions button"))
	acceptConfirmation(t, ctx)
	browsertest.WaitText(t, ctx, "main", "Signed out everywhere")
	open("/console/scopes", "#scope_name")
	browsertest.Do(t, ctx, "define a scope that shadows a claim",
		chromedp.SendKeys("#scope_name", "hr"), chromedp.SendKeys("#scope_description", "Your HR record"),
		chromedp.SendKeys("#scope_claims", "email = attribute:mail"),
		chromedp.Click(`form.scope-form button[type=submit]`), chromedp.WaitVisible("#scope_claims-error"))
	checkConsolePage(t, ctx, "console-scopes-error")
	browsertest.Do(t, ctx, "define a scope",
		chromedp.SetValue("#scope_claims", "roles = attribute:roles\nteams = groups"),
		chromedp.Click(`form.scope-form button[type=submit]`), chromedp.WaitVisible("details.danger-zone"))
	browsertest.Do(t, ctx, "open the danger zone", chromedp.Click("details.danger-zone summary"))
	checkConsolePage(t, ctx, "console-scope")
	open("/console/scopes", "#scope_name")
	checkConsolePage(t, ctx, "console-scopes")
	open("/console/resources", "#resource_name")
	browsertest.Do(t, ctx, "register a resource with a fragment in its audience",
		chromedp.SendKeys("#resource_name", "orders"), chromedp.SendKeys("#resource_description", "Orders API"),
		chromedp.SendKeys("#resource_audience", "https://api.example.com/orders#v1"),
		chromedp.Click(`form.resource-form button[type=submit]`), chromedp.WaitVisible("#resource_audience-error"))
	checkConsolePage(t, ctx, "console-resources-error")
	browsertest.Do(t, ctx, "register a resource",
		chromedp.SetValue("#resource_audience", "https://api.example.com/orders"),
		chromedp.Click(`form.resource-form button[type=submit]`), chromedp.WaitVisible("details.danger-zone"))
	browsertest.Do(t, ctx, "open the danger zone", chromedp.Click("details.danger-zone summary"))
	checkConsolePage(t, ctx, "console-resource")
	open("/console/resources", "#resource_name")
	checkConsolePage(t, ctx, "console-resources")
	open("/console/policies", "#user_verification")
	checkConsolePage(t, ctx, "console-policies")
	open("/console/keys", "table")
	checkConsolePage(t, ctx, "console-keys")
	open("/console/audit", "#action")
	browsertest.WaitText(t, ctx, "main", "client.create")
	checkConsolePage(t, ctx, "console-audit")

	// Live: a sign-in recorded now shows up on the open dashboard.
	open("/console", "#feed")
	browsertest.WaitText(t, ctx, "#live-status", "Live")
	bob := env.CreateUser("bob-live@example.test")
	start := time.Now()
	must(t, env.Store.RecordAuthEvent(bg, &models.AuthEvent{ID: "live-1", At: time.Now(), UserID: bob.ID, ClientID: id,
		Method: models.MethodPasskey, Event: "login", Result: "success"}))
	browsertest.WaitText(t, ctx, "#feed-body", "bob-live@example.test")
	t.Logf("the dashboard showed the sign-in %v after it was recorded", time.Since(start).Round(100*time.Millisecond))
	// The headline numbers follow (the page refreshes them itself).
	browsertest.WaitTrue(t, ctx, "the headline numbers to refresh",
		`document.querySelector("[data-stat=signins]").textContent.trim() !== "`+"0"+`" && !!document.querySelector("#live-region")`)
	_ = admin
}

// adminInChromium puts the admin's session cookie (httpBrowser's) into
// Chromium and records every CSP violation in window.__csp, which
// checkConsolePage reports.
func adminInChromium(t *testing.T, ctx context.Context, env *servertest.Env, httpBrowser *http.Client) {
	t.Helper()
	iss, _ := url.Parse(env.Issuer)
	for _, c := range httpBrowser.Jar.Cookies(iss) {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: env.Issuer}); err != nil {
			t.Fatalf("set cookie: %v", err)
		}
	}
	recordCSP(t, ctx)
}

// recordCSP collects the CSP violations of every page opened from now on
// in window.__csp (checkConsolePage reports them).
func recordCSP(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) { window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || "")); });`}); err != nil {
		t.Fatal(err)
	}
}

// acceptConfirmation answers the console's confirmation dialog (not the
// browser's confirm()) with its confirm button, after checking it is an
// accessible modal that names what will be lost.
func acceptConfirmation(t *testing.T, ctx context.Context) {
	t.Helper()
	browsertest.Do(t, ctx, "wait for the confirmation", chromedp.WaitVisible("dialog.confirm-dialog .confirm-ok"))
	d := browsertest.Eval[struct {
		Modal, Labelled, CancelFocused bool
		Text                           string
	}](t, ctx, `(function () {
  var d = document.querySelector("dialog.confirm-dialog");
  var t = document.getElementById(d.getAttribute("aria-labelledby")), p = document.getElementById(d.getAttribute("aria-describedby"));
  return {Modal: d.matches(":modal"), Labelled: !!t && t.textContent.trim() !== "" && !!p, CancelFocused: document.activeElement === d.querySelector(".confirm-cancel"), Text: p ? p.textContent : ""};
})()`)
	if !d.Modal || !d.Labelled || !d.CancelFocused || d.Text == "" {
		t.Errorf("confirmation dialog: %+v, want a labelled modal with the focus on Cancel", d)
	}
	browsertest.Do(t, ctx, "confirm", chromedp.Click("dialog.confirm-dialog .confirm-ok"))
}

type consoleView struct {
	name          string
	width, height int64
	dark          bool
}

// checkConsolePage checks the current page in each view, 1280×800 and
// 390×844 in light and dark (issue 14: every page, both schemes),
// reporting every problem without stopping.
func checkConsolePage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	views := []consoleView{{"1280", 1280, 800, false}, {"390", 390, 844, false},
		{"dark-1280", 1280, 800, true}, {"dark-390", 390, 844, true}}
	defer setConsoleView(t, ctx, views[0])
	for _, v := range views {
		setConsoleView(t, ctx, v)
		where := name + "-" + v.name
		browsertest.Screenshot(t, ctx, where)
		for _, vi := range axe.Check(t, ctx) {
			if vi.Serious() {
				t.Errorf("%s: axe: %s", where, vi)
			} else {
				t.Logf("%s: axe (%s, not failing): %s", where, vi.Impact, vi.ID)
			}
		}
		for _, csp := range browsertest.Eval[[]string](t, ctx, `window.__csp || []`) {
			t.Errorf("%s: the CSP blocked %s", where, csp)
		}
		if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("h1").length`); n != 1 {
			t.Errorf("%s: %d h1 elements, want 1", where, n)
		}
		for _, html := range browsertest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("input, select, textarea")).filter(function (e) {
  if (e.type === "hidden") { return false; }
  var named = Array.from(e.labels || []).some(function (l) { return l.textContent.trim() !== ""; });
  return !named && !(e.getAttribute("aria-label") || "").trim() && !e.getAttribute("aria-labelledby");
}).map(function (e) { return e.outerHTML; })`) {
			t.Errorf("%s: field without a label: %s", where, html)
		}
		if v.width < 600 {
			w := browsertest.Eval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
			if w[0] > w[1] {
				t.Errorf("%s: scrolls sideways (%d px content in %d px): %s", where, w[0], w[1], browsertest.Eval[string](t, ctx, `(function () {
  var w = document.documentElement.clientWidth, worst = null, right = w;
  document.querySelectorAll("body *").forEach(function (e) { var r = e.getBoundingClientRect(); if (r.right > right) { right = r.right; worst = e; } });
  return worst ? worst.outerHTML.slice(0, 200) : "";
})()`))
			}
			// A closed <select> cannot wrap: an option wider than the
			// control shows cut off once chosen (long German labels did).
			for _, cut := range browsertest.Eval[[]string](t, ctx, `(function () {
  var c = document.createElement("canvas").getContext("2d"), out = [];
  document.querySelectorAll("select").forEach(function (s) {
    if (!s.offsetParent) { return; }
    var cs = getComputedStyle(s); c.font = cs.font;
    var room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20; // 20: the arrow
    Array.from(s.options).forEach(function (o) { if (c.measureText(o.text).width > room) { out.push("#" + s.id + ": " + o.text); } });
  });
  return out;
})()`) {
				t.Errorf("%s: select option cut off: %s", where, cut)
			}
		}
		if v.name == "1280" {
			checkConsoleFocus(t, ctx, where)
		}
	}
}

func checkConsoleFocus(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	browsertest.Eval[bool](t, ctx, `(document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true)`)
	seen := map[string]bool{}
	for range 60 {
		browsertest.Do(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		f := browsertest.Eval[struct {
			HTML    string `json:"html"`
			Visible bool   `json:"visible"`
		}](t, ctx, `(function () {
  var e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) { return {html: "", visible: false}; }
  var s = getComputedStyle(e);
  var outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
  var shadow = s.boxShadow && s.boxShadow !== "none";
  return {html: e.outerHTML.slice(0, 160), visible: !!(outline || shadow)};
})()`)
		if f.HTML == "" || seen[f.HTML] {
			return
		}
		seen[f.HTML] = true
		if !f.Visible && !strings.Contains(f.HTML, `class="skip"`) {
			t.Errorf("%s: no visible focus indicator on %s", where, f.HTML)
		}
	}
}

func setConsoleView(t *testing.T, ctx context.Context, v consoleView) {
	t.Helper()
	scheme := "light"
	if v.dark {
		scheme = "dark"
	}
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: v.width, Height: v.height, DeviceScaleFactor: 1, Mobile: v.width < 600,
	}); err != nil {
		t.Fatalf("set viewport: %v", err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		t.Fatalf("set colour scheme: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
}

// TestConsoleDeleteClientWithStepUp: the first admin is made through the
// setup link with a passkey (CDP virtual authenticator), then deletes a
// client from its page; the console asks for the passkey again (step-up)
// when the API demands it, and the client is gone.
func TestConsoleDeleteClientWithStepUp(t *testing.T) {
	env := servertest.New(t)
	ctx := browsertest.New(t)
	bg := context.Background()
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	link, err := console.Invite(bg, env.Store, env.Issuer, "root@example.test")
	must(t, err)
	browsertest.Do(t, ctx, "open the setup link", chromedp.Navigate(link), chromedp.WaitVisible("#console-action"))
	browsertest.Do(t, ctx, "create the admin's passkey", chromedp.Click("#console-action"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console")
	browsertest.Do(t, ctx, "see the dashboard", chromedp.WaitVisible("#feed"))

	view, _, err := env.Server.Console().Clients.Create(bg, clients.Spec{Name: "Old App", RedirectURIs: []string{"https://old.example/cb"}})
	must(t, err)
	browsertest.Do(t, ctx, "open the client", chromedp.Navigate(env.Issuer+"/console/clients/"+view.ID), chromedp.WaitVisible("#client_name"))
	browsertest.Do(t, ctx, "delete it",
		chromedp.Click("details.danger-zone summary"),
		chromedp.Click(`details.danger-zone button[type=submit]`))
	acceptConfirmation(t, ctx)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/console/clients?done=client_deleted")
	browsertest.WaitText(t, ctx, "main", "Client deleted.")
	if _, err := env.Store.GetClient(bg, view.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("client still there after delete: %v", err)
	}
	var stepUps int64
	evs, err := env.Store.RecentAuthEvents(bg, time.Time{}, 50)
	must(t, err)
	for _, e := range evs {
		if e.Event == "step_up" && e.Result == models.ResultSuccess {
			stepUps++
		}
	}
	if stepUps < 1 {
		t.Error("the client was deleted without a passkey confirmation (step-up)")
	}
}
