package authn_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// The language of the hosted pages and mails (internal/i18n, authn
// locale.go), over real HTTP: the switcher's pick, then the request's
// ui_locales (OIDC Core §3.1.2.1), then Accept-Language (RFC 9110
// §12.5.4), then the user's saved locale, then English.

var htmlLangRE = regexp.MustCompile(`<html lang="([^"]+)">`)

func pageLang(t *testing.T, body string) string {
	t.Helper()
	m := htmlLangRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no <html lang> in\n%s", body)
	}
	return m[1]
}

// TestLanguageNegotiationOrder: ui_locales first, Accept-Language when
// ui_locales names no language with a catalogue, English when nothing
// does.
func TestLanguageNegotiationOrder(t *testing.T) {
	env := newPLEnv(t)
	rp := newRelyingParty(t, env.Env, clients.Spec{Name: "Acme Notes", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	titles := map[string]string{"de": "Bei Acme Notes anmelden", "en": "Sign in to Acme Notes"}
	for _, tc := range []struct {
		name, uiLocales, acceptLanguage, want string
	}{
		{"ui_locales over Accept-Language", "de", "en-US,en;q=0.9", "de"},
		{"ui_locales English over a German browser", "en", "de-DE,de;q=0.9", "en"},
		{"first supported of ui_locales, regional variant", "fr-CA de-AT", "en", "de"},
		{"Accept-Language when ui_locales names none", "fr", "de-CH,de;q=0.9", "de"},
		{"Accept-Language alone", "", "de", "de"},
		{"Accept-Language weights", "", "fr;q=1, de;q=0.8, en;q=0.5", "de"},
		{"English when nothing matches", "ja", "fr-FR,fr;q=0.9", "en"},
		{"English without preferences", "", "", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := env.client(t)
			b.acceptLanguage = tc.acceptLanguage
			var opts []oauth2.AuthCodeOption
			if tc.uiLocales != "" {
				opts = append(opts, oauth2.SetAuthURLParam("ui_locales", tc.uiLocales))
			}
			_, ia := b.startAuthorization(rp, opts...)
			// Every page of the interaction keeps the language.
			for _, path := range []string{"/login?interaction=" + ia, "/signup?interaction=" + ia, "/passlink?interaction=" + ia} {
				resp, body := b.get(path)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d", path, resp.StatusCode)
				}
				if got := pageLang(t, body); got != tc.want {
					t.Errorf("GET %s: lang %q, want %q", path, got, tc.want)
				}
			}
			if _, body := b.get("/login?interaction=" + ia); !strings.Contains(body, "<h1>"+titles[tc.want]+"</h1>") {
				t.Errorf("login page title is not %q", titles[tc.want])
			}
		})
	}
}

// TestLanguageSwitcherAndSavedLocale: the switcher's pick (?lang=, kept
// in a cookie) beats everything; a signed-in user's saved locale decides
// when the browser states no language it has, and Accept-Language beats
// it.
func TestLanguageSwitcherAndSavedLocale(t *testing.T) {
	env := newPLEnv(t)

	t.Run("switcher", func(t *testing.T) {
		b := env.client(t)
		b.acceptLanguage = "en"
		if _, body := b.get("/login?lang=de"); pageLang(t, body) != "de" || !strings.Contains(body, `<a href="/login?lang=en" lang="en" hreflang="en">English</a>`) {
			t.Fatalf("?lang=de: not German, or no link back to English:\n%s", body)
		}
		if _, body := b.get("/passlink"); pageLang(t, body) != "de" {
			t.Errorf("after picking German: the next page is %q", pageLang(t, body))
		}
		if _, body := b.get("/login?lang=xx"); pageLang(t, body) != "de" {
			t.Errorf("?lang=xx (no catalogue) changed the pick")
		}
		if _, body := b.get("/login?lang=en"); pageLang(t, body) != "en" {
			t.Errorf("?lang=en: %q", pageLang(t, body))
		}
	})

	t.Run("saved locale", func(t *testing.T) {
		u := env.CreateUser("lena@example.test")
		if err := env.Store.SetUserLocale(context.Background(), u.ID, "de-AT"); err != nil {
			t.Fatal(err)
		}
		b := env.client(t)
		env.Login(b.c, u.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
		if _, body := b.get("/login"); pageLang(t, body) != "de" {
			t.Errorf("signed in, no Accept-Language: %q, want the saved de", pageLang(t, body))
		}
		// An authorization's login page reads the session with its
		// interaction (one statement): the saved locale still decides.
		rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		if _, in := b.startAuthorization(rp, oauth2.SetAuthURLParam("prompt", "login")); in == "" {
			t.Error("prompt=login did not show the login page")
		} else if _, body := b.get("/login?interaction=" + in); pageLang(t, body) != "de" {
			t.Errorf("signed in, an authorization's login page: %q, want the saved de", pageLang(t, body))
		}
		b.acceptLanguage = "en-GB"
		if _, body := b.get("/login"); pageLang(t, body) != "en" {
			t.Errorf("Accept-Language en-GB over the saved locale: %q", pageLang(t, body))
		}
	})
}

// TestSignInSavesLanguageAndMailsFollowIt: a link asked for on a German
// page comes in German; signing in with it saves German as the user's
// locale; a later link asked for on an English page still comes in the
// saved German (mails follow the user's locale).
func TestSignInSavesLanguageAndMailsFollowIt(t *testing.T) {
	env := newPLEnv(t)
	u := env.CreateUser("jonas@example.test")

	b := env.client(t)
	b.acceptLanguage = "de-DE,de;q=0.9"
	resp, page := b.requestLink("", u.Email)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Sehen Sie in Ihrem Posteingang nach") {
		t.Fatalf("German request: %d\n%s", resp.StatusCode, page)
	}
	m, link := env.mailTo(t, 1, u.Email)
	if !strings.HasPrefix(m.Subject, "Bei ") || !strings.Contains(m.Text, "Öffnen Sie diesen Link") || !strings.Contains(m.HTML, `<html lang="de">`) {
		t.Fatalf("mail from a German page is not German: %q\n%s", m.Subject, m.Text)
	}
	b.get(link)
	if resp, _ := b.post(link, map[string][]string{"action": {"signin"}}); resp.StatusCode >= 400 {
		t.Fatalf("sign in with the link: %d", resp.StatusCode)
	}
	got, err := env.Store.GetUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Locale != "de" {
		t.Fatalf("locale after a German sign-in = %q, want de", got.Locale)
	}

	en := env.client(t)
	en.acceptLanguage = "en-US"
	if _, page := en.requestLink("", u.Email); !strings.Contains(page, "Check your inbox") {
		t.Fatalf("English request page:\n%s", page)
	}
	m, _ = env.mailTo(t, 2, u.Email)
	if !strings.HasPrefix(m.Subject, "Bei ") || strings.Contains(m.Text, "Someone") {
		t.Errorf("mail to a user whose locale is de, asked from an English page: %q\n%s", m.Subject, m.Text)
	}
}
