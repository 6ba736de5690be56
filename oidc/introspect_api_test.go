package oidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// IntrospectAccessToken answers like the introspection endpoint (RFC 7662
// §2.2): a live access token gives its subject, client and scopes;
// anything else is inactive.
func TestIntrospectAccessToken(t *testing.T) {
	env := servertest.New(t)
	id, secret := env.CreateClient(clients.Spec{Name: "m2m", GrantTypes: []string{clients.GrantClientCredentials}, Scopes: []string{clients.ScopeAdmin}})
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {clients.ScopeAdmin}}
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+oidc.PathToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	p := env.Server.Provider()
	sub, cid, scopes, err := p.IntrospectAccessToken(context.Background(), tok.AccessToken)
	if err != nil || sub != id || cid != id || !slices.Contains(scopes, clients.ScopeAdmin) {
		t.Fatalf("IntrospectAccessToken = %q %q %v %v", sub, cid, scopes, err)
	}
	for _, bad := range []string{"", "garbage", tok.AccessToken + "x", strings.Repeat("a", 5000)} {
		if _, _, _, err := p.IntrospectAccessToken(context.Background(), bad); !errors.Is(err, oidc.ErrInactiveToken) {
			t.Errorf("token %.20q: err %v, want ErrInactiveToken", bad, err)
		}
	}
}
