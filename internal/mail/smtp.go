package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Transport security modes of SMTPConfig.TLS.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses a
	// server that does not offer it (never a silent downgrade).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (usually port 465).
	TLSImplicit = "tls"
	// TLSNone sends in clear text; allowed only to a loopback host (a
	// local relay, or a test server).
	TLSNone = "none"
)

// DefaultSMTPTimeout bounds one whole SMTP transaction (connect, TLS,
// auth, send). The outbox's lease must be far longer.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Host string
	// Port defaults to 587, or 465 with TLSImplicit.
	Port int
	// Username, when set, makes the sender authenticate (SCRAM, PLAIN or
	// LOGIN, whichever the server offers first in that order; PLAIN and
	// LOGIN only over TLS or to a loopback host).
	Username string
	Password string
	// TLS is TLSStartTLS (the default when empty), TLSImplicit or TLSNone.
	TLS string
	// From is the From address, e.g. "Sesame <no-reply@example.com>".
	From string
	// Timeout bounds a whole SMTP transaction; DefaultSMTPTimeout when 0.
	Timeout time.Duration
	// TLSConfig, when set, is used for the TLS connection (e.g. to trust a
	// private CA); ServerName defaults to Host.
	TLSConfig *tls.Config
}

func (c SMTPConfig) withDefaults() SMTPConfig {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		c.Port = 587
		if c.TLS == TLSImplicit {
			c.Port = 465
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultSMTPTimeout
	}
	return c
}

// Validate reports why the configuration cannot work, or nil.
func (c SMTPConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Host == "" || strings.ContainsAny(c.Host, " \t\r\n/@") {
		errs = append(errs, fmt.Errorf("smtp: host must be a host name or IP address (got %q)", c.Host))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("smtp: port must be between 1 and 65535 (got %d)", c.Port))
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(c.Host) {
			errs = append(errs, fmt.Errorf("smtp: tls none is allowed only for localhost, 127.0.0.1 or ::1 (host is %q)", c.Host))
		}
	default:
		errs = append(errs, fmt.Errorf("smtp: tls must be %s, %s or %s (got %q)", TLSStartTLS, TLSImplicit, TLSNone, c.TLS))
	}
	if strings.ContainsAny(c.From, "\r\n") {
		errs = append(errs, errors.New("smtp: from address contains a line break"))
	} else if _, err := netmail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("smtp: from address %q: %w", c.From, err))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

// smtpSender sends each message over a new SMTP connection: Sesame's mail
// volume (sign-in links) does not justify keeping one open, and a fresh
// connection has no stale state after a server restart.
type smtpSender struct {
	cfg SMTPConfig
}

// NewSMTPSender returns a Sender that delivers through the SMTP server in
// cfg. An invalid cfg (see Validate) makes every Send fail.
func NewSMTPSender(cfg SMTPConfig) Sender {
	return &smtpSender{cfg: cfg.withDefaults()}
}

// Send delivers m with a text part and, when m.HTML is set, an HTML
// alternative. An SMTP 5xx answer to the mail itself (e.g. 550 no such
// user) is Permanent; everything else (connection refused, 4xx, timeouts)
// is worth retrying.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return Permanent(err)
	}
	cfg := s.cfg
	if err := cfg.Validate(); err != nil {
		return err
	}
	msg, err := s.message(m)
	if err != nil {
		return err
	}

	// go-mail applies its timeout per phase and re-arms it; a hard
	// deadline on the connection bounds the whole transaction, so the
	// outbox's lease can safely be a fixed multiple of it.
	deadline := time.Now().Add(cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	tlsCfg := s.tlsConfig()
	var mu sync.Mutex
	var conns []*deadlineConn
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		// go-mail formats "host:port" without brackets, which breaks IPv6
		// literals: join the address here.
		addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
		d := net.Dialer{Deadline: deadline}
		raw, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		dc := &deadlineConn{Conn: raw, hard: deadline}
		_ = raw.SetDeadline(deadline)
		mu.Lock()
		conns = append(conns, dc)
		mu.Unlock()
		if cfg.TLS != TLSImplicit {
			return dc, nil
		}
		tc := tls.Client(dc, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}
	// Cancelling ctx (shutdown) cuts the connection at once.
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.cut()
		}
	})
	defer stop()

	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(tlsCfg),
	}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		// Implicit TLS is done by dial above; none means none.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.Username != "" {
		// PLAIN and LOGIN refuse to run without TLS unless the server is
		// on loopback (go-mail checks the real connection), so the
		// password never travels in clear to another host.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		err = fmt.Errorf("smtp %s: %w", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), err)
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return Permanent(err)
		}
		return err
	}
	return nil
}

func (s *smtpSender) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.cfg.Host
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// message builds the MIME message: From, To, Subject, Date, Message-ID,
// Auto-Submitted, a text/plain part and a text/html alternative with its
// inline parts.
func (s *smtpSender) message(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("smtp: from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, Permanent(fmt.Errorf("%w: recipient: %v", ErrInvalidMessage, err))
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID + "@" + fromDomain(s.cfg.From))
	} else {
		msg.SetMessageID()
	}
	// RFC 3834: an automatic mail; vacation responders stay quiet.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	}
	if m.HTML != "" {
		for _, in := range m.Inline {
			// Inline, under the Content-ID the HTML's cid: URL names;
			// the HTML's alt text stands in where images are off.
			if err := msg.EmbedReader(in.Name, bytes.NewReader(in.Data),
				gomail.WithFileContentID("<"+in.ContentID+">"), gomail.WithFileContentType(gomail.ContentType(in.Type))); err != nil {
				return nil, fmt.Errorf("smtp: inline part: %w", err)
			}
		}
	}
	return msg, nil
}

// fromDomain is the domain of the From address, for Message-IDs.
func fromDomain(from string) string {
	if a, err := netmail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}

// deadlineConn never lets a deadline move past hard (nor be cleared), and
// cut makes every further read or write fail at once.
type deadlineConn struct {
	net.Conn
	mu   sync.Mutex
	hard time.Time
}

func (c *deadlineConn) clamp(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.IsZero() || t.After(c.hard) {
		return c.hard
	}
	return t
}

func (c *deadlineConn) SetDeadline(t time.Time) error     { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *deadlineConn) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

func (c *deadlineConn) cut() {
	c.mu.Lock()
	c.hard = time.Unix(1, 0)
	c.mu.Unlock()
	_ = c.Conn.SetDeadline(time.Unix(1, 0))
}
