package servertest

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
)

// SMTP points the server's mail at a test SMTP server (mail/mailtest) on
// loopback, in its TLS mode.
func SMTP(srv *mailtest.Server) Option {
	return func(c *config.Config) {
		sc := srv.SMTPConfig(c.MailFrom)
		c.SMTPHost, c.SMTPPort, c.SMTPTLS = sc.Host, sc.Port, sc.TLS
		c.SMTPUsername, c.SMTPPassword = sc.Username, sc.Password
	}
}

// With changes any setting before the server starts.
func With(fn func(c *config.Config)) Option { return Option(fn) }

// DeliverMail runs the server's outbox delivery loop (as Serve does) until
// the test ends. With opts, it runs a separate worker over the same outbox
// table instead, with those options (e.g. a short back-off), sending
// through the configured SMTP server: enqueued mails are found by polling.
func (e *Env) DeliverMail(opts ...mail.OutboxOptions) {
	e.T.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.T.Cleanup(func() { cancel(); <-done })
	var ob *mail.Outbox
	if len(opts) == 0 {
		ob = e.Server.Outbox()
		if ob == nil {
			e.T.Fatal("servertest: the server has no outbox (mail is off)")
		}
	} else {
		sender := mail.NewSMTPSender(mail.SMTPConfig{
			Host: e.Config.SMTPHost, Port: e.Config.SMTPPort, TLS: e.Config.SMTPTLS, From: e.Config.MailFrom,
			Username: e.Config.SMTPUsername, Password: e.Config.SMTPPassword, Timeout: 10 * time.Second,
		})
		o := opts[0]
		if o.Logger == nil {
			o.Logger = e.logger()
		}
		ob = mail.NewOutbox(e.Store, sender, o)
	}
	go func() {
		defer close(done)
		ob.Run(ctx)
	}()
}

// logger is quiet unless SESAME_TEST_LOG is set, like the server's.
func (e *Env) logger() *slog.Logger {
	if os.Getenv("SESAME_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
