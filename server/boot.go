package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// firstRetryDelay is the wait after the first failed attempt to reach the
// database; it doubles up to the db_retry_max_delay setting.
const firstRetryDelay = 250 * time.Millisecond

// Opener opens (and migrates) the store; an error that wraps
// models.ErrUnavailable means "not reachable yet, try again".
type Opener func(ctx context.Context) (*store.Store, error)

// Boot runs Sesame on the configured address when its database may not be
// there yet (a fresh deployment whose PostgreSQL starts after it, a
// database restarting): the listener opens at once and answers /healthz
// (alive) while /readyz and every other route answer 503, and open is
// retried with exponential back-off (up to db_retry_max_delay, with
// jitter so replicas do not knock in step) instead of exiting into a
// restart loop. Once the database answers — migrated by open — the
// server is built on it, ready is called (nil: nothing) and Sesame serves
// until ctx ends. An error of open that is not an outage (a wrong
// password, a failed migration) ends Boot at once.
func Boot(ctx context.Context, deps Deps, open Opener, ready func(*Server)) error {
	ln, err := net.Listen("tcp", deps.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", deps.Config.Listen, err)
	}
	return BootOn(ctx, ln, deps, open, ready)
}

// BootOn is Boot on a given listener; deps.Store is set from open.
func BootOn(ctx context.Context, ln net.Listener, deps Deps, open Opener, ready func(*Server)) error {
	if deps.ClockOffset != 0 {
		clock.SetOffset(deps.ClockOffset) // before the store stamps anything
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
		deps.Logger = log
	}
	h := &swapHandler{}
	h.set(starting())
	srv, errc := startHTTP(ln, h, log)
	log.Info("sesame listening", "addr", ln.Addr().String(), "issuer", deps.Config.Issuer)

	s, err := connect(ctx, deps, open, log)
	if err != nil {
		_ = srv.Close()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() {
		s.Close()
		_ = s.st.Close()
	}()
	h.set(s.engine)
	if ready != nil {
		ready(s)
	}
	return s.serve(ctx, srv, errc)
}

// connect opens the store and builds the server on it, retrying outages
// with exponential back-off until ctx ends.
func connect(ctx context.Context, deps Deps, open Opener, log *slog.Logger) (*Server, error) {
	delay := firstRetryDelay
	maxDelay := deps.Config.DBRetryMaxDelay
	if maxDelay <= 0 {
		maxDelay = 30 * time.Second
	}
	for attempt := 1; ; attempt++ {
		st, err := open(ctx)
		if err == nil {
			d := deps
			d.Store = st
			var s *Server
			if s, err = New(ctx, d); err == nil {
				if attempt > 1 {
					log.Info("database reachable: starting", "attempts", attempt)
				}
				return s, nil
			}
			_ = st.Close()
		}
		if !errors.Is(err, models.ErrUnavailable) || ctx.Err() != nil {
			return nil, err
		}
		// ±20% so that replicas started together spread their attempts.
		wait := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		log.Warn("database unavailable: not ready, retrying", "attempt", attempt, "retry_in", wait.Round(time.Millisecond).String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, maxDelay)
	}
}

// starting answers while the database is not reachable yet: alive, not
// ready, everything else 503 with Retry-After.
func starting() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok"))
			return
		}
		w.Header().Set("Retry-After", httpx.OutageRetryAfter)
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.URL.Path == "/readyz" {
			_, _ = w.Write([]byte("database unavailable"))
			return
		}
		_, _ = w.Write([]byte("Sesame is starting: its database is not reachable yet. Try again in a few seconds.\n"))
	})
}

// swapHandler serves the handler last set: the starting one, then the
// server's routes.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}
