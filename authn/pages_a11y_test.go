package authn_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/axe"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// viewport is one way a page is looked at: a laptop or a phone, light or
// dark.
type viewport struct {
	name          string // suffix of the screenshot name
	width, height int64
	dark          bool
}

var (
	desktop   = viewport{"1280", 1280, 800, false}
	phone     = viewport{"390", 390, 844, false}
	darkPhone = viewport{"dark-390", 390, 844, true}
	darkDesk  = viewport{"dark-1280", 1280, 800, true}
)

// hostedPage is what one check of a page expects.
type hostedPage struct {
	name    string // screenshot base name: login → login-1280.png, login-390.png
	primary string // selector of the page's primary action, "" when it has none
	dark    bool   // also look at it in dark mode
}

// TestHostedPagesAccessibleAndResponsive visits every hosted page a
// person can see, in the order a person meets them, in a browser speaking
// each language of the catalogue, and checks each at 1280×800 and
// 390×844, in light and dark: no axe-core
// violation of impact serious or critical, no sideways scrolling on a
// phone, one h1, a label on every field, a visible primary action and a
// visible focus indicator on everything reachable with Tab. With
// SESAME_SCREENSHOTS set it saves a PNG of each view for people to look at.
func TestHostedPagesAccessibleAndResponsive(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range cat.Languages() {
		t.Run(lang, func(t *testing.T) { hostedPagesA11y(t, cat, lang) })
	}
}

// hostedPagesA11y walks the hosted pages in a browser speaking lang, each
// page checked in light and dark.
func hostedPagesA11y(t *testing.T, cat *i18n.Catalog, lang string) {
	env := servertest.New(t)
	// Consent is asked; the logo (inline SVG) puts an <img> in the header.
	// It has a front-channel logout page, so the signed-out page frames it.
	rp := newRelyingParty(t, env, clients.Spec{Name: "Acme Notes", FrontchannelLogoutURI: "/frontchannel-logout", FrontchannelLogoutSessionRequired: true, LogoURI: "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA0MCA0MCI+PHJlY3Qgd2lkdGg9IjQwIiBoZWlnaHQ9IjQwIiByeD0iOCIgZmlsbD0iIzI3NTRjNSIvPjwvc3ZnPg=="})
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	prefix := ""
	if lang != i18n.Default {
		germanBrowser(t, ctx)
		prefix = lang + "-"
	}
	// check is checkHostedPage in light and dark, named for the language.
	check := func(p hostedPage) {
		t.Helper()
		p.name, p.dark = prefix+p.name, true
		checkHostedPage(t, ctx, p)
	}

	// An error page: an authorization request from an unknown app.
	bad := env.Issuer + "/oauth2/authorize?" + url.Values{
		"client_id": {"no-such-app"}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {rp.callback}, "state": {"s"},
	}.Encode()
	browsertest.Do(t, ctx, "open error page", chromedp.Navigate(bad), chromedp.WaitVisible("h1"))
	check(hostedPage{name: "error"})

	// Signed out: the account page, and sign-in without an app.
	browsertest.Do(t, ctx, "open account signed out", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("h1"))
	check(hostedPage{name: "account-signed-out", primary: `a.button.primary[href="/login"]`})
	browsertest.Do(t, ctx, "open login without an app", chromedp.Navigate(env.Issuer+"/login"), chromedp.WaitVisible("#passkey-button"))
	check(hostedPage{name: "login-standalone", primary: "#passkey-button"})
	// An error sits under the field that caused it.
	browsertest.Do(t, ctx, "continue without an email", chromedp.Click("#continue-button"))
	browsertest.WaitText(t, ctx, "#email-error", cat.T(lang, "js.email_or_passkey"))
	check(hostedPage{name: "login-email-error", primary: "#passkey-button"})

	// An app asks: sign-in and sign-up for Acme Notes. (No authenticator
	// yet, so passkey autofill cannot sign in behind the check's back.)
	a := rp.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	if loc := browsertest.Location(t, ctx); !strings.HasPrefix(loc, env.Issuer+"/login?interaction=") {
		t.Fatalf("authorization did not reach the login page: %s", loc)
	}
	check(hostedPage{name: "login", primary: "#passkey-button"})
	browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup?interaction="]`), chromedp.WaitVisible("#signup-form"))
	check(hostedPage{name: "signup", primary: "#signup-button"})

	// Sign up with a passkey; the app has no skip_consent, so consent follows.
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "sign up",
		chromedp.SendKeys("#email", "ada@example.com"),
		chromedp.SendKeys("#name", "Ada Lovelace"),
		chromedp.Click("#signup-button"),
	)
	// The sign-up is held until the address is proven
	// (require_verified_email, the default): the code page, then the code
	// from the mail (the outbox: no delivery loop runs here).
	browsertest.WaitLocation(t, ctx, env.Issuer+"/verify-email?")
	browsertest.Do(t, ctx, "wait for the code page", chromedp.WaitVisible("#verify-button"))
	check(hostedPage{name: "verify-email", primary: "#verify-button"})
	browsertest.Do(t, ctx, "type the code",
		chromedp.SendKeys("#code", outboxVerifyCode(t, env, "ada@example.com")),
		chromedp.Click("#verify-button"),
	)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/consent?interaction=")
	browsertest.Do(t, ctx, "wait for consent", chromedp.WaitVisible(`button[value="allow"]`))
	check(hostedPage{name: "consent", primary: `button[value="allow"]`})
	// Allow: a real click. The consent page's CSP lets the form's redirect
	// chain end at the app's callback on another origin.
	browsertest.Do(t, ctx, "allow", chromedp.Click(`button[value="allow"]`))
	browsertest.WaitLocation(t, ctx, rp.callback)

	// The account page with a passkey, an app and a session listed.
	browsertest.Do(t, ctx, "open account", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("#passkeys"))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#passkeys li").length`); n != 1 {
		t.Fatalf("account lists %d passkeys, want 1", n)
	}
	if !browsertest.Eval[bool](t, ctx, `document.body.innerText.includes("Acme Notes")`) {
		t.Fatal("account page does not list Acme Notes among the apps")
	}
	// Open "Manage" so the rename and delete forms are checked too.
	browsertest.Do(t, ctx, "open manage", chromedp.Click("details.manage summary"), chromedp.WaitVisible(`form[action="/account/passkeys/rename"] input[name="name"]`))
	check(hostedPage{name: "account", primary: "#add-passkey"})

	// An app limited to a group Ada is not in: the no-access page.
	now := time.Now()
	if err := env.Store.CreateGroup(context.Background(), &models.Group{ID: "grp-payroll", Name: "payroll", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	payroll := newRelyingParty(t, env, clients.Spec{Name: "Payroll", SkipConsent: true, AllowedGroups: []string{"payroll"}})
	browsertest.Do(t, ctx, "open an app Ada may not use", chromedp.Navigate(payroll.start().url), chromedp.WaitVisible("#error-action"))
	browsertest.WaitText(t, ctx, "h1", cat.T(lang, "errors.no_access.title", "app", "Payroll"))
	check(hostedPage{name: "no-access", primary: "#error-action"})

	// form_post: the page submits itself at once, so form submission is
	// stubbed out while it is checked (its own script still runs).
	restore := withoutFormSubmit(t, ctx)
	fp := rp.start(oauth2.SetAuthURLParam("response_mode", "form_post"))
	browsertest.Do(t, ctx, "open form_post", chromedp.Navigate(fp.url), chromedp.WaitVisible("#form_post button"))
	if got := browsertest.Eval[string](t, ctx, `document.documentElement.dataset.submitted || ""`); got != "stubbed" {
		t.Error("form_post page did not try to submit itself (is formpost.js blocked?)")
	}
	check(hostedPage{name: "form-post", primary: "#form_post button.primary"})
	restore()

	// Sign out: the confirmation (no id_token_hint), then the result.
	browsertest.Do(t, ctx, "open logout", chromedp.Navigate(env.Issuer+"/oauth2/logout"), chromedp.WaitVisible(`button[value="yes"]`))
	check(hostedPage{name: "logout", primary: `button[value="yes"]`})
	browsertest.Do(t, ctx, "confirm logout", chromedp.Click(`button[value="yes"]`))
	browsertest.WaitText(t, ctx, "h1", cat.T(lang, "logout.done_title"))
	// Acme Notes' front-channel logout page loads in the hidden iframe
	// (Front-Channel Logout 1.0), with iss and sid; then the page says so.
	browsertest.WaitText(t, ctx, "#logout-status", cat.T(lang, "logout.done_apps", "product", "Sesame"))
	rp.mu.Lock()
	if len(rp.frontchannel) != 1 || rp.frontchannel[0].Get("iss") != env.Issuer || rp.frontchannel[0].Get("sid") == "" {
		t.Errorf("Acme Notes' front-channel logout page was loaded %v, want once with iss and sid", rp.frontchannel)
	}
	rp.mu.Unlock()
	check(hostedPage{name: "logged-out"})
}

// checkHostedPage checks the tab's current page in each viewport and
// reports every problem (without stopping, so one run shows them all).
func checkHostedPage(t *testing.T, ctx context.Context, p hostedPage) {
	t.Helper()
	waitLoaded(t, ctx)
	views := []viewport{desktop, phone}
	if p.dark {
		views = append(views, darkPhone, darkDesk)
	}
	defer setView(t, ctx, desktop)
	for _, v := range views {
		setView(t, ctx, v)
		where := p.name + "-" + v.name
		browsertest.Screenshot(t, ctx, where)

		for _, vi := range axe.Check(t, ctx) {
			if vi.Serious() {
				t.Errorf("%s: axe: %s", where, vi)
			} else {
				t.Logf("%s: axe (%s, not failing): %s", where, vi.Impact, vi.ID)
			}
		}
		for _, csp := range browsertest.Eval[[]string](t, ctx, `window.__csp || []`) {
			t.Errorf("%s: the page's CSP blocked %s", where, csp)
		}
		if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("h1").length`); n != 1 {
			t.Errorf("%s: %d h1 elements, want exactly 1", where, n)
		}
		for _, html := range browsertest.Eval[[]string](t, ctx, unlabelledJS) {
			t.Errorf("%s: field without a label: %s", where, html)
		}
		if p.primary != "" {
			if why := browsertest.Eval[string](t, ctx, `(`+primaryJS+`)(`+jsQuote(p.primary)+`)`); why != "" {
				t.Errorf("%s: primary action %s is %s", where, p.primary, why)
			}
		}
		if v.width < 600 {
			w := browsertest.Eval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]`)
			if w[0] > w[1] || w[0] > w[2] {
				t.Errorf("%s: scrolls sideways: content is %d px wide in a %d px window (widest: %s)",
					where, w[0], min(w[1], w[2]), browsertest.Eval[string](t, ctx, widestJS))
			}
		}
		if v == desktop {
			checkFocusVisible(t, ctx, where)
		}
	}
}

// checkFocusVisible presses Tab through the page and checks that each
// element that takes focus shows it.
func checkFocusVisible(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	browsertest.Eval[bool](t, ctx, `(document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true)`)
	seen := map[string]bool{}
	for range 40 {
		browsertest.Do(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		f := browsertest.Eval[focusInfo](t, ctx, focusJS)
		if f.HTML == "" || seen[f.HTML] {
			return // focus left the page or came round again
		}
		seen[f.HTML] = true
		if !f.Visible {
			t.Errorf("%s: no visible focus indicator on %s", where, f.HTML)
		}
	}
}

type focusInfo struct {
	HTML    string `json:"html"`
	Visible bool   `json:"visible"`
}

const focusJS = `(function () {
  var e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) { return {html: "", visible: false}; }
  var s = getComputedStyle(e);
  var outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
  var shadow = s.boxShadow && s.boxShadow !== "none";
  return {html: e.outerHTML.slice(0, 160), visible: !!(outline || shadow)};
})()`

// unlabelledJS lists fields (other than hidden ones) without a label.
const unlabelledJS = `Array.from(document.querySelectorAll("input, select, textarea")).filter(function (e) {
  if (e.type === "hidden") { return false; }
  var named = Array.from(e.labels || []).some(function (l) { return l.textContent.trim() !== ""; });
  return !named && !(e.getAttribute("aria-label") || "").trim() && !e.getAttribute("aria-labelledby");
}).map(function (e) { return e.outerHTML; })`

// primaryJS says why the element is not a visible, usable primary action
// on the first screen, or "".
const primaryJS = `function (sel) {
  var e = document.querySelector(sel);
  if (!e) { return "missing"; }
  var r = e.getBoundingClientRect(), s = getComputedStyle(e);
  if (r.width < 1 || r.height < 1 || s.visibility !== "visible" || s.display === "none" || parseFloat(s.opacity) === 0) { return "hidden"; }
  if (e.disabled) { return "disabled"; }
  if (r.left < 0 || r.right > document.documentElement.clientWidth) { return "cut off at the side"; }
  if (r.bottom > window.innerHeight) { return "below the first screen (bottom at " + Math.round(r.bottom) + " px)"; }
  if (r.height < 24) { return "too small to tap (" + Math.round(r.height) + " px high)"; }
  return "";
}`

// widestJS names the element that sticks out furthest on the right.
const widestJS = `(function () {
  var w = window.innerWidth, worst = null, right = w;
  document.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.right > right) { right = r.right; worst = e; }
  });
  return worst ? worst.outerHTML.slice(0, 200) : "";
})()`

func jsQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// setView sets the window size and the colour scheme.
func setView(t *testing.T, ctx context.Context, v viewport) {
	t.Helper()
	scheme := "light"
	if v.dark {
		scheme = "dark"
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(sctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: v.width, Height: v.height, DeviceScaleFactor: 1,
		// A phone: the viewport meta tag applies and scrollbars overlay
		// the page, as on a real one.
		Mobile: v.width < 600,
	}); err != nil {
		t.Fatalf("set viewport %s: %v", v.name, err)
	}
	if _, err := chromedp.Call(sctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		t.Fatalf("set colour scheme %s: %v", scheme, err)
	}
}

// recordCSPViolations collects, in every document of the tab, what the
// page's Content-Security-Policy blocked (an inline style attribute is
// silently dropped, for one) into window.__csp.
func recordCSPViolations(t *testing.T, ctx context.Context) {
	t.Helper()
	const src = `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber + " " + (e.sample || ""));
});`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		t.Fatalf("record CSP violations: %v", err)
	}
}

// withoutFormSubmit makes form.submit() do nothing in the tab's next
// documents, until the returned func is called.
func withoutFormSubmit(t *testing.T, ctx context.Context) (restore func()) {
	t.Helper()
	res, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `HTMLFormElement.prototype.submit = function () { document.documentElement.dataset.submitted = "stubbed"; };`,
	})
	if err != nil {
		t.Fatalf("stub form submission: %v", err)
	}
	return func() {
		if _, err := chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: res.Identifier}); err != nil {
			t.Fatalf("restore form submission: %v", err)
		}
	}
}

// waitLoaded waits for the document and its style sheet to be complete.
func waitLoaded(t *testing.T, ctx context.Context) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`)); ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("page did not finish loading at %s", browsertest.Location(t, ctx))
}
