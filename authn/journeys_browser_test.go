package authn_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestJourneyMatrixInChromium runs the sign-in journeys people take, in one
// headless Chromium against one Sesame (SQLite, mail to a real SMTP server),
// as a table of cells: a method (passkey username-first, usernameless or
// autofill, passkey sign-up, email link in the same browser or approved on
// another device, password + security key, recovery by link) for a person
// in a given state (new, returning with or without a passkey, consented or
// not, unverified address), with a kind of request (plain, prompt=login,
// max_age=0, acr_values step-up to phishing-resistant, prompt=none) from a
// kind of client (confidential, public with PKCE, response_mode=form_post,
// skip_consent). Each person is a separate browser context; the cells of a
// person run in order, each leaving the state the next one starts from.
//
// Every cell ends with a verified ID token at the app (a stock go-oidc
// client whose callback is on another origin, 127.0.0.1, so CSP form-action
// is exercised on every redirect that follows a form POST) or with the
// documented error, and fails on any CSP violation Chromium reports.
//
// Autofill: Chromium's virtual authenticator answers a conditional
// (autofill) request headlessly as a person picking the passkey would, so
// the autofill cells sign in without a click; what headless Chromium
// cannot show is the autofill dropdown itself.
//
// (One file over ~500 lines: the table, the drivers of each method and the
// CSP watch are read together when a cell fails.)
func TestJourneyMatrixInChromium(t *testing.T) {
	env := newPLEnv(t, servertest.UnverifiedEmails()) // the matrix is about methods; verify_email_http_test.go proves the proof step
	m := &matrix{t: t, env: env, root: browsertest.New(t), people: map[string]*person{}, seenMail: map[string]bool{}}
	// Clients. Every request is from a stock client with PKCE; "conf" and
	// "confSkip" also authenticate with a secret at the token endpoint.
	m.rps = map[string]*relyingParty{
		"conf":       newRelyingParty(t, env.Env, clients.Spec{Name: "Acme Notes"}),
		"confSkip":   newRelyingParty(t, env.Env, clients.Spec{Name: "Acme Intranet", SkipConsent: true}),
		"public":     newRelyingParty(t, env.Env, clients.Spec{Name: "Acme Mobile", Public: true, TokenEndpointAuthMethod: "none"}),
		"publicSkip": newRelyingParty(t, env.Env, clients.Spec{Name: "Acme SPA", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"}),
	}

	// The people, each in a browser context of their own.
	ada := plUser(t, env, "ada-"+randomString()[:6]+"@example.com", true) // verified, no passkey yet
	bob := pwUser(t, env.Env, "bob-"+randomString()[:6]+"@example.com", "correct horse battery staple")
	m.newPerson("ada", ada.Email, ada.ID, browsertest.Passkey())
	m.newPerson("bob", bob.Email, bob.ID, browsertest.SecurityKey())
	m.newPerson("cyd", "cyd-"+randomString()[:6]+"@example.com", "", nil)                     // no account yet; signs up by link
	m.newPerson("dora", "dora-"+randomString()[:6]+"@example.com", "", browsertest.Passkey()) // signs up with a passkey
	m.newPerson("eve", "eve-"+randomString()[:6]+"@example.com", "", nil)                     // signs up by link, approved on her phone
	victim := "vic-" + randomString()[:6] + "@example.com"
	m.newPerson("squatter", victim, "", browsertest.Passkey())
	m.newPerson("victim", victim, "", nil)
	m.newPerson("stranger", "", "", nil) // never signs in
	// Second devices that approve links for the people who ask.
	for _, who := range []string{"ada", "cyd", "dora", "eve"} {
		m.newPerson(who+"-phone", "", "", nil)
	}

	const (
		phr   = models.ACRPhishingResistant
		basic = models.ACRBasic
		// Chromium's virtual passkeys are device-bound (BE=0) and verify
		// their user: models/acr.go.
		bound = models.ACRDeviceBound
	)
	otp := []string{"otp"}
	lanes, order := map[string][]cell{}, []string(nil)
	for _, c := range []cell{
		// Ada: a verified account without a passkey.
		{who: "ada", method: "link", state: "returning without passkey, not consented", client: "conf", consent: true,
			offer: offerAdd, wantAMR: otp, wantACR: basic, wantVerified: true},
		// The journey of bug 1: a returning user with a passkey who consented
		// signs in by link in the same browser; the confirmation's POST →
		// 303 resume → 302 app chain must pass CSP form-action.
		{who: "ada", method: "link", state: "returning with passkey, consented", client: "conf", req: reqLogin,
			wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "ada", method: "passkey-username", state: "returning with passkey, consented (session at basic)", client: "conf", req: reqStepUp,
			noLinkOffered: true, wantPasskey: true, wantACR: bound, wantVerified: true},
		{who: "ada", method: "passkey-button", state: "returning with passkey, not consented", client: "public", req: reqMaxAge0, formPost: true, consent: true,
			wantPasskey: true, wantACR: bound, wantVerified: true},
		{who: "ada", method: "autofill", state: "returning with passkey", client: "publicSkip", req: reqLogin,
			wantPasskey: true, wantACR: bound, wantVerified: true},
		{who: "ada", method: "link-other-device", state: "returning with passkey", client: "confSkip", req: reqMaxAge0,
			wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "ada", method: "session", state: "live session, consented", client: "conf", req: reqNone,
			wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "ada", method: "recovery-link", state: "returning, passkey gone (device and account)", client: "conf", req: reqLogin,
			offer: offerAdd, wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "ada", method: "passkey-button", state: "returning with the recovered passkey", client: "publicSkip", req: reqStepUp, formPost: true,
			noLinkOffered: true, wantPasskey: true, wantACR: bound, wantVerified: true},

		// Bob: password + security key.
		{who: "bob", method: "password", state: "returning without key (enrols one), not consented", client: "conf", consent: true,
			enrolKey: true, wantAMR: []string{"pwd"}, wantACR: basic, wantVerified: true},
		{who: "bob", method: "password", state: "returning with key (session at basic)", client: "publicSkip", req: reqStepUp,
			noLinkOffered: true, wantAMR: []string{"pwd", "hwk", "mfa"}, wantACR: phr, wantVerified: true},
		{who: "bob", method: "session", state: "live session, consented", client: "conf", req: reqNone, formPost: true,
			wantAMR: []string{"pwd", "hwk", "mfa"}, wantACR: phr, wantVerified: true},
		{who: "bob", method: "password", state: "returning with key, consented", client: "conf", req: reqMaxAge0,
			wantAMR: []string{"pwd", "hwk", "mfa"}, wantACR: phr, wantVerified: true},

		// Cyd: no account; signs up by link, then comes back without a passkey.
		{who: "cyd", method: "link", state: "new (sign-up by link)", client: "publicSkip", formPost: true, signup: true,
			offer: offerNotNow, wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "cyd", method: "link-other-device", state: "returning without passkey, not consented", client: "conf", req: reqLogin, consent: true,
			offer: offerNotNow, wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "cyd", method: "session", state: "live session", client: "publicSkip", req: reqNone,
			wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "cyd", method: "link", state: "returning without passkey, consented", client: "conf", req: reqMaxAge0, formPost: true,
			offer: offerNotNow, wantAMR: otp, wantACR: basic, wantVerified: true},

		// Eve: no account; asks on her laptop, approves on her phone.
		{who: "eve", method: "link-other-device", state: "new (sign-up by link)", client: "public", req: reqMaxAge0, consent: true, signup: true,
			offer: offerNotNow, wantAMR: otp, wantACR: basic, wantVerified: true},

		// Dora: signs up with a passkey (unverified address), proves it later.
		{who: "dora", method: "passkey-signup", state: "new", client: "conf", consent: true,
			wantPasskey: true, wantACR: bound, wantVerified: false},
		{who: "dora", method: "passkey-button", state: "unverified address", client: "publicSkip", req: reqLogin, formPost: true,
			wantPasskey: true, wantACR: bound, wantVerified: false},
		{who: "dora", method: "passkey-username", state: "unverified address, consented", client: "conf", req: reqMaxAge0,
			wantPasskey: true, wantACR: bound, wantVerified: false},
		{who: "dora", method: "autofill", state: "unverified address", client: "confSkip", req: reqLogin,
			wantPasskey: true, wantACR: bound, wantVerified: false},
		{who: "dora", method: "session", state: "live session, unverified address", client: "conf", req: reqNone,
			wantPasskey: true, wantACR: bound, wantVerified: false},
		// The first proof of her address removes what was made before it —
		// her own passkey, sessions and consents — and tells her why.
		{who: "dora", method: "link-other-device", state: "unverified address (first proof)", client: "conf", req: reqLogin, consent: true,
			offer: offerNotNow, proven: true, wantAMR: otp, wantACR: basic, wantVerified: true},

		// Account pre-hijacking: a squatter signs up with the victim's
		// address; the victim's link takes the account back.
		{who: "squatter", method: "passkey-signup", state: "new (someone else's address)", client: "publicSkip",
			wantPasskey: true, wantACR: bound, wantVerified: false},
		{who: "victim", method: "link", state: "unverified address, made by a squatter", client: "conf", consent: true,
			offer: offerNotNow, proven: true, sameSubAs: "squatter", wantAMR: otp, wantACR: basic, wantVerified: true},
		{who: "squatter", method: "session", state: "session removed by the proof", client: "publicSkip", req: reqNone,
			wantError: "login_required"},
		{who: "squatter", method: "passkey-button", state: "passkey removed by the proof", client: "publicSkip", req: reqLogin,
			wantRefused: true},

		// Errors.
		{who: "stranger", method: "session", state: "no session", client: "publicSkip", req: reqNone, wantError: "login_required"},
		{who: "stranger", method: "session", state: "no session", client: "conf", req: reqNone, formPost: true, wantError: "login_required"},
	} {
		lane := c.who
		if lane == "victim" {
			lane = "squatter" // the victim's cells sit between the squatter's
		}
		if _, ok := lanes[lane]; !ok {
			order = append(order, lane)
		}
		lanes[lane] = append(lanes[lane], c)
	}
	// The people are independent, so their lanes run side by side (the
	// browser and the server spend much of a journey waiting); a person's
	// cells run in order, each starting from the state the last one left.
	// Two at a time: the machine has two cores, and more lanes only make
	// every step slower.
	var wg sync.WaitGroup
	slots := make(chan struct{}, 2)
	for _, lane := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			broken := false
			for _, c := range lanes[lane] {
				broken = !t.Run(c.name(), func(t *testing.T) {
					if broken {
						t.Fatalf("an earlier cell of lane %s failed; this one starts from its state", lane)
					}
					m.run(t, c)
				}) || broken
			}
		}()
	}
	wg.Wait()
}

// Request kinds.
const (
	reqPlain   = ""
	reqLogin   = "prompt=login"
	reqMaxAge0 = "max_age=0"
	reqStepUp  = "acr_values=phr"
	reqNone    = "prompt=none"
)

// What a person does on the passkey offer that follows a link sign-in
// without a passkey ("" when no offer must appear).
const (
	offerNotNow = "not now"
	offerAdd    = "add a passkey"
)

type cell struct {
	who, method, state string
	client             string // a key of matrix.rps
	req                string
	formPost           bool
	consent            bool   // the consent page must come and is allowed
	signup             bool   // a link to an address without an account
	offer              string // the passkey offer after a link, and what the person does
	proven             bool   // the first proof of the address: the notice, nothing left from before
	enrolKey           bool   // the password step enrols a first security key
	noLinkOffered      bool   // the login page must not offer a link (acr a link cannot meet)
	sameSubAs          string // the ID token's sub is the one this person got
	wantPasskey        bool   // amr has pop (a passkey); otherwise wantAMR exactly
	wantAMR            []string
	wantACR            string
	wantVerified       bool
	wantError          string // the error the callback gets instead of a code
	wantRefused        bool   // the sign-in is refused on the page; the app gets nothing
}

func (c cell) name() string {
	client := c.client
	if c.formPost {
		client += "+form_post"
	}
	req := c.req
	if req == "" {
		req = "plain"
	}
	return strings.NewReplacer(" ", "_", ",", "", "(", "", ")", "").Replace(c.who + "/" + c.method + "/" + c.state + "/" + req + "/" + client)
}

type matrix struct {
	t      *testing.T
	env    *plEnv
	root   context.Context
	rps    map[string]*relyingParty
	people map[string]*person

	mailMu   sync.Mutex
	seenMail map[string]bool
}

// person is someone with a browser (a browser context of its own, one tab)
// and, for passkey and security key users, a virtual authenticator.
type person struct {
	name, email, sub string
	ctx              context.Context
	auth             webauthn.AuthenticatorID
	authOpts         *webauthn.VirtualAuthenticatorOptions
	csp              *cspWatch
	restoreAutofill  func()
}

func (m *matrix) newPerson(name, email, sub string, auth *webauthn.VirtualAuthenticatorOptions) {
	t := m.t
	ctx, cancel := chromedp.NewContext(m.root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &person{name: name, email: email, sub: sub, ctx: ctx, authOpts: auth}
	p.csp = watchCSP(t, ctx)
	// The modal paths must be the ones that sign in: autofill is off but
	// in the autofill cells.
	p.restoreAutofill = browsertest.WithoutAutofill(t, ctx)
	if auth != nil {
		p.auth = browsertest.AddAuthenticator(t, ctx, auth)
	}
	m.people[name] = p
}

func (m *matrix) run(t *testing.T, c cell) {
	p := m.people[c.who]
	rp := m.rps[c.client]
	var opts []oauth2.AuthCodeOption
	if c.req != reqPlain {
		k, v, _ := strings.Cut(c.req, "=")
		if v == "phr" {
			v = models.ACRPhishingResistant
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	if c.formPost {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	a := rp.start(opts...)
	defer func() {
		for _, pp := range []*person{p, m.people[c.who+"-phone"]} {
			if pp == nil {
				continue
			}
			if v := pp.csp.take(); len(v) > 0 {
				t.Errorf("CSP violations in %s's browser:\n  %s", pp.name, strings.Join(v, "\n  "))
			}
		}
	}()
	if c.method == "autofill" {
		p.restoreAutofill()
		defer func() { p.restoreAutofill = browsertest.WithoutAutofill(t, p.ctx) }()
	}
	browsertest.Do(t, p.ctx, "open the authorization", chromedp.Navigate(a.url))

	if c.req == reqNone {
		// No page at all: the answer goes straight to the app.
		m.expect(t, c, p, rp, a)
		return
	}
	if c.method == "autofill" {
		// Nothing to click: the login page's conditional request is
		// answered as a person picking the passkey from the autofill list.
		m.expect(t, c, p, rp, a)
		return
	}
	browsertest.WaitLocation(t, p.ctx, m.env.Issuer+"/login?interaction=")
	browsertest.Do(t, p.ctx, "login page", chromedp.WaitVisible("#email-form"))
	browsertest.WaitLoaded(t, p.ctx)
	if n := browsertest.Eval[int](t, p.ctx, `document.querySelectorAll("#passlink-link").length`); c.noLinkOffered && n != 0 {
		t.Fatal("the login page offers a link to a request for a phishing-resistant sign-in")
	} else if !c.noLinkOffered && n != 1 {
		t.Fatal("the login page offers no link")
	}

	switch c.method {
	case "passkey-username":
		browsertest.Do(t, p.ctx, "username-first", chromedp.SendKeys("#email", p.email), chromedp.Click("#continue-button"))
	case "passkey-button":
		browsertest.Do(t, p.ctx, "passkey button", chromedp.Click("#passkey-button"))
	case "passkey-signup":
		browsertest.Do(t, p.ctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
		browsertest.WaitLoaded(t, p.ctx)
		browsertest.Do(t, p.ctx, "sign up", chromedp.SendKeys("#email", p.email), chromedp.SendKeys("#name", "Pat "+p.name), chromedp.Click("#signup-button"))
	case "link", "recovery-link", "link-other-device":
		if c.method == "recovery-link" {
			m.losePasskey(t, p)
		}
		m.signInByLink(t, c, p)
	case "password":
		browsertest.Do(t, p.ctx, "password and key", chromedp.Click("#password-link"), chromedp.WaitVisible("#password-form"))
		browsertest.WaitLoaded(t, p.ctx)
		browsertest.Do(t, p.ctx, "password", chromedp.SendKeys("#email", p.email), chromedp.SendKeys("#password", "correct horse battery staple"),
			chromedp.Click("#password-continue"))
		if c.enrolKey {
			browsertest.Do(t, p.ctx, "enrol the key", chromedp.WaitVisible("#key-button"))
			browsertest.WaitText(t, p.ctx, "h1", "Set up your security key")
			browsertest.Do(t, p.ctx, "set up the key", chromedp.Click("#key-button"))
		}
	default:
		t.Fatalf("unknown method %q", c.method)
	}

	if c.wantRefused {
		browsertest.WaitText(t, p.ctx, "#status", "passkey")
		time.Sleep(300 * time.Millisecond) // a sign-in would be on its way by now
		if loc := browsertest.Location(t, p.ctx); strings.HasPrefix(loc, rp.callback) {
			t.Fatalf("%s was signed in: %s", c.who, loc)
		}
		return
	}
	if c.consent {
		m.waitFor(t, p, m.env.Issuer+"/consent?interaction=")
		browsertest.Do(t, p.ctx, "consent", chromedp.WaitVisible(`button[value="allow"]`))
		browsertest.WaitLoaded(t, p.ctx)
		browsertest.Do(t, p.ctx, "allow", chromedp.Click(`button[value="allow"]`))
	}
	m.expect(t, c, p, rp, a)
}

// signInByLink asks for a link on the login page and uses it: in the same
// browser, or on "phone" with the code the asking tab shows; then the
// passkey offer, when there is one.
func (m *matrix) signInByLink(t *testing.T, c cell, p *person) {
	browsertest.Do(t, p.ctx, "ask for a link", chromedp.SendKeys("#email", p.email), chromedp.Click("#passlink-link"))
	browsertest.WaitLocation(t, p.ctx, m.env.Issuer+"/passlink?")
	browsertest.Do(t, p.ctx, "request form", chromedp.WaitVisible("#passlink-form"))
	browsertest.WaitLoaded(t, p.ctx)
	browsertest.Do(t, p.ctx, "send", chromedp.Click("#passlink-send"), chromedp.WaitVisible("#passlink-code"))
	code := strings.ReplaceAll(browsertest.Eval[string](t, p.ctx, `document.getElementById("passlink-code").innerText`), " ", "")
	link := m.nextLink(t, p.email)

	if c.method == "link-other-device" {
		phone := m.people[p.name+"-phone"]
		browsertest.Do(t, phone.ctx, "open the link on the phone", chromedp.Navigate(link), chromedp.WaitVisible("#code"))
		browsertest.WaitLoaded(t, phone.ctx)
		browsertest.Do(t, phone.ctx, "approve", chromedp.SendKeys("#code", code), chromedp.Click("#approve-button"), chromedp.WaitVisible(".notice"))
		if got := browsertest.Eval[string](t, phone.ctx, `document.body.innerText`); c.proven != strings.Contains(got, "first time this address was confirmed") {
			t.Errorf("approval page (first proof %v) says:\n%s", c.proven, got)
		}
		// The asking tab polls and continues by itself.
	} else {
		browsertest.Do(t, p.ctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible("#passlink-signin"))
		browsertest.WaitLoaded(t, p.ctx)
		if c.signup {
			browsertest.Do(t, p.ctx, "name", chromedp.SendKeys("#name", "Pat "+p.name))
		}
		browsertest.Do(t, p.ctx, "confirm", chromedp.Click("#passlink-signin"))
	}

	if c.offer == "" {
		return
	}
	m.waitFor(t, p, m.env.Issuer+"/passlink/passkey?")
	browsertest.Do(t, p.ctx, "passkey offer", chromedp.WaitVisible("#add-passkey"))
	browsertest.WaitLoaded(t, p.ctx)
	notice := browsertest.Eval[string](t, p.ctx, `(document.querySelector("p.notice:not([hidden])") || {innerText: ""}).innerText`)
	// Approved on another device, the proof happened there and the phone's
	// page explains it (checked above); the asking tab's offer is not told
	// (Complete does not know what the approval removed), so only a
	// same-browser proof is checked here.
	if c.method != "link-other-device" && c.proven != strings.Contains(notice, "first time this address was confirmed") {
		t.Errorf("passkey offer (first proof %v) shows the notice %q", c.proven, notice)
	}
	switch c.offer {
	case offerNotNow:
		browsertest.Do(t, p.ctx, "not now", chromedp.Click("#not-now"))
	case offerAdd:
		browsertest.Do(t, p.ctx, "add a passkey", chromedp.Click("#add-passkey"))
	}
}

// losePasskey: the person's device and its passkey are gone, and the
// passkey was removed from the account (from another device).
func (m *matrix) losePasskey(t *testing.T, p *person) {
	ctx := context.Background()
	creds, err := m.env.Store.ListUserCredentials(ctx, p.sub)
	if err != nil || len(creds) == 0 {
		t.Fatalf("%s has no passkey to lose: %v", p.name, err)
	}
	for _, cr := range creds {
		if err := m.env.Store.DeleteCredential(ctx, p.sub, cr.ID); err != nil {
			t.Fatal(err)
		}
	}
	browsertest.RemoveAuthenticator(t, p.ctx, p.auth)
	p.auth = browsertest.AddAuthenticator(t, p.ctx, p.authOpts)
}

// expect waits for the app's callback and checks what it got.
func (m *matrix) expect(t *testing.T, c cell, p *person, rp *relyingParty, a *authorization) {
	t.Helper()
	loc := m.waitFor(t, p, rp.callback)
	var q url.Values
	if c.formPost {
		v, ok := rp.postedFor(a.state)
		if !ok {
			t.Fatalf("at %s, but the app got no form_post with state %s", loc, a.state)
		}
		q = v
	} else {
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		q = u.Query()
	}
	if c.wantError != "" {
		if q.Get("error") != c.wantError || q.Get("state") != a.state || q.Get("code") != "" || q.Get("iss") != m.env.Issuer {
			t.Fatalf("the app got %v, want error %s with state and iss, no code", q, c.wantError)
		}
		return
	}
	claims := a.exchange(t, loc, q)
	switch {
	case c.sameSubAs != "":
		if want := m.people[c.sameSubAs].sub; claims.Sub != want {
			t.Errorf("sub %s, want %s (%s's)", claims.Sub, want, c.sameSubAs)
		}
		p.sub = claims.Sub
	case p.sub == "":
		p.sub = claims.Sub // a sign-up
	case claims.Sub != p.sub:
		t.Errorf("sub %s, want %s", claims.Sub, p.sub)
	}
	if c.wantPasskey {
		if !slices.Contains(claims.AMR, "pop") {
			t.Errorf("amr %v, want a passkey's (pop)", claims.AMR)
		}
	} else if !slices.Equal(claims.AMR, c.wantAMR) {
		t.Errorf("amr %v, want %v", claims.AMR, c.wantAMR)
	}
	if claims.ACR != c.wantACR || claims.EmailVerified != c.wantVerified || claims.Email != p.email {
		t.Errorf("claims %+v, want acr %s, email %s verified %v", claims, c.wantACR, p.email, c.wantVerified)
	}
	if c.proven {
		// Nothing made before the proof is left.
		if creds, err := m.env.Store.ListUserCredentials(context.Background(), claims.Sub); err != nil || len(creds) != 0 {
			t.Errorf("after the first proof the account holds %d credentials (%v)", len(creds), err)
		}
	}
}

// waitFor waits, bounded, until the person's tab is at a URL starting with
// prefix. A navigation that CSP blocks leaves the tab where it was, so on
// time-out it reports where the tab is, what the page says and the CSP
// violations.
func (m *matrix) waitFor(t *testing.T, p *person, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var loc string
	for time.Now().Before(deadline) {
		loc, _ = chromedp.Run(p.ctx, chromedp.Location())
		if strings.HasPrefix(loc, prefix) {
			return loc
		}
		time.Sleep(50 * time.Millisecond)
	}
	text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("never reached %s; still at %s\npage says:\n%s\nCSP violations: %q", prefix, loc, text, p.csp.take())
	return ""
}

// nextLink waits for a new sign-in link mailed to email.
func (m *matrix) nextLink(t *testing.T, email string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, msg := range m.env.smtp.Messages() {
			l := plLinkRE.FindString(msg.Text)
			if l == "" || len(msg.To) != 1 || msg.To[0] != email {
				continue
			}
			m.mailMu.Lock()
			seen := m.seenMail[l]
			m.seenMail[l] = true
			m.mailMu.Unlock()
			if !seen {
				return m.env.Issuer + l
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no new link mailed to %s", email)
	return ""
}

// cspWatch collects what Chromium reports as CSP violations in a tab, across
// navigations: the securitypolicyviolation events of every document (sent
// to Go at once, since a document that navigates away takes its state with
// it) and the browser's own console messages about Content Security Policy.
type cspWatch struct {
	mu sync.Mutex
	v  []string
}

func (w *cspWatch) add(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.v, s) {
		w.v = append(w.v, s)
	}
}

// take returns the violations so far and forgets them.
func (w *cspWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.v
	w.v = nil
	return v
}

func watchCSP(t *testing.T, ctx context.Context) *cspWatch {
	t.Helper()
	w := &cspWatch{}
	const src = `document.addEventListener("securitypolicyviolation", function (e) {
  window.__sesameCSP(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + e.documentURI + " at " + e.sourceFile + ":" + e.lineNumber);
});`
	if err := chromedp.Do(ctx,
		chromedp.ExposeFunc("__sesameCSP", func(_ context.Context, s string) (chromedp.Void, error) {
			w.add(s)
			return chromedp.Void{}, nil
		}),
	); err != nil {
		t.Fatalf("watch CSP: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		t.Fatalf("watch CSP: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*log.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			w.add("console: " + e.Entry.Text)
		}
	}); err != nil {
		t.Fatalf("watch CSP: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("watch CSP: %v", err)
	}
	return w
}
