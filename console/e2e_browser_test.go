package console_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// callbackServer is the relying party's redirect target on loopback, so
// the end user's browser lands somewhere real.
func callbackServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>Callback</title><h1>Back at the app</h1>`))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/callback"
}

// TestConsoleEndToEnd is the admin console's whole story in Chromium with
// CDP virtual authenticators (issue 6):
//  1. the setup link makes the first admin (a passkey registered on the
//     setup page, in the admin's browser);
//  2. the admin registers a client with the console's form (confidential,
//     refresh tokens and offline_access allowed, its own access token
//     lifetime) and reads client_id and the secret from the secret page;
//  3. that client runs an authorization code flow with go-oidc and
//     x/oauth2 for a new end user, who signs up with a passkey in a second
//     browser (its own profile), scope offline_access: a refresh token;
//  4. the admin's dashboard, open before the sign-in, shows it in the live
//     feed (server-sent events) within seconds;
//  5. the admin disables the user on the user's console page, and the
//     client's refresh token stops working: invalid_grant;
//  6. the admin disables the client: invalid_client at the token endpoint.
func TestConsoleEndToEnd(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails())...)
		bg := context.Background()

		// 1. The first admin, through the setup link.
		link, err := console.EnsureSetupLink(bg, env.Store, env.Issuer)
		if err != nil || link == "" {
			t.Fatalf("setup link %q: %v", link, err)
		}
		admin := browsertest.New(t)
		browsertest.AddAuthenticator(t, admin, browsertest.Passkey())
		browsertest.Do(t, admin, "open the setup link", chromedp.Navigate(link), chromedp.WaitVisible("#console-action"))
		browsertest.Do(t, admin, "create the admin's passkey", chromedp.Click("#console-action"))
		browsertest.WaitLocation(t, admin, env.Issuer+"/console")
		browsertest.Do(t, admin, "the dashboard opens", chromedp.WaitVisible("#feed"))
		if n, err := env.Store.CountAdmins(bg); err != nil || n != 1 {
			t.Fatalf("admins after setup: %d, %v", n, err)
		}

		// 2. Register the client in the console's form.
		callback := callbackServer(t)
		browsertest.Do(t, admin, "open the client form",
			chromedp.Navigate(env.Issuer+"/console/clients/new"), chromedp.WaitVisible("#client_name"))
		for _, sel := range []string{
			`input[name=grant_types][value=authorization_code]`, `input[name=grant_types][value=refresh_token]`,
			`input[name=scopes][value=openid]`, `input[name=scopes][value=offline_access]`,
			`input[name=client_type][value=confidential]`,
		} {
			if !browsertest.Eval[bool](t, admin, `document.querySelector("`+sel+`").checked`) {
				t.Fatalf("the new client form does not offer %s by default", sel)
			}
		}
		browsertest.Do(t, admin, "fill in and submit the form",
			chromedp.SendKeys("#client_name", "Acme Notes"),
			chromedp.SendKeys("#redirect_uris", callback),
			// Lifetimes and consent are advanced settings, folded away.
			chromedp.Click("details.advanced summary"),
			chromedp.SendKeys("#access_token_ttl", "600"),
			chromedp.Click(`input[name=skip_consent]`),
			chromedp.Click(`form.client-form button[type=submit]`),
			chromedp.WaitVisible("#client-secret"))
		clientID := browsertest.Eval[string](t, admin, `document.querySelector("#client-id").value`)
		secret := browsertest.Eval[string](t, admin, `document.querySelector("#client-secret").value`)
		if clientID == "" || len(secret) < 20 {
			t.Fatalf("secret page: client_id %q, secret %q", clientID, secret)
		}

		// The dashboard is open in the admin's tab and live before the
		// sign-in happens.
		browsertest.Do(t, admin, "open the dashboard", chromedp.Navigate(env.Issuer+"/console"), chromedp.WaitVisible("#feed"))
		browsertest.WaitText(t, admin, "#live-status", "Live")

		// 3. A stock client library, and a new user signing up with a
		// passkey in another browser.
		p, err := gooidc.NewProvider(bg, env.Issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		rp := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: callback,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}
		state, nonce, verifier := "state-e2e-"+strconv.FormatInt(time.Now().UnixNano(), 36), "nonce-e2e-"+strconv.FormatInt(time.Now().UnixNano(), 36), oauth2.GenerateVerifier()
		authURL := rp.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))

		user := browsertest.New(t)
		browsertest.AddAuthenticator(t, user, browsertest.Passkey())
		const email = "grace@example.com"
		browsertest.Do(t, user, "open the authorization", chromedp.Navigate(authURL), chromedp.WaitVisible("#passkey-button"))
		browsertest.Do(t, user, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
		browsertest.Do(t, user, "sign up with a passkey",
			chromedp.SendKeys("#email", email), chromedp.SendKeys("#name", "Grace Hopper"), chromedp.Click("#signup-button"))
		signedIn := time.Now()
		cb, err := url.Parse(browsertest.WaitLocation(t, user, callback))
		if err != nil {
			t.Fatal(err)
		}
		if q := cb.Query(); q.Get("state") != state || q.Get("code") == "" {
			t.Fatalf("callback %s", cb)
		}
		tok, err := rp.Exchange(bg, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := p.Verifier(&gooidc.Config{ClientID: clientID}).Verify(bg, raw)
		if err != nil || idt.Nonce != nonce {
			t.Fatalf("ID token: %v (nonce %q)", err, idt.Nonce)
		}
		var claims struct {
			Email string   `json:"email"`
			AMR   []string `json:"amr"`
		}
		if err := idt.Claims(&claims); err != nil || claims.Email != email || !slices.Contains(claims.AMR, "pop") {
			t.Fatalf("claims %+v, %v", claims, err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}
		// The lifetime set in the console's form applies.
		if d := time.Until(tok.Expiry); d > 600*time.Second || d < 540*time.Second {
			t.Errorf("access token expires in %v, want the client's 10m", d)
		}

		// 4. The admin's open dashboard shows the sign-in, live.
		browsertest.WaitText(t, admin, "#feed-body", email)
		if d := time.Since(signedIn); d > 10*time.Second {
			t.Errorf("the dashboard showed the sign-in after %v, want within seconds", d)
		} else {
			t.Logf("the dashboard showed the sign-in %v after it happened", d.Round(100*time.Millisecond))
		}

		// The refresh token works while the user is enabled (and rotates).
		tok, err = rp.TokenSource(bg, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh before disabling: %v", err)
		}

		// 5. The admin disables the user in the console.
		u, err := env.Store.GetUserByEmail(bg, email)
		if err != nil {
			t.Fatal(err)
		}
		browsertest.Do(t, admin, "open the user's page",
			chromedp.Navigate(env.Issuer+"/console/users/"+u.ID),
			chromedp.Click("details.danger-zone summary"),
			chromedp.WaitVisible(`#disable-user button`),
			chromedp.Click(`#disable-user button`))
		// The page asks "Disable …?" first, in its own dialog; say yes.
		acceptConfirmation(t, admin)
		browsertest.Do(t, admin, "see the user disabled", chromedp.WaitVisible(`form[action$="/enable"] button`))
		if u, err = env.Store.GetUser(bg, u.ID); err != nil || !u.Disabled {
			t.Fatalf("user after disabling in the console: %+v, %v", u, err)
		}
		_, err = rp.TokenSource(bg, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("refresh after disabling the user: %v, want invalid_grant", err)
		}

		// Disabling the client on its page: the token endpoint no longer
		// authenticates it (invalid_client comes before the grant's check).
		browsertest.Do(t, admin, "disable the client",
			chromedp.Navigate(env.Issuer+"/console/clients/"+clientID),
			chromedp.WaitVisible("#disable-client"),
			chromedp.Click("#disable-client"))
		acceptConfirmation(t, admin)
		browsertest.WaitText(t, admin, "main", "Enable client")
		_, err = rp.TokenSource(bg, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("token request of a disabled client: %v, want invalid_client", err)
		}

		// The console's audit log names the admin for every change.
		entries, err := env.Store.ListAuditEntries(bg, store.AuditFilter{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			if e.ActorKind == models.ActorUser && strings.Contains(e.ActorLabel, "@") {
				got = append(got, e.Action)
			}
		}
		for _, want := range []string{"admin.setup", "client.create", "user.disable", "client.disable"} {
			if !slices.Contains(got, want) {
				t.Errorf("audit log lacks %s by the admin (has %v)", want, got)
			}
		}
	})
}
