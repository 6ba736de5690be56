package passlink_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/ratelimit"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// Compile-time checks of the contracts the wiring relies on.
var (
	_ passlink.Store   = (*store.Store)(nil)
	_ passlink.Mailer  = (*mail.Outbox)(nil)
	_ passlink.Limiter = (*ratelimit.Limiter)(nil)
)

// inbox is the outside world's mail server: a Sender that keeps what it
// is given.
type inbox struct {
	mu   sync.Mutex
	msgs []mail.Message
}

func (b *inbox) Send(_ context.Context, m mail.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return nil
}

type env struct {
	st     *store.Store
	svc    *passlink.Service
	clock  *storetest.Clock
	outbox *mail.Outbox
	inbox  *inbox
	capt   *capture
}

const (
	browserA = "browser-hash-a"
	browserB = "browser-hash-b"
)

func newEnv(t testing.TB, st *store.Store, mods ...func(*passlink.Config)) *env {
	t.Helper()
	// Early in an hour, so a test's requests share one hourly rate-limit
	// window (fixed windows start on the hour).
	clk := storetest.NewClockAt(time.Now().UTC().Truncate(time.Hour).Add(time.Minute))
	in := &inbox{}
	ob := mail.NewOutbox(st, in, mail.OutboxOptions{})
	cfg := passlink.Config{
		BaseURL: "https://id.example", Product: "Sesame", SignupOpen: true,
		CodeKey: []byte("0123456789abcdef0123456789abcdef"), Now: clk.Now,
	}
	for _, m := range mods {
		m(&cfg)
	}
	capt := &capture{Outbox: ob, tokens: map[string]string{}}
	svc, err := passlink.New(cfg, st, capt, ratelimit.New(st, clk.Now), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, svc: svc, clock: clk, outbox: ob, inbox: in, capt: capt}
}

// deliver runs one outbox pass and returns every mail delivered so far.
func (e *env) deliver(t testing.TB) []mail.Message {
	t.Helper()
	if _, err := e.outbox.DeliverDue(context.Background()); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	e.inbox.mu.Lock()
	defer e.inbox.mu.Unlock()
	return append([]mail.Message(nil), e.inbox.msgs...)
}

var linkRE = regexp.MustCompile(`https://id\.example/passlink/([A-Za-z0-9_-]{43})`)

// tokenOf returns the link token in a mail, or "".
func tokenOf(m mail.Message) string {
	if s := linkRE.FindStringSubmatch(m.Text); s != nil {
		return s[1]
	}
	return ""
}

func createUser(t testing.TB, st *store.Store, email string, verified bool) *models.User {
	t.Helper()
	u := &models.User{ID: uuid.NewString(), Email: email, DisplayName: "Test User", EmailVerified: verified}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// request asks for a link from browserA and returns what the page shows
// and the token of the mail it caused ("" when none).
func (e *env) request(t testing.TB, email string) (*passlink.Sent, string) {
	t.Helper()
	return e.requestFrom(t, browserA, email)
}

// requestFrom is request from the browser with the given binding hash.
func (e *env) requestFrom(t testing.TB, browser, email string) (*passlink.Sent, string) {
	t.Helper()
	before := len(e.deliver(t))
	sent, err := e.svc.Request(context.Background(), passlink.Request{
		Email: email, BrowserHash: browser, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0", Device: "Chrome on Linux", IP: "192.0.2.10",
	})
	if err != nil {
		t.Fatalf("request %q: %v", email, err)
	}
	msgs := e.deliver(t)
	if len(msgs) > before+1 {
		t.Fatalf("one request sent %d mails", len(msgs)-before)
	}
	if len(msgs) == before+1 {
		return sent, tokenOf(msgs[before])
	}
	return sent, ""
}

// capture is the outbox with a window on it: it remembers the link of the
// last mail enqueued for each address (for the benchmark, which does not
// deliver mails).
type capture struct {
	*mail.Outbox
	mu     sync.Mutex
	tokens map[string]string
}

func (c *capture) Enqueue(ctx context.Context, m mail.Message) error {
	if err := c.Outbox.Enqueue(ctx, m); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens[m.To] = tokenOf(m)
	return nil
}

func (c *capture) token(to string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens[to]
}
