package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// TestConsoleResourcesPages: an admin registers a resource (RFC 8707) in
// the console; a malformed audience or a taken one is refused next to the
// field and nothing is written; the form offers the custom scopes and
// both token formats; edits keep the name.
func TestConsoleResourcesPages(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := env.Store.CreateCustomScope(ctx, &models.CustomScope{Name: "orders:read", Claims: models.ScopeClaims{}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	body := getPage(t, browser, env.Issuer+"/console/resources", http.StatusOK)
	if !strings.Contains(body, "No resources yet") || !strings.Contains(body, `href="/console/resources" aria-current="page"`) ||
		!strings.Contains(body, `name="scopes" value="orders:read"`) || !strings.Contains(body, `value="jwt" checked`) {
		t.Fatalf("empty resources page:\n%s", body)
	}
	csrf := csrfOf(t, body)

	form := url.Values{"csrf_token": {csrf}, "name": {"orders"}, "description": {"Orders API"}, "audience": {"https://api.example.com/orders#v1"},
		"scopes": {"orders:read"}, "access_token_format": {"jwt"}}
	res, body := postForm(t, browser, env, "/console/resources", form)
	if res.StatusCode != 422 || !strings.Contains(body, `id="resource_audience-error"`) || !strings.Contains(body, "fragment") {
		t.Fatalf("audience with a fragment: %d, want 422 with the message by the audience\n%s", res.StatusCode, body)
	}
	if _, err := env.Store.GetResource(ctx, "orders"); err == nil {
		t.Fatal("a refused resource was written")
	}
	form.Set("audience", "https://api.example.com/orders")
	res, body = postForm(t, browser, env, "/console/resources", form)
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/console/resources/orders" || !strings.Contains(body, "Resource saved.") {
		t.Fatalf("register resource: %d at %s", res.StatusCode, res.Request.URL)
	}
	r, err := env.Store.GetResource(ctx, "orders")
	if err != nil || r.Audience != "https://api.example.com/orders" || !slices.Equal(r.Scopes, []string{"orders:read"}) || r.AccessTokenFormat != "jwt" {
		t.Fatalf("stored resource %+v (%v)", r, err)
	}
	if !strings.Contains(body, `value="orders:read" checked`) || !strings.Contains(body, "resource=https://api.example.com/orders") {
		t.Fatalf("resource page:\n%s", body)
	}

	// Another resource with the same audience: 409 by the audience.
	form.Set("name", "orders2")
	res, body = postForm(t, browser, env, "/console/resources", form)
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, `id="resource_audience-error"`) {
		t.Fatalf("taken audience: %d\n%s", res.StatusCode, body)
	}

	// Edit: opaque, no scope limit.
	form = url.Values{"csrf_token": {csrf}, "description": {"Orders"}, "audience": {"https://api.example.com/orders"}, "access_token_format": {"opaque"}}
	if res, body := postForm(t, browser, env, "/console/resources/orders", form); res.StatusCode != http.StatusOK || !strings.Contains(body, "Resource saved.") {
		t.Fatalf("edit: %d at %s", res.StatusCode, res.Request.URL)
	}
	if r, _ := env.Store.GetResource(ctx, "orders"); r == nil || r.AccessTokenFormat != "opaque" || len(r.Scopes) != 0 || r.Description != "Orders" {
		t.Fatalf("edited resource %+v", r)
	}
	form.Set("audience", "api.example.com")
	if res, _ := postForm(t, browser, env, "/console/resources/orders", form); res.StatusCode != 422 {
		t.Fatalf("edit with a relative audience: %d", res.StatusCode)
	}
	if r, _ := env.Store.GetResource(ctx, "orders"); r == nil || r.Audience != "https://api.example.com/orders" {
		t.Fatalf("a refused edit was written: %+v", r)
	}
	if body := getPage(t, browser, env.Issuer+"/console/resources", 200); !strings.Contains(body, `href="/console/resources/orders"`) || !strings.Contains(body, "Opaque") {
		t.Fatal("the list does not show the resource")
	}
	getPage(t, browser, env.Issuer+"/console/resources/nope", http.StatusNotFound)
}
