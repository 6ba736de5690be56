package templates

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The console in every language: each console page rendered in a
// language other than English shows no English of its own. Views carry
// neutral data (names, addresses, codes): what a handler says comes from
// the catalogue too, and console/ui_lang_test.go checks those words on
// the served pages.

// codeRe is code and identifiers (<code>openid</code>, a client ID):
// names, not the page's words.
var codeRe = regexp.MustCompile(`(?s)<code[^>]*>.*?</code>`)

// consolePages is every console page in lang, with views that take the
// templates' branches.
func consolePages(lang string) []localizedPage {
	shell := ConsoleShell{Lang: lang, Path: "/console/users?q=x", Nav: "users", Admin: "admin@example.test", CSRF: "csrf", Flash: "Gespeichert."}
	p := Page{Title: "Titel"}
	chart := Chart{Title: "Titel", SVG: template.HTML(`<svg></svg>`), Legend: []LegendItem{{Class: "s0", Name: "Passkey", Total: "3"}}, EmptyText: "—"}
	bars := []Bar{{Name: "x", Total: "1", Width: "w20"}}
	pager := Pager{Page: 2, Prev: "/console/x", Next: "/console/x?page=3"}
	return []localizedPage{
		{"error", "console_error", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleError(w, 404, p, shell, ConsoleErrorView{Message: "—"})
		}},
		{"dashboard", "console_dashboard", func(r *Renderer, w http.ResponseWriter) error {
			rl := RangeLink{Name: "24h", Label: "24", Current: true}
			return r.ConsoleDashboard(w, 200, p, shell, ConsoleDashboardView{Range: rl, Ranges: []RangeLink{rl, {Name: "7d", Label: "7"}},
				SignIns: "1", Failures: "2", Active: "3", ActiveMonth: "4", PasskeyShare: "50 %", PasskeyUsers: "60 %",
				ByMethod: chart, ByClient: Chart{Title: "Titel", Empty: true, EmptyText: "—"}, NewAccounts: chart, FailureBars: bars,
				SignInShare: "1 %", UserShare: "2 %", Fallbacks: "3", FallbackToKey: "1", FallbackShare: "33 %", Synced: "2", DeviceBound: "1", SyncedBar: "w13",
				Models: bars, Feed: []FeedRow{{Time: "05:06:07", User: "a@example.test", Method: "Passkey", Client: "Acme", Event: "—", OK: true}, {Event: "—", Reason: "—"}},
				Health: []HealthItem{{Finding: "stale", Title: "—", Credentials: "2", Users: "1", Link: "/console/credentials"}, {Title: "—", Users: "3", Zero: true}, {Title: "—", Unchecked: true}},
				Funnel: []FunnelBar{{Name: "—", Users: "4", First: true}, {Name: "—", Users: "2", OfSignedUp: "50 %", OfPrevious: "60 %"}}})
		}},
		{"dashboard_empty", "console_dashboard", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleDashboard(w, 200, p, shell, ConsoleDashboardView{})
		}},
		{"users", "console_users", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUsers(w, 200, p, shell, ConsoleUsersView{Query: "a", Filtered: true, Rows: []UserRow{{ID: "u1", Email: "a@example.test", Name: "Ann", Created: "4.3.2025", Disabled: true, Admin: true},
				{ID: "u2", Email: "b@example.test", Verified: true}}, Pager: pager, ExportCSV: "/x.csv", ExportJSONL: "/x.jsonl"})
		}},
		{"users_none", "console_users", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUsers(w, 200, p, shell, ConsoleUsersView{Query: "a", Filtered: true})
		}},
		{"users_empty", "console_users", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUsers(w, 200, p, shell, ConsoleUsersView{})
		}},
	}
}

// consolePending are the console pages not translated yet; the slice
// that translates one removes it here.
var consolePending = map[string]bool{
	"console_clients": true, "console_client_form": true, "console_client": true, "console_client_secret": true,
	"console_user": true, "console_user_new": true, "console_admin_invite": true, "console_policies": true, "console_keys": true,
	"console_audit": true, "console_groups": true, "console_group": true, "console_group_form": true, "console_scopes": true,
	"console_scope": true, "console_resources": true, "console_resource": true, "console_credentials": true, "console_stats": true,
	"console_branding": true, "console_signins": true,
}

// TestConsolePagesLocalized renders every console page in every language
// but the default and looks for English in what people see, as
// TestHostedPagesLocalized does for the hosted pages.
func TestConsolePagesLocalized(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, lang := range r.Catalog().Languages()[1:] {
		for _, tc := range consolePages(lang) {
			covered[tc.page] = true
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				w := httptest.NewRecorder()
				if err := tc.render(r, w); err != nil {
					t.Fatal(err)
				}
				body := w.Body.String()
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("no <html lang=%q>", lang)
				}
				// The shell: the navigation and the language switch.
				for _, k := range []string{"console.nav.users", "console.layout.sign_out", "console.layout.language"} {
					if !strings.Contains(body, template.HTMLEscapeString(r.T(lang, k))) {
						t.Errorf("the shell lacks %s in %s", k, lang)
					}
				}
				text := visibleText(codeRe.ReplaceAllString(body, " "))
				if left := englishLeftovers(r, lang, text); len(left) > 0 {
					t.Errorf("English sentences on the %s page: %v\n%s", lang, left, text)
				}
				if lang == "de" {
					if en := englishIn(text); len(en) > 0 {
						t.Errorf("English words on the German page: %v\n%s", en, text)
					}
				}
			})
		}
	}
	for _, f := range folders {
		if f.dir != "console" {
			continue
		}
		for _, name := range f.pages {
			if !covered[f.prefix+name] && !consolePending[f.prefix+name] {
				t.Errorf("console page %s is not in consolePages", name)
			}
		}
	}
}

// TestConsoleEnglishIsEnglish: the same pages in English trip the
// checks, so they are not vacuous.
func TestConsoleEnglishIsEnglish(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range consolePages("en") {
		w := httptest.NewRecorder()
		if err := tc.render(r, w); err != nil {
			t.Fatal(err)
		}
		text := visibleText(codeRe.ReplaceAllString(w.Body.String(), " "))
		if len(englishLeftovers(r, "de", text)) == 0 {
			t.Errorf("%s: the English page is not seen as English", tc.name)
		}
	}
}
