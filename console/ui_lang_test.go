package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// getPageLang is getPage with an Accept-Language header.
func getPageLang(t *testing.T, b *http.Client, u, acceptLanguage string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	res, err := b.Do(req)
	must(t, err)
	defer func() { _ = res.Body.Close() }()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, res.StatusCode, sb.String())
	}
	return sb.String()
}

// TestConsoleLanguage: the console speaks the admin's saved locale, else
// the browser's Accept-Language; the switch saves the locale (audited)
// and returns to the page it was used on, never off the console.
func TestConsoleLanguage(t *testing.T) {
	env, browser, admin := uiAdmin(t)
	ctx := context.Background()
	german, english := `<html lang="de">`, `<html lang="en">`

	for _, tc := range []struct {
		name, saved, accept, want, says string
	}{
		{"default", "", "", english, "Sign-ins today"},
		{"accept-language", "", "de-DE,de;q=0.9,en;q=0.5", german, "Anmeldungen heute"},
		{"saved beats accept-language", "de", "en-US", german, "Anmeldungen heute"},
		{"saved en", "en-GB", "de", english, "Sign-ins today"},
		{"saved unknown: accept-language", "fr", "de", german, "Anmeldungen heute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must(t, env.Store.SetUserLocale(ctx, admin.ID, tc.saved))
			body := getPageLang(t, browser, env.Issuer+"/console", tc.accept)
			if !strings.Contains(body, tc.want) || !strings.Contains(body, tc.says) {
				t.Errorf("want %s saying %q", tc.want, tc.says)
			}
		})
	}

	// The switch: German, back on the page it was used on.
	must(t, env.Store.SetUserLocale(ctx, admin.ID, ""))
	page := getPageLang(t, browser, env.Issuer+"/console/users?q=admin", "en")
	if !strings.Contains(page, `action="/console/language"`) || !strings.Contains(page, `value="/console/users?q=admin"`) {
		t.Fatal("the console has no language switch returning to the page")
	}
	csrf := csrfOf(t, page)
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer func() { browser.CheckRedirect = nil }()
	for _, tc := range []struct {
		name, lang, back string
		status           int
		location         string
	}{
		{"german", "de", "/console/users?q=admin", http.StatusSeeOther, "/console/users?q=admin"},
		{"off-site return", "de", "https://evil.example/console", http.StatusSeeOther, "/console"},
		{"scheme-relative return", "de", "//evil.example/console", http.StatusSeeOther, "/console"},
		{"outside the console", "de", "/account", http.StatusSeeOther, "/console"},
		{"unknown language", "xx", "/console", http.StatusUnprocessableEntity, ""},
	} {
		t.Run("switch "+tc.name, func(t *testing.T) {
			res, _ := postForm(t, browser, env, "/console/language", url.Values{"csrf_token": {csrf}, "lang": {tc.lang}, "return": {tc.back}})
			if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
				t.Errorf("%d to %q, want %d to %q", res.StatusCode, res.Header.Get("Location"), tc.status, tc.location)
			}
		})
	}
	u, err := env.Store.GetUser(ctx, admin.ID)
	must(t, err)
	if u.Locale != "de" {
		t.Errorf("saved locale %q, want de", u.Locale)
	}
	if body := getPageLang(t, browser, env.Issuer+"/console/users", "en"); !strings.Contains(body, german) || !strings.Contains(body, "Benutzer hinzufügen") {
		t.Error("after the switch the console is not German")
	}
	entries, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{Action: "user.locale", TargetID: admin.ID}, 10)
	must(t, err)
	if len(entries) != 1 || entries[0].ActorID != admin.ID || !strings.Contains(entries[0].AfterJSON, `"de"`) {
		t.Errorf("audit of the switch: %+v, want one entry by the admin to de", entries)
	}
	// Without the CSRF token the switch is refused.
	if res, _ := postForm(t, browser, env, "/console/language", url.Values{"lang": {"en"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("switch without CSRF token: %d, want 403", res.StatusCode)
	}
}

// TestConsoleFieldErrorsGerman: a refused form in German says the
// validators' common messages in German, every one at its field (a URI
// and what is wrong with it), and the summary above the form.
func TestConsoleFieldErrorsGerman(t *testing.T) {
	env, browser, admin := uiAdmin(t)
	must(t, env.Store.SetUserLocale(context.Background(), admin.ID, "de"))
	csrf := csrfOf(t, getPage(t, browser, env.Issuer+"/console/clients/new", 200))
	form := url.Values{"csrf_token": {csrf}, "client_name": {""}, "redirect_uris": {"https://billing.example/cb#frag\nhttp://app.example/cb"},
		"client_type": {"confidential"}, "token_endpoint_auth_method": {"client_secret_basic"},
		"grant_types": {"authorization_code"}, "scopes": {"openid"}, "allowed_login_methods": {"passkey"}}
	res, body := postForm(t, browser, env, "/console/clients", form)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad client: %d, want 422", res.StatusCode)
	}
	for _, want := range []string{
		"Nichts wurde gespeichert. Prüfen Sie die unten markierten Felder.",
		`id="client_name-error">erforderlich<`,
		"&#34;https://billing.example/cb#frag&#34;: darf kein Fragment enthalten (RFC 6749 §3.1.2)",
		"&#34;http://app.example/cb&#34;: muss https verwenden",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	if strings.Contains(body, "must not contain a fragment") || strings.Contains(body, "Nothing was saved") {
		t.Error("the German form shows English field messages")
	}
}

// TestConsoleRefusalsGerman: what the console shows a German admin when
// something is refused is German, on both dialects: the rarer validator
// messages at their fields (a built-in scope name, a branding link, a
// group name taken), the refusals of its own calls and of the admin API
// as the page script shows them (problem detail: the step-up it asks for,
// a passkey answer that cannot be read, a step-up request without one), a refusal on a console page, and why a webhook
// endpoint was disabled automatically. An API client (bearer token) still
// reads the API's English.
func TestConsoleRefusalsGerman(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env, _, _ := uiAdmin(t, opts...)
		ctx := context.Background()
		c := browser(t, env)
		admin, _ := c.signIn(models.RoleAdmin, models.ACRPhishingResistant)
		must(t, env.Store.SetUserLocale(ctx, admin.ID, "de"))
		other := env.CreateUser("bob@example.test")

		// The admin API's and the console's own refusals, as problem details.
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			detail             string
		}{
			{"step-up asked", http.MethodDelete, "/api/admin/v1/users/" + other.ID, nil, http.StatusForbidden,
				"Diese Aktion braucht eine frische Bestätigung mit Ihrem Passkey oder mit Passwort und Sicherheitsschlüssel."},
			{"step-up answer unreadable", http.MethodPost, "/console/stepup/verify",
				map[string]any{"ceremony": "no-such-ceremony", "credential": map[string]any{"id": "x", "type": "public-key"}}, http.StatusBadRequest,
				"Ihr Gerät hat eine Antwort gesendet, die nicht gelesen werden konnte."},
			{"step-up unreadable", http.MethodPost, "/console/stepup/verify", map[string]any{}, http.StatusUnprocessableEntity,
				"Die Anfrage war ungültig."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, b, _ := c.do(tc.method, tc.path, tc.body)
				var p struct{ Type, Title, Detail string }
				_ = json.Unmarshal(b, &p)
				if res.StatusCode < 400 || (tc.status != 0 && res.StatusCode != tc.status) {
					t.Fatalf("%d %s, want a refusal %d", res.StatusCode, b, tc.status)
				}
				if tc.detail != "" && !strings.Contains(p.Detail, tc.detail) {
					t.Errorf("detail %q, want German %q", p.Detail, tc.detail)
				}
				if ascii(p.Detail) && strings.Contains(p.Detail, " the ") {
					t.Errorf("detail %q is English", p.Detail)
				}
			})
		}
		// An API client reads English.
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		if res, b, _ := api.do(http.MethodGet, "/api/admin/v1/users/no-such-user", nil); res.StatusCode != http.StatusNotFound || strings.Contains(string(b), "gibt es") {
			t.Errorf("API client: %d %s, want the English 404", res.StatusCode, b)
		}

		// Field messages the validators rarely give, on the forms.
		page := getPage(t, c.http, env.Issuer+"/console/scopes", 200)
		csrf := csrfOf(t, page)
		for _, tc := range []struct {
			path string
			form url.Values
			want string
		}{
			{"/console/scopes", url.Values{"name": {"openid"}}, "&#34;openid&#34; ist ein eingebauter Scope"},
			{"/console/branding", url.Values{"support_url": {"ftp://help.example"}}, "muss eine absolute https-URL sein (oder mailto:)"},
			{"/console/branding", url.Values{"product_name": {strings.Repeat("x", 200)}}, "höchstens"},
		} {
			tc.form.Set("csrf_token", csrf)
			res, body := postForm(t, c.http, env, tc.path, tc.form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
				t.Errorf("POST %s: %d, want 422 saying %q", tc.path, res.StatusCode, tc.want)
			}
		}
		_, err := env.Server.Console().Groups.Create(ctx, console.GroupSpec{Name: "staff"})
		must(t, err)
		if res, body := postForm(t, c.http, env, "/console/groups", url.Values{"csrf_token": {csrf}, "name": {"staff"}}); res.StatusCode < 400 ||
			!strings.Contains(body, "Eine andere Gruppe hat diesen Namen") {
			t.Errorf("a group name taken: %d, want the refusal in German", res.StatusCode)
		}
		// A refusal on a console page.
		if res, body := postForm(t, c.http, env, "/console/language", url.Values{"csrf_token": {csrf}, "lang": {"xx"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "Unbekannte Sprache") || strings.Contains(body, "Unknown language") {
			t.Errorf("unknown language: %d, want the refusal page in German", res.StatusCode)
		}

		// An endpoint the automatic rule disabled.
		since := time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)
		ep := &models.WebhookEndpoint{ID: "wh_auto", URL: "https://crm.example.test/hook", EventTypes: models.WebhookUserCreated,
			DisabledReason: fmt.Sprintf(models.WebhookAutoDisabledFormat, since.Format(time.RFC3339), 72*time.Hour, "HTTP 503"), DisabledAt: &since}
		must(t, env.Store.CreateWebhookEndpoint(ctx, ep))
		body := getPage(t, c.http, env.Issuer+"/console/webhooks/wh_auto", 200)
		for _, want := range []string{"Automatisch deaktiviert: Seit ", "ist keine Zustellung gelungen (3 Tage oder länger). Letzter Fehler: HTTP 503"} {
			if !strings.Contains(body, want) {
				t.Errorf("webhook page lacks %q", want)
			}
		}
		if strings.Contains(body, "Disabled automatically") {
			t.Error("the webhook page says the automatic reason in English")
		}
	})
}

// ascii reports whether s has no letter outside ASCII (German words
// mostly have one; the check is a hint, the wanted words decide).
func ascii(s string) bool {
	for _, r := range s {
		if r > 127 {
			return false
		}
	}
	return true
}
