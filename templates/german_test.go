package templates

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/i18n"
)

// Localised pages and mails: each hosted page and mail rendered in a
// language other than English shows no English.

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

// localizedPage is one hosted page (file name page) rendered with a view
// that takes its branches.
type localizedPage struct {
	name, page string
	render     func(*Renderer, http.ResponseWriter) error
}

// localizedPages is every hosted page in lang. Views carry neutral data
// (names, addresses, codes, "Firefox"): any English left is the page's own.
func localizedPages(lang string) []localizedPage {
	p := Page{Lang: lang, Path: "/login?interaction=i1", Title: "Titel", AppName: "Acme", AppLogo: "https://acme.example/logo.png"}
	bare := Page{Lang: lang, Title: "Titel"}
	cred := CredentialView{ID: "c1", Name: "MacBook", Kind: "Passkey", Created: "1.3.2025", LastUsed: "—", Sync: "—", Flagged: true}
	return []localizedPage{
		{"login", "login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", LoginHint: "a@example.test", CSRF: "t", Passkey: true, Passlink: true, Password: true, SignupOpen: true, RPID: "localhost", Recovery: true})
		}},
		{"login_stepup", "login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", CSRF: "t", Passkey: true, StepUp: true, StepUpEmail: "a@example.test", Qualifying: 1, Level: "Stufe"})
		}},
		{"login_enrol", "login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", CSRF: "t", Passkey: true, StepUp: true, StepUpEmail: "a@example.test", Level: "Stufe"})
		}},
		{"login_passlink_only", "login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", Passlink: true})
		}},
		{"login_none", "login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 403, p, LoginView{StrongOnly: true, Level: "Stufe"})
		}},
		{"login_none_weak", "login", func(r *Renderer, w http.ResponseWriter) error { return r.Login(w, 403, p, LoginView{}) }},
		{"signup", "signup", func(r *Renderer, w http.ResponseWriter) error {
			return r.Signup(w, 200, p, LoginView{Interaction: "i1", CSRF: "t", Passkey: true, SignupOpen: true, RPID: "localhost"})
		}},
		{"signup_closed", "signup", func(r *Renderer, w http.ResponseWriter) error { return r.Signup(w, 200, p, LoginView{}) }},
		{"passlink_request", "passlink_request", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkRequest(w, 200, p, PasslinkRequestView{Interaction: "i1", Email: "a@example.test", CSRF: "t", Error: "Fehler."})
		}},
		{"passlink_sent", "passlink_sent", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkSent(w, 200, p, PasslinkSentView{RequestID: "r1", Code: "123 456", CodeSpoken: "1 2 3 4 5 6", MaskedEmail: "a…@example.test", Expiry: "10 Minuten", ExpiresMS: 1, CSRF: "t", NewLink: "/passlink"})
		}},
		{"passlink_confirm", "passlink_confirm", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t", SameBrowser: true, Signup: true, MaskedEmail: "a…@example.test"})
		}},
		{"passlink_confirm_admin", "passlink_confirm", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t", SameBrowser: true, Admin: true, MaskedEmail: "a…@example.test"})
		}},
		{"passlink_confirm_other", "passlink_confirm", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t", Signup: true, MaskedEmail: "a…@example.test", Device: "Firefox", Requested: "12:00", Error: "Fehler."})
		}},
		{"passlink_confirm_other_signin", "passlink_confirm", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, bare, PasslinkConfirmView{Token: "tok", CSRF: "t", MaskedEmail: "a…@example.test", Device: "Firefox", Requested: "12:00"})
		}},
		{"passlink_passkey", "passlink_passkey", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkPasskey(w, 200, bare, PasslinkPasskeyView{CSRF: "t", Next: "/account", Email: "a@example.test", RPID: "localhost", AddressProven: true})
		}},
		{"passlink_result", "passlink_result", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkResult(w, 200, p, PasslinkResultView{OK: true, Message: "Erledigt.", Hint: "Hinweis.", ButtonLabel: "Weiter", ButtonHref: "/", SecondLabel: "Zurück", SecondHref: "/login"})
		}},
		{"consent", "consent", func(r *Renderer, w http.ResponseWriter) error {
			return r.Consent(w, 200, p, ConsentView{Interaction: "i1", CSRF: "t", UserEmail: "a@example.test", Scopes: []ScopeView{{"Sie anmelden", "Kennung."}},
				Resources: []ScopeView{{"Bestellungen", "https://api.example.com/orders"}}})
		}},
		{"error", "error", func(r *Renderer, w http.ResponseWriter) error {
			return r.Error(w, 400, p, ErrorView{Message: "Kaputt.", Hint: "Später.", RequestID: "req1"})
		}},
		{"account", "account", func(r *Renderer, w http.ResponseWriter) error {
			return r.Account(w, 200, bare, AccountView{User: AccountUser{Email: "a@example.test", DisplayName: "Ann"}, UserHandle: "dTE", RPID: "localhost",
				Passkeys: []CredentialView{cred}, Keys: []CredentialView{cred}, Password: AccountPassword{On: true, HasPassword: true, Recent: true, RequireKey: true, MinLength: 12, Error: "Zu kurz."},
				Accepted: `["c1"]`, Apps: []AppView{{ClientID: "c1", Name: "Acme", Since: "1.3.2025"}},
				Sessions: []SessionView{{ID: "s1", Device: "Firefox", Since: "1.3.2025", Current: true}, {ID: "s2", Device: "Safari", Since: "2.3.2025"}},
				CSRF:     "t", Notice: "password_set", Fresh: true, CanChangeEmail: true, DeletionGrace: "7 Tage", Recovery: AccountRecovery{On: true, Has: true, Left: 2, Count: 10}})
		}},
		{"account_stale", "account", func(r *Renderer, w http.ResponseWriter) error {
			return r.Account(w, 200, bare, AccountView{User: AccountUser{Email: "a@example.test"}, Password: AccountPassword{On: true, RequireKey: true},
				CanChangeEmail: true, DeletionDue: "5.1.2027", Notice: "reauth", Recovery: AccountRecovery{On: true, Count: 10}})
		}},
		{"account_stale_password", "account", func(r *Renderer, w http.ResponseWriter) error {
			return r.Account(w, 200, bare, AccountView{User: AccountUser{Email: "a@example.test"}, Password: AccountPassword{On: true, HasPassword: true, RequireKey: true},
				CanChangeEmail: true, DeletionGrace: "7 Tage", Notice: "last_admin", Recovery: AccountRecovery{On: true, Has: true, Count: 10}})
		}},
		{"signed_out", "signed_out", func(r *Renderer, w http.ResponseWriter) error { return r.SignedOut(w, 200, bare) }},
		{"form_post", "form_post", func(r *Renderer, w http.ResponseWriter) error {
			return r.FormPost(w, 200, p, FormPostView{Action: "https://acme.example/cb", Values: url.Values{"code": {"c"}}})
		}},
		{"form_post_no_app", "form_post", func(r *Renderer, w http.ResponseWriter) error {
			return r.FormPost(w, 200, bare, FormPostView{Action: "https://acme.example/cb"})
		}},
		{"logout", "logout", func(r *Renderer, w http.ResponseWriter) error {
			return r.Logout(w, 200, p, LogoutView{Params: map[string]string{"client_id": "c1"}, CSRF: "t"})
		}},
		{"logout_no_app", "logout", func(r *Renderer, w http.ResponseWriter) error { return r.Logout(w, 200, bare, LogoutView{CSRF: "t"}) }},
		{"logged_out", "logged_out", func(r *Renderer, w http.ResponseWriter) error { return r.LoggedOut(w, 200, bare, LoggedOutView{}) }},
		{"logged_out_frames", "logged_out", func(r *Renderer, w http.ResponseWriter) error {
			return r.LoggedOut(w, 200, p, LoggedOutView{Frames: []LogoutFrame{{URL: "https://acme.example/fc", Name: "Acme"}}, Continue: "https://acme.example/"})
		}},
		{"logged_out_frames_stay", "logged_out", func(r *Renderer, w http.ResponseWriter) error {
			return r.LoggedOut(w, 200, bare, LoggedOutView{Frames: []LogoutFrame{{URL: "https://acme.example/fc", Name: "Acme"}}})
		}},
		{"password_login", "password_login", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasswordLogin(w, 200, p, PasswordLoginView{Interaction: "i1", Email: "a@example.test", CSRF: "t", RPID: "localhost", Notice: "key_ready", Other: true, Forgot: true, Passlink: true})
		}},
		{"password_login_reset", "password_login", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasswordLogin(w, 200, bare, PasswordLoginView{CSRF: "t", Notice: "reset"})
		}},
		{"password_forgot", "password_forgot", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasswordForgot(w, 400, p, PasswordForgotView{Interaction: "i1", Email: "a@example.test", CSRF: "t", Error: "Fehler."})
		}},
		{"password_reset", "password_reset", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasswordReset(w, 200, bare, PasswordResetView{Token: "tok", CSRF: "t", Email: "a@example.test", MinLength: 12, Error: "Zu kurz."})
		}},
		{"admin_setup", "admin_setup", func(r *Renderer, w http.ResponseWriter) error {
			return r.AdminSetup(w, 200, p, AdminSetupView{CSRF: "t", Token: "tok", Message: "Hallo.", Action: "Los"})
		}},
		{"admin_refused", "admin_refused", func(r *Renderer, w http.ResponseWriter) error {
			return r.AdminRefused(w, 403, p, AdminRefusedView{Email: "a@example.test", Login: "/login"})
		}},
		{"admin_refused_anonymous", "admin_refused", func(r *Renderer, w http.ResponseWriter) error {
			return r.AdminRefused(w, 403, p, AdminRefusedView{Login: "/login"})
		}},
		{"verify_email", "verify_email", func(r *Renderer, w http.ResponseWriter) error {
			return r.VerifyEmail(w, 200, p, VerifyEmailView{RequestID: "r1", MaskedEmail: "a…@example.test", Expiry: "10 Minuten", CSRF: "t", Error: "Fehler.", Notice: "Hinweis.", Created: true, Skippable: true})
		}},
		{"verify_email_link", "verify_email", func(r *Renderer, w http.ResponseWriter) error {
			return r.VerifyEmail(w, 200, p, VerifyEmailView{Token: "tok", MaskedEmail: "a…@example.test", CSRF: "t"})
		}},
		{"verify_email_link_no_app", "verify_email", func(r *Renderer, w http.ResponseWriter) error {
			return r.VerifyEmail(w, 200, bare, VerifyEmailView{Token: "tok", MaskedEmail: "a…@example.test", CSRF: "t"})
		}},
		{"device", "device", func(r *Renderer, w http.ResponseWriter) error {
			return r.Device(w, 200, bare, DeviceView{CSRF: "t", Code: "BCDF-GHJK", Prefilled: true})
		}},
		{"device_empty", "device", func(r *Renderer, w http.ResponseWriter) error {
			return r.Device(w, 400, bare, DeviceView{CSRF: "t", Error: "Fehler."})
		}},
		{"device_confirm", "device_confirm", func(r *Renderer, w http.ResponseWriter) error {
			return r.DeviceConfirm(w, 200, p, DeviceConfirmView{Interaction: "i1", CSRF: "t", UserEmail: "a@example.test", Device: "Firefox", Requested: "12:00", IP: "192.0.2.1",
				Scopes: []ScopeView{{"Sie anmelden", "Kennung."}}, Resources: []ScopeView{{"Bestellungen", "https://api.example.com/orders"}}})
		}},
		{"device_done", "device_done", func(r *Renderer, w http.ResponseWriter) error {
			return r.DeviceDone(w, 200, p, DeviceDoneView{Approved: true})
		}},
		{"device_denied", "device_done", func(r *Renderer, w http.ResponseWriter) error {
			return r.DeviceDone(w, 200, p, DeviceDoneView{})
		}},
		{"account_link", "account_link", func(r *Renderer, w http.ResponseWriter) error {
			return r.AccountLink(w, 200, bare, AccountLinkView{Message: "Nachricht?", Hint: "Hinweis.", Button: "Los", Action: "/account/link/tok", CSRF: "t"})
		}},
		{"upstream_link", "upstream_link", func(r *Renderer, w http.ResponseWriter) error {
			return r.UpstreamLink(w, 200, p, UpstreamLinkView{Provider: "Acme", MaskedEmail: "a…@example.test", LoginHref: "/login", PasslinkHref: "/passlink", Expiry: "10 Minuten"})
		}},
		{"login_upstream", "login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", CSRF: "t", Passkey: true, Passlink: true, RPID: "localhost",
				Upstreams: []UpstreamButton{{ID: "acme", Name: "Acme", Href: "/login/upstream?provider=acme"}}})
		}},
		{"login_recovery", "login_recovery", func(r *Renderer, w http.ResponseWriter) error {
			return r.RecoveryLogin(w, 200, p, RecoveryLoginView{Interaction: "i1", Identifier: "a@example.test", CSRF: "t", Error: "Fehler."})
		}},
		{"recovery_codes", "recovery_codes", func(r *Renderer, w http.ResponseWriter) error {
			return r.RecoveryCodes(w, 200, bare, RecoveryCodesView{Codes: []string{"7kq2-m9xd-4hr1-zp8c"}, Text: "7kq2-m9xd-4hr1-zp8c", Download: "data:text/plain,x", FileName: "codes.txt", Replaced: true, Count: 10, Next: "/account"})
		}},
		{"recovery_codes_offer", "recovery_codes", func(r *Renderer, w http.ResponseWriter) error {
			return r.RecoveryCodes(w, 200, bare, RecoveryCodesView{Fresh: true, Count: 10, CSRF: "t", Next: "/account"})
		}},
		{"recovery_codes_required_stale", "recovery_codes", func(r *Renderer, w http.ResponseWriter) error {
			return r.RecoveryCodes(w, 200, bare, RecoveryCodesView{Required: true, Count: 10, Next: "/account"})
		}},
	}
}

// englishLeftovers are the default catalogue's words found in text, a
// page in lang: every message that lang says differently, cut at its
// placeholders, whose pieces of some length appear verbatim.
func englishLeftovers(r *Renderer, lang, text string) []string {
	cat := r.Catalog()
	text = strings.Join(strings.Fields(text), " ")
	var found []string
	for _, k := range cat.Keys(i18n.Default) {
		en := cat.T(i18n.Default, k)
		if en == cat.T(lang, k) || strings.HasPrefix(k, "time.") && strings.HasSuffix(k, "_layout") {
			continue
		}
		en = html.UnescapeString(tagRe.ReplaceAllString(en, " "))
		for _, piece := range placeholders.Split(en, -1) {
			piece = strings.Join(strings.Fields(piece), " ")
			// Short pieces ("Passkey", "E-Mail") are words both
			// languages share.
			if len(piece) >= 12 && strings.Contains(piece, " ") && strings.Contains(text, piece) {
				found = append(found, k+": "+piece)
			}
		}
	}
	return found
}

// TestHostedPagesLocalized renders every hosted page in every language
// but the default and looks for English in what people see: the
// default catalogue's sentences, and common English words.
func TestHostedPagesLocalized(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, lang := range r.Catalog().Languages()[1:] {
		for _, tc := range localizedPages(lang) {
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
				if !strings.Contains(body, r.T(lang, "layout.secured_by", "product", "Sesame")) {
					t.Errorf("footer not in %s", lang)
				}
				text := visibleText(body)
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
	// Every hosted page is in the table, so a new one cannot stay English.
	for _, f := range folders {
		if f.dir != "hosted" {
			continue
		}
		for _, name := range f.pages {
			if !covered[name] {
				t.Errorf("hosted page %s is not in localizedPages", name)
			}
		}
	}
}

// TestEnglishPagesAreEnglish: the same pages in English trip both checks,
// so they are not vacuous. (Three pages, the error and result pages,
// show only their handler's words and the footer, which the sentence
// check passes over as too short.)
func TestEnglishPagesAreEnglish(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	pages, tripped := localizedPages("en"), 0
	for _, tc := range pages {
		w := httptest.NewRecorder()
		if err := tc.render(r, w); err != nil {
			t.Fatal(err)
		}
		text := visibleText(w.Body.String())
		if !strings.Contains(w.Body.String(), `<html lang="en">`) || len(englishIn(text)) == 0 {
			t.Errorf("%s: the English page is not seen as English", tc.name)
		}
		if len(englishLeftovers(r, "de", text)) > 0 {
			tripped++
		}
	}
	if tripped < len(pages)-3 {
		t.Errorf("the sentence check finds English on %d of %d English pages", tripped, len(pages))
	}
}

// testLinkMail and testAccountMail have the fields of passlink.MailData
// and passlink.AccountMailData (which import this package).
type testLinkMail struct {
	Brand                                                            MailBrand
	AppName, Product, Email, Link, Code, Expiry, Device, RequestedAt string
}

type testAccountMail struct {
	Brand                        MailBrand
	Product, Email, Link, Expiry string
	Other                        map[string]string
}

// TestGermanMailsHaveNoEnglish renders every mail in German: subject,
// text and HTML carry no English, and the HTML says lang="de".
func TestGermanMailsHaveNoEnglish(t *testing.T) {
	link := testLinkMail{Brand: MailBrand{}.WithDefaults(), AppName: "Acme", Product: "Sesame", Email: "a@example.test", Link: "https://id.example/passlink/x",
		Code: "123456", Expiry: "10 Minuten", Device: "Firefox", RequestedAt: "5.12.2026 um 21:00 UTC"}
	account := testAccountMail{Brand: MailBrand{}.WithDefaults(), Product: "Sesame", Email: "a@example.test", Link: "https://id.example/account/link/x", Expiry: "1 Tag",
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

// TestMailsBranded renders every mail with an operator's branding: the
// logo heads the HTML (by its Content-ID: the sender attaches it), the button and links take the brand colour (none
// of Sesame's blue is left) and the product name signs it off.
func TestMailsBranded(t *testing.T) {
	brand := MailBrand{Product: "Acme ID", LogoCID: "logo.abc@id.example", Primary: "#0f766e", OnPrimary: "#ffffff"}
	for _, name := range mails {
		var data any = testLinkMail{Brand: brand, AppName: "Acme", Product: "Acme ID", Email: "a@example.test", Link: "https://id.example/passlink/x",
			Code: "123456", Expiry: "10 minutes", Device: "Firefox", RequestedAt: "5 Dec 2026 at 21:00 UTC"}
		if !strings.HasPrefix(name, "passlink") && !strings.HasPrefix(name, "password") && name != "verify_email" {
			data = testAccountMail{Brand: brand, Product: "Acme ID", Email: "a@example.test", Link: "https://id.example/account/link/x", Expiry: "1 day",
				Other: map[string]string{"due": "5 January 2027", "old": "o@example.test", "new": "n@example.test", "count": "10"}}
		}
		for _, lang := range []string{"en", "de"} {
			m, err := RenderMail(lang, name, data)
			if err != nil {
				t.Fatalf("%s (%s): %v", name, lang, err)
			}
			if !strings.Contains(m.HTML, `<img src="cid:logo.abc@id.example" alt="Acme ID"`) {
				t.Errorf("%s (%s): no logo", name, lang)
			}
			if strings.Contains(m.HTML, mailPrimary) || strings.Contains(m.HTML, "ZgotmplZ") {
				t.Errorf("%s (%s): Sesame's colour or a refused value left", name, lang)
			}
			if strings.Contains(m.HTML, `href="https://`) && !strings.Contains(m.HTML, "color:#0f766e") {
				t.Errorf("%s (%s): links not in the brand colour", name, lang)
			}
			if !strings.Contains(m.HTML, ">Acme ID</p>") || !strings.Contains(m.Text, "Acme ID") {
				t.Errorf("%s (%s): not signed with the product", name, lang)
			}
		}
	}
}
