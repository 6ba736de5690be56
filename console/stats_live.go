package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
)

// Live updates. Any replica may record an event; the store announces each
// on its change feed (PostgreSQL NOTIFY, delivered to every replica; in
// process on SQLite), and the server calls Wake. One goroutine per replica
// (only while a dashboard is open) then reads the events newer than the
// last it saw — one indexed query on auth_events.at — and fans them out to
// the open /console/events streams. It also looks every PollInterval, as a
// safety net for an announcement lost while the feed reconnected. Events
// are looked for from a few seconds before the newest seen, with the ids
// seen recently remembered, so an event committed late by a slow
// transaction is not missed and none is sent twice.

// liveLookBack is how far before the newest seen event each poll looks.
const liveLookBack = 5 * time.Second

type statsHub struct {
	s        *StatsService
	interval time.Duration

	// wake is signalled when an event was recorded somewhere (Wake).
	wake chan struct{}

	mu      sync.Mutex
	subs    map[chan []FeedItem]struct{}
	running bool
}

func newStatsHub(s *StatsService, interval time.Duration) *statsHub {
	return &statsHub{s: s, interval: interval, subs: map[chan []FeedItem]struct{}{}, wake: make(chan struct{}, 1)}
}

// Wake tells the live feed that an auth event was recorded (on any
// replica): open dashboards get it now rather than at the next poll. It
// never blocks; wakes while a read is under way fold into one more read.
func (s *StatsService) Wake() {
	select {
	case s.hub.wake <- struct{}{}:
	default:
	}
}

// Subscribe returns a channel of new feed items and a func to unsubscribe.
func (s *StatsService) Subscribe() (<-chan []FeedItem, func()) {
	h := s.hub
	ch := make(chan []FeedItem, 8)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	if !h.running {
		h.running = true
		go h.run(h.s.now())
	}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// run polls until the last subscriber leaves. Events at or before start
// were on the page when it was rendered; later ones are new.
func (h *statsHub) run(start time.Time) {
	ctx := context.Background()
	newest := start
	seen := map[string]time.Time{}
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		h.mu.Lock()
		if len(h.subs) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()

		evs, err := h.s.st.RecentAuthEvents(ctx, newest.Add(-liveLookBack), 200)
		if err != nil {
			h.s.log.Warn("console live feed: poll", "err", err)
		}
		var fresh []models.AuthEvent
		for _, e := range evs {
			if _, ok := seen[e.ID]; ok || !e.At.After(start) {
				continue
			}
			seen[e.ID] = e.At
			if e.At.After(newest) {
				newest = e.At
			}
			fresh = append(fresh, e)
		}
		for id, at := range seen {
			if at.Before(newest.Add(-2 * liveLookBack)) {
				delete(seen, id)
			}
		}
		if len(fresh) > 0 {
			items, err := h.s.feedItems(ctx, fresh) // newest first
			if err != nil {
				h.s.log.Warn("console live feed: items", "err", err)
			}
			if len(items) > 0 {
				h.broadcast(items)
			}
		}
		select {
		case <-t.C:
		case <-h.wake:
		}
	}
}

func (h *statsHub) broadcast(items []FeedItem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- slices.Clone(items):
		default: // a slow reader misses an update, never blocks the others
		}
	}
}

// sseHeartbeat keeps proxies from closing an idle stream.
const sseHeartbeat = 15 * time.Second

// sseMaxAge ends a stream after a while: the browser reconnects through
// the console's Auth again, so a session that was signed out or timed out
// stops receiving events. (console.js also pauses the stream while nobody
// uses the page, so an open dashboard does not keep a session alive.)
const sseMaxAge = 10 * time.Minute

// ServeEvents streams new sign-ins as server-sent events: "signin" events
// whose data is a JSON array of FeedItem, newest first.
func (s *StatsService) ServeEvents(c *gin.Context) { s.serveEvents(c, nil) }

// serveEvents is ServeEvents with each batch passed through localize
// (the console's: the words in the admin's language), when set.
func (s *StatsService) serveEvents(c *gin.Context, localize func([]FeedItem) []FeedItem) {
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	// The server's write timeout would cut the stream; this response may
	// last as long as the page is open.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	ch, unsubscribe := s.Subscribe()
	defer unsubscribe()
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 3000\n: connected\n\n"); err != nil {
		return
	}
	_ = rc.Flush()
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	ctx, cancel := context.WithTimeout(c.Request.Context(), sseMaxAge)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case items := <-ch:
			if localize != nil {
				items = localize(items)
			}
			b, err := json.Marshal(items)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "event: signin\ndata: %s\n\n", b); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
