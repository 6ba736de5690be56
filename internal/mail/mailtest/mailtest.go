// Package mailtest runs a real SMTP server (emersion/go-smtp) inside a test
// process and records what it receives, decoded for assertions: subject,
// text and HTML parts. It can be stopped and started again on the same
// port (an SMTP outage), speak STARTTLS or implicit TLS with a throw-away
// certificate, and require AUTH PLAIN.
//
//	srv := mailtest.Start(t)
//	sender := mail.NewSMTPSender(srv.SMTPConfig("Sesame <no-reply@localhost>"))
//	…
//	msgs := srv.WaitFor(t, 1, 5*time.Second)
//	link := msgs[0].Links()[0]
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sesame-idp/sesame/internal/mail"
)

// Part is a decoded inline part of a mail.
type Part struct {
	// ContentID is the Content-ID header as sent ("<id>").
	ContentID, Type, Disposition string
	Data                         []byte
}

// Message is one mail the server accepted.
type Message struct {
	// From and To are the envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// Raw is the message as received.
	Raw    []byte
	Header netmail.Header
	// Subject is the decoded Subject header.
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts.
	Text string
	HTML string
	// Inline are the parts with a Content-ID (an HTML body's images), and
	// Types every part's media type in the order met, multiparts included.
	Inline []Part
	Types  []string
	// AuthUser is the user the client authenticated as ("" without AUTH).
	AuthUser string
	// TLS reports whether the mail came over TLS (STARTTLS or implicit).
	TLS bool
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Links returns the URLs in the text part, in order.
func (m Message) Links() []string { return linkRE.FindAllString(m.Text, -1) }

// Option configures the server.
type Option func(*Server)

// WithSTARTTLS offers STARTTLS with a self-signed certificate for
// 127.0.0.1, ::1 and localhost (SMTPConfig trusts it).
func WithSTARTTLS() Option { return func(s *Server) { s.mode = mail.TLSStartTLS } }

// WithImplicitTLS speaks TLS from the first byte.
func WithImplicitTLS() Option { return func(s *Server) { s.mode = mail.TLSImplicit } }

// WithAuth requires AUTH PLAIN with these credentials before MAIL FROM.
func WithAuth(username, password string) Option {
	return func(s *Server) { s.username, s.password = username, password }
}

// WithRcptCheck lets check refuse a recipient: return e.g.
// &smtp.SMTPError{Code: 550, …} for a permanent or 451 for a temporary
// refusal.
func WithRcptCheck(check func(to string) error) Option {
	return func(s *Server) { s.rcptCheck = check }
}

// Server is a running (or stopped) test SMTP server.
type Server struct {
	t         testing.TB
	mode      string // mail.TLSNone, TLSStartTLS or TLSImplicit
	username  string
	password  string
	rcptCheck func(string) error
	cert      tls.Certificate
	roots     *x509.CertPool

	mu       sync.Mutex
	addr     string
	srv      *smtp.Server
	ln       net.Listener
	done     chan struct{}
	messages []Message
	changed  chan struct{} // closed and replaced on every new message
}

// Start starts a server on 127.0.0.1 and a free port; it is stopped when
// the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, mode: mail.TLSNone, changed: make(chan struct{}), addr: "127.0.0.1:0"}
	for _, o := range opts {
		o(s)
	}
	if s.mode != mail.TLSNone {
		s.cert, s.roots = selfSigned(t)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port. It stays the same across Stop and Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Host is the server's IP address, 127.0.0.1.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.Addr())
	return h
}

// Port is the server's port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	var n int
	_, _ = fmt.Sscan(p, &n)
	return n
}

// SMTPConfig is the sender configuration that reaches this server: its
// address, TLS mode (trusting its certificate) and credentials.
func (s *Server) SMTPConfig(from string) mail.SMTPConfig {
	c := mail.SMTPConfig{
		Host: s.Host(), Port: s.Port(), TLS: s.mode, From: from,
		Username: s.username, Password: s.password, Timeout: 10 * time.Second,
	}
	if s.roots != nil {
		c.TLSConfig = &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	}
	return c
}

// Start (re)starts a stopped server on the same port. Starting a running
// server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return
	}
	var ln net.Listener
	var err error
	// The port was just released by Stop; another process could grab it
	// in between, so retry briefly rather than fail on the first try.
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("mailtest: listen on %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 10
	srv.ErrorLog = quiet{}
	// Only on loopback, and only what the test asked for: AUTH without
	// TLS is allowed when the test runs without TLS.
	srv.AllowInsecureAuth = s.mode == mail.TLSNone
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
	switch s.mode {
	case mail.TLSStartTLS:
		srv.TLSConfig = tlsCfg
	case mail.TLSImplicit:
		ln = tls.NewListener(ln, tlsCfg)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	s.srv, s.ln, s.done = srv, ln, done
}

// Stop closes the listener and every open connection: clients get
// "connection refused" until Start. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srv, s.ln, s.done = nil, nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	// Close only closes listeners Serve has registered; one that has not
	// started yet would otherwise accept forever.
	_ = ln.Close()
	<-done
}

// Messages returns the mails received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Reset forgets the mails received so far.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

// WaitFor waits until at least n mails have arrived and returns them all;
// it fails the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := slices.Clone(s.messages), s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("mailtest: %d mails after %s, want %d", len(got), timeout, n)
			return nil
		}
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{srv: s, conn: c}, nil
}

// session is one SMTP connection's state.
type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.srv.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.srv.username || password != ss.srv.password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.srv.rcptCheck != nil {
		if err := ss.srv.rcptCheck(to); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "mailtest: unparseable message: " + err.Error()}
	}
	m.From, m.To, m.AuthUser = ss.from, slices.Clone(ss.to), ss.user
	_, m.TLS = ss.conn.TLSConnectionState()
	ss.srv.record(m)
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// parse decodes the headers, subject and text/HTML parts of a mail.
func parse(raw []byte) (Message, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Raw: raw, Header: msg.Header}
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, fmt.Errorf("subject: %w", err)
	}
	err = walk(&m, msg.Header, msg.Body)
	return m, err
}

// header is a message's or a part's header.
type header interface{ Get(key string) string }

func walk(m *Message, h header, body io.Reader) error {
	contentType, encoding := h.Get("Content-Type"), h.Get("Content-Transfer-Encoding")
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	m.Types = append(m.Types, mt)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(m, p.Header, p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", mt, err)
	}
	switch {
	case h.Get("Content-ID") != "":
		disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
		m.Inline = append(m.Inline, Part{ContentID: h.Get("Content-ID"), Type: mt, Disposition: disp, Data: b})
	case mt == "text/plain":
		m.Text += string(b)
	case mt == "text/html":
		m.HTML += string(b)
	}
	return nil
}

// selfSigned makes a throw-away certificate for the loopback names and a
// pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("mailtest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("mailtest: certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("mailtest: certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// quiet drops go-smtp's error log (connections the client drops on purpose
// in outage tests would otherwise be noise, or log after the test ended).
type quiet struct{}

func (quiet) Printf(string, ...any) {}
func (quiet) Println(...any)        {}
