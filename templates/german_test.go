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
	urlRe      = regexp.MustCompile(`(?:https?://|/)\S+|\S+@\S+`)
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

// englishIn returns the English words of text (addresses and links
// aside: their words are not the page's).
func englishIn(text string) []string {
	var found []string
	text = urlRe.ReplaceAllString(text, " ")
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
		{"login_none", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 403, p, LoginView{StrongOnly: true, Level: "Stufe"})
		}},
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
		{"consent", func(r *Renderer, w http.ResponseWriter) error {
			return r.Consent(w, 200, p, ConsentView{Interaction: "i1", CSRF: "t", UserEmail: "a@example.test", Scopes: []ScopeView{{"Sie anmelden", "Kennung."}},
				Resources: []ScopeView{{"Bestellungen", "https://api.example.com/orders"}}})
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

// testLinkMail and testAccountMail have the fields of passlink.MailData
// and passlink.AccountMailData (which import this package).
type testLinkMail struct {
	AppName, Product, Email, Link, Code, Expiry, Device, RequestedAt string
}

type testAccountMail struct {
	Product, Email, Link, Expiry string
	Other                        map[string]string
}

// TestGermanMailsHaveNoEnglish renders every mail in German: subject,
// text and HTML carry no English, and the HTML says lang="de".
func TestGermanMailsHaveNoEnglish(t *testing.T) {
	link := testLinkMail{AppName: "Acme", Product: "Sesame", Email: "a@example.test", Link: "https://id.example/passlink/x",
		Code: "123456", Expiry: "10 Minuten", Device: "Firefox", RequestedAt: "5.12.2026 um 21:00 UTC"}
	account := testAccountMail{Product: "Sesame", Email: "a@example.test", Link: "https://id.example/account/link/x", Expiry: "1 Tag",
		Other: map[string]string{"due": "5.1.2027", "old": "o@example.test", "new": "n@example.test"}}
	for _, name := range mails {
		var data any = link
		if !strings.HasPrefix(name, "passlink") && !strings.HasPrefix(name, "password") && name != "verify_email" {
			data = account
		}
		for _, lang := range []string{"de", "en"} {
			m, err := RenderMail(lang, name, data)
			if err != nil {
				t.Fatalf("%s (%s): %v", name, lang, err)
			}
			if m.Subject == "" || strings.Contains(m.Subject, "\n") {
				t.Errorf("%s (%s): subject %q", name, lang, m.Subject)
			}
			en := englishIn(m.Subject + " " + m.Text + " " + visibleText(m.HTML))
			switch {
			case lang == "de" && len(en) > 0:
				t.Errorf("%s: English in the German mail: %v\n%s\n%s", name, en, m.Subject, m.Text)
			case lang == "de" && !strings.Contains(m.HTML, `<html lang="de">`):
				t.Errorf("%s: German HTML without lang=de", name)
			case lang == "en" && len(en) == 0:
				t.Errorf("%s: the English mail is not seen as English", name)
			}
		}
	}
}
