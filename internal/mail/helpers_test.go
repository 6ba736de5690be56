package mail_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// Compile-time checks of the contracts the wiring relies on.
var (
	_ mail.OutboxStore = (*store.Store)(nil)
	_ mail.Sender      = (*mail.LogSender)(nil)
)

const from = "Sesame <no-reply@localhost>"

// dialects runs outbox tests on SQLite always and PostgreSQL when
// TEST_DATABASE_URL is set.
var dialects = []struct {
	name string
	open func(testing.TB) *store.Store
}{
	{"sqlite", storetest.OpenSQLite},
	{"postgres", storetest.OpenPostgres},
}

func eachDialect(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) { fn(t, d.open(t)) })
	}
}

// clock is a fake clock for the outbox (the SMTP exchange itself runs in
// real time).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: store.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
