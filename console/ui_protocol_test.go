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

// TestConsolePARSwitch: the client form's "Require pushed authorization
// requests" checkbox (RFC 9126 §6) is saved and shown.
func TestConsolePARSwitch(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	id, _ := env.CreateClient(clients.Spec{Name: "Bank", RedirectURIs: []string{"https://bank.example/cb"}})
	page := getPage(t, browser, env.Issuer+"/console/clients/"+id, 200)
	if !strings.Contains(page, `name="require_pushed_authorization_requests"`) {
		t.Fatal("the client form has no PAR switch")
	}
	form := url.Values{"csrf_token": {csrfOf(t, page)}, "client_name": {"Bank"}, "redirect_uris": {"https://bank.example/cb"},
		"client_type": {"confidential"}, "token_endpoint_auth_method": {"client_secret_basic"},
		"grant_types": {"authorization_code"}, "scopes": {"openid"}, "allowed_login_methods": {"passkey"},
		"require_pushed_authorization_requests": {"on"}}
	res, body := postForm(t, browser, env, "/console/clients/"+id, form)
	if res.StatusCode != 200 || !strings.Contains(body, "Client saved") {
		t.Fatalf("save: %d\n%s", res.StatusCode, body)
	}
	c, err := env.Store.GetClient(context.Background(), id)
	must(t, err)
	if !c.RequirePushedAuthorizationRequests {
		t.Fatal("the PAR switch was not saved")
	}
	if page := getPage(t, browser, env.Issuer+"/console/clients/"+id, 200); !strings.Contains(page, `name="require_pushed_authorization_requests" checked`) {
		t.Error("the saved PAR switch is not checked on the form")
	}
}
