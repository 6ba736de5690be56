package storetest

import (
	"sync"
	"time"

	"github.com/sesame-idp/sesame/models/store"
)

// Clock is a settable clock for tests (the outside world's time is a fake,
// the database is real). Its Now method is what services take as their
// clock. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at the store's current time (UTC,
// microseconds), so the store's own expiry filters, which read the real
// clock, agree with it until the test moves it.
func NewClock() *Clock { return NewClockAt(store.Now()) }

// NewClockAt returns a clock stopped at t, in t's location.
func NewClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
