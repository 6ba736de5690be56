package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// longLink is longer than a quoted-printable line, so it arrives
// soft-wrapped and must be decoded back whole.
const longLink = "https://id.example.test/login/link/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef?interaction=ia-1&x=y"

func passlinkMessage(to string) mail.Message {
	return mail.Message{
		To:      to,
		Subject: "Ihr Anmeldelink für Sesame – gültig 10 Minuten",
		Text:    "Hello,\n\nopen this link to sign in:\n" + longLink + "\n\nIt expires in 10 minutes.\n",
		HTML:    `<p>Hello,</p><p><a href="` + longLink + `">Sign in</a></p>`,
		Kind:    "passlink",
	}
}

func TestSMTPDeliversTextAndHTML(t *testing.T) {
	srv := mailtest.Start(t)
	m := passlinkMessage("Zoë Example <zoe@example.test>")
	m.ID = "0123abcd"
	must(t, mail.NewSMTPSender(srv.SMTPConfig(from)).Send(t.Context(), m))

	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if got.From != "no-reply@localhost" || len(got.To) != 1 || got.To[0] != "zoe@example.test" {
		t.Errorf("envelope: from %q to %q", got.From, got.To)
	}
	if got.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, m.Subject)
	}
	if links := got.Links(); len(links) != 1 || links[0] != longLink {
		t.Errorf("links in the text part = %q, want [%q]", links, longLink)
	}
	if !strings.Contains(got.Text, "It expires in 10 minutes.") {
		t.Errorf("text part = %q", got.Text)
	}
	if !strings.Contains(got.HTML, `<a href="`+longLink+`">Sign in</a>`) {
		t.Errorf("HTML part = %q", got.HTML)
	}
	h := got.Header
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	if id := h.Get("Message-Id"); id != "<0123abcd@localhost>" {
		t.Errorf("Message-ID = %q, want <0123abcd@localhost> (stable across resends)", id)
	}
	if h.Get("Date") == "" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Date %q, Auto-Submitted %q", h.Get("Date"), h.Get("Auto-Submitted"))
	}
	if h.Get("From") != `"Sesame" <no-reply@localhost>` {
		t.Errorf("From = %q", h.Get("From"))
	}
	if got.TLS || got.AuthUser != "" {
		t.Errorf("TLS %v, auth %q on a plain loopback server", got.TLS, got.AuthUser)
	}
}

// TestSMTPInlineLogo: a mail whose HTML shows an image by cid: carries it
// as an inline part (multipart/related) under that Content-ID, the text
// alternative kept; an added sender (WithInline) supplies the part as
// the mail leaves.
func TestSMTPInlineLogo(t *testing.T) {
	srv := mailtest.Start(t)
	png := []byte("\x89PNG\r\n\x1a\n-the-logo")
	m := passlinkMessage("zoe@example.test")
	m.HTML = `<img src="cid:logo.ab12@id.example" alt="Acme ID">` + m.HTML
	sender := mail.WithInline(mail.NewSMTPSender(srv.SMTPConfig(from)), func(_ context.Context, m mail.Message) []mail.Inline {
		return []mail.Inline{{ContentID: "logo.ab12@id.example", Type: "image/png", Name: "logo.png", Data: png}}
	})
	must(t, sender.Send(t.Context(), m))
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if len(got.Inline) != 1 {
		t.Fatalf("inline parts %+v, want the logo", got.Inline)
	}
	in := got.Inline[0]
	if in.ContentID != "<logo.ab12@id.example>" || in.Type != "image/png" || in.Disposition != "inline" || !bytes.Equal(in.Data, png) {
		t.Errorf("inline part %q %q %q %q", in.ContentID, in.Type, in.Disposition, in.Data)
	}
	t.Logf("parts: %v", got.Types)
	if !slices.Contains(got.Types, "multipart/related") || !slices.Contains(got.Types, "text/plain") {
		t.Errorf("parts %v: want the HTML and its image related, with the text alternative", got.Types)
	}
	if !strings.Contains(got.HTML, `src="cid:logo.ab12@id.example"`) || !strings.Contains(got.Text, "It expires in 10 minutes.") {
		t.Errorf("bodies: %q / %q", got.HTML, got.Text)
	}
}

func TestSMTPTextOnlyAndRandomMessageID(t *testing.T) {
	srv := mailtest.Start(t)
	sender := mail.NewSMTPSender(srv.SMTPConfig(from))
	for range 2 {
		must(t, sender.Send(t.Context(), mail.Message{To: "a@example.test", Subject: "s", Text: "only text"}))
	}
	msgs := srv.WaitFor(t, 2, 5*time.Second)
	if strings.TrimSpace(msgs[0].Text) != "only text" || msgs[0].HTML != "" {
		t.Errorf("text %q html %q", msgs[0].Text, msgs[0].HTML)
	}
	a, b := msgs[0].Header.Get("Message-Id"), msgs[1].Header.Get("Message-Id")
	if a == "" || a == b {
		t.Errorf("Message-IDs %q and %q, want distinct random ones", a, b)
	}
}

func TestSMTPSTARTTLSWithAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("sesame", "s3cret"))
	must(t, mail.NewSMTPSender(srv.SMTPConfig(from)).Send(t.Context(), passlinkMessage("zoe@example.test")))
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if !got.TLS || got.AuthUser != "sesame" {
		t.Errorf("TLS %v, auth user %q; want TLS and sesame", got.TLS, got.AuthUser)
	}
}

func TestSMTPImplicitTLSWithAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithImplicitTLS(), mailtest.WithAuth("sesame", "s3cret"))
	must(t, mail.NewSMTPSender(srv.SMTPConfig(from)).Send(t.Context(), passlinkMessage("zoe@example.test")))
	got := srv.WaitFor(t, 1, 5*time.Second)[0]
	if !got.TLS || got.AuthUser != "sesame" {
		t.Errorf("TLS %v, auth user %q; want TLS and sesame", got.TLS, got.AuthUser)
	}
}

// TestSTARTTLSNeverDowngrades: with starttls configured, a server (or a
// man in the middle stripping the extension) that does not offer STARTTLS
// gets nothing, not a clear-text mail with a sign-in link.
func TestSTARTTLSNeverDowngrades(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := srv.SMTPConfig(from)
	cfg.TLS = mail.TLSStartTLS
	err := mail.NewSMTPSender(cfg).Send(t.Context(), passlinkMessage("zoe@example.test"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want a STARTTLS error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d mails delivered without TLS", n)
	}
}

func TestSMTPUntrustedCertificateRefused(t *testing.T) {
	for _, opt := range []mailtest.Option{mailtest.WithSTARTTLS(), mailtest.WithImplicitTLS()} {
		srv := mailtest.Start(t, opt)
		cfg := srv.SMTPConfig(from)
		cfg.TLSConfig = nil // system roots: the test certificate is unknown
		err := mail.NewSMTPSender(cfg).Send(t.Context(), passlinkMessage("zoe@example.test"))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: Send = %v, want a certificate error", cfg.TLS, err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%s: %d mails delivered to an untrusted server", cfg.TLS, n)
		}
	}
}

func TestSMTPWrongPasswordIsTemporary(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("sesame", "s3cret"))
	cfg := srv.SMTPConfig(from)
	cfg.Password = "wrong"
	err := mail.NewSMTPSender(cfg).Send(t.Context(), passlinkMessage("zoe@example.test"))
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	// A credentials problem is the operator's to fix; the mail itself is
	// fine and is retried.
	if mail.IsPermanent(err) {
		t.Errorf("auth failure marked permanent: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestSMTPRecipientRefusal(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithRcptCheck(func(to string) error {
		switch to {
		case "nobody@example.test":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case "grey@example.test":
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try later"}
		}
		return nil
	}))
	sender := mail.NewSMTPSender(srv.SMTPConfig(from))
	err := sender.Send(t.Context(), passlinkMessage("nobody@example.test"))
	if err == nil || !mail.IsPermanent(err) {
		t.Errorf("550: Send = %v, want a permanent error", err)
	}
	err = sender.Send(t.Context(), passlinkMessage("grey@example.test"))
	if err == nil || mail.IsPermanent(err) {
		t.Errorf("451: Send = %v, want a temporary error", err)
	}
}

// TestSMTPTimeoutIsHard: a server that accepts and then stalls cannot hold
// a send (and so the outbox's lease) beyond the timeout.
func TestSMTPTimeoutIsHard(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Greet, then dribble a byte every 100ms forever: go-mail's
			// per-command timeout alone would never fire.
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("220-localhost slow\r\n"))
				for {
					time.Sleep(100 * time.Millisecond)
					if _, err := c.Write([]byte("220-x\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg := mail.SMTPConfig{Host: "127.0.0.1", TLS: mail.TLSNone, From: from, Timeout: 500 * time.Millisecond}
	cfg.Port = atoi(t, port)

	start := time.Now()
	err = mail.NewSMTPSender(cfg).Send(t.Context(), passlinkMessage("zoe@example.test"))
	if err == nil {
		t.Fatal("Send to a stalling server succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %s with a 500ms timeout", d)
	}

	// Cancelling the context cuts a send short too.
	cfg.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := mail.NewSMTPSender(cfg).Send(ctx, passlinkMessage("zoe@example.test")); err == nil {
		t.Fatal("Send with a cancelled context succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancelled Send took %s", d)
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  mail.SMTPConfig
		want string // "" means valid
	}{
		{"starttls default", mail.SMTPConfig{Host: "smtp.example.com", From: from}, ""},
		{"implicit tls", mail.SMTPConfig{Host: "smtp.example.com", TLS: mail.TLSImplicit, From: "login@example.com"}, ""},
		{"none on loopback", mail.SMTPConfig{Host: "::1", TLS: mail.TLSNone, From: from}, ""},
		// Sign-in links in clear text over the network: refused.
		{"none to a remote host", mail.SMTPConfig{Host: "smtp.example.com", TLS: mail.TLSNone, From: from}, "only for localhost"},
		{"unknown tls mode", mail.SMTPConfig{Host: "smtp.example.com", TLS: "ssl", From: from}, "tls must be"},
		{"no host", mail.SMTPConfig{From: from}, "host"},
		{"bad port", mail.SMTPConfig{Host: "smtp.example.com", Port: 70000, From: from}, "port"},
		{"bad from", mail.SMTPConfig{Host: "smtp.example.com", From: "not an address"}, "from address"},
		{"from with a header", mail.SMTPConfig{Host: "smtp.example.com", From: "a@example.com\r\nBcc: x@evil.test"}, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// An invalid config fails every send rather than sending insecurely.
	srv := mailtest.Start(t)
	cfg := srv.SMTPConfig(from)
	cfg.Host = "localhost.example.test"
	cfg.TLS = mail.TLSNone
	if err := mail.NewSMTPSender(cfg).Send(t.Context(), passlinkMessage("zoe@example.test")); err == nil {
		t.Error("Send with tls none to a remote host succeeded")
	}
}

// TestHeaderInjectionRefused: CR/LF in the recipient or subject (e.g. an
// email field of "victim@x\r\nBcc: attacker@y") never reaches a header:
// refused by Validate, by every Sender, and by Enqueue before anything is
// stored (RFC 5322 §2.2: header fields are single lines, unfolded).
func TestHeaderInjectionRefused(t *testing.T) {
	base := passlinkMessage("zoe@example.test")
	bad := map[string]func(*mail.Message){
		"CRLF Bcc in recipient":  func(m *mail.Message) { m.To = "zoe@example.test\r\nBcc: attacker@evil.test" },
		"LF in recipient":        func(m *mail.Message) { m.To = "zoe@example.test\nBcc: attacker@evil.test" },
		"CR in recipient":        func(m *mail.Message) { m.To = "zoe@example.test\rBcc: attacker@evil.test" },
		"CRLF in subject":        func(m *mail.Message) { m.Subject = "Sign in\r\nBcc: attacker@evil.test" },
		"LF in subject":          func(m *mail.Message) { m.Subject = "Sign in\nX-Evil: 1" },
		"two recipients":         func(m *mail.Message) { m.To = "zoe@example.test, attacker@evil.test" },
		"not an address":         func(m *mail.Message) { m.To = "zoe at example" },
		"empty recipient":        func(m *mail.Message) { m.To = "" },
		"overlong recipient":     func(m *mail.Message) { m.To = strings.Repeat("a", 400) + "@example.test" },
		"no body":                func(m *mail.Message) { m.Text, m.HTML = "", "" },
		"NUL in recipient":       func(m *mail.Message) { m.To = "zoe@example.test\x00" },
		"header in message id":   func(m *mail.Message) { m.ID = "x>\r\nBcc: attacker@evil.test" },
		"display name with CRLF": func(m *mail.Message) { m.To = "\"Zoe\r\nBcc: attacker@evil.test\" <zoe@example.test>" },
		"CRLF in a Content-ID": func(m *mail.Message) {
			m.Inline = []mail.Inline{{ContentID: "logo@x>\r\nBcc: attacker@evil.test", Type: "image/png", Name: "logo.png", Data: []byte{1}}}
		},
		"CRLF in an inline type": func(m *mail.Message) {
			m.Inline = []mail.Inline{{ContentID: "logo@x", Type: "image/png\r\nBcc: attacker@evil.test", Name: "logo.png", Data: []byte{1}}}
		},
		"empty inline part": func(m *mail.Message) {
			m.Inline = []mail.Inline{{ContentID: "logo@x", Type: "image/png", Name: "logo.png"}}
		},
	}
	srv := mailtest.Start(t)
	smtpSender := mail.NewSMTPSender(srv.SMTPConfig(from))
	var logBuf bytes.Buffer
	logSender := mail.NewLogSender(slog.New(slog.NewJSONHandler(&logBuf, nil)))
	st := storetest.OpenSQLite(t)
	outbox := mail.NewOutbox(st, smtpSender, mail.OutboxOptions{})

	for name, mod := range bad {
		t.Run(name, func(t *testing.T) {
			m := base
			mod(&m)
			if err := m.Validate(); !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("Validate() = %v, want ErrInvalidMessage", err)
			}
			for sname, s := range map[string]mail.Sender{"smtp": smtpSender, "log": logSender} {
				if err := s.Send(t.Context(), m); !errors.Is(err, mail.ErrInvalidMessage) || !mail.IsPermanent(err) {
					t.Errorf("%s Send = %v, want a permanent ErrInvalidMessage", sname, err)
				}
			}
			if err := outbox.Enqueue(t.Context(), m); !errors.Is(err, mail.ErrInvalidMessage) {
				t.Errorf("Enqueue = %v, want ErrInvalidMessage", err)
			}
		})
	}
	if n, err := st.CountMails(t.Context(), "pending"); err != nil || n != 0 {
		t.Errorf("%d mails stored (err %v), want none", n, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d mails delivered, want none", n)
	}
	if logBuf.Len() != 0 {
		t.Errorf("log sender logged a refused mail: %s", logBuf.String())
	}
	// The valid base message goes through.
	must(t, base.Validate())
}

func TestLogSenderWritesTheLink(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var h slog.Handler = slog.NewJSONHandler(&buf, nil)
			if format == "text" {
				h = slog.NewTextHandler(&buf, nil)
			}
			m := passlinkMessage("zoe@example.test")
			m.ID = "mail-1"
			must(t, mail.NewLogSender(slog.New(h)).Send(t.Context(), m))
			out := buf.String()
			for _, want := range []string{longLink, "zoe@example.test", "level=INFO", "mail-1", "passlink"} {
				if format == "json" && want == "level=INFO" {
					want = `"level":"INFO"`
				}
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}
