package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// setClient changes a stored client and drops the provider's cached copy,
// as the console does.
func setClient(t *testing.T, env *servertest.Env, id string, change func(*models.Client)) {
	t.Helper()
	c, err := env.Store.GetClient(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	change(c)
	if err := env.Store.UpdateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	env.Server.Provider().InvalidateClient(id)
}

// TestDisabledClientIsRefusedEverywhere_RFC6749_5_2: a disabled client
// fails client authentication (invalid_client, RFC 6749 §5.2), cannot start
// an authorization (error page, never a redirect: RFC 6749 §4.1.2.1), and
// the grants it already holds stop working; enabling it again restores
// them.
func TestDisabledClientIsRefusedEverywhere_RFC6749_5_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		tok := f.tokens("openid", "offline_access")
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		setClient(t, env, f.r.clientID, func(c *models.Client) { c.Disabled = true })

		_, err := f.refresh(tok.RefreshToken)
		wantOAuthError(t, err, "invalid_client")
		f.wantActiveStatus(tok.AccessToken)
		if resp, _ := userinfo(t, env, tok.AccessToken); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("userinfo with a disabled client's token: %d", resp.StatusCode)
		}
		resp, body, _ := f.start("state-disabled", url.Values{})
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("authorize for a disabled client: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		if resp.Request.URL.Host != strings.TrimPrefix(env.Issuer, "http://") || strings.Contains(resp.Request.URL.String(), "code=") {
			t.Fatalf("authorize for a disabled client left the issuer: %s", resp.Request.URL)
		}
		if !strings.Contains(body, "<html") {
			t.Fatalf("authorize for a disabled client: not an error page:\n%s", body)
		}

		setClient(t, env, f.r.clientID, func(c *models.Client) { c.Disabled = false })
		if _, err := f.refresh(tok.RefreshToken); err != nil {
			t.Fatalf("refresh after enabling the client again: %v", err)
		}
	})
}

// wantActiveStatus asserts the token introspects as inactive; a disabled
// client cannot introspect, so another client asks.
func (f *e2eFlow) wantActiveStatus(token string) {
	f.t.Helper()
	other := newRP(f.t, f.env, clients.Spec{})
	_, got := postEndpoint(f.t, f.env, "/oauth2/introspect", other.clientID, other.secret, url.Values{"token": {token}})
	if got["active"] != false {
		f.t.Fatalf("a disabled client's token introspects as %v", got)
	}
}

// TestPerClientTokenLifetimes: a client's own lifetimes override the
// global ones for access, refresh and ID tokens; unset ones fall back.
func TestPerClientTokenLifetimes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, AccessTokenTTL: 300, RefreshTokenTTL: 7200, IDTokenTTL: 120})
		tok := f.tokens("openid", "offline_access")
		if d := time.Until(tok.Expiry); d > 300*time.Second || d < 290*time.Second {
			t.Fatalf("access token expires in %v, want 5m", d)
		}
		idt, _ := f.verifyID(tok)
		if d := idt.Expiry.Sub(idt.IssuedAt); d != 120*time.Second {
			t.Fatalf("id token lives %v, want 2m", d)
		}
		// Introspection reports the access token's exp for any token
		// (fosite); the stored refresh token row has its own expiry.
		sig := tok.RefreshToken[strings.LastIndex(tok.RefreshToken, ".")+1:]
		row, err := env.Store.GetOAuth2Request(context.Background(), models.KindRefreshToken, sig)
		if err != nil {
			t.Fatalf("stored refresh token: %v", err)
		}
		if d := time.Until(row.ExpiresAt); d > 7205*time.Second || d < 7100*time.Second {
			t.Fatalf("refresh token expires in %v, want 2h", d)
		}

		t.Run("default", func(t *testing.T) {
			g := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			tok := g.tokens("openid")
			if d := time.Until(tok.Expiry); d < env.Config.AccessTokenTTL-time.Minute {
				t.Fatalf("default access token expires in %v, want the global %v", d, env.Config.AccessTokenTTL)
			}
		})
	})
}

// TestClientMinimumACRActsAsACRValues_OIDCCore_3_1_2_1: a client with a
// minimum acr treats every request as if acr_values contained it: a
// weaker session is not reused, the stored interaction asks for the
// minimum (so the hosted login offers only methods that reach it), and a
// weaker acr_values in the request cannot lower it.
func TestClientMinimumACRActsAsACRValues_OIDCCore_3_1_2_1(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true, MinACR: models.ACRPhishingResistant})
		env.Login(f.b, f.user.ID, []string{"otp"}, models.ACRBasic, time.Now())
		resp, body, verifier := f.start("state-acr", url.Values{"acr_values": {models.ACRBasic}})
		in := interactionFrom(t, resp, "/login")
		// The hosted login offers only methods that reach the minimum.
		if strings.Contains(body, `id="passlink-link"`) {
			t.Error("the login page offers an emailed link to a client that requires phishing-resistant sign-in")
		}
		stored, err := env.Store.GetInteraction(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if stored.ACRValues != models.ACRPhishingResistant {
			t.Fatalf("interaction acr_values %q, want %q", stored.ACRValues, models.ACRPhishingResistant)
		}
		resp, _, _ = f.signIn(resp, models.ACRPhishingResistant)
		idt, _ := f.verifyID(f.exchange(callback(t, resp).Get("code"), verifier))
		var c struct {
			ACR string `json:"acr"`
		}
		if err := idt.Claims(&c); err != nil || c.ACR != models.ACRPhishingResistant {
			t.Fatalf("acr %q (%v)", c.ACR, err)
		}

		t.Run("without a minimum the basic session is reused", func(t *testing.T) {
			g := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			// Without a session, its login page offers the emailed link.
			if _, body, _ := g.start("state-nosession", url.Values{}); !strings.Contains(body, `id="passlink-link"`) {
				t.Error("the login page of a client without a minimum acr lacks the emailed link")
			}
			env.Login(g.b, g.user.ID, []string{"otp"}, models.ACRBasic, time.Now())
			resp, _, _ := g.start("state-basic", url.Values{})
			if q := callback(t, resp); q.Get("code") == "" {
				t.Fatalf("basic session not reused without a minimum: %v", q)
			}
		})
	})
}
