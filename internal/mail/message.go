package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
)

// Message is one mail to one recipient. Templates are the caller's
// business: Text is the plain-text body, HTML the HTML alternative (either
// may be empty, not both).
type Message struct {
	// To is one address, optionally with a display name
	// ("Zoë <zoe@example.com>").
	To      string
	Subject string
	Text    string
	HTML    string
	// Kind says what the mail is for (e.g. "passlink"), for logs and stats.
	Kind string
	// ID, when set, makes the Message-ID header ("<ID@from-domain>"); the
	// outbox sets it to the mail's outbox id, so a resend carries the same
	// Message-ID. Empty means a random one.
	ID string
	// Inline are the parts the HTML shows by Content-ID (<img
	// src="cid:…">): the logo travels in the mail, as clients that block
	// remote images still show it.
	Inline []Inline
}

// Inline is a part of a message shown inside its HTML body (RFC 2392):
// ContentID without the angle brackets, as the HTML's cid: URL names it.
type Inline struct {
	ContentID, Type, Name string
	Data                  []byte
}

// Limits on a message, far above what Sesame's templates produce; they only
// stop a runaway caller from filling the outbox.
const (
	maxAddressLen = 320
	maxSubjectLen = 500
	maxKindLen    = 64
	maxBodyLen    = 1 << 20
)

// ErrInvalidMessage is returned (wrapped) for a message that must not be
// sent: a bad or multiple recipient, a line break in a header field, no
// body, or an oversized field.
var ErrInvalidMessage = errors.New("invalid mail message")

// Validate reports why m cannot be sent, or nil. It refuses CR and LF in
// the header fields (header injection) and any recipient net/mail cannot
// parse as exactly one address.
func (m Message) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
	}
	switch {
	case strings.ContainsAny(m.To, "\r\n\x00"):
		return bad("recipient contains a line break")
	case strings.ContainsAny(m.Subject, "\r\n\x00"):
		return bad("subject contains a line break")
	case strings.ContainsAny(m.Kind, "\r\n\x00"):
		return bad("kind contains a line break")
	case strings.ContainsAny(m.ID, "\r\n\x00<>@ "):
		return bad("id contains a character not allowed in a Message-ID")
	case m.To == "":
		return bad("no recipient")
	case len(m.To) > maxAddressLen:
		return bad("recipient longer than %d bytes", maxAddressLen)
	case len(m.Subject) > maxSubjectLen:
		return bad("subject longer than %d bytes", maxSubjectLen)
	case len(m.Kind) > maxKindLen:
		return bad("kind longer than %d bytes", maxKindLen)
	case m.Text == "" && m.HTML == "":
		return bad("no body")
	case len(m.Text) > maxBodyLen || len(m.HTML) > maxBodyLen:
		return bad("body larger than %d bytes", maxBodyLen)
	}
	for _, in := range m.Inline {
		switch {
		case in.ContentID == "" || strings.ContainsAny(in.ContentID, "\r\n\x00<> "):
			return bad("inline part's Content-ID %q", in.ContentID)
		case strings.ContainsAny(in.Type+in.Name, "\r\n\x00\""):
			return bad("inline part's type or name contains a line break or quote")
		case len(in.Data) == 0 || len(in.Data) > maxBodyLen:
			return bad("inline part of %d bytes", len(in.Data))
		}
	}
	// ParseAddress accepts exactly one address: "a@x, b@y" is refused.
	if _, err := netmail.ParseAddress(m.To); err != nil {
		return bad("recipient is not one address: %v", err)
	}
	return nil
}

// Sender delivers a message now. Errors wrapped with Permanent are not
// retried by the outbox.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the outbox gives the mail up at once
// instead of retrying it (e.g. SMTP 550 "no such user"). Permanent(nil) is
// nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent. Invalid messages are permanent too.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p) || errors.Is(err, ErrInvalidMessage)
}

// InlineFunc returns the inline parts m's HTML refers to (nil for none).
type InlineFunc func(ctx context.Context, m Message) []Inline

// WithInline is next with each message's inline parts added by fn just
// before it is sent: the outbox stores only the bodies, and the parts
// (the current logo) are read when the mail leaves.
func WithInline(next Sender, fn InlineFunc) Sender {
	if fn == nil {
		return next
	}
	return inlineSender{next: next, fn: fn}
}

type inlineSender struct {
	next Sender
	fn   InlineFunc
}

func (s inlineSender) Send(ctx context.Context, m Message) error {
	if m.HTML != "" && len(m.Inline) == 0 {
		m.Inline = s.fn(ctx, m)
	}
	return s.next.Send(ctx, m)
}
