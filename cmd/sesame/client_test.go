package main

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestClientLifecycle(t *testing.T) {
	dir := t.TempDir()

	created := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json",
		"--name", "My app",
		"--redirect-uri", "http://localhost:3000/callback",
		"--redirect-uri", "https://app.example.com/cb?a=1,2",
		"--post-logout-redirect-uri", "https://app.example.com/bye",
	)))
	if created.ClientID == "" || created.ClientSecret == "" {
		t.Fatalf("create --json lacks client_id or client_secret: %+v", created)
	}
	if want := []string{"http://localhost:3000/callback", "https://app.example.com/cb?a=1,2"}; !reflect.DeepEqual(created.RedirectURIs, want) {
		t.Errorf("redirect_uris = %v, want %v (a comma must not split a URI)", created.RedirectURIs, want)
	}

	// show finds it, never with the secret or its hash.
	r := mustOK(t, withSecret(t, dir, "client", "show", created.ClientID, "--json"))
	if strings.Contains(r.stdout, created.ClientSecret) || strings.Contains(r.stdout, "hmac-sha256") || strings.Contains(r.stdout, `"client_secret":`) {
		t.Fatalf("show leaks the secret: %s", r.stdout)
	}
	shown := decode[clientView](t, r)
	if shown.Name != "My app" || shown.TokenEndpointAuthMethod != "client_secret_basic" {
		t.Fatalf("show --json = %+v", shown)
	}
	r = mustOK(t, withSecret(t, dir, "client", "show", created.ClientID))
	if !strings.Contains(r.stdout, "My app") || !strings.Contains(r.stdout, "https://app.example.com/bye") || strings.Contains(r.stdout, created.ClientSecret) {
		t.Fatalf("show:\n%s", r.stdout)
	}

	// The secret printed once is the one stored (hashed).
	st := openTestStore(t, dir)
	stored, err := st.GetClient(context.Background(), created.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := testClientSecrets(t).Verify(context.Background(), stored.SecretHash, created.ClientSecret); err != nil || !ok {
		t.Fatalf("printed secret does not verify: %v %v", ok, err)
	}

	// update changes only what was given.
	mustOK(t, withSecret(t, dir, "client", "update", created.ClientID, "--name", "Renamed", "--scope", "openid,email", "--skip-consent"))
	after := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "show", created.ClientID, "--json")))
	want := shown
	want.Name = "Renamed"
	want.Scopes = []string{"openid", "email"}
	want.SkipConsent = true
	want.UpdatedAt = after.UpdatedAt
	if !reflect.DeepEqual(after, want) {
		t.Fatalf("after update\n got  %+v\n want %+v", after, want)
	}

	// Token settings: JWT access tokens and required DPoP; a bogus format
	// is refused (exit 2) and changes nothing.
	if r := withSecret(t, dir, "client", "update", created.ClientID, "--access-token-format", "paseto"); r.code != exitUsage || !strings.Contains(r.stderr, "access_token_format") {
		t.Fatalf("bogus access token format: %+v", r)
	}
	tok := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", created.ClientID, "--json", "--access-token-format", "jwt", "--dpop-bound-access-tokens")))
	if tok.AccessTokenFormat != "jwt" || !tok.DPoPBoundAccessTokens || tok.Name != "Renamed" {
		t.Fatalf("token settings: %+v", tok)
	}
	if r := mustOK(t, withSecret(t, dir, "client", "show", created.ClientID)); !strings.Contains(r.stdout, "access_token_format:") || !strings.Contains(r.stdout, "jwt") {
		t.Fatalf("show:\n%s", r.stdout)
	}
	tok = decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", created.ClientID, "--json", "--access-token-format", "opaque", "--dpop-bound-access-tokens=false")))
	if tok.AccessTokenFormat != "opaque" || tok.DPoPBoundAccessTokens {
		t.Fatalf("token settings reset: %+v", tok)
	}

	// --rotate-secret prints a new secret; the old one stops working.
	rot := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", created.ClientID, "--rotate-secret", "--json")))
	if rot.ClientSecret == "" || rot.ClientSecret == created.ClientSecret {
		t.Fatalf("rotate-secret: %+v", rot)
	}
	stored, _ = st.GetClient(context.Background(), created.ClientID)
	if ok, _, _ := testClientSecrets(t).Verify(context.Background(), stored.SecretHash, rot.ClientSecret); !ok {
		t.Fatal("rotated secret does not verify")
	}
	if ok, _, _ := testClientSecrets(t).Verify(context.Background(), stored.SecretHash, created.ClientSecret); ok {
		t.Fatal("old secret still verifies")
	}

	// list shows it.
	r = mustOK(t, withSecret(t, dir, "client", "list"))
	if !strings.Contains(r.stdout, "ID") || !strings.Contains(r.stdout, created.ClientID) || !strings.Contains(r.stdout, "confidential") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	if l := decode[[]clientView](t, mustOK(t, withSecret(t, dir, "client", "list", "--json"))); len(l) != 1 || l[0].ClientID != created.ClientID || l[0].ClientSecret != "" {
		t.Fatalf("list --json = %+v", l)
	}

	// delete refuses without --yes when nobody can answer.
	r = withSecret(t, dir, "client", "delete", created.ClientID)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("delete without --yes: %+v", r)
	}
	mustOK(t, withSecret(t, dir, "client", "show", created.ClientID))
	mustOK(t, withSecret(t, dir, "client", "delete", created.ClientID, "--yes"))
	r = withSecret(t, dir, "client", "show", created.ClientID)
	if r.code != exitFailure || !strings.Contains(r.stderr, "client "+created.ClientID+" not found") {
		t.Fatalf("show after delete: %+v", r)
	}
	if r := withSecret(t, dir, "client", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("list after delete: %q", r.stdout)
	}
}

func TestClientCreateRejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		args  []string
		field string
	}{
		{"http redirect off loopback", []string{"--name", "x", "--redirect-uri", "http://app.example.com/cb"}, "redirect_uris"},
		{"fragment", []string{"--name", "x", "--redirect-uri", "https://app.example.com/cb#f"}, "redirect_uris"},
		{"no redirect uri", []string{"--name", "x"}, "redirect_uris"},
		{"no name", []string{"--redirect-uri", "https://app.example.com/cb"}, "client_name"},
		{"public client_credentials", []string{"--name", "x", "--public", "--grant-type", "client_credentials"}, "grant_types"},
		{"unknown alg", []string{"--name", "x", "--redirect-uri", "https://a.example/cb", "--id-token-alg", "HS256"}, "id_token_signed_response_alg"},
		{"web origin with a path", []string{"--name", "x", "--public", "--redirect-uri", "https://a.example/cb", "--allowed-web-origin", "https://a.example/app"}, "allowed_web_origins"},
		{"wildcard web origin", []string{"--name", "x", "--public", "--redirect-uri", "https://a.example/cb", "--allowed-web-origin", "https://*.a.example"}, "allowed_web_origins"},
		{"null web origin", []string{"--name", "x", "--public", "--redirect-uri", "https://a.example/cb", "--allowed-web-origin", "null"}, "allowed_web_origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := inDir(t, dir, append([]string{"client", "create"}, tt.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.field+":") {
				t.Fatalf("want exit 2 naming %s, got %+v", tt.field, r)
			}
			if strings.Contains(r.stderr, "Usage:") {
				t.Errorf("validation errors must not dump usage: %s", r.stderr)
			}
		})
	}
	if r := withSecret(t, dir, "client", "list", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("rejected clients were stored: %s", r.stdout)
	}
}

func TestClientVariants(t *testing.T) {
	dir := t.TempDir()
	pub := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json", "--name", "SPA", "--public", "--redirect-uri", "http://127.0.0.1:5173/cb", "--login-method", "passkey")))
	if pub.ClientSecret != "" || !pub.Public || pub.TokenEndpointAuthMethod != "none" || !reflect.DeepEqual(pub.AllowedLoginMethods, []string{"passkey"}) {
		t.Fatalf("public client: %+v", pub)
	}
	if r := mustOK(t, withSecret(t, dir, "client", "show", pub.ClientID)); !strings.Contains(r.stdout, "http://127.0.0.1:5173 (from the redirect URIs)") {
		t.Fatalf("show does not name the default web origin:\n%s", r.stdout)
	}
	mustOK(t, withSecret(t, dir, "client", "update", pub.ClientID, "--allowed-web-origin", "https://shop.example", "--allowed-web-origin", "http://localhost:5173"))
	if got := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "show", pub.ClientID, "--json"))); !reflect.DeepEqual(got.AllowedWebOrigins, []string{"https://shop.example", "http://localhost:5173"}) {
		t.Fatalf("allowed_web_origins = %v", got.AllowedWebOrigins)
	}
	if r := withSecret(t, dir, "client", "update", pub.ClientID, "--allowed-web-origin", "https://shop.example/"); r.code != exitUsage || !strings.Contains(r.stderr, "allowed_web_origins:") {
		t.Fatalf("update with an origin with a path: %+v", r)
	}
	cc := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json", "--name", "Batch", "--grant-type", "client_credentials")))
	if cc.ClientSecret == "" || len(cc.Scopes) != 0 || len(cc.ResponseTypes) != 0 {
		t.Fatalf("client_credentials client: %+v", cc)
	}

	// The device grant (RFC 8628) by its short name: a public CLI with
	// refresh tokens and no redirect URI.
	dev := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json", "--name", "Acme CLI", "--public",
		"--grant-type", "device_code", "--grant-type", "refresh_token")))
	if !reflect.DeepEqual(dev.GrantTypes, []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}) || len(dev.ResponseTypes) != 0 || dev.ClientSecret != "" {
		t.Fatalf("device client: %+v", dev)
	}

	// PAR required, then not.
	if got := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", pub.ClientID, "--require-par", "--json"))); !got.RequirePushedAuthorizationRequests {
		t.Fatalf("--require-par: %+v", got)
	}
	if got := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", pub.ClientID, "--require-par=false", "--json"))); got.RequirePushedAuthorizationRequests {
		t.Fatalf("--require-par=false: %+v", got)
	}

	// A public client turned confidential needs a new secret.
	r := withSecret(t, dir, "client", "update", pub.ClientID, "--public=false")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--rotate-secret") {
		t.Fatalf("public -> confidential without --rotate-secret: %+v", r)
	}
	conf := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", pub.ClientID, "--public=false", "--rotate-secret", "--json")))
	if conf.Public || conf.ClientSecret == "" || conf.TokenEndpointAuthMethod != "client_secret_basic" {
		t.Fatalf("after switch: %+v", conf)
	}

	if r := withSecret(t, dir, "client", "update", pub.ClientID); r.code != exitUsage || !strings.Contains(r.stderr, "nothing to update") {
		t.Fatalf("update without flags: %+v", r)
	}
	if r := withSecret(t, dir, "client", "update", "nope", "--name", "x"); r.code != exitFailure || !strings.Contains(r.stderr, "client nope not found") {
		t.Fatalf("update unknown: %+v", r)
	}
}

// TestClientTokenExchange: the token exchange grant and its per-client
// targets from the CLI; an unregistered target and a public client are
// refused (exit 2), and dropping the grant drops its targets.
func TestClientTokenExchange(t *testing.T) {
	dir := t.TempDir()
	mustOK(t, withSecret(t, dir, "resource", "create", "orders", "--audience", "https://api.example.com/orders"))
	if r := withSecret(t, dir, "client", "create", "--name", "API", "--grant-type", "token_exchange", "--token-exchange-resource", "https://api.example.com/nope"); r.code != exitUsage || !strings.Contains(r.stderr, "token_exchange_resources") {
		t.Fatalf("unregistered target: %+v", r)
	}
	if r := withSecret(t, dir, "client", "create", "--name", "API", "--public", "--grant-type", "token_exchange", "--token-exchange-resource", "https://api.example.com/orders"); r.code != exitUsage || !strings.Contains(r.stderr, "confidential") {
		t.Fatalf("public exchanging client: %+v", r)
	}
	c := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json", "--name", "API", "--grant-type", "token_exchange",
		"--token-exchange-resource", "https://api.example.com/orders", "--token-exchange-subject-audience", "https://api.example.com/gateway")))
	if !reflect.DeepEqual(c.GrantTypes, []string{"urn:ietf:params:oauth:grant-type:token-exchange"}) || !reflect.DeepEqual(c.TokenExchangeResources, []string{"https://api.example.com/orders"}) ||
		!reflect.DeepEqual(c.TokenExchangeSubjectAudiences, []string{"https://api.example.com/gateway"}) {
		t.Fatalf("created: %+v", c)
	}
	if r := mustOK(t, withSecret(t, dir, "client", "show", c.ClientID)); !strings.Contains(r.stdout, "token_exchange_resources:") {
		t.Fatalf("show:\n%s", r.stdout)
	}
	c = decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", c.ClientID, "--json", "--grant-type", "client_credentials")))
	if len(c.TokenExchangeResources) != 0 || len(c.TokenExchangeSubjectAudiences) != 0 {
		t.Fatalf("grant dropped, targets kept: %+v", c)
	}
}
