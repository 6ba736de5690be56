package oidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

const deviceGrant = clients.GrantDeviceCode

// fastPolls makes devices poll every second (the least allowed).
func fastPolls(c *config.Config) { c.DevicePollInterval = time.Second }

// deviceSpec is a public CLI client registered for the device grant.
func deviceSpec() clients.Spec {
	return clients.Spec{Name: "Acme CLI", Public: true, TokenEndpointAuthMethod: "none",
		GrantTypes: []string{deviceGrant, "refresh_token"}, Scopes: []string{"openid", "profile", "email", "offline_access"}}
}

// tokenAnswer is a JSON answer of the token or device endpoint.
type tokenAnswer struct {
	status int
	body   map[string]any
}

func (a tokenAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

func postJSON(t testing.TB, u string, form url.Values, user, pass string) tokenAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	body, err := decodeBody(resp)
	if err != nil {
		t.Fatalf("POST %s: status %d: %v", u, resp.StatusCode, err)
	}
	return tokenAnswer{status: resp.StatusCode, body: body}
}

// decodeBody reads a JSON object answer and closes the body.
func decodeBody(resp *http.Response) (map[string]any, error) {
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("not JSON: %s", raw)
	}
	return body, nil
}

// startDevice asks for a device authorization.
func startDevice(t *testing.T, env *servertest.Env, clientID, secret, scope string) tokenAnswer {
	t.Helper()
	form := url.Values{"scope": {scope}}
	if secret == "" {
		form.Set("client_id", clientID)
		return postJSON(t, env.Issuer+"/oauth2/device/authorize", form, "", "")
	}
	return postJSON(t, env.Issuer+"/oauth2/device/authorize", form, clientID, secret)
}

func pollDevice(t testing.TB, base, clientID, deviceCode string) tokenAnswer {
	t.Helper()
	return postJSON(t, base+"/oauth2/token", url.Values{"grant_type": {deviceGrant}, "client_id": {clientID}, "device_code": {deviceCode}}, "", "")
}

// enterCode types userCode on /device in browser b and returns where the
// browser landed (the sign-in page, or the confirmation page when signed
// in) with the page.
func enterCode(t *testing.T, env *servertest.Env, b *http.Client, userCode string) (*http.Response, string) {
	t.Helper()
	_, page := get(t, b, env.Issuer+"/device")
	resp, err := b.PostForm(env.Issuer+"/device", url.Values{"csrf": {formValue(t, page, "csrf")}, "user_code": {userCode}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// decide answers the confirmation page (body) with decision.
func decide(t *testing.T, env *servertest.Env, b *http.Client, body, decision string) (int, string) {
	t.Helper()
	resp, err := b.PostForm(env.Issuer+"/device/confirm", url.Values{
		"csrf": {formValue(t, body, "csrf")}, "interaction": {formValue(t, body, "interaction")}, "decision": {decision}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// approveDevice signs userID in for userCode in a fresh browser and
// answers the confirmation with decision.
func approveDevice(t *testing.T, env *servertest.Env, userCode, userID, decision string) string {
	t.Helper()
	b := env.Browser()
	resp, _ := enterCode(t, env, b, userCode)
	in := interactionFrom(t, resp, "/login")
	env.CompleteInteraction(b, in, userID, []string{"pop", "hwk", "user"}, models.ACRPhishingResistant)
	resp, body := get(t, b, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
	if resp.Request.URL.Path != "/device/confirm" || resp.StatusCode != http.StatusOK {
		t.Fatalf("after sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	status, out := decide(t, env, b, body, decision)
	if status != http.StatusOK {
		t.Fatalf("decision %s: %d %s", decision, status, out)
	}
	return out
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// TestDeviceFlowStockClient: golang.org/x/oauth2's DeviceAuth and
// DeviceAccessToken (RFC 8628 §3.1–§3.5) against the device endpoint
// found through discovery, while a browser types the code, signs in and
// allows; the tokens are verified with go-oidc, refresh and userinfo
// work, and the device code is spent. On every database.
func TestDeviceFlowStockClient(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		id, _ := env.CreateClient(deviceSpec())
		user := env.CreateUser("dev-" + strings.ToLower(t.Name()[len(t.Name())-6:]) + "@example.com")
		ctx := context.Background()
		p, err := gooidc.NewProvider(ctx, env.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		if p.Endpoint().DeviceAuthURL != env.Issuer+"/oauth2/device/authorize" {
			t.Fatalf("discovery device_authorization_endpoint = %q", p.Endpoint().DeviceAuthURL)
		}
		var disc struct {
			Grants []string `json:"grant_types_supported"`
		}
		if err := p.Claims(&disc); err != nil || !slices.Contains(disc.Grants, deviceGrant) {
			t.Fatalf("discovery grant types %v (%v)", disc.Grants, err)
		}
		cfg := oauth2.Config{ClientID: id, Endpoint: p.Endpoint(), Scopes: []string{"openid", "email", "offline_access"}}
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatalf("device authorization: %v", err)
		}
		if !userCodeShape.MatchString(da.UserCode) || da.VerificationURI != env.Issuer+"/device" ||
			da.VerificationURIComplete != env.Issuer+"/device?user_code="+da.UserCode || da.Interval != 1 ||
			time.Until(da.Expiry) < 9*time.Minute || len(da.DeviceCode) < 40 {
			t.Fatalf("device authorization = %+v", da)
		}
		type result struct {
			tok *oauth2.Token
			err error
		}
		done := make(chan result, 1)
		go func() {
			tok, err := cfg.DeviceAccessToken(ctx, da)
			done <- result{tok, err}
		}()
		// The CLI polls meanwhile (authorization_pending); the person
		// approves on another screen.
		time.Sleep(2500 * time.Millisecond)
		page := approveDevice(t, env, strings.ToLower(strings.ReplaceAll(da.UserCode, "-", " ")), user.ID, "allow")
		if !strings.Contains(page, "Your device is signed in") {
			t.Fatalf("done page: %s", page)
		}
		var r result
		select {
		case r = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the device never got its tokens")
		}
		if r.err != nil {
			t.Fatalf("device access token: %v", r.err)
		}
		raw, _ := r.tok.Extra("id_token").(string)
		idt, err := p.Verifier(&gooidc.Config{ClientID: id}).Verify(ctx, raw)
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		if err := idt.VerifyAccessToken(r.tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		var claims struct {
			Email string   `json:"email"`
			ACR   string   `json:"acr"`
			AMR   []string `json:"amr"`
			SID   string   `json:"sid"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idt.Subject != user.ID || claims.Email != user.Email || claims.ACR != models.ACRPhishingResistant || claims.SID != "" {
			t.Fatalf("ID token sub %q claims %+v", idt.Subject, claims)
		}
		if r.tok.RefreshToken == "" || r.tok.TokenType != "Bearer" && r.tok.TokenType != "bearer" {
			t.Fatalf("token = %+v", r.tok)
		}
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(r.tok))
		if err != nil || ui.Subject != user.ID {
			t.Fatalf("userinfo %+v: %v", ui, err)
		}
		// The refresh token works with the stock client's token source.
		expired := *r.tok
		expired.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, &expired).Token()
		if err != nil || fresh.AccessToken == r.tok.AccessToken {
			t.Fatalf("refresh: %v", err)
		}
		// The device code is spent: a second redemption is invalid_grant.
		if a := pollDevice(t, env.Issuer, id, da.DeviceCode); a.status != http.StatusBadRequest || a.str("error") != "invalid_grant" {
			t.Fatalf("second redemption: %d %v", a.status, a.body)
		}
		// The account page lists the app (the approval is remembered).
		consent, err := env.Store.GetConsent(ctx, user.ID, id)
		if err != nil || !slices.Contains(consent.Scopes, "offline_access") {
			t.Fatalf("consent %+v: %v", consent, err)
		}
	})
}

// TestDeviceConfidentialClient: a confidential client authenticates at
// the device endpoint and the token endpoint (RFC 8628 §3.1, §3.4);
// without its secret it is invalid_client at both.
func TestDeviceConfidentialClient(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		id, secret := env.CreateClient(clients.Spec{Name: "Acme TV", GrantTypes: []string{deviceGrant}, Scopes: []string{"openid"}})
		user := env.CreateUser("tv@example.com")
		if a := startDevice(t, env, id, "", "openid"); a.status != http.StatusUnauthorized || a.str("error") != "invalid_client" {
			t.Fatalf("device authorization without the secret: %d %v", a.status, a.body)
		}
		if a := startDevice(t, env, id, "wrong-secret", "openid"); a.status != http.StatusUnauthorized || a.str("error") != "invalid_client" {
			t.Fatalf("device authorization with a wrong secret: %d %v", a.status, a.body)
		}
		a := startDevice(t, env, id, secret, "openid")
		if a.status != http.StatusOK {
			t.Fatalf("device authorization: %d %v", a.status, a.body)
		}
		approveDevice(t, env, a.str("user_code"), user.ID, "allow")
		form := url.Values{"grant_type": {deviceGrant}, "device_code": {a.str("device_code")}}
		if r := postJSON(t, env.Issuer+"/oauth2/token", url.Values{"grant_type": {deviceGrant}, "device_code": {a.str("device_code")}, "client_id": {id}}, "", ""); r.str("error") != "invalid_client" {
			t.Fatalf("token without the secret: %d %v", r.status, r.body)
		}
		r := postJSON(t, env.Issuer+"/oauth2/token", form, id, secret)
		if r.status != http.StatusOK || r.str("access_token") == "" || r.str("id_token") == "" || r.str("refresh_token") != "" {
			t.Fatalf("token: %d %v", r.status, r.body)
		}
	})
}

// TestDeviceErrors: every way a device authorization or its poll can go
// wrong answers with RFC 8628 §3.5 / RFC 6749 §5.2 codes, and the pace is
// enforced across replicas (the second replica sees the first's poll).
func TestDeviceErrors(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		replica := env.Replica()
		id, _ := env.CreateClient(deviceSpec())
		other, _ := env.CreateClient(deviceSpec())
		codeOnly, _ := env.CreateClient(clients.Spec{Name: "Web", Public: true, TokenEndpointAuthMethod: "none", RedirectURIs: []string{redirectURI}})
		user := env.CreateUser("errors@example.com")
		start := func() tokenAnswer {
			t.Helper()
			a := startDevice(t, env, id, "", "openid offline_access")
			if a.status != http.StatusOK {
				t.Fatalf("device authorization: %d %v", a.status, a.body)
			}
			return a
		}

		// The device authorization endpoint: each refusal writes nothing.
		state := []string{"device_codes", "oauth2_requests"}
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			code   string
		}{
			{"unknown client", url.Values{"client_id": {"no-such-client"}}, http.StatusUnauthorized, "invalid_client"},
			// As at the token endpoint: no credentials at all is malformed.
			{"no client", url.Values{"scope": {"openid"}}, http.StatusBadRequest, "invalid_request"},
			{"client without the device grant", url.Values{"client_id": {codeOnly}}, http.StatusBadRequest, "unauthorized_client"},
			{"scope the client may not ask", url.Values{"client_id": {id}, "scope": {"openid groups"}}, http.StatusBadRequest, "invalid_scope"},
			{"repeated parameter", url.Values{"client_id": {id}, "scope": {"openid", "email"}}, http.StatusBadRequest, "invalid_request"},
		} {
			t.Run("authorize/"+tc.name, func(t *testing.T) {
				before := rowCounts(t, env, state...)
				a := postJSON(t, env.Issuer+"/oauth2/device/authorize", tc.form, "", "")
				if a.status != tc.status || a.str("error") != tc.code || a.str("device_code") != "" {
					t.Fatalf("got %d %v, want %d %s", a.status, a.body, tc.status, tc.code)
				}
				nothingWritten(t, env, tc.name, before)
			})
		}

		// The token endpoint's polls.
		t.Run("token/missing device_code", func(t *testing.T) {
			before := rowCounts(t, env, state...)
			a := postJSON(t, env.Issuer+"/oauth2/token", url.Values{"grant_type": {deviceGrant}, "client_id": {id}}, "", "")
			if a.status != http.StatusBadRequest || a.str("error") != "invalid_request" {
				t.Fatalf("%d %v", a.status, a.body)
			}
			nothingWritten(t, env, "missing device_code", before)
		})
		t.Run("token/unknown device_code", func(t *testing.T) {
			before := rowCounts(t, env, state...)
			if a := pollDevice(t, env.Issuer, id, "not-a-device-code"); a.str("error") != "invalid_grant" {
				t.Fatalf("%d %v", a.status, a.body)
			}
			nothingWritten(t, env, "unknown device_code", before)
		})
		// A refused poll issues no token, and leaves the code to its own
		// client: the next poll of the right client is still pending.
		t.Run("token/client without the grant", func(t *testing.T) {
			d := start()
			before := rowCounts(t, env, state...)
			if a := pollDevice(t, env.Issuer, codeOnly, d.str("device_code")); a.str("error") != "unauthorized_client" {
				t.Fatalf("%d %v", a.status, a.body)
			}
			nothingWritten(t, env, "client without the grant", before)
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.str("error") != "authorization_pending" {
				t.Fatalf("own client's poll after the refusal: %d %v", a.status, a.body)
			}
		})
		t.Run("token/other client's code", func(t *testing.T) {
			d := start()
			before := rowCounts(t, env, state...)
			if a := pollDevice(t, env.Issuer, other, d.str("device_code")); a.str("error") != "invalid_grant" {
				t.Fatalf("%d %v", a.status, a.body)
			}
			nothingWritten(t, env, "other client's code", before)
		})
		t.Run("token/pending then slow_down across replicas", func(t *testing.T) {
			d := start()
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.status != http.StatusBadRequest || a.str("error") != "authorization_pending" {
				t.Fatalf("first poll: %d %v", a.status, a.body)
			}
			// At once again, on the other replica: too fast.
			if a := pollDevice(t, replica.HTTP.URL, id, d.str("device_code")); a.status != http.StatusBadRequest || a.str("error") != "slow_down" {
				t.Fatalf("fast poll on the replica: %d %v", a.status, a.body)
			}
			// The interval is now 1 + 5 s: a poll 1.5 s later is still too fast.
			time.Sleep(1500 * time.Millisecond)
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.str("error") != "slow_down" {
				t.Fatalf("poll at the old interval: %d %v", a.status, a.body)
			}
		})
		t.Run("token/access_denied", func(t *testing.T) {
			d := start()
			page := approveDevice(t, env, d.str("user_code"), user.ID, "deny")
			if !strings.Contains(page, "Request denied") {
				t.Fatalf("denied page: %s", page)
			}
			before := rowCounts(t, env, "oauth2_requests")
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.status != http.StatusBadRequest || a.str("error") != "access_denied" {
				t.Fatalf("%d %v", a.status, a.body)
			}
			nothingWritten(t, env, "denied poll", before)
		})
		t.Run("token/used code", func(t *testing.T) {
			d := start()
			approveDevice(t, env, d.str("user_code"), user.ID, "allow")
			if a := pollDevice(t, replica.HTTP.URL, id, d.str("device_code")); a.status != http.StatusOK || a.str("refresh_token") == "" {
				t.Fatalf("redemption on the replica: %d %v", a.status, a.body)
			}
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.str("error") != "invalid_grant" {
				t.Fatalf("second redemption: %d %v", a.status, a.body)
			}
		})
		// Single use under a race: polls of an approved code sent at once,
		// to both replicas, get the tokens once; the others invalid_grant.
		t.Run("token/concurrent redemptions, one wins", func(t *testing.T) {
			d := start()
			approveDevice(t, env, d.str("user_code"), user.ID, "allow")
			var mu sync.Mutex
			got := map[string]int{}
			var wg sync.WaitGroup
			for i := range 8 {
				base := env.Issuer
				if i%2 == 1 {
					base = replica.HTTP.URL
				}
				wg.Go(func() {
					a := pollDevice(t, base, id, d.str("device_code"))
					k := a.str("error")
					if a.status == http.StatusOK && a.str("access_token") != "" {
						k = "tokens"
					}
					mu.Lock()
					got[k]++
					mu.Unlock()
				})
			}
			wg.Wait()
			if got["tokens"] != 1 || got["invalid_grant"] != 7 {
				t.Fatalf("8 concurrent redemptions: %v, want tokens once and invalid_grant 7 times", got)
			}
		})
		t.Run("token/disabled user", func(t *testing.T) {
			u := env.CreateUser("leaver@example.com")
			d := start()
			approveDevice(t, env, d.str("user_code"), u.ID, "allow")
			if err := env.Store.SetUserDisabled(context.Background(), u.ID, true); err != nil {
				t.Fatal(err)
			}
			before := rowCounts(t, env, "oauth2_requests")
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.str("error") != "invalid_grant" {
				t.Fatalf("%d %v", a.status, a.body)
			}
			nothingWritten(t, env, "disabled user's poll", before)
		})
	})
}

// TestDeviceCodeExpires: past its lifetime a device code is expired_token
// at the token endpoint and refused on the device page (RFC 8628 §3.5).
// On SQLite and PostgreSQL.
func TestDeviceCodeExpires(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls, func(c *config.Config) { c.DeviceCodeTTL = 2 * time.Second })...)
		id, _ := env.CreateClient(deviceSpec())
		d := startDevice(t, env, id, "", "openid")
		if d.body["expires_in"] != float64(2) {
			t.Fatalf("expires_in = %v", d.body["expires_in"])
		}
		time.Sleep(2500 * time.Millisecond)
		if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.status != http.StatusBadRequest || a.str("error") != "expired_token" {
			t.Fatalf("%d %v", a.status, a.body)
		}
		resp, body := enterCode(t, env, env.Browser(), d.str("user_code"))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
			t.Fatalf("expired code on the page: %d", resp.StatusCode)
		}
	})
}

// TestDevicePageRefusals: the /device page refuses malformed, wrong, used
// codes and forms without the CSRF token, throttles guessing per client
// IP in the database (10 wrong codes per 15 minutes, across replicas),
// keeps the confirmation to the browser that typed the code, and applies
// the client's allowed groups.
func TestDevicePageRefusals(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		id, _ := env.CreateClient(deviceSpec())
		user := env.CreateUser("pages@example.com")

		t.Run("malformed", func(t *testing.T) {
			for _, code := range []string{"", "ABCD-EFGH", "BCDF-GHJ", "BCDF-GHJKL", "<script>"} {
				resp, body := enterCode(t, env, env.Browser(), code)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter the 8-letter code") {
					t.Fatalf("%q: %d", code, resp.StatusCode)
				}
			}
		})
		t.Run("no csrf", func(t *testing.T) {
			resp, err := env.Browser().PostForm(env.Issuer+"/device", url.Values{"user_code": {"BCDF-GHJK"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d", resp.StatusCode)
			}
		})
		t.Run("prefilled from verification_uri_complete", func(t *testing.T) {
			d := startDevice(t, env, id, "", "openid")
			resp, body := get(t, env.Browser(), env.Issuer+"/device?user_code="+url.QueryEscape(d.str("user_code")))
			if resp.StatusCode != http.StatusOK || formValue(t, body, "user_code") != d.str("user_code") || !strings.Contains(body, "Check that this code matches") {
				t.Fatalf("prefilled page: %d", resp.StatusCode)
			}
			// Looking at the page decided nothing.
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.str("error") != "authorization_pending" {
				t.Fatalf("%d %v", a.status, a.body)
			}
		})
		t.Run("used code", func(t *testing.T) {
			d := startDevice(t, env, id, "", "openid")
			approveDevice(t, env, d.str("user_code"), user.ID, "allow")
			resp, body := enterCode(t, env, env.Browser(), d.str("user_code"))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
				t.Fatalf("used code: %d", resp.StatusCode)
			}
		})
		t.Run("confirmation in another browser", func(t *testing.T) {
			d := startDevice(t, env, id, "", "openid")
			b := env.Browser()
			resp, _ := enterCode(t, env, b, d.str("user_code"))
			in := interactionFrom(t, resp, "/login")
			env.CompleteInteraction(b, in, user.ID, []string{"pop"}, models.ACRPhishingResistant)
			_, body := get(t, b, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
			thief := env.Browser()
			env.Login(thief, user.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
			if status, _ := decide(t, env, thief, body, "allow"); status != http.StatusForbidden {
				t.Fatalf("decision from another browser: %d", status)
			}
			if a := pollDevice(t, env.Issuer, id, d.str("device_code")); a.str("error") != "authorization_pending" {
				t.Fatalf("%d %v", a.status, a.body)
			}
			// A decision is taken once: the second answer finds it gone.
			if status, _ := decide(t, env, b, body, "allow"); status != http.StatusOK {
				t.Fatalf("decision: %d", status)
			}
			if status, _ := decide(t, env, b, body, "deny"); status != http.StatusBadRequest {
				t.Fatalf("second decision: %d", status)
			}
		})
		t.Run("allowed groups", func(t *testing.T) {
			spec := deviceSpec()
			spec.Name, spec.AllowedGroups = "Staff CLI", []string{"staff"}
			if err := env.Store.CreateGroup(context.Background(), &models.Group{ID: "g-staff", Name: "staff"}); err != nil && !errors.Is(err, models.ErrAlreadyExists) {
				t.Fatal(err)
			}
			staffOnly, _ := env.CreateClient(spec)
			d := startDevice(t, env, staffOnly, "", "openid")
			b := env.Browser()
			resp, _ := enterCode(t, env, b, d.str("user_code"))
			in := interactionFrom(t, resp, "/login")
			env.CompleteInteraction(b, in, user.ID, []string{"pop"}, models.ACRPhishingResistant)
			resp, body := get(t, b, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "allowed to use Staff CLI") {
				t.Fatalf("outsider: %d at %s", resp.StatusCode, resp.Request.URL)
			}
			if a := pollDevice(t, env.Issuer, staffOnly, d.str("device_code")); a.str("error") != "authorization_pending" {
				t.Fatalf("%d %v", a.status, a.body)
			}
		})
		t.Run("guessing throttled", func(t *testing.T) {
			d := startDevice(t, env, id, "", "openid")
			wrong := "BBBB-BBBB"
			if d.str("user_code") == wrong {
				wrong = "CCCC-CCCC"
			}
			for i := range 10 {
				resp, body := enterCode(t, env, env.Browser(), wrong)
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Check the code on your device") {
					t.Fatalf("wrong code %d: %d", i, resp.StatusCode)
				}
			}
			// Now even the right code is not looked up from this address,
			// on any replica.
			resp, body := enterCode(t, env.Replica(), env.Browser(), d.str("user_code"))
			if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong codes") {
				t.Fatalf("after 10 wrong codes: %d", resp.StatusCode)
			}
		})
	})
}

// TestDeviceGrantOff: with device_grant off, discovery names no device
// endpoint, the endpoints and the page are 404 and the token endpoint
// does not know the grant.
func TestDeviceGrantOff(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.DeviceGrant = false })
	id, _ := env.CreateClient(deviceSpec())
	resp, body := get(t, env.Browser(), env.Issuer+"/.well-known/openid-configuration")
	// (Not any "device": the passkey:device-bound acr is in discovery.)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "device_authorization_endpoint") || strings.Contains(body, "device_code") {
		t.Fatalf("discovery mentions the device grant: %s", body)
	}
	for _, path := range []string{"/oauth2/device/authorize", "/device"} {
		resp, err := http.PostForm(env.Issuer+path, url.Values{"client_id": {id}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	if a := pollDevice(t, env.Issuer, id, "x"); a.str("error") != "unsupported_grant_type" {
		t.Fatalf("%d %v", a.status, a.body)
	}
}
