package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models/store"
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
