package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/i18n"
)

// Mail bodies: mail/NAME.txt (text/template: plain text, nothing to
// escape) and mail/NAME.html (html/template: contextual escaping, so an
// address or app name cannot inject markup). Both get the same data.
//
//go:embed mail/*.txt mail/*.html
var mailFiles embed.FS

type mailTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var (
	mailOnce sync.Once
	mailCat  *i18n.Catalog
	// mailSet is lang → name → the mail's templates.
	mailSet map[string]map[string]mailTemplates
	mailErr error
)

func loadMail() {
	cat, err := i18n.Load()
	if err != nil {
		mailErr = err
		return
	}
	entries, err := mailFiles.ReadDir("mail")
	if err != nil {
		mailErr = fmt.Errorf("mail templates: %w", err)
		return
	}
	mailCat, mailSet = cat, map[string]map[string]mailTemplates{}
	for _, lang := range cat.Languages() {
		fm := map[string]any{
			"t":    func(key string, args ...any) string { return cat.T(lang, key, args...) },
			"lang": func() string { return lang },
		}
		set := map[string]mailTemplates{}
		for _, e := range entries {
			name := e.Name()
			base, ok := strings.CutSuffix(name, ".txt")
			if !ok {
				continue
			}
			t, err := texttemplate.New(name).Funcs(fm).ParseFS(mailFiles, "mail/"+name)
			if err != nil {
				mailErr = fmt.Errorf("parse mail template %s: %w", name, err)
				return
			}
			h, err := htmltemplate.New(base+".html").Funcs(fm).ParseFS(mailFiles, "mail/"+base+".html")
			if err != nil {
				mailErr = fmt.Errorf("parse mail template %s.html: %w", base, err)
				return
			}
			set[base] = mailTemplates{text: t, html: h}
		}
		mailSet[lang] = set
	}
}

// mails are the emails the sign-in methods send; New checks them.
var mails = []string{
	"passlink", "passlink_admin", "passlink_notice", "passlink_signup",
	"password_reset", "password_reset_notice", "verify_email",
	"email_confirm", "email_changed_notice", "email_change", "email_change_taken", "email_revert", "delete_scheduled",
	"recovery_codes_generated", "recovery_code_used",
}

// checkMail parses the emails and fails naming one that is missing.
func checkMail() error {
	mailOnce.Do(loadMail)
	if mailErr != nil {
		return mailErr
	}
	for _, n := range mails {
		if _, ok := mailSet[i18n.Default][n]; !ok {
			return fmt.Errorf("templates: missing mail mail/%s.txt", n)
		}
	}
	return nil
}

// MailBrand is the operator's branding as mails show it: the product
// name, the Content-ID of the logo the mail carries inline ("" for none)
// and the button and link colour with the text colour on it.
type MailBrand struct {
	Product, LogoCID   string
	Primary, OnPrimary string
}

// LogoSrc is the logo's <img src>: its cid: URL (RFC 2392), the part the
// sender attaches; a remote image would be blocked by many mail clients.
// A typed URL, as html/template refuses schemes it does not know.
func (b MailBrand) LogoSrc() htmltemplate.URL {
	if b.LogoCID == "" {
		return ""
	}
	return htmltemplate.URL("cid:" + url.PathEscape(b.LogoCID))
}

// Sesame's own mail colours.
const (
	mailPrimary   = "#2754c5"
	mailOnPrimary = "#ffffff"
)

// WithDefaults fills what b leaves empty with Sesame's own.
func (b MailBrand) WithDefaults() MailBrand {
	if b.Product == "" {
		b.Product = sesameBrand.Product
	}
	if b.Primary == "" || b.OnPrimary == "" {
		b.Primary, b.OnPrimary = mailPrimary, mailOnPrimary
	}
	return b
}

// Mail is a rendered email: its subject (the templates' "subject"
// block) and its plain-text and HTML bodies.
type Mail struct {
	Subject, Text, HTML string
}

// MailLanguage is the language of a mail to a user: their saved locale
// when a catalogue matches it, else the language of the request that
// sent it (the page they were on), else the default.
func MailLanguage(saved, requested string) string {
	mailOnce.Do(loadMail)
	if mailErr != nil {
		return i18n.Default
	}
	for _, v := range []string{saved, requested} {
		if lang, ok := mailCat.Match(v, false); ok {
			return lang
		}
	}
	return i18n.Default
}

// MailT is key's message in lang, for what a sender puts in a mail's
// data (a date, a duration, "an unknown device").
func MailT(lang, key string, args ...any) string {
	mailOnce.Do(loadMail)
	if mailErr != nil {
		return key
	}
	return mailCat.T(lang, key, args...)
}

// MailDuration says d in lang ("10 Minuten").
func MailDuration(lang string, d time.Duration) string {
	mailOnce.Do(loadMail)
	if mailErr != nil {
		return d.String()
	}
	return mailCat.Duration(lang, d)
}

// MailDevice says the device a User-Agent names ("Chrome on macOS") in
// lang.
func MailDevice(lang, ua string) string {
	mailOnce.Do(loadMail)
	browser, os := httpx.UserAgentParts(ua)
	if mailErr != nil {
		return httpx.DescribeUserAgent(ua)
	}
	return mailCat.Device(lang, browser, os)
}

// MailDate is t's day in lang's long form ("2 January 2026", "2.1.2026").
func MailDate(lang string, t time.Time) string {
	mailOnce.Do(loadMail)
	if mailErr != nil {
		return t.UTC().Format("2 January 2006")
	}
	return mailCat.LongDate(lang, t)
}

// RenderMail renders mail name (mail/NAME.txt and mail/NAME.html) in
// lang (the default when no catalogue has it) with data.
func RenderMail(lang, name string, data any) (Mail, error) {
	mailOnce.Do(loadMail)
	if mailErr != nil {
		return Mail{}, mailErr
	}
	set, ok := mailSet[lang]
	if !ok {
		set = mailSet[i18n.Default]
	}
	t, ok := set[name]
	if !ok {
		return Mail{}, fmt.Errorf("render mail: no template %q", name)
	}
	var sb, tb, hb bytes.Buffer
	if err := t.text.ExecuteTemplate(&sb, "subject", data); err != nil {
		return Mail{}, fmt.Errorf("render mail %s (subject): %w", name, err)
	}
	if err := t.text.Execute(&tb, data); err != nil {
		return Mail{}, fmt.Errorf("render mail %s (text): %w", name, err)
	}
	if err := t.html.Execute(&hb, data); err != nil {
		return Mail{}, fmt.Errorf("render mail %s (html): %w", name, err)
	}
	return Mail{Subject: strings.TrimSpace(sb.String()), Text: tb.String(), HTML: hb.String()}, nil
}
