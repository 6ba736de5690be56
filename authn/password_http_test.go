package authn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/server/servertest"
)

// The password + security key method over real HTTP, as
// static/password.js drives it, with a virtual security key in Go
// (descope/virtualwebauthn: no resident key, no user verification).

// fastPasswords makes argon2id cheap where its cost is not under test
// (the parameters travel with each hash, so nothing else changes).
func fastPasswords(c *config.Config) { c.PasswordMemory, c.PasswordIterations = 64, 1 }

// pwEnv is a Sesame with one client that skips consent.
type pwEnv struct {
	*servertest.Env
	rp *relyingParty
}

func newPWEnv(t *testing.T, opts ...servertest.Option) *pwEnv {
	t.Helper()
	env := servertest.New(t, append([]servertest.Option{servertest.With(fastPasswords)}, opts...)...)
	return &pwEnv{Env: env, rp: newRelyingParty(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})}
}

// pwUser creates an account, with a password unless pw is "".
func pwUser(t *testing.T, env *servertest.Env, email, pw string) *models.User {
	t.Helper()
	u := env.CreateUser(email)
	if pw != "" {
		params, err := password.ParamsFrom(env.Config.PasswordMemory, env.Config.PasswordIterations, env.Config.PasswordParallelism)
		if err != nil {
			t.Fatal(err)
		}
		h, err := password.NewHasher(params).Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Store.SetUserPassword(context.Background(), u.ID, h); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// newSecurityKey is a roaming key holding one credential: not backup
// eligible, no user verification.
func newSecurityKey() *authenticator {
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserNotVerified: true})
	c := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key())
	a.AddCredential(c)
	return &authenticator{auth: a, cred: c}
}

type stepOpts struct {
	Step      string          `json:"step"`
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
	Redirect  string          `json:"redirect"`
}

// passwordStep posts the first step.
func (b *browser) passwordStep(interaction, email, pw string) apiResponse {
	b.t.Helper()
	return b.post("/login/password", map[string]string{"interaction": interaction, "email": email, "password": pw})
}

// wantStep checks the first step was granted and returns what follows.
func wantStep(t *testing.T, res apiResponse, step string) stepOpts {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("password step: %s", res)
	}
	var s stepOpts
	if err := json.Unmarshal(res.raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.Step != step || (step != "" && (s.Ceremony == "" || len(s.PublicKey) == 0)) {
		t.Fatalf("password step answered %s, want step %q", res.raw, step)
	}
	return s
}

// signInWithKey is the whole sign-in: password, then the key; it returns
// the verify's redirect.
func (b *browser) signInWithKey(interaction, email, pw string, key *authenticator) string {
	b.t.Helper()
	s := wantStep(b.t, b.passwordStep(interaction, email, pw), "key")
	return redirectOf(b.t, b.post("/login/password/key", verifyBody(s.Ceremony, key.get(b.t, s.PublicKey, b.env.Issuer))))
}

// enrol is the first sign-in of an account without a key: password, then
// the registration of key.
func (b *browser) enrol(interaction, email, pw string, key *authenticator) string {
	b.t.Helper()
	s := wantStep(b.t, b.passwordStep(interaction, email, pw), "enrol")
	return redirectOf(b.t, b.post("/login/password/enrol", verifyBody(s.Ceremony, key.create(b.t, s.PublicKey, b.env.Issuer))))
}

// TestPasswordSignInWithSecurityKey: an account with a password and no
// key enrols a cross-platform security key right after its password,
// before any session exists (the ID token says amr ["pwd"], acr basic:
// the key is new); from then on the password is followed by an assertion
// restricted to that key, and the stock OIDC client gets amr ["pwd",
// "hwk", "mfa"] at the phishing-resistant acr (RFC 8176 §2).
func TestPasswordSignInWithSecurityKey(t *testing.T) {
	servertest.EachDialect(t, passwordJourney)
}

func passwordJourney(t *testing.T, opts ...servertest.Option) {
	env := newPWEnv(t, opts...)
	u := pwUser(t, env.Env, "ada@example.com", "correct horse battery staple")
	key := newSecurityKey()
	b := newBrowser(t, env.Env)

	a := env.rp.start()
	in := b.openAuthorization(a)
	if resp, body := b.page("/login/password?interaction=" + in); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="password-form"`) {
		t.Fatalf("password page: %d", resp.StatusCode)
	}
	s := wantStep(t, b.passwordStep(in, "ada@example.com", "correct horse battery staple"), "enrol")
	// Before the key: no session, no credential; the half-authenticated
	// state is the ceremony row alone.
	if n := countRows(t, env.Env, "login_sessions"); n != 0 {
		t.Fatalf("%d login sessions after the password alone", n)
	}
	var creation struct {
		AuthenticatorSelection struct {
			AuthenticatorAttachment string `json:"authenticatorAttachment"`
			ResidentKey             string `json:"residentKey"`
			UserVerification        string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	}
	if err := json.Unmarshal(s.PublicKey, &creation); err != nil {
		t.Fatal(err)
	}
	if sel := creation.AuthenticatorSelection; sel.AuthenticatorAttachment != "cross-platform" || sel.ResidentKey != "discouraged" || sel.UserVerification != "discouraged" {
		t.Fatalf("enrolment options %+v: want a cross-platform key, residentKey and UV discouraged", sel)
	}
	r := redirectOf(t, b.post("/login/password/enrol", verifyBody(s.Ceremony, key.create(t, s.PublicKey, env.Issuer))))
	c := a.finish(t, b.follow(r))
	if c.Sub != u.ID || !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != models.ACRBasic {
		t.Fatalf("enrolment sign-in claims %+v, want amr [pwd] at acr basic", c)
	}
	creds, err := env.Store.ListUserCredentials(context.Background(), u.ID)
	if err != nil || len(creds) != 1 || creds[0].Kind != models.CredentialSecurityKey || creds[0].BackupEligible || creds[0].ID != key.id() {
		t.Fatalf("stored credentials %+v %v", creds, err)
	}

	// Password + key.
	a = env.rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	in = b.openAuthorization(a)
	s = wantStep(t, b.passwordStep(in, "ADA@example.com", "correct horse battery staple"), "key")
	var request struct {
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	}
	if err := json.Unmarshal(s.PublicKey, &request); err != nil {
		t.Fatal(err)
	}
	if len(request.AllowCredentials) != 1 || request.AllowCredentials[0].ID != key.id() || request.UserVerification != "discouraged" {
		t.Fatalf("assertion options %s: want allowCredentials [the key], UV discouraged", s.PublicKey)
	}
	r = redirectOf(t, b.post("/login/password/key", verifyBody(s.Ceremony, key.get(t, s.PublicKey, env.Issuer))))
	c = a.finish(t, b.follow(r))
	if c.Sub != u.ID || !slices.Equal(c.AMR, []string{"pwd", "hwk", "mfa"}) || c.ACR != models.ACRPhishingResistant {
		t.Fatalf("password + key claims %+v, want amr [pwd hwk mfa] at acr phr", c)
	}

	// Without an app: the account page.
	b2 := newBrowser(t, env.Env)
	b2.page("/login/password")
	if r := b2.signInWithKey("", "ada@example.com", "correct horse battery staple", key); r != "/account" {
		t.Fatalf("sign-in without an app went to %q", r)
	}
	if n := countRows(t, env.Env, "auth_events WHERE method = 'password_security_key' AND result = 'success' AND event = 'login'"); n != 3 {
		t.Fatalf("%d successful password sign-in events, want 3", n)
	}
}

// TestPasswordSignInRefusals: every bad input gets a clear 4xx answer and
// writes nothing (no session, no credential change, no counter change):
// the wrong password, an unknown address and a passkey-only account all
// get the same answer (no enumeration); an over-long password is refused
// before hashing; a key of another account, a replayed assertion and a
// ceremony of the other method are refused after the right password.
func TestPasswordSignInRefusals(t *testing.T) {
	env := newPWEnv(t)
	pwUser(t, env.Env, "ada@example.com", "correct horse battery staple")
	pwUser(t, env.Env, "bob@example.com", "another good passphrase")
	adaKey, bobKey := newSecurityKey(), newSecurityKey()
	setup := newBrowser(t, env.Env)
	setup.page("/login/password")
	setup.enrol("", "ada@example.com", "correct horse battery staple", adaKey)
	setup.enrol("", "bob@example.com", "another good passphrase", bobKey)
	// Carol has a passkey only.
	carolDev := newAuthenticator()
	cb := newBrowser(t, env.Env)
	cb.page("/signup")
	cb.signUp("", "carol@example.com", "Carol", carolDev)

	b := newBrowser(t, env.Env)
	b.page("/login/password")
	before := snapshot(t, env.Env)
	unchanged := func(what string) {
		t.Helper()
		if after := snapshot(t, env.Env); after != before {
			t.Fatalf("%s changed the database:\n%s\n---\n%s", what, before, after)
		}
	}

	// One answer for every wrong combination (different source addresses
	// are not needed: five per minute per account and address).
	var generic string
	for _, tc := range []struct{ name, email, pw string }{
		{"wrong password", "ada@example.com", "wrong horse battery staple"},
		{"unknown address", "nobody@example.com", "correct horse battery staple"},
		{"passkey-only account", "carol@example.com", "correct horse battery staple"},
	} {
		res := b.passwordStep("", tc.email, tc.pw)
		wantAPIError(t, res, http.StatusUnauthorized, "wrong_password")
		if generic == "" {
			generic = string(res.raw)
		} else if string(res.raw) != generic {
			t.Fatalf("%s: answer %s differs from %s", tc.name, res.raw, generic)
		}
		unchanged(tc.name)
	}
	// The failures are recorded against the account the address names
	// (the console shows whose password was wrong), and against nobody
	// for an unknown address.
	ada, err := env.Store.GetUserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := env.Store.RecentAuthEvents(context.Background(), time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var adaFailed, anonFailed int
	for _, e := range evs {
		if e.Reason != "wrong_password" {
			continue
		}
		switch e.UserID {
		case ada.ID:
			adaFailed++
		case "":
			anonFailed++
		}
	}
	if adaFailed != 1 || anonFailed != 1 {
		t.Errorf("wrong-password events: %d for ada, %d for nobody; want 1 and 1", adaFailed, anonFailed)
	}
	if res := b.passwordStep("", "ada@example.com", strings.Repeat("x", password.MaxBytes+1)); true {
		wantAPIError(t, res, http.StatusBadRequest, "password_too_long")
	}
	huge := `{"email":"ada@example.com","password":"` + strings.Repeat("x", 70<<10) + `"}`
	if res := b.send("/login/password", "application/json", b.csrf, strings.NewReader(huge)); res.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("70 KiB body: %s", res)
	}
	wantAPIError(t, b.passwordStep("", "ada@example.com", ""), http.StatusBadRequest, "password_missing")
	wantAPIError(t, b.passwordStep("", "not an address", "correct horse battery staple"), http.StatusBadRequest, "invalid_email")
	if res := b.send("/login/password", "application/json", "", bytes.NewReader(mustJSON(t, map[string]string{"email": "ada@example.com", "password": "x"}))); res.status != http.StatusForbidden {
		t.Fatalf("no CSRF token: %s", res)
	}
	// Without the page's script the form posts (never GETs: no password
	// in a URL), and the post is refused.
	form := "email=ada%40example.com&password=correct+horse+battery+staple"
	if res := b.send("/login/password", "application/x-www-form-urlencoded", "", strings.NewReader(form)); res.status != http.StatusForbidden {
		t.Fatalf("a plain form post: %s", res)
	}
	if res := b.send("/login/password", "application/x-www-form-urlencoded", b.csrf, strings.NewReader(form)); res.status != http.StatusUnsupportedMediaType {
		t.Fatalf("a form post with the token: %s", res)
	}
	if _, page := b.page("/login/password"); !strings.Contains(page, `<form id="password-form" method="post"`) {
		t.Fatal("the password form would GET without its script")
	}
	unchanged("refused input")

	// Right password, then the key of another account (Bob's key signs
	// the assertion Ada's password began).
	s := wantStep(t, b.passwordStep("", "ada@example.com", "correct horse battery staple"), "key")
	wantAPIError(t, b.post("/login/password/key", verifyBody(s.Ceremony, bobKey.get(t, s.PublicKey, env.Issuer))), http.StatusBadRequest, "wrong_credential")
	unchanged("another account's key")
	if n := countRows(t, env.Env, "auth_events WHERE method = 'password_security_key' AND reason = 'wrong_credential'"); n != 1 {
		t.Fatalf("%d wrong_credential events, want 1", n)
	}

	// A replayed assertion: the ceremony is single use, and the same
	// assertion on a new ceremony fails its challenge.
	s = wantStep(t, b.passwordStep("", "ada@example.com", "correct horse battery staple"), "key")
	assertion := adaKey.get(t, s.PublicKey, env.Issuer)
	redirectOf(t, b.post("/login/password/key", verifyBody(s.Ceremony, assertion)))
	before = snapshot(t, env.Env)
	wantAPIError(t, b.post("/login/password/key", verifyBody(s.Ceremony, assertion)), http.StatusConflict, "ceremony_used")
	s = wantStep(t, b.passwordStep("", "ada@example.com", "correct horse battery staple"), "key")
	wantAPIError(t, b.post("/login/password/key", verifyBody(s.Ceremony, assertion)), http.StatusBadRequest, "verification_failed")
	unchanged("a replayed assertion")

	// The other method's ceremonies: a passkey ceremony cannot finish
	// here, nor a security key ceremony at the passkey endpoint, nor an
	// enrolment as a passkey sign-up (which would sign in without the key).
	o := b.options("/webauthn/login/options", map[string]string{"email": "carol@example.com"})
	wantAPIError(t, b.post("/login/password/key", verifyBody(o.Ceremony, carolDev.get(t, o.PublicKey, env.Issuer))), http.StatusForbidden, "wrong_browser")
	s = wantStep(t, b.passwordStep("", "bob@example.com", "another good passphrase"), "key")
	wantAPIError(t, b.post("/webauthn/login/verify", verifyBody(s.Ceremony, bobKey.get(t, s.PublicKey, env.Issuer))), http.StatusForbidden, "wrong_browser")
	dave := pwUser(t, env.Env, "dave@example.com", "dave's own passphrase")
	fresh := newBrowser(t, env.Env)
	fresh.page("/login/password")
	s = wantStep(t, fresh.passwordStep("", "dave@example.com", "dave's own passphrase"), "enrol")
	wantAPIError(t, fresh.post("/webauthn/register/verify", verifyBody(s.Ceremony, newSecurityKey().create(t, s.PublicKey, env.Issuer))), http.StatusForbidden, "wrong_browser")
	if creds, _ := env.Store.ListUserCredentials(context.Background(), dave.ID); len(creds) != 0 {
		t.Fatalf("an enrolment finished as a passkey sign-up stored %d credentials", len(creds))
	}
	if ls, _ := env.Store.ListUserLoginSessions(context.Background(), dave.ID); len(ls) != 0 {
		t.Fatal("an enrolment finished as a passkey sign-up signed in")
	}
}

// TestPasswordThrottleOverHTTP: the sixth quick attempt on an account is
// answered 429 with Retry-After, even with the right password; and the
// limit holds across two server instances on one database, a browser's
// requests alternating between them as behind a load balancer.
func TestPasswordThrottleOverHTTP(t *testing.T) {
	env := newPWEnv(t)
	pwUser(t, env.Env, "ada@example.com", "correct horse battery staple")
	second, err := server.New(context.Background(), server.Deps{Config: env.Config, Store: env.Store, Secret: env.Secret})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, env.Env)
	lb := &roundRobin{handlers: []http.Handler{env.Server.Handler(), second.Handler()}}
	b.c.Transport = lb
	b.page("/login/password")
	servertest.AwayFromWindowEdge(time.Minute, 20*time.Second)
	for i := range 5 {
		wantAPIError(t, b.passwordStep("", "ada@example.com", "wrong guess number "+string(rune('0'+i))), http.StatusUnauthorized, "wrong_password")
	}
	res := b.passwordStep("", "ada@example.com", "correct horse battery staple")
	wantAPIError(t, res, http.StatusTooManyRequests, "throttled")
	if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	if !strings.Contains(res.str("message"), "Try again in") {
		t.Fatalf("throttle message %q", res.str("message"))
	}
	if lb.n.Load() < 7 {
		t.Fatalf("only %d requests went through the two servers", lb.n.Load())
	}
	// Another account is not affected.
	pwUser(t, env.Env, "bob@example.com", "another good passphrase")
	wantStep(t, b.passwordStep("", "bob@example.com", "another good passphrase"), "enrol")
}

// roundRobin serves a client's requests in process, alternating between
// server instances.
type roundRobin struct {
	handlers []http.Handler
	n        atomic.Int64
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	h := r.handlers[int(r.n.Add(1))%len(r.handlers)]
	req.RemoteAddr = "192.0.2.10:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// TestPasswordClientPolicy: the client's allowed methods decide. A client
// allowing only passkeys never offers the password, and a posted password
// for it is refused (403) before anything is counted or checked; a client
// allowing only passwords sends the login page to the password form; a
// client whose methods cannot give what a request demands gets a clear
// page.
func TestPasswordClientPolicy(t *testing.T) {
	env := servertest.New(t, servertest.With(fastPasswords))
	pwUser(t, env, "ada@example.com", "correct horse battery staple")
	passkeyOnly := newRelyingParty(t, env, clients.Spec{Name: "Passkey Shop", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none",
		AllowedLoginMethods: []string{models.MethodPasskey}})
	passwordOnly := newRelyingParty(t, env, clients.Spec{Name: "Legacy App", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none",
		AllowedLoginMethods: []string{models.MethodPasswordKey}})
	linkOnly := newRelyingParty(t, env, clients.Spec{Name: "Link App", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none",
		AllowedLoginMethods: []string{models.MethodPasslink}})

	b := newBrowser(t, env)
	resp, body := b.page(passkeyOnly.start().url)
	in := resp.Request.URL.Query().Get("interaction")
	if resp.Request.URL.Path != "/login" || strings.Contains(body, "/login/password") || strings.Contains(body, "password-link") {
		t.Fatalf("a passkey-only client's login page offers the password (%s)", resp.Request.URL)
	}
	if resp, _ := b.c.Get(env.Issuer + "/login/password?interaction=" + in); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("password page for a passkey-only client: %d", resp.StatusCode)
	}
	before, limits := snapshot(t, env), countRows(t, env, "rate_limits")
	wantAPIError(t, b.passwordStep(in, "ada@example.com", "correct horse battery staple"), http.StatusForbidden, "interaction")
	if snapshot(t, env) != before || countRows(t, env, "rate_limits") != limits || countRows(t, env, "webauthn_ceremonies") != 0 {
		t.Fatal("a refused password post changed something")
	}

	resp, body = b.page(passwordOnly.start().url)
	if resp.Request.URL.Path != "/login/password" || !strings.Contains(body, `id="password-form"`) || strings.Contains(body, "Other ways to sign in") {
		t.Fatalf("a password-only client's sign-in landed on %s", resp.Request.URL)
	}

	resp, body = b.page(linkOnly.start(oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant)).url)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "No way to sign in to Link App") || !strings.Contains(body, "phishing-resistant") {
		t.Fatalf("a client whose methods cannot meet the request: %d\n%s", resp.StatusCode, body)
	}
}

// TestPasswordACR: acr_values map to the methods (README: acr). With the
// policy letting a password alone in, a password-only session is basic;
// a request for phishing resistance then needs a new login (prompt=none
// gets login_required, OIDC Core §3.1.2.6), its login page offers only
// qualifying methods, and the password step demands the key (enrolling
// one first, after which the person signs in once more with it). A
// password + key session meets the level without a new login.
func TestPasswordACR(t *testing.T) {
	env := newPWEnv(t, servertest.With(func(c *config.Config) { c.RequireSecurityKey = false }))
	u := pwUser(t, env.Env, "ada@example.com", "correct horse battery staple")
	b := newBrowser(t, env.Env)

	a := env.rp.start()
	in := b.openAuthorization(a)
	s := wantStep(t, b.passwordStep(in, "ada@example.com", "correct horse battery staple"), "")
	c := a.finish(t, b.follow(s.Redirect))
	if !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != models.ACRBasic {
		t.Fatalf("password-only claims %+v", c)
	}

	phr := oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant)
	a = env.rp.start(phr, oauth2.SetAuthURLParam("prompt", "none"))
	resp, err := b.c.Get(a.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none with a basic session: %d %s, want login_required", resp.StatusCode, resp.Header.Get("Location"))
	}

	a = env.rp.start(phr)
	resp, body := b.page(a.url)
	in = resp.Request.URL.Query().Get("interaction")
	if resp.Request.URL.Path != "/login" || strings.Contains(body, "passlink-link") || !strings.Contains(body, `id="password-link"`) {
		t.Fatalf("phr login page (%s) must offer passkey and password, not a link", resp.Request.URL)
	}
	key := newSecurityKey()
	r := b.enrol(in, "ada@example.com", "correct horse battery staple", key)
	if !strings.HasPrefix(r, "/login/password?") || !strings.Contains(r, "done=key_ready") || !strings.Contains(r, "interaction="+in) {
		t.Fatalf("after enrolling for a phr request: %q, want the password page again", r)
	}
	if _, body := b.page(r); !strings.Contains(body, "Your security key is ready") {
		t.Fatal("the password page does not say the key is ready")
	}
	c = a.finish(t, b.follow(b.signInWithKey(in, "ada@example.com", "correct horse battery staple", key)))
	if c.Sub != u.ID || c.ACR != models.ACRPhishingResistant || !slices.Equal(c.AMR, []string{"pwd", "hwk", "mfa"}) {
		t.Fatalf("phr claims %+v", c)
	}

	// The phr session meets the next phr request silently.
	a = env.rp.start(phr, oauth2.SetAuthURLParam("prompt", "none"))
	resp, err = b.c.Get(a.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c = a.finish(t, resp.Header.Get("Location"))
	if c.ACR != models.ACRPhishingResistant || !slices.Equal(c.AMR, []string{"pwd", "hwk", "mfa"}) {
		t.Fatalf("silent phr claims %+v", c)
	}

	// With a key, the password alone never signs in, whatever the policy.
	b2 := newBrowser(t, env.Env)
	b2.page("/login/password")
	wantStep(t, b2.passwordStep("", "ada@example.com", "correct horse battery staple"), "key")
}

// TestAccountPasswordAndKeys: /account sets or changes the password only
// after a recent sign-in (and signs out the other sessions), applies the
// rules, lists security keys beside passkeys as second factors, adds them,
// and refuses to remove the last one while a password needs it.
func TestAccountPasswordAndKeys(t *testing.T) {
	env := newPWEnv(t)
	u := env.CreateUser("ada@example.com")
	other := newBrowser(t, env.Env)
	otherLS := env.Login(other.c, u.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())

	// A stale sign-in may not change the password.
	stale := newBrowser(t, env.Env)
	env.Login(stale.c, u.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now().Add(-11*time.Minute))
	_, body := stale.page("/account")
	if !strings.Contains(body, `id="reauth"`) || strings.Contains(body, `id="new-password"`) {
		t.Fatal("a stale session is offered the password form")
	}
	staleAcc := &account{browser: stale, noFollow: noFollow(stale.c)}
	staleAcc.wantRedirect(t, "/account/password", url.Values{"csrf": {stale.csrf}, "password": {"a fine new passphrase"}}, "/account?done=reauth#password")
	if _, err := env.Store.GetUserPassword(context.Background(), u.ID); err == nil {
		t.Fatal("a stale session set a password")
	}

	acc := signedIn(t, env.Env, u.ID)
	_, body = acc.page("/account")
	if !strings.Contains(body, "Set password") || !strings.Contains(body, `id="add-security-key"`) {
		t.Fatal("the account page offers no password or security key")
	}
	// The rules, with the message next to the field.
	for pw, want := range map[string]string{
		"short":                      "Use at least 10 characters.",
		"1qaz2wsx3edc":               "too common",
		"ada-my-passphrase":          "email address",
		strings.Repeat("x", 2000):    "too long",
		"abcdefghijklmnopqrstuvwxyz": "sequence",
	} {
		status, page := acc.formPage(t, "/account/password", url.Values{"csrf": {acc.csrf}, "password": {pw}})
		if status != http.StatusBadRequest || !strings.Contains(page, want) || !strings.Contains(page, `id="new-password-error" class="field-error" role="alert">`) {
			t.Fatalf("password %.20q: %d, want 400 saying %q", pw, status, want)
		}
	}
	if _, err := env.Store.GetUserPassword(context.Background(), u.ID); err == nil {
		t.Fatal("a refused password was stored")
	}
	acc.wantRedirect(t, "/account/password", url.Values{"csrf": {acc.csrf}, "password": {"a fine new passphrase"}}, "/account?done=password_set#password")
	if _, err := env.Store.GetUserPassword(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.GetLoginSessionByTokenHash(context.Background(), otherLS.TokenHash); err == nil {
		t.Fatal("setting the password left another session signed in")
	}
	if _, body := acc.page("/account"); !strings.Contains(body, "Change password") {
		t.Fatal("the account page still offers to set a password")
	}
	// No CSRF token, no change.
	if status, _ := acc.form(t, "/account/password", url.Values{"password": {"yet another passphrase"}}); status != http.StatusBadRequest && status != http.StatusForbidden {
		t.Fatalf("password change without CSRF: %d", status)
	}

	// Security keys from the account page.
	k1 := acc.addSecurityKey(t)
	_, body = acc.page("/account")
	if !strings.Contains(body, `id="security-key-list"`) || !strings.Contains(body, "Second factor") || strings.Contains(body, `id="passkeys"`) {
		t.Fatal("the security key is not listed as a second factor (apart from passkeys)")
	}
	// Now the password works with the key.
	b := newBrowser(t, env.Env)
	b.page("/login/password")
	b.signInWithKey("", "ada@example.com", "a fine new passphrase", k1)
	// The only credential cannot go; with a passkey beside it, the only
	// security key still cannot while the password needs it.
	acc.wantRedirect(t, "/account/passkeys/delete", url.Values{"csrf": {acc.csrf}, "id": {k1.id()}}, "/account?done=last_passkey")
	acc.addPasskey(t)
	acc.wantRedirect(t, "/account/passkeys/delete", url.Values{"csrf": {acc.csrf}, "id": {k1.id()}}, "/account?done=last_security_key")
	acc.page("/account")
	k2 := acc.addSecurityKey(t)
	acc.wantRedirect(t, "/account/passkeys/delete", url.Values{"csrf": {acc.csrf}, "id": {k1.id()}}, "/account?done=key_deleted")
	creds, _ := env.Store.ListUserCredentials(context.Background(), u.ID)
	if len(creds) != 2 || slices.ContainsFunc(creds, func(c models.WebAuthnCredential) bool { return c.ID == k1.id() }) {
		t.Fatalf("credentials after removing a key: %d", len(creds))
	}
	b.signInWithKey("", "ada@example.com", "a fine new passphrase", k2)
}

func noFollow(c *http.Client) *http.Client {
	nf := *c
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &nf
}

// formPage posts an account form and returns the status and the page.
func (a *account) formPage(t *testing.T, path string, v url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.env.Issuer+path, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.env.Issuer)
	resp, err := a.noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// addSecurityKey adds a fresh security key from the account page.
func (a *account) addSecurityKey(t *testing.T) *authenticator {
	t.Helper()
	b := a.with(t)
	k := newSecurityKey()
	o := b.options("/account/security-keys/options", map[string]string{})
	if r := redirectOf(t, b.post("/account/security-keys/verify", verifyBody(o.Ceremony, k.create(t, o.PublicKey, a.env.Issuer)))); r != "/account?done=key_added#security-keys" {
		t.Fatalf("adding a security key redirected to %q", r)
	}
	if c := credentialOf(t, a.env, k.id()); c.Kind != models.CredentialSecurityKey {
		t.Fatalf("added credential is a %s", c.Kind)
	}
	return k
}
