package console_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// uiAdmin starts Sesame with an admin signed in (a phishing-resistant
// login session made through the store, as a passkey sign-in would) and
// returns the env and the admin's browser.
func uiAdmin(t *testing.T, opts ...servertest.Option) (*servertest.Env, *http.Client, *models.User) {
	t.Helper()
	env := servertest.New(t, opts...)
	admin := env.CreateUser("admin@example.test")
	must(t, env.Store.SetUserRole(context.Background(), admin.ID, models.RoleAdmin))
	browser := env.Browser()
	env.Login(browser, admin.ID, []string{"pop", "user", "mfa"}, models.ACRPhishingResistant, time.Now())
	return env, browser, admin
}

func getPage(t *testing.T, b *http.Client, u string, status int) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	res, err := b.Do(req)
	must(t, err)
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d\n%s", u, res.StatusCode, status, body)
	}
	return string(body)
}

// csrfOf reads the page's CSRF token (the layout's meta tag).
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	const marker = `<meta name="csrf-token" content="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatal("page has no CSRF token")
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

func postForm(t *testing.T, b *http.Client, env *servertest.Env, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", env.Issuer)
	req.Header.Set("Accept", "text/html")
	res, err := b.Do(req)
	must(t, err)
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// TestConsolePagesRender visits every console page as an admin, and walks
// the client form: errors next to their fields, the secret shown once.
func TestConsolePagesRender(t *testing.T) {
	env, browser, admin := uiAdmin(t)
	ctx := context.Background()
	id, _ := env.CreateClient(clients.Spec{Name: "Acme Notes", RedirectURIs: []string{"https://notes.example/cb"}})
	must(t, env.Store.RecordAuthEvent(ctx, &models.AuthEvent{ID: "ev1", At: time.Now(), UserID: admin.ID, ClientID: id,
		Method: models.MethodPasskey, Event: "login", Result: "success"}))

	for _, p := range []struct{ path, want string }{
		{"/console", "Sign-ins today"},
		{"/console?range=7d", "Last 7 days"},
		{"/console/clients", "Acme Notes"},
		{"/console/clients?q=nothing-like-this", "No client matches"},
		{"/console/clients/new", "Register a client"},
		{"/console/clients/" + id, "Delete this client"},
		{"/console/users", "admin@example.test"},
		{"/console/users/" + admin.ID, "Sign-in history"},
		{"/console/users/new", "Add a user"},
		{"/console/admins/invite", "Create setup link"},
		{"/console/users?unverified=true", "Users"},
		{"/console/policies", "Save policies"},
		{"/console/keys", "Rotate now"},
		{"/console/audit", "Audit log"},
	} {
		body := getPage(t, browser, env.Issuer+p.path, http.StatusOK)
		if !strings.Contains(body, p.want) {
			t.Errorf("%s does not say %q", p.path, p.want)
		}
	}
	if body := getPage(t, browser, env.Issuer+"/console", 200); !strings.Contains(body, "admin@example.test") || !strings.Contains(body, "<svg") {
		t.Error("dashboard lacks the live feed entry or the charts")
	}
	getPage(t, browser, env.Issuer+"/console/clients/no-such-client", http.StatusNotFound)

	// Anonymous: sent to the hosted sign-in, with the way back.
	anon := env.Browser()
	anon.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodGet, env.Issuer+"/console/clients", nil)
	req.Header.Set("Accept", "text/html")
	res, err := anon.Do(req)
	must(t, err)
	_ = res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/login?return=%2Fconsole%2Fclients" {
		t.Errorf("anonymous GET /console/clients: %d %s, want a redirect to the sign-in", res.StatusCode, loc)
	}

	// Register a client: a bad redirect URI is refused next to its field.
	csrf := csrfOf(t, getPage(t, browser, env.Issuer+"/console/clients/new", 200))
	form := url.Values{"csrf_token": {csrf}, "client_name": {"Billing"}, "redirect_uris": {"https://billing.example/cb#frag"},
		"client_type": {"confidential"}, "token_endpoint_auth_method": {"client_secret_basic"},
		"grant_types": {"authorization_code", "refresh_token"}, "scopes": {"openid", "email"}, "allowed_login_methods": {"passkey"}}
	res, body := postForm(t, browser, env, "/console/clients", form)
	if res.StatusCode != 422 || !strings.Contains(body, `id="redirect_uris-error"`) || !strings.Contains(body, "fragment") {
		t.Fatalf("bad redirect URI: %d, want 422 with the message by the field\n%s", res.StatusCode, body)
	}
	form.Set("redirect_uris", "https://billing.example/cb")
	res, body = postForm(t, browser, env, "/console/clients", form)
	if res.StatusCode != 200 || !strings.Contains(body, `id="client-secret"`) || !strings.Contains(body, "only time it is shown") {
		t.Fatalf("create client: %d, want the secret page\n%s", res.StatusCode, body)
	}
	// The secret appears on that page only.
	secretAt := strings.Index(body, `id="client-secret" value="`) + len(`id="client-secret" value="`)
	secret := body[secretAt : secretAt+strings.IndexByte(body[secretAt:], '"')]
	list := getPage(t, browser, env.Issuer+"/console/clients", 200)
	if !strings.Contains(list, "Billing") || strings.Contains(list, secret) {
		t.Error("the client list does not show Billing, or shows its secret")
	}

	// Without the CSRF token a form post is refused.
	form.Del("csrf_token")
	if res, _ := postForm(t, browser, env, "/console/clients", form); res.StatusCode != http.StatusForbidden {
		t.Errorf("form post without CSRF token: %d, want 403", res.StatusCode)
	}
}

// TestConsoleClientSettingsForm: the form's client settings (logo, token
// lifetimes, required assurance, user verification) are saved, bad ones
// are refused next to their fields, and the disable button disables and
// enables the client.
func TestConsoleClientSettingsForm(t *testing.T) {
	env, browser, _ := uiAdmin(t)
	ctx := context.Background()
	id, _ := env.CreateClient(clients.Spec{Name: "Acme Notes", RedirectURIs: []string{"https://notes.example/cb"}})
	csrf := csrfOf(t, getPage(t, browser, env.Issuer+"/console/clients/"+id, 200))
	form := url.Values{"csrf_token": {csrf}, "client_name": {"Acme Notes"}, "redirect_uris": {"https://notes.example/cb"},
		"client_type": {"confidential"}, "token_endpoint_auth_method": {"client_secret_basic"},
		"grant_types": {"authorization_code", "refresh_token"}, "scopes": {"openid", "offline_access"}, "allowed_login_methods": {"passkey"},
		"logo_uri": {"javascript:alert(1)"}, "access_token_ttl": {"5"}, "refresh_token_ttl": {"soon"}, "id_token_ttl": {""},
		"min_acr": {models.ACRPhishingResistant}, "user_verification": {"required"}}
	res, body := postForm(t, browser, env, "/console/clients/"+id, form)
	if res.StatusCode != 422 {
		t.Fatalf("bad settings: %d, want 422", res.StatusCode)
	}
	for _, want := range []string{"https URL or a data:image/svg+xml", "between 60 and 86400 seconds", "between 3600 and"} {
		if !strings.Contains(body, want) {
			t.Errorf("the form does not say %q", want)
		}
	}
	form.Set("logo_uri", "https://notes.example/logo.svg")
	form.Set("access_token_ttl", "600")
	form.Set("refresh_token_ttl", "")
	res, body = postForm(t, browser, env, "/console/clients/"+id, form)
	if res.StatusCode != 200 || !strings.Contains(body, "Client saved") {
		t.Fatalf("save settings: %d\n%s", res.StatusCode, body)
	}
	c, err := env.Store.GetClient(ctx, id)
	must(t, err)
	if c.LogoURI != "https://notes.example/logo.svg" || c.AccessTokenTTL != 600 || c.RefreshTokenTTL != 0 ||
		c.MinACR != models.ACRPhishingResistant || c.UserVerification != "required" || c.Disabled {
		t.Fatalf("stored %+v", c)
	}
	// Lifetimes read and show as durations, like the policies page.
	if page := getPage(t, browser, env.Issuer+"/console/clients/"+id, 200); !strings.Contains(page, `name="access_token_ttl" class="short" autocapitalize="none" spellcheck="false" value="10m"`) {
		t.Error("the access token lifetime is not shown as 10m")
	}
	form.Set("access_token_ttl", "15m")
	form.Set("id_token_ttl", "1h30m")
	if res, _ = postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 {
		t.Fatalf("save durations: %d", res.StatusCode)
	}
	if c, _ = env.Store.GetClient(ctx, id); c.AccessTokenTTL != 900 || c.IDTokenTTL != 5400 {
		t.Fatalf("durations stored as %d and %d seconds", c.AccessTokenTTL, c.IDTokenTTL)
	}

	res, body = postForm(t, browser, env, "/console/clients/"+id+"/disabled", url.Values{"csrf_token": {csrf}, "disabled": {"true"}})
	if res.StatusCode != 200 || !strings.Contains(body, "Enable client") {
		t.Fatalf("disable: %d\n%s", res.StatusCode, body)
	}
	if c, _ = env.Store.GetClient(ctx, id); !c.Disabled {
		t.Fatal("client not disabled")
	}
	// Saving the settings of a disabled client keeps it disabled.
	form.Set("disabled", "on")
	if res, _ = postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 {
		t.Fatalf("save a disabled client: %d", res.StatusCode)
	}
	if c, _ = env.Store.GetClient(ctx, id); !c.Disabled {
		t.Fatal("saving the form enabled the client")
	}
	postForm(t, browser, env, "/console/clients/"+id+"/disabled", url.Values{"csrf_token": {csrf}, "disabled": {"false"}})
	if c, _ = env.Store.GetClient(ctx, id); c.Disabled {
		t.Fatal("client not enabled again")
	}

	// Token settings: JWT access tokens and required DPoP; a bogus
	// format is refused by its field and nothing changes.
	form.Del("disabled")
	form.Set("access_token_format", "paseto")
	form.Set("dpop_bound_access_tokens", "on")
	if res, body := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 422 || !strings.Contains(body, "paseto") {
		t.Fatalf("bogus access token format: %d", res.StatusCode)
	}
	if c, _ = env.Store.GetClient(ctx, id); c.AccessTokenFormat == "paseto" || c.DPoPBoundAccessTokens {
		t.Fatalf("a refused form was written: %+v", c)
	}
	form.Set("access_token_format", "jwt")
	if res, _ := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 {
		t.Fatalf("save token settings: %d", res.StatusCode)
	}
	if c, _ = env.Store.GetClient(ctx, id); c.AccessTokenFormat != "jwt" || !c.DPoPBoundAccessTokens {
		t.Fatalf("token settings not stored: %q %v", c.AccessTokenFormat, c.DPoPBoundAccessTokens)
	}
	body = getPage(t, browser, env.Issuer+"/console/clients/"+id, 200)
	if !strings.Contains(body, `value="jwt" selected`) || !strings.Contains(body, `name="dpop_bound_access_tokens" checked`) {
		t.Fatal("the client's page does not show its token settings")
	}

	// Protocol settings: the device grant (RFC 8628) and pushed
	// authorization requests required of this client (RFC 9126).
	form["grant_types"] = []string{"authorization_code", "refresh_token", clients.GrantDeviceCode}
	form.Set("require_pushed_authorization_requests", "on")
	if res, _ := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 {
		t.Fatalf("save protocol settings: %d", res.StatusCode)
	}
	if c, _ = env.Store.GetClient(ctx, id); !c.RequirePushedAuthorizationRequests || !slices.Contains([]string(c.GrantTypes), clients.GrantDeviceCode) {
		t.Fatalf("device grant and required PAR not stored: %v %v", c.GrantTypes, c.RequirePushedAuthorizationRequests)
	}
	body = getPage(t, browser, env.Issuer+"/console/clients/"+id, 200)
	if !strings.Contains(body, `name="require_pushed_authorization_requests" checked`) || !regexp.MustCompile(`value="`+regexp.QuoteMeta(clients.GrantDeviceCode)+`"[^>]*checked`).MatchString(body) {
		t.Fatal("the client's page does not show the device grant and required PAR")
	}
	form.Del("require_pushed_authorization_requests")
	form["grant_types"] = []string{"authorization_code", "refresh_token"}
	if res, _ := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 {
		t.Fatalf("clear protocol settings: %d", res.StatusCode)
	}
	if c, _ = env.Store.GetClient(ctx, id); c.RequirePushedAuthorizationRequests || slices.Contains([]string(c.GrantTypes), clients.GrantDeviceCode) {
		t.Fatalf("device grant and required PAR not cleared: %v %v", c.GrantTypes, c.RequirePushedAuthorizationRequests)
	}
}
