package authn_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestDeviceFlowWithResourceInChromium: a CLI (x/oauth2's device flow)
// asks for an API with a resource parameter (RFC 8707); in Chromium the
// person opens verification_uri_complete, signs up with a passkey and sees
// the API named on the confirmation page (checked with axe at both widths
// and in dark mode), allows, and the CLI's access token is a JWT for the
// API (aud) signed by Sesame's published keys.
func TestDeviceFlowWithResourceInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails(), func(c *config.Config) { c.DevicePollInterval = time.Second })
	ctx := context.Background()
	now := time.Now().UTC()
	const ordersAPI = "https://api.example.com/orders"
	if err := env.Store.CreateCustomScope(ctx, &models.CustomScope{Name: "orders:read", Description: "Read your orders", Claims: models.ScopeClaims{}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CreateResource(ctx, &models.Resource{Name: "orders", Description: "Orders API", Audience: ordersAPI,
		Scopes: models.StringList{"orders:read"}, AccessTokenFormat: models.TokenFormatJWT, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	clientID, _ := env.CreateClient(clients.Spec{Name: "Acme CLI", Public: true, TokenEndpointAuthMethod: "none",
		GrantTypes: []string{clients.GrantDeviceCode, "refresh_token"}, Scopes: []string{"openid", "email", "orders:read"}})
	p, err := gooidc.NewProvider(ctx, env.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: clientID, Endpoint: p.Endpoint(), Scopes: []string{"openid", "email", "orders:read"}}
	da, err := cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("resource", ordersAPI))
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	done := make(chan deviceResult, 1)
	go func() {
		tok, err := cfg.DeviceAccessToken(ctx, da)
		done <- deviceResult{tok, err}
	}()

	bctx := browsertest.New(t)
	recordCSPViolations(t, bctx)
	browsertest.AddAuthenticator(t, bctx, browsertest.Passkey())
	browsertest.Do(t, bctx, "open verification_uri_complete", chromedp.Navigate(da.VerificationURIComplete), chromedp.WaitVisible("#device-continue"))
	browsertest.Do(t, bctx, "continue", chromedp.Click("#device-continue"))
	browsertest.WaitLocation(t, bctx, env.Issuer+"/login?interaction=")
	browsertest.Do(t, bctx, "go to sign-up", chromedp.WaitVisible("#passkey-button"), chromedp.Click(`a[href^="/signup?interaction="]`), chromedp.WaitVisible("#signup-form"))
	browsertest.Do(t, bctx, "sign up with a passkey",
		chromedp.SendKeys("#email", "api-user@example.com"),
		chromedp.SendKeys("#name", "Ada Lovelace"),
		chromedp.Click("#signup-button"),
	)
	browsertest.WaitLocation(t, bctx, env.Issuer+"/device/confirm?interaction=")
	browsertest.Do(t, bctx, "wait for the confirmation", chromedp.WaitVisible("#device-allow"))
	text := browsertest.Eval[string](t, bctx, `document.body.innerText`)
	for _, want := range []string{"Acme CLI", "Read your orders", "With Orders API", "Orders API", ordersAPI} {
		if !strings.Contains(text, want) {
			t.Errorf("confirmation page does not say %q:\n%s", want, text)
		}
	}
	checkHostedPage(t, bctx, hostedPage{name: "device-confirm-resource", primary: "#device-allow", dark: true})
	browsertest.Do(t, bctx, "allow", chromedp.Click("#device-allow"), chromedp.WaitVisible(`#device-result[data-result="approved"]`))

	var r deviceResult
	select {
	case r = <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("the CLI never got an answer")
	}
	if r.err != nil {
		t.Fatalf("CLI: %v", r.err)
	}
	parts := strings.Split(r.tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWT", r.tok.AccessToken)
	}
	// The signature is checked by the oidc package's tests (jwx against the
	// JWKS); here: it is the API's token.
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Aud   any    `json:"aud"`
		Scope string `json:"scope"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Aud != ordersAPI || !strings.Contains(claims.Scope, "orders:read") {
		t.Fatalf("access token claims %+v, want aud %s", claims, ordersAPI)
	}
}
