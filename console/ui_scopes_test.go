package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
)

// TestConsoleScopesPages: an admin defines a custom scope in the console,
// a definition that shadows a registered claim is refused next to the
// claims field and nothing is written, the scope is offered in the client
// form, and its page names the clients that may ask for it.
func TestConsoleScopesPages(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	ctx := context.Background()
	body := getPage(t, browser, env.Issuer+"/console/scopes", http.StatusOK)
	if !strings.Contains(body, "No custom scopes yet") || !strings.Contains(body, `href="/console/scopes" aria-current="page"`) {
		t.Fatalf("empty scopes page:\n%s", body)
	}
	csrf := csrfOf(t, body)

	form := url.Values{"csrf_token": {csrf}, "name": {"hr"}, "description": {"Your HR record"}, "claims": {"email = attribute:mail\nteams = groups"}}
	res, body := postForm(t, browser, env, "/console/scopes", form)
	if res.StatusCode != 422 || !strings.Contains(body, `id="scope_claims-error"`) || !strings.Contains(body, "registered or standard claim") {
		t.Fatalf("shadowing claim: %d, want 422 with the message by the claims\n%s", res.StatusCode, body)
	}
	if _, err := env.Store.GetCustomScope(ctx, "hr"); err == nil {
		t.Fatal("a refused scope was written")
	}
	form.Set("claims", "roles = attribute:roles\nteams = groups")
	res, body = postForm(t, browser, env, "/console/scopes", form)
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/console/scopes/hr" || !strings.Contains(body, "Scope saved.") {
		t.Fatalf("define scope: %d at %s", res.StatusCode, res.Request.URL)
	}
	sc, err := env.Store.GetCustomScope(ctx, "hr")
	if err != nil || len(sc.Claims) != 2 || sc.Claims[0].Attribute != "roles" || sc.Description != "Your HR record" {
		t.Fatalf("stored scope %+v (%v)", sc, err)
	}

	// The client form offers it; ticking it lets the client ask.
	if body := getPage(t, browser, env.Issuer+"/console/clients/new", 200); !strings.Contains(body, `name="scopes" value="hr"`) || !strings.Contains(body, `name="scopes" value="groups"`) {
		t.Fatal("the client form does not offer the custom scope and groups")
	}
	id, _ := env.CreateClient(clients.Spec{Name: "Payroll", RedirectURIs: []string{"https://payroll.example/cb"}, Scopes: []string{"openid", "hr"}})
	body = getPage(t, browser, env.Issuer+"/console/scopes/hr", 200)
	if !strings.Contains(body, "/console/clients/"+id) || !strings.Contains(body, "Remove it from every client") {
		t.Fatalf("scope page does not name its client:\n%s", body)
	}
	if body := getPage(t, browser, env.Issuer+"/console/clients/"+id, 200); !strings.Contains(body, `value="hr" checked`) {
		t.Fatal("the client's page does not show the custom scope ticked")
	}

	// Edit: a claim another rule refuses stays unsaved.
	form = url.Values{"csrf_token": {csrf}, "description": {"HR"}, "claims": {"sub = attribute:x"}}
	res, body = postForm(t, browser, env, "/console/scopes/hr", form)
	if res.StatusCode != 422 || !strings.Contains(body, "registered or standard claim") {
		t.Fatalf("edit with a shadowing claim: %d\n%s", res.StatusCode, body)
	}
	form.Set("claims", "roles = attribute:job_roles")
	if res, body := postForm(t, browser, env, "/console/scopes/hr", form); res.StatusCode != http.StatusOK || !strings.Contains(body, "Scope saved.") {
		t.Fatalf("edit: %d at %s", res.StatusCode, res.Request.URL)
	}
	if sc, _ := env.Store.GetCustomScope(ctx, "hr"); sc == nil || sc.Description != "HR" || len(sc.Claims) != 1 || sc.Claims[0].Attribute != "job_roles" {
		t.Fatalf("edited scope %+v", sc)
	}
	if body := getPage(t, browser, env.Issuer+"/console/scopes", 200); !strings.Contains(body, `href="/console/scopes/hr"`) || !strings.Contains(body, "roles") {
		t.Fatal("the list does not show the scope")
	}
	getPage(t, browser, env.Issuer+"/console/scopes/nope", http.StatusNotFound)
}
