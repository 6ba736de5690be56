package authn_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// cliDevice is a CLI-style device client: golang.org/x/oauth2's device
// flow (RFC 8628), polling in the background.
type cliDevice struct {
	cfg  oauth2.Config
	da   *oauth2.DeviceAuthResponse
	done chan deviceResult
}

type deviceResult struct {
	tok *oauth2.Token
	err error
}

func startCLI(t *testing.T, p *gooidc.Provider, clientID string) *cliDevice {
	t.Helper()
	d := &cliDevice{cfg: oauth2.Config{ClientID: clientID, Endpoint: p.Endpoint(), Scopes: []string{"openid", "email", "offline_access"}},
		done: make(chan deviceResult, 1)}
	da, err := d.cfg.DeviceAuth(context.Background())
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	d.da = da
	go func() {
		tok, err := d.cfg.DeviceAccessToken(context.Background(), da)
		d.done <- deviceResult{tok, err}
	}()
	return d
}

func (d *cliDevice) wait(t *testing.T) deviceResult {
	t.Helper()
	select {
	case r := <-d.done:
		return r
	case <-time.After(45 * time.Second):
		t.Fatal("the CLI never got an answer")
		return deviceResult{}
	}
}

// TestDeviceFlowInChromium: a CLI polls (x/oauth2) while a person in
// Chromium opens verification_uri_complete, signs up with a passkey
// (virtual authenticator), sees which app and device ask, and allows; the
// CLI gets tokens whose ID token says a passkey signed in. Then a second
// CLI's code is typed by hand after signing out, the person signs in with
// the passkey and denies: that CLI gets access_denied. Every device page
// passes the hosted pages' checks (axe, both widths, dark mode, focus).
// On SQLite and PostgreSQL.
func TestDeviceFlowInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.UnverifiedEmails(), func(c *config.Config) { c.DevicePollInterval = time.Second })...)
		clientID, _ := env.CreateClient(clients.Spec{Name: "Acme TV", Public: true, TokenEndpointAuthMethod: "none",
			GrantTypes: []string{clients.GrantDeviceCode, "refresh_token"}, Scopes: []string{"openid", "email", "offline_access"},
			LogoURI: "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA0MCA0MCI+PHJlY3Qgd2lkdGg9IjQwIiBoZWlnaHQ9IjQwIiByeD0iOCIgZmlsbD0iIzI3NTRjNSIvPjwvc3ZnPg=="})
		p, err := gooidc.NewProvider(context.Background(), env.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		ctx := browsertest.New(t)
		recordCSPViolations(t, ctx)
		browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())

		// 1. The QR code's link: the code is filled in, to be checked.
		cli := startCLI(t, p, clientID)
		browsertest.Do(t, ctx, "open verification_uri_complete", chromedp.Navigate(cli.da.VerificationURIComplete), chromedp.WaitVisible("#device-continue"))
		if got := browsertest.Eval[string](t, ctx, `document.querySelector("#user_code").value`); got != cli.da.UserCode {
			t.Fatalf("prefilled code %q, want %q", got, cli.da.UserCode)
		}
		checkHostedPage(t, ctx, hostedPage{name: "device", primary: "#device-continue", dark: true})
		browsertest.Do(t, ctx, "continue", chromedp.Click("#device-continue"))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
		browsertest.Do(t, ctx, "wait for login", chromedp.WaitVisible("#passkey-button"))
		if !browsertest.Eval[bool](t, ctx, `document.body.innerText.includes("Acme TV")`) {
			t.Fatal("the sign-in page does not name the app")
		}
		browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup?interaction="]`), chromedp.WaitVisible("#signup-form"))
		browsertest.Do(t, ctx, "sign up with a passkey",
			chromedp.SendKeys("#email", "tv-owner@example.com"),
			chromedp.SendKeys("#name", "Grace Hopper"),
			chromedp.Click("#signup-button"),
		)
		browsertest.WaitLocation(t, ctx, env.Issuer+"/device/confirm?interaction=")
		browsertest.Do(t, ctx, "wait for the confirmation", chromedp.WaitVisible("#device-allow"))
		text := browsertest.Eval[string](t, ctx, `document.body.innerText`)
		for _, want := range []string{"Acme TV", "Go program", "tv-owner@example.com", "Stay connected"} {
			if !strings.Contains(text, want) {
				t.Errorf("confirmation page does not say %q:\n%s", want, text)
			}
		}
		checkHostedPage(t, ctx, hostedPage{name: "device-confirm", primary: "#device-allow", dark: true})
		browsertest.Do(t, ctx, "allow", chromedp.Click("#device-allow"), chromedp.WaitVisible(`#device-result[data-result="approved"]`))
		checkHostedPage(t, ctx, hostedPage{name: "device-approved"})

		r := cli.wait(t)
		if r.err != nil {
			t.Fatalf("CLI: %v", r.err)
		}
		raw, _ := r.tok.Extra("id_token").(string)
		idt, err := p.Verifier(&gooidc.Config{ClientID: clientID}).Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		var c idClaims
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.Email != "tv-owner@example.com" || !slices.Contains(c.AMR, "pop") || r.tok.RefreshToken == "" {
			t.Fatalf("device tokens: claims %+v, refresh token %t", c, r.tok.RefreshToken != "")
		}

		// 2. Signed out, the second CLI's code typed by hand (with a wrong
		// one first); sign in with the passkey (the button), then deny.
		_, err = chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
			return cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		})
		if err != nil {
			t.Fatalf("clear cookies: %v", err)
		}
		cli2 := startCLI(t, p, clientID)
		browsertest.Do(t, ctx, "open /device", chromedp.Navigate(cli2.da.VerificationURI), chromedp.WaitVisible("#user_code"))
		wrong := "BBBB-BBBB"
		if cli2.da.UserCode == wrong {
			wrong = "CCCC-CCCC"
		}
		browsertest.Do(t, ctx, "type a wrong code", chromedp.SendKeys("#user_code", wrong), chromedp.Click("#device-continue"))
		browsertest.WaitText(t, ctx, "#code-error", "Check the code on your device")
		checkHostedPage(t, ctx, hostedPage{name: "device-wrong-code", primary: "#device-continue"})
		restore := browsertest.WithoutAutofill(t, ctx)
		defer restore()
		browsertest.Do(t, ctx, "type the code",
			chromedp.Clear("#user_code"),
			chromedp.SendKeys("#user_code", strings.ToLower(cli2.da.UserCode)),
			chromedp.Click("#device-continue"))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
		browsertest.Do(t, ctx, "sign in with the passkey", chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/device/confirm?interaction=")
		browsertest.Do(t, ctx, "deny", chromedp.WaitVisible("#device-deny"), chromedp.Click("#device-deny"),
			chromedp.WaitVisible(`#device-result[data-result="denied"]`))
		checkHostedPage(t, ctx, hostedPage{name: "device-denied"})
		r = cli2.wait(t)
		var re *oauth2.RetrieveError
		if !errors.As(r.err, &re) || re.ErrorCode != "access_denied" {
			t.Fatalf("denied CLI got %v", r.err)
		}
	})
}
