package console_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
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

// TestConsoleTokenExchange: the client form saves the token exchange grant
// with its targets (RFC 8693), shows them again, and refuses an
// unregistered target next to its field without saving anything.
func TestConsoleTokenExchange(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	ctx := context.Background()
	now := time.Now().UTC()
	must(t, env.Store.CreateResource(ctx, &models.Resource{Name: "orders", Audience: "https://api.example/orders", Scopes: models.StringList{},
		AccessTokenFormat: models.TokenFormatJWT, CreatedAt: now, UpdatedAt: now}))
	id, _ := env.CreateClient(clients.Spec{Name: "Gateway", GrantTypes: []string{"client_credentials"}})
	page := getPage(t, browser, env.Issuer+"/console/clients/"+id, 200)
	if !strings.Contains(page, `value="`+clients.GrantTokenExchange+`"`) || !strings.Contains(page, `name="token_exchange_resources"`) {
		t.Fatal("the client form offers no token exchange")
	}
	form := func(target string) url.Values {
		return url.Values{"csrf_token": {csrfOf(t, page)}, "client_name": {"Gateway"},
			"client_type": {"confidential"}, "token_endpoint_auth_method": {"client_secret_basic"},
			"grant_types": {clients.GrantTokenExchange}, "allowed_login_methods": {"passkey"},
			"token_exchange_resources": {target}, "token_exchange_subject_audiences": {"https://gateway.example\nhttps://gateway2.example"}}
	}
	res, body := postForm(t, browser, env, "/console/clients/"+id, form("https://api.example/nope"))
	if res.StatusCode != 422 || !strings.Contains(body, "not a registered resource") {
		t.Fatalf("unregistered target: %d\n%s", res.StatusCode, body)
	}
	c, err := env.Store.GetClient(ctx, id)
	must(t, err)
	if len(c.TokenExchangeResources) != 0 || slices.Contains(c.GrantTypes, clients.GrantTokenExchange) {
		t.Fatalf("a refused form was saved: %+v", c)
	}
	res, body = postForm(t, browser, env, "/console/clients/"+id, form("https://api.example/orders"))
	if res.StatusCode != 200 || !strings.Contains(body, "Client saved") {
		t.Fatalf("save: %d\n%s", res.StatusCode, body)
	}
	c, err = env.Store.GetClient(ctx, id)
	must(t, err)
	if !slices.Equal(c.TokenExchangeResources, []string{"https://api.example/orders"}) ||
		!slices.Equal(c.TokenExchangeSubjectAudiences, []string{"https://gateway.example", "https://gateway2.example"}) {
		t.Fatalf("saved: %v %v", c.TokenExchangeResources, c.TokenExchangeSubjectAudiences)
	}
	page = getPage(t, browser, env.Issuer+"/console/clients/"+id, 200)
	if !strings.Contains(page, `value="`+clients.GrantTokenExchange+`" checked`) || !strings.Contains(page, "https://gateway2.example</textarea>") {
		t.Error("the saved token exchange settings are not shown on the form")
	}
}
