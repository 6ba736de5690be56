package templates

import (
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

)

// German pages: each converted hosted page rendered in German shows no
// English. The views carry neutral data (names, addresses, codes), so
// any English left is the page's own.

var (
	scriptRe = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`)
	// Attributes people see or hear.
	attrTextRe = regexp.MustCompile(`\s(?:aria-label|alt|title|placeholder)="([^"]*)"`)
	tagRe      = regexp.MustCompile(`(?s)<[^>]*>`)
	wordRe     = regexp.MustCompile(`[A-Za-zÄÖÜäöüß'’-]+`)
	// englishWords are common English words that are not German words.
	englishWords = map[string]bool{
		"the": true, "your": true, "you": true, "with": true, "sign": true, "and": true, "this": true, "that": true,
		"for": true, "account": true, "please": true, "here": true, "create": true, "enter": true, "continue": true,
		"check": true, "inbox": true, "send": true, "new": true, "other": true, "device": true, "secured": true,
		"by": true, "email": true, "try": true, "again": true, "not": true, "now": true, "add": true, "use": true,
		"it": true, "we": true, "our": true, "no": true, "can't": true, "don't": true, "or": true, "approve": true,
		"expired": true, "works": true, "minutes": true, "reference": true, "language": true,
	}
)

// visibleText is the text a person sees or hears on a page.
func visibleText(page string) string {
	page = scriptRe.ReplaceAllString(page, " ")
	var attrs []string
	for _, m := range attrTextRe.FindAllStringSubmatch(page, -1) {
		attrs = append(attrs, m[1])
	}
	text := tagRe.ReplaceAllString(page, " ") + " " + strings.Join(attrs, " ")
	return html.UnescapeString(text)
}

// englishIn returns the English words of text.
func englishIn(text string) []string {
	var found []string
	for _, w := range wordRe.FindAllString(text, -1) {
		if englishWords[strings.ToLower(w)] {
			found = append(found, w)
		}
	}
	return found
}

func localizedPages(lang string) []struct {
	name   string
	render func(*Renderer, http.ResponseWriter) error
} {
	p := Page{Lang: lang, Path: "/login?interaction=i1", Title: "Titel", AppName: "Acme", AppLogo: "https://acme.example/logo.png"}
	type page = struct {
		name   string
		render func(*Renderer, http.ResponseWriter) error
	}
	return []page{
		{"login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", LoginHint: "a@example.test", CSRF: "t", Passkey: true, Passlink: true, Password: true, SignupOpen: true, RPID: "localhost"})
		}},
		{"login_stepup", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", CSRF: "t", Passkey: true, StepUp: true, StepUpEmail: "a@example.test", Qualifying: 1, Level: "Stufe"})
		}},
		{"login_enrol", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", CSRF: "t", Passkey: true, StepUp: true, StepUpEmail: "a@example.test", Level: "Stufe"})
		}},
		{"login_passlink_only", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", Passlink: true})
		}},
		{"login_none", func(r *Renderer, w http.ResponseWriter) error { return r.Login(w, 403, p, LoginView{StrongOnly: true, Level: "Stufe"}) }},
		{"login_none_weak", func(r *Renderer, w http.ResponseWriter) error { return r.Login(w, 403, p, LoginView{}) }},
		{"signup", func(r *Renderer, w http.ResponseWriter) error {
			return r.Signup(w, 200, p, LoginView{Interaction: "i1", CSRF: "t", Passkey: true, SignupOpen: true, RPID: "localhost"})
		}},
		{"signup_closed", func(r *Renderer, w http.ResponseWriter) error { return r.Signup(w, 200, p, LoginView{}) }},
		{"passlink_request", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkRequest(w, 200, p, PasslinkRequestView{Interaction: "i1", Email: "a@example.test", CSRF: "t", Error: "Fehler."})
		}},
		{"passlink_sent", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkSent(w, 200, p, PasslinkSentView{RequestID: "r1", Code: "123 456", CodeSpoken: "1 2 3 4 5 6", MaskedEmail: "a…@example.test", Expiry: "10 Minuten", ExpiresMS: 1, CSRF: "t", NewLink: "/passlink"})
		}},
		{"passlink_confirm", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t", SameBrowser: true, Signup: true, MaskedEmail: "a…@example.test"})
		}},
		{"passlink_confirm_admin", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t", SameBrowser: true, Admin: true, MaskedEmail: "a…@example.test"})
		}},
		{"passlink_confirm_other", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t", Signup: true, MaskedEmail: "a…@example.test", Device: "Firefox", Requested: "12:00", Error: "Fehler."})
		}},
		{"passlink_confirm_other_signin", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, Page{Lang: lang, Title: "Titel"}, PasslinkConfirmView{Token: "tok", CSRF: "t", MaskedEmail: "a…@example.test", Device: "Firefox", Requested: "12:00"})
		}},
		{"passlink_passkey", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkPasskey(w, 200, Page{Lang: lang, Title: "Titel"}, PasslinkPasskeyView{CSRF: "t", Next: "/account", Email: "a@example.test", RPID: "localhost", AddressProven: true})
		}},
		{"passlink_result", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkResult(w, 200, p, PasslinkResultView{OK: true, Message: "Erledigt.", Hint: "Hinweis.", ButtonLabel: "Weiter", ButtonHref: "/", SecondLabel: "Zurück", SecondHref: "/login"})
		}},
		{"error", func(r *Renderer, w http.ResponseWriter) error {
			return r.Error(w, 400, p, ErrorView{Message: "Kaputt.", Hint: "Später.", RequestID: "req1"})
		}},
	}
}

// TestGermanPagesHaveNoEnglish renders the converted hosted pages in
// German and looks for English in what people see.
func TestGermanPagesHaveNoEnglish(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range localizedPages("de") {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := tc.render(r, w); err != nil {
				t.Fatal(err)
			}
			body := w.Body.String()
			if !strings.Contains(body, `<html lang="de">`) {
				t.Errorf("no <html lang=\"de\">")
			}
			if !strings.Contains(body, "Geschützt durch Sesame") {
				t.Errorf("footer not in German")
			}
			if en := englishIn(visibleText(body)); len(en) > 0 {
				t.Errorf("English words on the German page: %v\n%s", en, visibleText(body))
			}
		})
	}
}

// TestEnglishPagesAreEnglish: the same pages in English trip the check,
// so it is not vacuous.
func TestEnglishPagesAreEnglish(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range localizedPages("en") {
		w := httptest.NewRecorder()
		if err := tc.render(r, w); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(w.Body.String(), `<html lang="en">`) || len(englishIn(visibleText(w.Body.String()))) == 0 {
			t.Errorf("%s: the English page is not seen as English", tc.name)
		}
	}
}
