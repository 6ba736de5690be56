package authn_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// relyingParty is a stock OIDC client (go-oidc + x/oauth2) with a real
// callback server on loopback, so the browser lands somewhere.
type relyingParty struct {
	t        *testing.T
	provider *gooidc.Provider
	oauth    oauth2.Config
	clientID string
	callback string

	mu     sync.Mutex
	posted []url.Values // what response_mode=form_post sent to the callback
	// frontchannel are the queries of the loads of its front-channel
	// logout page (a spec's FrontchannelLogoutURI given as a path is on
	// the callback server).
	frontchannel []url.Values
}

func newRelyingParty(t *testing.T, env *servertest.Env, spec clients.Spec) *relyingParty {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rp := &relyingParty{t: t}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.ParseForm() == nil {
			rp.mu.Lock()
			rp.posted = append(rp.posted, r.PostForm)
			rp.mu.Unlock()
		}
		if r.URL.Path == "/frontchannel-logout" {
			rp.mu.Lock()
			rp.frontchannel = append(rp.frontchannel, r.URL.Query())
			rp.mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>Callback</title><h1>Back at the app</h1>`))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	origin := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	callback := origin + "/callback"
	spec.RedirectURIs = []string{callback}
	if strings.HasPrefix(spec.FrontchannelLogoutURI, "/") {
		spec.FrontchannelLogoutURI = origin + spec.FrontchannelLogoutURI
	}
	if spec.Name == "" {
		spec.Name = "Acme Notes"
	}
	id, secret := env.CreateClient(spec)
	p, err := gooidc.NewProvider(context.Background(), env.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	rp.provider, rp.clientID, rp.callback = p, id, callback
	rp.oauth = oauth2.Config{
		ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: callback,
		Scopes: []string{"openid", "profile", "email"},
	}
	return rp
}

// postedFor returns the form_post answer the callback received for state.
func (rp *relyingParty) postedFor(state string) (url.Values, bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for _, v := range rp.posted {
		if v.Get("state") == state {
			return v, true
		}
	}
	return nil, false
}

// authorization is one started authorization request.
type authorization struct {
	rp       *relyingParty
	state    string
	nonce    string
	verifier string
	url      string
}

func (rp *relyingParty) start(extra ...oauth2.AuthCodeOption) *authorization {
	a := &authorization{rp: rp, state: "st-" + randomString(), nonce: "nonce-" + randomString(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), oauth2.SetAuthURLParam("nonce", a.nonce)}, extra...)
	a.url = rp.oauth.AuthCodeURL(a.state, opts...)
	return a
}

// finish reads the code from the browser's callback URL, exchanges it and
// verifies the ID token; it returns the token's claims.
func (a *authorization) finish(t *testing.T, callbackURL string) idClaims {
	t.Helper()
	u, err := url.Parse(callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	return a.exchange(t, callbackURL, u.Query())
}

// exchange checks the authorization response q (from the callback's query
// or its form_post body), exchanges the code and verifies the ID token.
func (a *authorization) exchange(t *testing.T, where string, q url.Values) idClaims {
	t.Helper()
	if q.Get("state") != a.state || q.Get("code") == "" || q.Get("iss") == "" {
		t.Fatalf("callback %s: want state %s, a code and iss", where, a.state)
	}
	ctx := context.Background()
	tok, err := a.rp.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.rp.provider.Verifier(&gooidc.Config{ClientID: a.rp.clientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != a.nonce {
		t.Fatalf("nonce %q, want %q", idt.Nonce, a.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

type idClaims struct {
	Sub           string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name"`
	AMR           []string `json:"amr"`
	ACR           string   `json:"acr"`
	AuthTime      int64    `json:"auth_time"`
	SID           string   `json:"sid"`
}

// TestPasskeyJourneyInChromium drives Chromium with a CDP virtual
// authenticator through every passkey path a person takes: sign-up during
// an authorization, the usernameless button, username-first, autofill,
// then managing passkeys on /account until a deleted passkey no longer
// signs in. Each authorization ends in a code that a stock OIDC client
// exchanges for a verified ID token.
func TestPasskeyJourneyInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails()) // about the passkey journey, not the mail
	rp := newRelyingParty(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	ctx := browsertest.New(t)
	auth1 := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())

	// 1. Sign up with a passkey in the middle of an authorization.
	a := rp.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	if loc := browsertest.Location(t, ctx); !startsWith(loc, env.Issuer+"/login?interaction=") {
		t.Fatalf("not on the login page: %s", loc)
	}
	browsertest.Screenshot(t, ctx, "login")
	browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	browsertest.Screenshot(t, ctx, "signup")
	browsertest.Do(t, ctx, "sign up",
		chromedp.SendKeys("#email", "ada@example.com"),
		chromedp.SendKeys("#name", "Ada Lovelace"),
		chromedp.Click("#signup-button"),
	)
	claims := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if claims.Email != "ada@example.com" || claims.EmailVerified || claims.Name != "Ada Lovelace" {
		t.Fatalf("sign-up claims = %+v (email must be unverified until a passlink proves it)", claims)
	}
	if !slices.Contains(claims.AMR, "pop") || claims.ACR != models.ACRDeviceBound {
		t.Fatalf("sign-up amr/acr = %v %q", claims.AMR, claims.ACR)
	}
	sub := claims.Sub
	if n := len(browsertest.Credentials(t, ctx, auth1)); n != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", n)
	}

	// The options requests the pages send: the button asks for a ceremony;
	// the autofill starts with the one its page carries.
	var optionsPosts atomic.Int32
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasSuffix(e.Request.URL, "/webauthn/login/options") {
			optionsPosts.Add(1)
		}
	}); err != nil {
		t.Fatalf("watch requests: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("watch requests: %v", err)
	}

	// 2. Usernameless: the "Sign in with a passkey" button (autofill off,
	// so the button's modal request is what signs in).
	restore := browsertest.WithoutAutofill(t, ctx)
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "open login", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if claims.Sub != sub || !slices.Contains(claims.AMR, "pop") || !slices.Contains(claims.AMR, "mfa") {
		t.Fatalf("usernameless claims = %+v", claims)
	}
	if optionsPosts.Load() == 0 {
		t.Fatal("the button's sign-in sent no options request (or the watch sees none)")
	}

	// 3. Username-first: type the email, continue.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "username-first",
		chromedp.Navigate(a.url), chromedp.WaitVisible("#email-form"),
		chromedp.SendKeys("#email", "ADA@example.com"), chromedp.Click("#continue-button"))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if claims.Sub != sub {
		t.Fatalf("username-first signed in %s, want %s", claims.Sub, sub)
	}

	// 3b. With autofill off, the page started no conditional request and
	// the button still works: that is the fallback for older browsers.
	restore()

	// 4. Autofill: the page starts a conditional-mediation request on load
	// (mediation "conditional" with the email field's autocomplete
	// "username webauthn"). Chromium's virtual authenticator answers it as
	// a person picking the passkey from the autofill list would, so the
	// sign-in completes without any click.
	// The page carries the ceremony: no options request first.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	posts := optionsPosts.Load()
	browsertest.Do(t, ctx, "open login for autofill", chromedp.Navigate(a.url))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if claims.Sub != sub || !slices.Contains(claims.AMR, "pop") {
		t.Fatalf("autofill claims = %+v", claims)
	}
	if n := optionsPosts.Load() - posts; n != 0 {
		t.Fatalf("the autofill sign-in sent %d options requests, want none: its page carries its ceremony", n)
	}
	restore = browsertest.WithoutAutofill(t, ctx)
	defer restore()

	// 5. /account: rename, add a second passkey on another device, delete
	// the first; the deleted one no longer signs in.
	browsertest.Do(t, ctx, "open account", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("#passkeys"))
	browsertest.Screenshot(t, ctx, "account")
	first := browsertest.Credentials(t, ctx, auth1)[0]
	browsertest.Do(t, ctx, "rename passkey",
		chromedp.Click("details.manage summary"),
		chromedp.WaitVisible(`input[name="name"]`),
		chromedp.Clear(`input[name="name"]`),
		chromedp.SendKeys(`input[name="name"]`, "Work laptop"),
		chromedp.Click(`form[action="/account/passkeys/rename"] button`),
	)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=passkey_renamed")
	if got := browsertest.Eval[string](t, ctx, `document.querySelector(".credential-name").innerText`); got != "Work laptop" {
		t.Fatalf("renamed passkey shows %q", got)
	}
	browsertest.RemoveAuthenticator(t, ctx, auth1)
	auth2 := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "add passkey", chromedp.Click("#add-passkey"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=passkey_added")
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#passkeys li").length`); n != 2 {
		t.Fatalf("account lists %d passkeys, want 2", n)
	}
	browsertest.Do(t, ctx, "delete first passkey",
		chromedp.Click(`li[data-credential-id] details.manage summary`),
		chromedp.Click(`li[data-credential-id] form[action="/account/passkeys/delete"] button`),
	)
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=passkey_deleted")
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("#passkeys li").length`); n != 1 {
		t.Fatalf("account lists %d passkeys after delete, want 1", n)
	}
	second := browsertest.Credentials(t, ctx, auth2)[0]

	// The deleted passkey, still held by a passkey manager, is refused.
	browsertest.RemoveAuthenticator(t, ctx, auth2)
	auth3 := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.AddCredential(t, ctx, auth3, first)
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "sign in with the deleted passkey",
		chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	browsertest.WaitText(t, ctx, "#status", "passkey")
	browsertest.Screenshot(t, ctx, "login-unknown-passkey")
	if loc := browsertest.Location(t, ctx); startsWith(loc, rp.callback) {
		t.Fatal("a deleted passkey signed in")
	}

	// The remaining passkey still works.
	browsertest.RemoveAuthenticator(t, ctx, auth3)
	auth4 := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.AddCredential(t, ctx, auth4, second)
	browsertest.Do(t, ctx, "sign in with the remaining passkey", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if claims.Sub != sub {
		t.Fatalf("remaining passkey signed in %s", claims.Sub)
	}
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

func randomString() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
