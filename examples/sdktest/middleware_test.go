package sdktest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/sdk/go/middleware"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestMiddlewareWithSesameOpaqueTokens: an API protected by
// sdk/go/middleware checks Sesame's (opaque) access tokens by
// introspection as a resource server (scope sesame:introspect): a staff
// user's token with the groups scope passes the group check; the same
// user's token without it, another user's and a client_credentials token
// are refused with 403; junk with 401. A revoked token is refused once the
// cache TTL has passed, at once without a cache. An API client that may
// not introspect others' tokens sees them as inactive (401).
func TestMiddlewareWithSesameOpaqueTokens(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		apiID, apiSecret := env.CreateClient(clients.Spec{Name: "Orders API", GrantTypes: []string{"client_credentials"}, Scopes: []string{clients.ScopeIntrospect}})
		const redirect = "http://127.0.0.1:9/callback"
		appID, appSecret := env.CreateClient(clients.Spec{Name: "App", RedirectURIs: []string{redirect}, SkipConsent: true,
			GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"}, Scopes: []string{"openid", "email", "groups", "offline_access"}})
		staff := userInGroups(t, env, "staff")
		guest := userInGroups(t, env, "guests")

		v, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, ClientID: apiID, ClientSecret: apiSecret, IntrospectionCacheTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		api := serve(t, v.Require(middleware.Scopes("openid"), middleware.Groups("staff"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, _ := middleware.FromContext(r.Context())
			_ = json.NewEncoder(w).Encode(map[string]any{"sub": tok.Subject, "client_id": tok.ClientID, "groups": tok.Groups})
		})))
		call := func(token string) (int, string, string) {
			req, _ := http.NewRequest(http.MethodGet, api, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)
		}

		withGroups := userTokens(t, env, staff, appID, appSecret, redirect, "openid", "email", "groups", "offline_access")
		if code, _, body := call(withGroups.AccessToken); code != 200 || !strings.Contains(body, `"sub":"`+staff.ID+`"`) || !strings.Contains(body, `"groups":["staff"]`) {
			t.Fatalf("staff with groups: %d %s", code, body)
		}
		noGroups := userTokens(t, env, staff, appID, appSecret, redirect, "openid", "email")
		guestTok := userTokens(t, env, guest, appID, appSecret, redirect, "openid", "groups")
		cc, err := (&clientcredentials.Config{ClientID: appID, ClientSecret: appSecret, TokenURL: env.Issuer + "/oauth2/token", Scopes: []string{"openid"}}).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"without the groups scope": noGroups.AccessToken, "a guest": guestTok.AccessToken, "client_credentials": cc.AccessToken} {
			if code, h, body := call(tok); code != 403 || !strings.Contains(h, `error="insufficient_scope"`) {
				t.Errorf("%s: %d %q %s", name, code, h, body)
			}
		}
		for name, tok := range map[string]string{"junk": "ory_at_junk.junk", "a refresh token": withGroups.RefreshToken, "nothing": ""} {
			if code, h, body := call(tok); code != 401 || !strings.HasPrefix(h, `Bearer realm="api"`) {
				t.Errorf("%s: %d %q %s", name, code, h, body)
			}
		}

		// A cached answer outlives a revocation by at most the TTL.
		cachedV, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, ClientID: apiID, ClientSecret: apiSecret, IntrospectionCacheTTL: 700 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cachedV.Verify(ctx, withGroups.AccessToken); err != nil {
			t.Fatal(err)
		}
		revoke(t, env, appID, appSecret, withGroups.AccessToken)
		if _, err := cachedV.Verify(ctx, withGroups.AccessToken); err != nil {
			t.Fatalf("within the cache TTL: %v", err)
		}
		if code, _, body := call(withGroups.AccessToken); code != 401 {
			t.Fatalf("revoked, no cache: %d %s", code, body)
		}
		time.Sleep(800 * time.Millisecond)
		if _, err := cachedV.Verify(ctx, withGroups.AccessToken); err == nil {
			t.Fatal("a revoked token was still accepted after the cache TTL")
		}

		// An API client without sesame:introspect learns nothing of others' tokens.
		plainID, plainSecret := env.CreateClient(clients.Spec{Name: "Plain API", GrantTypes: []string{"client_credentials"}})
		plain, err := middleware.New(ctx, middleware.Config{Issuer: env.Issuer, ClientID: plainID, ClientSecret: plainSecret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plain.Verify(ctx, noGroups.AccessToken); err == nil {
			t.Fatal("a client without sesame:introspect verified another client's token")
		}
	})
}

func revoke(t *testing.T, env *servertest.Env, id, secret, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %s", resp.Status)
	}
}
