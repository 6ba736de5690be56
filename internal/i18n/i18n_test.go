package i18n

import (
	"testing"
	"time"
)

func TestNegotiate(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    Prefs
		want string
	}{
		{"nothing", Prefs{}, "en"},
		{"choice over all", Prefs{Choice: "de", UILocales: "en", AcceptLanguage: "en", Saved: "en"}, "de"},
		{"ui_locales over Accept-Language", Prefs{UILocales: "de", AcceptLanguage: "en-US"}, "de"},
		{"ui_locales order", Prefs{UILocales: "ja de-CH en"}, "de"},
		{"ui_locales with underscores", Prefs{UILocales: "de_AT"}, "de"},
		{"unsupported ui_locales fall through", Prefs{UILocales: "fr ja", AcceptLanguage: "de"}, "de"},
		{"Accept-Language q-values", Prefs{AcceptLanguage: "en;q=0.1, de;q=0.9"}, "de"},
		{"Accept-Language with a bad entry", Prefs{AcceptLanguage: "de-DE,de;q=0.9;q=0.9,en;q=0.1"}, "de"},
		{"Accept-Language over saved", Prefs{AcceptLanguage: "en-GB", Saved: "de"}, "en"},
		{"saved when nothing else matches", Prefs{AcceptLanguage: "fr", Saved: "de-AT"}, "de"},
		{"garbage everywhere", Prefs{Choice: "<x>", UILocales: "!!", AcceptLanguage: ";;;", Saved: "zz-ZZ-ZZ"}, "en"},
	} {
		if got := c.Negotiate(tc.p); got != tc.want {
			t.Errorf("%s: Negotiate(%+v) = %q, want %q", tc.name, tc.p, got, tc.want)
		}
	}
	if got := c.Languages(); len(got) != 2 || got[0] != "en" || got[1] != "de" {
		t.Errorf("Languages() = %v, want [en de]", got)
	}
	if c.Name("de") != "Deutsch" || c.Name("en") != "English" {
		t.Errorf("names %q %q", c.Name("de"), c.Name("en"))
	}
}

func TestTPluralsPlaceholdersEscaping(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"en", "passlink.code_wrong", []any{"count", 1}, "That code doesn't match. 1 try left."},
		{"en", "passlink.code_wrong", []any{"count", 3}, "That code doesn't match. 3 tries left."},
		{"de", "passlink.code_wrong", []any{"count", 1}, "Dieser Code stimmt nicht. Noch 1 Versuch."},
		{"de", "passlink.code_wrong", []any{"count", 0}, "Dieser Code stimmt nicht. Noch 0 Versuche."},
		{"de", "login.title_app", []any{"app", "Acme"}, "Bei Acme anmelden"},
		// _html keys escape their values; plain ones leave that to the
		// template.
		{"en", "login.stepup_signed_in_html", []any{"email", "<b>@x"}, "You are signed in as <strong>&lt;b&gt;@x</strong>. Confirm with a passkey of yours that qualifies."},
		{"en", "login.title_app", []any{"app", "<b>"}, "Sign in to <b>"},
		// Unknown language: the default's; unknown key: the key.
		{"fr", "login.title", nil, "Sign in"},
		{"de", "no.such.key", nil, "no.such.key"},
	} {
		if got := c.T(tc.lang, tc.key, tc.args...); got != tc.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", tc.lang, tc.key, tc.args, got, tc.want)
		}
	}
	for _, tc := range []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", 10 * time.Minute, "10 minutes"}, {"de", 10 * time.Minute, "10 Minuten"},
		{"de", time.Minute, "1 Minute"}, {"de", 24 * time.Hour, "24 Stunden"}, {"de", 72 * time.Hour, "3 Tage"},
		{"en", time.Hour, "1 hour"}, {"de", 30 * time.Second, "30 Sekunden"},
	} {
		if got := c.Duration(tc.lang, tc.d); got != tc.want {
			t.Errorf("Duration(%s, %v) = %q, want %q", tc.lang, tc.d, got, tc.want)
		}
	}
}

// TestDevicesAndTimes: device descriptions, relative times and dates in
// each language.
func TestDevicesAndTimes(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 21, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, got, want string
	}{
		{"device en", c.Device("en", "Chrome", "macOS"), "Chrome on macOS"},
		{"device de", c.Device("de", "Chrome", "macOS"), "Chrome unter macOS"},
		{"unknown de", c.Device("de", "", ""), "Unbekannter Browser"},
		{"go de", c.Device("de", "go", "Linux"), "Go-Programm unter Linux"},
		{"ago now en", c.Ago("en", now.Add(-10*time.Second), now), "just now (21:29 UTC)"},
		{"ago 1 de", c.Ago("de", now.Add(-90*time.Second), now), "vor 1 Minute (21:28 UTC)"},
		{"ago 5 en", c.Ago("en", now.Add(-5*time.Minute), now), "5 minutes ago (21:25 UTC)"},
		{"ago hours de", c.Ago("de", now.Add(-3*time.Hour), now), "vor über einer Stunde (18:30 UTC)"},
		{"relative today de", c.Relative("de", now.Add(-3*time.Hour), now), "heute"},
		{"relative yesterday en", c.Relative("en", now.Add(-30*time.Hour), now), "yesterday"},
		{"relative date de", c.Relative("de", now.AddDate(0, 0, -5), now), "am 1.12.2026"},
		{"relative date en", c.Relative("en", now.AddDate(0, 0, -5), now), "on 1 Dec 2026"},
		{"date de", c.Date("de", now), "6.12.2026"},
		{"long date en", c.LongDate("en", now), "6 December 2026"},
		{"long date de", c.LongDate("de", now), "6. Dezember 2026"},
		{"long date de march", c.LongDate("de", now.AddDate(0, -9, 0)), "6. März 2026"},
		{"number en", c.Number("en", 1234567), "1,234,567"},
		{"number de", c.Number("de", 1234567), "1.234.567"},
		{"number de small", c.Number("de", -999), "-999"},
		{"percent en", c.Percent("en", 0.423), "42%"},
		{"percent de", c.Percent("de", 0.423), "42\u00a0%"},
		{"percent de tiny", c.Percent("de", 0.001), "<1\u00a0%"},
		{"date time de", c.DateTime("de", now), "6.12.2026, 21:30 UTC"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
