package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"sync"
	texttemplate "text/template"
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
	mailSet  map[string]mailTemplates
	mailErr  error
)

func loadMail() {
	entries, err := mailFiles.ReadDir("mail")
	if err != nil {
		mailErr = fmt.Errorf("mail templates: %w", err)
		return
	}
	mailSet = map[string]mailTemplates{}
	for _, e := range entries {
		name := e.Name()
		var base string
		switch {
		case len(name) > 4 && name[len(name)-4:] == ".txt":
			base = name[:len(name)-4]
		default:
			continue
		}
		t, err := texttemplate.ParseFS(mailFiles, "mail/"+name)
		if err != nil {
			mailErr = fmt.Errorf("parse mail template %s: %w", name, err)
			return
		}
		h, err := htmltemplate.ParseFS(mailFiles, "mail/"+base+".html")
		if err != nil {
			mailErr = fmt.Errorf("parse mail template %s.html: %w", base, err)
			return
		}
		mailSet[base] = mailTemplates{text: t, html: h}
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
		if _, ok := mailSet[n]; !ok {
			return fmt.Errorf("templates: missing mail mail/%s.txt", n)
		}
	}
	return nil
}

// RenderMail renders mail name (mail/NAME.txt and mail/NAME.html) with
// data and returns the plain-text and HTML bodies.
func RenderMail(name string, data any) (text, html string, err error) {
	mailOnce.Do(loadMail)
	if mailErr != nil {
		return "", "", mailErr
	}
	t, ok := mailSet[name]
	if !ok {
		return "", "", fmt.Errorf("render mail: no template %q", name)
	}
	var tb, hb bytes.Buffer
	if err := t.text.Execute(&tb, data); err != nil {
		return "", "", fmt.Errorf("render mail %s (text): %w", name, err)
	}
	if err := t.html.Execute(&hb, data); err != nil {
		return "", "", fmt.Errorf("render mail %s (html): %w", name, err)
	}
	return tb.String(), hb.String(), nil
}
