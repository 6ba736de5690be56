package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestTokenEndpointCORSForBrowserApps: a public client's page may read the
// token endpoint's answer from the origin of one of its redirect URIs
// (also for errors, so the app can show them); no other origin may, and a
// confidential client never gets CORS headers.
func TestTokenEndpointCORSForBrowserApps(t *testing.T) {
	env := servertest.New(t)
	spa, _ := env.CreateClient(clients.Spec{Name: "SPA", Public: true, TokenEndpointAuthMethod: "none", RedirectURIs: []string{"http://localhost:5173/cb"}})
	web, secret := env.CreateClient(clients.Spec{Name: "Web", RedirectURIs: []string{"https://app.example/cb"}})
	for _, tc := range []struct {
		name, origin, clientID, secret, want string
	}{
		{"public client, its origin", "http://localhost:5173", spa, "", "http://localhost:5173"},
		{"public client, another origin", "https://evil.example", spa, "", ""},
		{"confidential client, its origin", "https://app.example", web, secret, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "client_id": {tc.clientID},
				"redirect_uri": {"http://localhost:5173/cb"}, "code_verifier": {strings.Repeat("v", 43)}}
			if tc.secret != "" {
				form.Set("client_secret", tc.secret)
			}
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", tc.origin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q (status %d)", got, tc.want, resp.StatusCode)
			}
		})
	}
}
