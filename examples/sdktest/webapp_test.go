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

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/sdk/go/webapp"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestWebappSignInRefreshLogout: a server-rendered app on sdk/go/webapp
// signs a Sesame user in (code + PKCE, ID token and nonce checked, groups
// claim), keeps the session in its encrypted cookie, refreshes the access
// token (rotation: each refresh gives a new token that Sesame's userinfo
// accepts), refuses a cross-site logout, and logs out at Sesame (the next
// visit has to sign in again).
func TestWebappSignInRefreshLogout(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		ln, appURL := listenURL(t)
		id, secret := env.CreateClient(clients.Spec{Name: "Web app", RedirectURIs: []string{appURL + "/callback"}, PostLogoutRedirectURIs: []string{appURL + "/bye"},
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile", "email", "groups", "offline_access"}, SkipConsent: true})
		app, err := webapp.New(ctx, webapp.Config{Issuer: env.Issuer, ClientID: id, ClientSecret: secret,
			RedirectURL: appURL + "/callback", PostLogoutRedirectURL: appURL + "/bye",
			Scopes:       []string{"openid", "profile", "email", "groups", "offline_access"},
			CookieSecret: []byte("0123456789abcdef0123456789abcdef"),
			// Every AccessToken call refreshes (the tokens live an hour).
			RefreshBefore: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /login", app.Login)
		mux.HandleFunc("GET /callback", app.Callback)
		mux.HandleFunc("POST /logout", app.Logout)
		mux.HandleFunc("GET /bye", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "bye") })
		mux.Handle("GET /private", app.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, _ := webapp.FromContext(r.Context())
			at, err := app.AccessToken(w, r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"sub": s.Subject, "email": s.Email(), "staff": s.InGroup("staff"), "access_token": at})
		})))
		serveOn(t, ln, mux)

		u := userInGroups(t, env, "staff")
		b := browser(t)
		signIn(env, b, u)
		page := func() map[string]any {
			t.Helper()
			resp, err := b.Get(appURL + "/private?x=1")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || resp.Request.URL.String() != appURL+"/private?x=1" {
				t.Fatalf("GET /private ended at %s with %s: %s", resp.Request.URL, resp.Status, body)
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			return m
		}
		first := page()
		if first["sub"] != u.ID || first["email"] != u.Email || first["staff"] != true {
			t.Fatalf("signed in as %v, want %s (%s) in staff", first, u.ID, u.Email)
		}
		userinfo := func(at any) int {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/oauth2/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+at.(string))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := userinfo(first["access_token"]); code != 200 {
			t.Fatalf("userinfo with the app's access token: %d", code)
		}
		second := page()
		if second["access_token"] == first["access_token"] {
			t.Fatal("the access token was not refreshed")
		}
		// The refresh replaced the grant's access token.
		if a, b := userinfo(second["access_token"]), userinfo(first["access_token"]); a != 200 || b != 401 {
			t.Fatalf("userinfo after a refresh: new token %d (want 200), old %d (want 401)", a, b)
		}
		if third := page(); third["sub"] != u.ID {
			t.Fatalf("after two refreshes (rotated refresh tokens): %v", third)
		}

		// Logout: a cross-site POST is refused; the app's own goes through Sesame.
		req, _ := http.NewRequest(http.MethodPost, appURL+"/logout", nil)
		req.Header.Set("Origin", "http://evil.example")
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site logout: %s", resp.Status)
		}
		req, _ = http.NewRequest(http.MethodPost, appURL+"/logout", nil)
		req.Header.Set("Origin", appURL)
		resp, err = b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Request.URL.String(); got != appURL+"/bye" {
			t.Fatalf("logout ended at %s", got)
		}
		resp, err = b.Get(appURL + "/private")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Request.URL; !strings.HasPrefix(got.String(), env.Issuer+"/login") || got.Query().Get("interaction") == "" {
			t.Fatalf("after logout, /private led to %s (want Sesame's login page)", got)
		}
		// A forged callback (no login cookie for its state) is refused.
		resp, err = b.Get(appURL + "/callback?" + url.Values{"code": {"x"}, "state": {"0123456789abcdef"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged callback: %s", resp.Status)
		}
	})
}
