package console_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
)

// TestConsoleDeviceGrantSwitch: the client form offers the device grant
// (RFC 8628) and saves it on a public client without redirect URIs.
func TestConsoleDeviceGrantSwitch(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	id, _ := env.CreateClient(clients.Spec{Name: "Acme CLI", RedirectURIs: []string{"https://cli.example/cb"}})
	page := getPage(t, browser, env.Issuer+"/console/clients/"+id, 200)
	if !strings.Contains(page, `value="`+clients.GrantDeviceCode+`"`) || !strings.Contains(page, "Device code") {
		t.Fatal("the client form offers no device grant")
	}
	form := url.Values{"csrf_token": {csrfOf(t, page)}, "client_name": {"Acme CLI"},
		"client_type": {"public"}, "grant_types": {clients.GrantDeviceCode, "refresh_token"},
		"scopes": {"openid", "offline_access"}, "allowed_login_methods": {"passkey"}}
	res, body := postForm(t, browser, env, "/console/clients/"+id, form)
	if res.StatusCode != 200 || !strings.Contains(body, "Client saved") {
		t.Fatalf("save: %d\n%s", res.StatusCode, body)
	}
	c, err := env.Store.GetClient(context.Background(), id)
	must(t, err)
	if !slices.Equal(c.GrantTypes, []string{clients.GrantDeviceCode, "refresh_token"}) || !c.Public || len(c.ResponseTypes) != 0 {
		t.Fatalf("saved client: grants %v public %t response types %v", c.GrantTypes, c.Public, c.ResponseTypes)
	}
	if page := getPage(t, browser, env.Issuer+"/console/clients/"+id, 200); !strings.Contains(page, `value="`+clients.GrantDeviceCode+`" checked`) {
		t.Error("the saved device grant is not checked on the form")
	}
}
