package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// deviceResourceSpec is a device client that may ask for the orders and
// calendar APIs' scopes.
func deviceResourceSpec() clients.Spec {
	s := deviceSpec()
	s.Scopes = append(s.Scopes, "orders:read", "calendar:read")
	return s
}

// TestDeviceResourceIndicators_RFC8707: x/oauth2's device flow with a
// resource parameter (RFC 8707 §2) at the device authorization endpoint;
// the confirmation page names the API, and the tokens of the poll are
// for it: a JWT access token (the resource asks for JWTs) whose aud is
// the resource, verified as an API would, and the same aud at
// introspection. A refresh keeps the grant's audience. On every database.
func TestDeviceResourceIndicators_RFC8707(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		createScope(t, env, "orders:read")
		createScope(t, env, "calendar:read")
		createResource(t, env, models.Resource{Name: "orders", Description: "Orders API", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		id, _ := env.CreateClient(deviceResourceSpec())
		user := env.CreateUser("dev-res-" + strings.ToLower(t.Name()[len(t.Name())-6:]) + "@example.com")
		ctx := context.Background()
		p, err := gooidc.NewProvider(ctx, env.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		cfg := oauth2.Config{ClientID: id, Endpoint: p.Endpoint(), Scopes: []string{"openid", "orders:read", "offline_access"}}
		da, err := cfg.DeviceAuth(ctx, oauth2.SetAuthURLParam("resource", ordersAPI))
		if err != nil {
			t.Fatalf("device authorization: %v", err)
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

		b := env.Browser()
		resp, _ := enterCode(t, env, b, da.UserCode)
		in := interactionFrom(t, resp, "/login")
		env.CompleteInteraction(b, in, user.ID, []string{"pop", "hwk", "user"}, models.ACRPhishingResistant)
		resp, page := get(t, b, env.Issuer+"/oauth2/authorize/resume?interaction="+url.QueryEscape(in))
		if resp.Request.URL.Path != "/device/confirm" {
			t.Fatalf("after sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		for _, want := range []string{"With <strong>Orders API</strong>", ordersAPI} {
			if !strings.Contains(page, want) {
				t.Fatalf("the confirmation page does not name the API (%q)", want)
			}
		}
		if status, out := decide(t, env, b, page, "allow"); status != http.StatusOK {
			t.Fatalf("allow: %d %s", status, out)
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
		at := apiVerify(t, env, r.tok.AccessToken, ordersAPI)
		if at.Subject() != user.ID || claim(at, "client_id") != id || !strings.Contains(claim(at, "scope").(string), "orders:read") {
			t.Fatalf("device JWT access token claims = %v", mustMap(t, at))
		}
		if auds := at.Audience(); len(auds) != 1 || auds[0] != ordersAPI {
			t.Fatalf("aud = %v, want [%s]", auds, ordersAPI)
		}
		// The refresh keeps the grant: the same audience.
		expired := *r.tok
		expired.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if auds := apiVerify(t, env, fresh.AccessToken, ordersAPI).Audience(); len(auds) != 1 || auds[0] != ordersAPI {
			t.Fatalf("refreshed aud = %v", auds)
		}
	})
}

// TestDeviceResourceIndicators_Refused: a malformed, unregistered or
// excessive resource, or a scope the resource does not allow, is refused
// at the device authorization endpoint with RFC 8707's invalid_target (or
// invalid_scope), and no device code is issued. On SQLite and PostgreSQL.
func TestDeviceResourceIndicators_Refused(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		createScope(t, env, "orders:read")
		createScope(t, env, "calendar:read")
		createResource(t, env, models.Resource{Name: "orders", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		id, _ := env.CreateClient(deviceResourceSpec())
		many := make([]string, 11)
		for i := range many {
			many[i] = ordersAPI
		}
		for _, tc := range []struct {
			name     string
			scope    string
			resource []string
			code     string
		}{
			{"unregistered", "openid", []string{"https://api.example.com/nope"}, "invalid_target"},
			{"relative", "openid", []string{"orders"}, "invalid_target"},
			{"with a fragment", "openid", []string{ordersAPI + "#x"}, "invalid_target"},
			{"one of two unknown", "openid", []string{ordersAPI, calendarAPI}, "invalid_target"},
			{"too many", "openid", many, "invalid_target"},
			{"scope the resource does not allow", "openid calendar:read", []string{ordersAPI}, "invalid_scope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := rowCounts(t, env, "device_codes")
				a := postJSON(t, env.Issuer+"/oauth2/device/authorize", url.Values{"client_id": {id}, "scope": {tc.scope}, "resource": tc.resource}, "", "")
				if a.status != http.StatusBadRequest || a.str("error") != tc.code || a.str("device_code") != "" {
					t.Fatalf("got %d %v, want 400 %s", a.status, a.body, tc.code)
				}
				nothingWritten(t, env, tc.name, before)
			})
		}
		// A poll may narrow to a resource of the grant only: one outside it is
		// invalid_target (checked before the poll's state is told).
		a := postJSON(t, env.Issuer+"/oauth2/device/authorize", url.Values{"client_id": {id}, "scope": {"openid orders:read"}, "resource": {ordersAPI}}, "", "")
		if a.status != http.StatusOK {
			t.Fatalf("device authorization: %d %v", a.status, a.body)
		}
		user := env.CreateUser("dev-res-refused@example.com")
		approveDevice(t, env, a.str("user_code"), user.ID, "allow")
		createResource(t, env, models.Resource{Name: "calendar", Audience: calendarAPI, Scopes: models.StringList{"calendar:read"}})
		env.Server.Provider().InvalidateResources()
		before := rowCounts(t, env, "oauth2_requests")
		r := postJSON(t, env.Issuer+"/oauth2/token", url.Values{"grant_type": {deviceGrant}, "client_id": {id}, "device_code": {a.str("device_code")}, "resource": {calendarAPI}}, "", "")
		if r.status != http.StatusBadRequest || r.str("error") != "invalid_target" {
			t.Fatalf("poll for a resource outside the grant: %d %v", r.status, r.body)
		}
		nothingWritten(t, env, "poll for a resource outside the grant", before)
	})
}

// TestDeviceGrantDPoP_RFC9449_5: a device that sends a DPoP proof with
// its redeeming poll gets DPoP-bound tokens (token_type DPoP, cnf.jkt in
// the JWT access token for a resource); the public client's refresh token
// is bound too and refreshes only with a proof of the same key.
func TestDeviceGrantDPoP_RFC9449_5(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, fastPolls)...)
		createScope(t, env, "orders:read")
		createScope(t, env, "calendar:read")
		createResource(t, env, models.Resource{Name: "orders", Audience: ordersAPI, Scopes: models.StringList{"orders:read"}})
		id, _ := env.CreateClient(deviceResourceSpec())
		user := env.CreateUser("dev-dpop@example.com")
		key, other := newDPoPKey(t), newDPoPKey(t)
		tokenURL := env.Issuer + "/oauth2/token"
		a := postJSON(t, env.Issuer+"/oauth2/device/authorize", url.Values{"client_id": {id}, "scope": {"openid orders:read offline_access"}, "resource": {ordersAPI}}, "", "")
		if a.status != http.StatusOK {
			t.Fatalf("device authorization: %d %v", a.status, a.body)
		}
		approveDevice(t, env, a.str("user_code"), user.ID, "allow")
		poll := url.Values{"grant_type": {deviceGrant}, "client_id": {id}, "device_code": {a.str("device_code")}}
		resp, out := postToken(t, env.Issuer, poll, "", "", key.proof(t, "POST", tokenURL, proofOpts{}))
		if resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("poll with a proof: %d %v", resp.StatusCode, out)
		}
		at := apiVerify(t, env, out["access_token"].(string), ordersAPI)
		if cnf, _ := claim(at, "cnf").(map[string]any); cnf["jkt"] != key.jkt {
			t.Fatalf("cnf = %v, want jkt %s", claim(at, "cnf"), key.jkt)
		}
		rt := out["refresh_token"].(string)
		refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {rt}}
		if resp, out := postToken(t, env.Issuer, refresh, "", ""); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_dpop_proof" {
			t.Fatalf("bound refresh without a proof: %d %v", resp.StatusCode, out)
		}
		if resp, out := postToken(t, env.Issuer, refresh, "", "", other.proof(t, "POST", tokenURL, proofOpts{})); resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid_grant" {
			t.Fatalf("bound refresh with another key: %d %v", resp.StatusCode, out)
		}
		if resp, out := postToken(t, env.Issuer, refresh, "", "", key.proof(t, "POST", tokenURL, proofOpts{})); resp.StatusCode != http.StatusOK || out["token_type"] != "DPoP" {
			t.Fatalf("bound refresh with its key: %d %v", resp.StatusCode, out)
		}
	})
}
