package mail

import (
	"context"
	"log/slog"
	"regexp"
)

// LogSender is the dev-mode Sender when no SMTP server is configured: it
// writes the whole mail, links included, to the log at Info, because the
// developer has to click the link. Never use it in production: the log
// would then hold live sign-in links.
type LogSender struct {
	Logger *slog.Logger
}

// NewLogSender returns a LogSender writing to logger (slog.Default() when
// nil).
func NewLogSender(logger *slog.Logger) *LogSender {
	if logger == nil {
		logger = slog.Default()
	}
	return &LogSender{Logger: logger}
}

// linkRE finds URLs in a plain-text body.
var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Send logs m. The links of the text body are also logged on their own, so
// they can be copied without the escaped line breaks of the body around
// them.
func (s *LogSender) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return Permanent(err)
	}
	links := linkRE.FindAllString(m.Text, -1)
	if links == nil {
		links = []string{}
	}
	s.Logger.InfoContext(ctx, "mail not sent: no SMTP server configured (dev mode), here it is",
		"mail_id", m.ID, "kind", m.Kind, "to", m.To, "subject", m.Subject,
		"links", links, "text", m.Text, "html", m.HTML)
	return nil
}
