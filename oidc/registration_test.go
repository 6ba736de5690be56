package oidc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/server/servertest"
)

// manyRegistrations lifts the per-IP limit for tests that send many
// requests from one address.
func manyRegistrations(c *config.Config) { c.RegistrationRateIP = 10000 }

// regCall sends a registration request (body nil for none) with token as
// the bearer token ("" for none) and decodes the JSON answer.
func regCall(t *testing.T, method, u, token string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: status %d, not JSON: %s", method, u, resp.StatusCode, raw)
		}
	}
	return resp, out
}

// appAuthRequest is the registration request AppAuth (iOS/Android) sends
// for a native app, plus what a web app's library (node openid-client)
// adds: the stock shape of RFC 7591 §3.1.
func appAuthRequest() map[string]any {
	return map[string]any{
		"application_type":           "native",
		"redirect_uris":              []string{redirectURI},
		"response_types":             []string{"code"},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"subject_type":               "public",
		"token_endpoint_auth_method": "client_secret_basic",
		"client_name":                "Stock Library App",
		"client_name#ja-Jpan-JP":     "ストック",
		"scope":                      "openid profile email offline_access",
		"contacts":                   []string{"dev@app.example"},
		"client_uri":                 "https://app.example",
		"software_id":                "4NRB1-0XZABZI9E6-5SM3R",
		"software_version":           "2.1",
	}
}

// TestDynamicRegistrationStockRequestThenCodeFlow_RFC7591_3: a stock
// registration request with an initial access token gets a client that
// then signs a user in through go-oidc and x/oauth2; the token spends one
// use, the client is marked dynamic with its token, and the registration
// is in the audit log.
func TestDynamicRegistrationStockRequestThenCodeFlow_RFC7591_3(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.Registration(config.RegistrationProtected))...)
		ctx := context.Background()
		iatID, iat := env.MintInitialAccessToken("partner", 2, time.Hour)

		p, err := gooidc.NewProvider(ctx, env.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		var disc struct {
			RegistrationEndpoint string `json:"registration_endpoint"`
		}
		if err := p.Claims(&disc); err != nil || disc.RegistrationEndpoint != env.Issuer+"/oauth2/register" {
			t.Fatalf("discovery registration_endpoint %q, %v", disc.RegistrationEndpoint, err)
		}

		resp, info := regCall(t, http.MethodPost, disc.RegistrationEndpoint, iat, appAuthRequest())
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("register: %d %v", resp.StatusCode, info)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q, want no-store (RFC 7591 §3.2.1)", resp.Header.Get("Cache-Control"))
		}
		id, _ := info["client_id"].(string)
		secret, _ := info["client_secret"].(string)
		regToken, _ := info["registration_access_token"].(string)
		if id == "" || len(secret) < 40 || len(regToken) < 40 || info["client_secret_expires_at"] != float64(0) ||
			info["client_id_issued_at"] == nil || info["registration_client_uri"] != env.Issuer+"/oauth2/register/"+id {
			t.Fatalf("registration answer %v", info)
		}
		if info["client_name"] != "Stock Library App" || info["scope"] != "openid profile email offline_access" ||
			info["token_endpoint_auth_method"] != "client_secret_basic" || info["id_token_signed_response_alg"] != "RS256" {
			t.Fatalf("registered metadata %v", info)
		}

		c, err := env.Store.GetClient(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Dynamic || c.InitialAccessTokenID != iatID || c.RegisteredIP == "" || c.SkipConsent || c.RegistrationTokenHash == "" ||
			strings.Contains(c.RegistrationTokenHash, regToken) || c.ClientURI != "https://app.example" {
			t.Fatalf("stored client %+v", c)
		}
		tok, err := env.Store.GetInitialAccessToken(ctx, iatID)
		if err != nil || tok.Uses != 1 {
			t.Fatalf("initial access token after one registration: %+v %v", tok, err)
		}
		entries, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{TargetID: id}, 10)
		if err != nil || len(entries) != 1 || entries[0].Action != "client.register" || entries[0].ActorKind != models.ActorClient ||
			!strings.Contains(entries[0].ActorLabel, "partner") || strings.Contains(entries[0].AfterJSON, secret) {
			t.Fatalf("audit %+v %v", entries, err)
		}

		// The registered client signs a user in (consent asked: a
		// registration never skips it).
		r := &rp{env: env, provider: p, clientID: id, secret: secret, oauth: oauth2.Config{ClientID: id, ClientSecret: secret,
			Endpoint: p.Endpoint(), RedirectURL: redirectURI, Scopes: []string{"openid", "profile", "email"}}}
		f := &e2eFlow{t: t, env: env, r: r, b: env.Browser(), user: env.CreateUser("dcr-" + t.Name() + "@example.com")}
		resp, _, verifier := f.start("state-dcr-0123456789", nil)
		resp, body, _ := f.signIn(resp, models.ACRPhishingResistant)
		in := interactionFrom(t, resp, "/consent")
		if !strings.Contains(body, "Stock Library App") {
			t.Fatal("consent page does not name the registered app")
		}
		resp, _ = postPage(t, f.b, env.Issuer+"/consent", url.Values{"interaction": {in}, "csrf": {formValue(t, body, "csrf")}, "decision": {"allow"}})
		q := callback(t, resp)
		idt, _ := f.verifyID(f.exchange(q.Get("code"), verifier))
		if idt.Subject != f.user.ID || idt.Audience[0] != id {
			t.Fatalf("id token sub %q aud %v", idt.Subject, idt.Audience)
		}
	})
}

// TestRegistrationRefusesBadMetadata_RFC7591_3_2_2: every kind of bad
// metadata — the console form's rules and the registration policy's
// limits — is a JSON 400 with RFC 7591's code, and registers nothing.
func TestRegistrationRefusesBadMetadata_RFC7591_3_2_2(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.Registration(config.RegistrationOpen), manyRegistrations)...)
		ctx := context.Background()
		before, err := env.Store.ListClients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		with := func(k string, v any) map[string]any {
			m := map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		const (
			badURI  = "invalid_redirect_uri"
			badMeta = "invalid_client_metadata"
			badSS   = "invalid_software_statement"
		)
		for _, tc := range []struct {
			name string
			body any
			code string
			// in is a word the description must contain.
			in string
		}{
			{"no redirect uri", with("redirect_uris", nil), badURI, "redirect_uris"},
			{"http redirect uri", with("redirect_uris", []string{"http://app.example/cb"}), badURI, "https"},
			{"fragment", with("redirect_uris", []string{"https://app.example/cb#x"}), badURI, "fragment"},
			{"wildcard", with("redirect_uris", []string{"https://*.app.example/cb"}), badURI, "wildcard"},
			{"relative", with("redirect_uris", []string{"/cb"}), badURI, "absolute"},
			{"javascript", with("redirect_uris", []string{"javascript:alert(1)"}), badURI, "redirect_uris"},
			{"private-use scheme not allowed by policy", with("redirect_uris", []string{"com.example.app:/cb"}), badURI, "private-use"},
			{"too many redirect uris", with("redirect_uris", []string{"https://a.example/1", "https://a.example/2", "https://a.example/3", "https://a.example/4",
				"https://a.example/5", "https://a.example/6", "https://a.example/7", "https://a.example/8", "https://a.example/9", "https://a.example/10", "https://a.example/11"}), badURI, "at most 10"},
			{"redirect uris not a list", with("redirect_uris", "https://app.example/cb"), badMeta, "redirect_uris"},
			{"post-logout uri http", with("post_logout_redirect_uris", []string{"http://app.example/bye"}), badMeta, "post_logout_redirect_uris"},
			{"no name", with("client_name", nil), badMeta, "client_name"},
			{"name with control characters", with("client_name", "Bad\x07App"), badMeta, "client_name"},
			{"unknown grant", with("grant_types", []string{"password"}), badMeta, "password"},
			{"implicit", with("grant_types", []string{"implicit"}), badMeta, "implicit"},
			{"client_credentials not allowed by policy", with("grant_types", []string{"client_credentials"}), badMeta, "client_credentials"},
			{"device grant not allowed by policy", with("grant_types", []string{"authorization_code", "urn:ietf:params:oauth:grant-type:device_code"}), badMeta, "device_code"},
			{"token response type", with("response_types", []string{"token"}), badMeta, "response_types"},
			{"unknown auth method", with("token_endpoint_auth_method", "client_secret_jwt"), badMeta, "token_endpoint_auth_method"},
			{"private_key_jwt without keys", with("token_endpoint_auth_method", "private_key_jwt"), badMeta, "jwks"},
			{"jwks with a private key", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt",
				"jwks": map[string]any{"keys": []any{map[string]any{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "secret"}}}}, badMeta, "private key"},
			{"jwks not an object", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt", "jwks": "keys"}, badMeta, "jwks"},
			{"jwks and jwks_uri", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt",
				"jwks": map[string]any{"keys": []any{map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}}, "jwks_uri": "https://app.example/jwks"}, badMeta, "not both"},
			{"jwks_uri on loopback", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt",
				"jwks_uri": "https://127.0.0.1/jwks"}, badMeta, "internal address"},
			{"jwks_uri on the metadata service", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt",
				"jwks_uri": "https://169.254.169.254/latest"}, badMeta, "internal address"},
			{"jwks_uri on localhost by name", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt",
				"jwks_uri": "https://localhost/jwks"}, badMeta, "internal address"},
			{"backchannel logout uri private", with("backchannel_logout_uri", "https://10.1.2.3/logout"), badMeta, "internal address"},
			{"backchannel logout uri http loopback", with("backchannel_logout_uri", "http://127.0.0.1:8080/logout"), badMeta, "internal address"},
			{"frontchannel logout uri private v6", with("frontchannel_logout_uri", "https://[fd00::1]/logout"), badMeta, "internal address"},
			{"frontchannel logout uri other origin", with("frontchannel_logout_uri", "https://elsewhere.example/logout"), badMeta, "frontchannel_logout_uri"},
			{"sector identifier on loopback", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "subject_type": "pairwise",
				"sector_identifier_uri": "https://127.0.0.1/sector.json"}, badMeta, "internal address"},
			{"sector identifier http", map[string]any{"client_name": "Bad App", "redirect_uris": []string{"https://app.example/cb"}, "subject_type": "pairwise",
				"sector_identifier_uri": "http://app.example/sector.json"}, badMeta, "sector_identifier_uri"},
			{"unknown subject type", with("subject_type", "anonymous"), badMeta, "subject_type"},
			{"unknown id token alg", with("id_token_signed_response_alg", "none"), badMeta, "id_token_signed_response_alg"},
			{"admin scope", with("scope", "openid sesame:admin"), badMeta, "sesame:admin"},
			{"introspection scope", with("scope", "sesame:introspect"), badMeta, "sesame:introspect"},
			{"undefined custom scope", with("scope", "openid billing:read"), badMeta, "billing:read"},
			{"logo not https", with("logo_uri", "http://app.example/logo.png"), badMeta, "logo_uri"},
			{"client_uri not https", with("client_uri", "ftp://app.example"), badMeta, "client_uri"},
			{"policy_uri relative", with("policy_uri", "/privacy"), badMeta, "policy_uri"},
			{"tos_uri javascript", with("tos_uri", "javascript:alert(1)"), badMeta, "tos_uri"},
			{"contact not an address", with("contacts", []string{"call us"}), badMeta, "contacts"},
			{"contacts not a list", with("contacts", "dev@app.example"), badMeta, "contacts"},
			{"session required without logout uri", with("backchannel_logout_session_required", true), badMeta, "backchannel_logout_uri"},
			{"software statement", with("software_statement", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), badSS, "not supported"},
			{"not JSON", "client_name=Bad", badMeta, "JSON"},
			{"JSON array", `[]`, badMeta, "JSON"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, got := regCall(t, http.MethodPost, env.Issuer+"/oauth2/register", "", tc.body)
				desc, _ := got["error_description"].(string)
				if resp.StatusCode != http.StatusBadRequest || got["error"] != tc.code || !strings.Contains(desc, tc.in) ||
					!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("status %d, %v; want 400 %s mentioning %q", resp.StatusCode, got, tc.code, tc.in)
				}
			})
		}
		after, err := env.Store.ListClients(ctx)
		if err != nil || len(after) != len(before) {
			t.Fatalf("%d clients after refused registrations, want %d (%v)", len(after), len(before), err)
		}
	})
}

// TestRegistrationInitialAccessTokens_RFC7591_3: while protected, only a
// usable initial access token registers; missing, unknown, expired, used
// up and revoked ones get the same 401 with a Bearer challenge. Open mode
// needs none. Off, the endpoint and its discovery entry do not exist.
func TestRegistrationInitialAccessTokens_RFC7591_3(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.Registration(config.RegistrationProtected))...)
		ctx := context.Background()
		body := map[string]any{"client_name": "Token App", "redirect_uris": []string{"https://app.example/cb"}}
		u := env.Issuer + "/oauth2/register"

		_, once := env.MintInitialAccessToken("one use", 1, time.Hour)
		if resp, got := regCall(t, http.MethodPost, u, once, body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("first use: %d %v", resp.StatusCode, got)
		}
		// An expired token, written as minting would (its HMAC only).
		secrets, err := server.ClientSecrets(env.Secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		expired := "ZXhwaXJlZC10b2tlbi0wMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODk"
		if err := env.Store.CreateInitialAccessToken(ctx, &models.InitialAccessToken{ID: "expired-" + t.Name(), TokenHash: secrets.Hash(expired),
			Label: "expired", MaxUses: 5, ExpiresAt: store.Now().Add(-time.Second), CreatedAt: store.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		revokedID, revoked := env.MintInitialAccessToken("revoked", 5, time.Hour)
		if err := env.Store.RevokeInitialAccessToken(ctx, revokedID, time.Now()); err != nil {
			t.Fatal(err)
		}
		for name, token := range map[string]string{"none": "", "unknown": "bm90LWEtdG9rZW4", "used up": once, "expired": expired, "revoked": revoked} {
			resp, got := regCall(t, http.MethodPost, u, token, body)
			if resp.StatusCode != http.StatusUnauthorized || got["error"] != "invalid_token" ||
				resp.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Fatalf("%s token: %d %v %q", name, resp.StatusCode, got, resp.Header.Get("WWW-Authenticate"))
			}
		}
		// A refused token makes nothing happen: no metadata is even checked.
		resp, got := regCall(t, http.MethodPost, u, "", map[string]any{"redirect_uris": []string{"http://bad"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad metadata without a token: %d %v, want 401 first", resp.StatusCode, got)
		}
	})
}

// TestRegistrationModes: off is 404 and absent from discovery; open
// registers without a token.
func TestRegistrationModes(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		off := servertest.New(t, db...)
		if resp, got := regCall(t, http.MethodPost, off.Issuer+"/oauth2/register", "", map[string]any{"client_name": "x"}); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("off: %d %v", resp.StatusCode, got)
		}
		_, disc := regCall(t, http.MethodGet, off.Issuer+"/.well-known/openid-configuration", "", nil)
		if _, ok := disc["registration_endpoint"]; ok {
			t.Fatal("discovery names the registration endpoint while registration is off")
		}

		open := servertest.New(t, append(db, servertest.Registration(config.RegistrationOpen), manyRegistrations)...)
		_, disc = regCall(t, http.MethodGet, open.Issuer+"/.well-known/openid-configuration", "", nil)
		if disc["registration_endpoint"] != open.Issuer+"/oauth2/register" {
			t.Fatalf("open: discovery registration_endpoint %v", disc["registration_endpoint"])
		}
		resp, got := regCall(t, http.MethodPost, open.Issuer+"/oauth2/register", "", map[string]any{
			"client_name": "Open SPA", "redirect_uris": []string{"https://spa.example/cb"}, "token_endpoint_auth_method": "none"})
		if resp.StatusCode != http.StatusCreated || got["client_secret"] != nil || got["client_secret_expires_at"] != nil ||
			got["grant_types"].([]any)[0] != "authorization_code" || len(got["grant_types"].([]any)) != 1 {
			t.Fatalf("open public registration: %d %v", resp.StatusCode, got)
		}
		c, err := open.Store.GetClient(context.Background(), got["client_id"].(string))
		if err != nil || !c.Dynamic || c.InitialAccessTokenID != "" || !c.Public {
			t.Fatalf("open client %+v %v", c, err)
		}
	})
}

// TestRegistrationManagement_RFC7592: the registration access token reads,
// replaces and deletes its client; every update rotates it; a wrong,
// old or other client's token, and an admin-registered client, get 401.
func TestRegistrationManagement_RFC7592(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.Registration(config.RegistrationOpen), manyRegistrations)...)
		ctx := context.Background()
		reg := func(name string) (string, string, map[string]any) {
			resp, got := regCall(t, http.MethodPost, env.Issuer+"/oauth2/register", "", map[string]any{
				"client_name": name, "redirect_uris": []string{"https://app.example/cb"}})
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("register %s: %d %v", name, resp.StatusCode, got)
			}
			return got["registration_client_uri"].(string), got["registration_access_token"].(string), got
		}
		uri, token, first := reg("Managed App")
		otherURI, otherToken, _ := reg("Other App")
		id := first["client_id"].(string)

		resp, got := regCall(t, http.MethodGet, uri, token, nil)
		if resp.StatusCode != http.StatusOK || got["client_id"] != id || got["client_name"] != "Managed App" ||
			got["client_secret"] != nil || got["registration_access_token"] != nil || got["registration_client_uri"] != uri {
			t.Fatalf("read: %d %v", resp.StatusCode, got)
		}
		adminID, _ := env.CreateClient(clients.Spec{Name: "Admin App", RedirectURIs: []string{"https://app.example/cb"}})
		for name, c := range map[string]struct{ uri, token string }{
			"no token":            {uri, ""},
			"wrong token":         {uri, "d3Jvbmc"},
			"other client's":      {uri, otherToken},
			"own token elsewhere": {otherURI, token},
			"unknown client":      {env.Issuer + "/oauth2/register/nope", token},
			"admin client":        {env.Issuer + "/oauth2/register/" + adminID, token},
		} {
			for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
				resp, got := regCall(t, m, c.uri, c.token, map[string]any{"client_id": id, "client_name": "Hijacked", "redirect_uris": []string{"https://evil.example/cb"}})
				if resp.StatusCode != http.StatusUnauthorized || got["error"] != "invalid_token" {
					t.Fatalf("%s %s: %d %v", m, name, resp.StatusCode, got)
				}
			}
		}

		// PUT replaces the metadata with the same checks.
		put := map[string]any{"client_id": id, "client_name": "Managed App 2", "redirect_uris": []string{"https://app.example/cb2"},
			"grant_types": []string{"authorization_code", "refresh_token"}, "scope": "openid email"}
		bad := map[string]any{"client_id": id, "client_name": "x", "redirect_uris": []string{"http://app.example/cb"}}
		if resp, got := regCall(t, http.MethodPut, uri, token, bad); resp.StatusCode != 400 || got["error"] != "invalid_redirect_uri" {
			t.Fatalf("bad PUT: %d %v", resp.StatusCode, got)
		}
		wrongID := map[string]any{"client_id": "someone-else", "client_name": "x", "redirect_uris": []string{"https://app.example/cb"}}
		if resp, got := regCall(t, http.MethodPut, uri, token, wrongID); resp.StatusCode != 400 || got["error"] != "invalid_client_metadata" {
			t.Fatalf("PUT naming another client_id: %d %v", resp.StatusCode, got)
		}
		chosenSecret := map[string]any{"client_id": id, "client_secret": "my-own-secret", "client_name": "x", "redirect_uris": []string{"https://app.example/cb"}}
		if resp, got := regCall(t, http.MethodPut, uri, token, chosenSecret); resp.StatusCode != 400 || got["error"] != "invalid_client_metadata" {
			t.Fatalf("PUT choosing a secret: %d %v", resp.StatusCode, got)
		}
		put["client_secret"] = first["client_secret"]
		resp, got = regCall(t, http.MethodPut, uri, token, put)
		if resp.StatusCode != http.StatusOK || got["client_name"] != "Managed App 2" || got["scope"] != "openid email" || got["client_secret"] != nil {
			t.Fatalf("PUT: %d %v", resp.StatusCode, got)
		}
		next, _ := got["registration_access_token"].(string)
		if next == "" || next == token {
			t.Fatalf("PUT did not rotate the registration access token: %v", got)
		}
		if resp, _ := regCall(t, http.MethodGet, uri, token, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("old token after rotation: %d", resp.StatusCode)
		}
		c, err := env.Store.GetClient(ctx, id)
		if err != nil || c.Name != "Managed App 2" || c.SecretHash == "" || c.RedirectURIs[0] != "https://app.example/cb2" {
			t.Fatalf("after PUT: %+v %v", c, err)
		}

		if resp, _ := regCall(t, http.MethodDelete, uri, next, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
		if _, err := env.Store.GetClient(ctx, id); err == nil {
			t.Fatal("client still there after DELETE")
		}
		if resp, _ := regCall(t, http.MethodGet, uri, next, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET after DELETE: %d, want 401 (RFC 7592 §2.1)", resp.StatusCode)
		}
		var actions []string
		entries, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{TargetID: id}, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "client.register_delete,client.register_update,client.register" {
			t.Fatalf("audit actions %v", actions)
		}
	})
}

// TestRegistrationRateLimit: every request to the endpoint counts against
// the per-IP hourly limit, across replicas; over it, 429 with Retry-After.
// On SQLite and PostgreSQL.
func TestRegistrationRateLimit(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, append(db, servertest.Registration(config.RegistrationOpen), func(c *config.Config) { c.RegistrationRateIP = 3 })...)
		// Requests alternate between two replicas: the limit is counted in
		// the database, so it holds across them.
		replicas := []*servertest.Env{env, env.Replica()}
		for i := range 4 {
			resp, got := regCall(t, http.MethodPost, replicas[i%2].HTTP.URL+"/oauth2/register", "", map[string]any{"client_name": "x"})
			switch {
			case i < 3 && resp.StatusCode != http.StatusBadRequest:
				t.Fatalf("request %d: %d %v", i+1, resp.StatusCode, got)
			case i == 3 && (resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == ""):
				t.Fatalf("request over the limit: %d %v", resp.StatusCode, got)
			}
		}
	})
}
