package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-idp/sesame/migrations"
)

// Change feed. Replicas cache clients, the policy and signing keys; every
// write such a cache depends on announces itself here, in the transaction
// that makes it, so every replica can drop the entry at once instead of
// serving a stale copy until its TTL runs out (the TTLs stay, as a safety
// net for a lost message). Users and group memberships are not cached (the
// token endpoint, userinfo and authorize read them per request), so a
// membership change announces nothing; a user's disable announces itself
// for subscribers outside the caches.
//
// On PostgreSQL the announcement is pg_notify on one channel per schema
// (so replicas of one deployment hear each other and parallel test
// schemas do not): PostgreSQL delivers it at commit, and never for a
// rolled-back transaction. Each Store that has subscribers keeps one
// dedicated connection LISTENing; when that connection drops it reconnects
// with back-off and then delivers ChangeResync, since notifications sent
// while it was away are lost: subscribers drop everything they cache.
//
// On SQLite the database is one process's: the same calls deliver
// in-process, after commit, to every Store opened on the same file.

// Change kinds.
const (
	ChangeClient    = "client"     // ID: the client's id
	ChangeUser      = "user"       // ID: the user's id (disabled or enabled)
	ChangePolicy    = "policy"     // ID: the policy's name
	ChangeKeys      = "keys"       // ID: the signing key's kid
	ChangeScope     = "scope"      // ID: the custom scope's name
	ChangeResource  = "resource"   // ID: the resource's name
	ChangeAuthEvent = "auth_event" // ID: the event's id (the console's live feed)
	ChangeWebhook   = "webhook"    // ID: the webhook endpoint's id (the store's subscription cache)
	// ChangeResync is the feed's own: announcements may have been missed
	// (the listener reconnected), so drop every cached entry.
	ChangeResync = "resync"
)

// Change is one announcement: what kind of thing changed, and which.
type Change struct {
	Kind string
	ID   string
}

func (c Change) payload() string { return c.Kind + ":" + c.ID }

func parseChange(s string) Change {
	kind, id, _ := strings.Cut(s, ":")
	return Change{Kind: kind, ID: id}
}

// Feed delivers the changes announced by any replica to this Store's
// subscribers.
type Feed struct {
	dialect string
	dsn     string
	channel string
	log     *slog.Logger
	// local is the in-process hub of every Store on one SQLite file.
	local *localHub

	mu     sync.Mutex
	subs   map[int]func(Change)
	next   int
	cancel context.CancelFunc
	done   chan struct{}

	// pid is the backend process id of the listening connection (0 while
	// there is none); resyncs counts ChangeResync deliveries.
	pid     atomic.Uint32
	resyncs atomic.Int64
}

// Changes returns the store's change feed.
func (s *Store) Changes() *Feed { return s.feed }

// Subscribe calls fn with every change announced from now on, and with
// ChangeResync after a gap; the returned func unsubscribes. fn runs on
// the feed's goroutine (PostgreSQL) or the writer's (SQLite, after
// commit): it must be quick and must not block or write to the store.
func (f *Feed) Subscribe(fn func(Change)) func() {
	f.mu.Lock()
	id := f.next
	f.next++
	if f.subs == nil {
		f.subs = map[int]func(Change){}
	}
	f.subs[id] = fn
	if f.dialect == migrations.Postgres && f.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		f.cancel, f.done = cancel, make(chan struct{})
		go f.listen(ctx, f.done)
	}
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.subs, id)
		f.mu.Unlock()
	}
}

// ListenerPID is the PostgreSQL backend process id of the listening
// connection, 0 while there is none (SQLite, no subscriber, reconnecting).
// An operator can find the connection in pg_stat_activity by it (its
// application_name is "sesame-changes").
func (f *Feed) ListenerPID() uint32 { return f.pid.Load() }

// Resyncs counts the ChangeResync deliveries so far (one per (re)connect
// of the listener).
func (f *Feed) Resyncs() int64 { return f.resyncs.Load() }

func (f *Feed) deliver(c Change) {
	if c.Kind == ChangeResync {
		f.resyncs.Add(1)
	}
	f.mu.Lock()
	fns := make([]func(Change), 0, len(f.subs))
	for _, fn := range f.subs {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// close stops the listener, if any, and leaves the local hub.
func (f *Feed) close() {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.cancel = nil
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if f.local != nil {
		f.local.leave(f)
	}
}

// Listener back-off bounds, and how long a silent connection may idle
// before it is pinged (a half-open TCP connection delivers nothing and
// reports no error).
const (
	listenMinBackoff = 50 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
	listenIdlePing   = 15 * time.Second
)

// listen keeps one connection LISTENing until ctx ends.
func (f *Feed) listen(ctx context.Context, done chan struct{}) {
	defer close(done)
	backoff := listenMinBackoff
	for {
		err := f.listenOnce(ctx)
		f.pid.Store(0)
		if ctx.Err() != nil {
			return
		}
		f.log.Warn("change feed: listener lost; reconnecting", "err", err, "backoff", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
		if err == nil { // it had been connected: start the back-off anew
			backoff = listenMinBackoff
		}
	}
}

// listenOnce connects, LISTENs, announces a resync (whatever was sent
// before now may have been missed) and delivers notifications until the
// connection fails. A nil error means it had been connected.
func (f *Feed) listenOnce(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(f.dsn)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = "sesame-changes"
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{f.channel}.Sanitize()); err != nil {
		return err
	}
	f.pid.Store(conn.PgConn().PID())
	f.deliver(Change{Kind: ChangeResync})
	for {
		wctx, cancel := context.WithTimeout(ctx, listenIdlePing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			f.deliver(parseChange(n.Payload))
			continue
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err == nil {
				continue
			}
		}
		return err
	}
}

// notify announces c with the caller's write: inside its transaction on
// PostgreSQL (delivered at commit), after the commit on SQLite. Store
// methods that change cached data call it inside WithTx.
func (s *Store) notify(ctx context.Context, kind, id string) error {
	c := Change{Kind: kind, ID: id}
	if s.dialect == migrations.Postgres {
		return mapErr("announce change", s.conn(ctx).Exec("SELECT pg_notify(?, ?)", s.feed.channel, c.payload()).Error)
	}
	if p, ok := ctx.Value(pendingKey{}).(*[]Change); ok {
		*p = append(*p, c)
		return nil
	}
	s.feed.local.publish(c)
	return nil
}

// pendingKey carries the changes a SQLite transaction announced, to be
// delivered once it commits.
type pendingKey struct{}

func (s *Store) publishPending(p *[]Change) {
	if s.feed.local == nil {
		return
	}
	for _, c := range *p {
		s.feed.local.publish(c)
	}
}

// changeChannel is the PostgreSQL channel of a schema: a hash, so any
// schema name makes a valid, short identifier.
func changeChannel(schema string) string {
	h := sha256.Sum256([]byte(schema))
	return "sesame_changes_" + hex.EncodeToString(h[:8])
}

// localHub joins the Stores of one SQLite file in this process.
type localHub struct {
	mu    sync.Mutex
	feeds map[*Feed]struct{}
}

// localHubs holds one hub per SQLite file: a process-wide registry is what
// "in-process" means for stores opened separately on one file (a test's
// replicas, the CLI beside a server in one process).
var localHubs sync.Map // absolute path → *localHub

func joinLocalHub(path string, f *Feed) *localHub {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	v, _ := localHubs.LoadOrStore(path, &localHub{feeds: map[*Feed]struct{}{}})
	h := v.(*localHub)
	h.mu.Lock()
	h.feeds[f] = struct{}{}
	h.mu.Unlock()
	return h
}

func (h *localHub) leave(f *Feed) {
	h.mu.Lock()
	delete(h.feeds, f)
	h.mu.Unlock()
}

func (h *localHub) publish(c Change) {
	h.mu.Lock()
	feeds := make([]*Feed, 0, len(h.feeds))
	for f := range h.feeds {
		feeds = append(feeds, f)
	}
	h.mu.Unlock()
	for _, f := range feeds {
		f.deliver(c)
	}
}
