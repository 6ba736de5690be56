package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/server"
)

// TestDatabaseUnavailableAtStart: serve started before its database is
// reachable stays alive (/healthz 200) and not ready (/readyz and the
// routes 503 with Retry-After), retries with back-off instead of exiting
// (or spinning), and once the database appears migrates it and becomes
// ready. On PostgreSQL the database sits behind a proxy that refuses
// connections until the test restores it; on SQLite the opener reports
// the database unreachable until the test lets it through.
func TestDatabaseUnavailableAtStart(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		var dsn string
		var restore func()
		if d.Name == storetest.Postgres.Name {
			var proxy *storetest.Proxy
			dsn, proxy = storetest.ProxiedURL(t, storetest.EmptyPostgresURL(t))
			proxy.Cut()
			restore = proxy.Restore
		} else {
			dsn = filepath.Join(t.TempDir(), "fresh.db")
		}
		var up atomic.Bool
		if restore == nil {
			restore = func() { up.Store(true) }
		}
		var mu sync.Mutex
		var attempts []time.Time
		open := func(ctx context.Context) (*store.Store, error) {
			mu.Lock()
			attempts = append(attempts, time.Now())
			mu.Unlock()
			if d.Name != storetest.Postgres.Name && !up.Load() {
				return nil, fmt.Errorf("open sqlite: %w", models.ErrUnavailable)
			}
			st, err := store.Open(ctx, dsn, store.Options{})
			if err != nil {
				return nil, err
			}
			if err := st.Migrate(ctx); err != nil {
				_ = st.Close()
				return nil, err
			}
			return st, nil
		}

		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		cfg := config.Default()
		cfg.Dev, cfg.DataDir, cfg.Issuer, cfg.Listen = true, t.TempDir(), base, ln.Addr().String()
		cfg.DBRetryMaxDelay = time.Second
		cfg.ShutdownDrainDelay = 0
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		var readyCalled atomic.Bool
		done := make(chan error, 1)
		go func() {
			done <- server.BootOn(ctx, ln, server.Deps{Config: cfg, Secret: []byte("test-system-secret-0123456789-abcdefghijklmnopqrstuvwxyz"),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, open, func(*server.Server) { readyCalled.Store(true) })
		}()
		get := func(path string) (int, http.Header) {
			resp, err := http.Get(base + path)
			if err != nil {
				return -1, nil
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, resp.Header
		}

		// While the database is away: alive, not ready, for a while.
		deadline := time.Now().Add(2500 * time.Millisecond)
		for time.Now().Before(deadline) {
			if s, _ := get("/healthz"); s != http.StatusOK {
				t.Fatalf("/healthz with the database away: %d, want 200 (alive)", s)
			}
			if s, _ := get("/readyz"); s != http.StatusServiceUnavailable {
				t.Fatalf("/readyz with the database away: %d, want 503", s)
			}
			if s, h := get("/login"); s != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
				t.Fatalf("/login with the database away: %d, want 503 with Retry-After", s)
			}
			select {
			case err := <-done:
				t.Fatalf("serve ended while waiting for its database: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
		}
		mu.Lock()
		n := len(attempts)
		gaps := make([]time.Duration, 0, n)
		for i := 1; i < n; i++ {
			gaps = append(gaps, attempts[i].Sub(attempts[i-1]))
		}
		mu.Unlock()
		// Back-off from 250 ms doubling to 1 s: about 4 attempts in 2.5 s,
		// not a tight loop, and the waits grow.
		if n < 2 || n > 10 {
			t.Fatalf("%d attempts to reach the database in 2.5 s, want a few (back-off)", n)
		}
		// The longest wait, not the last: each wait is jittered ±20 % and
		// an attempt's own duration varies on a loaded machine.
		if slices.Max(gaps) <= gaps[0] {
			t.Errorf("waits between attempts %v do not grow", gaps)
		}
		if readyCalled.Load() {
			t.Fatal("ready before the database was reachable")
		}

		restore()
		appeared := time.Now()
		for {
			if s, _ := get("/readyz"); s == http.StatusOK {
				break
			}
			if time.Since(appeared) > 10*time.Second {
				t.Fatal("/readyz not 200 within 10 s of the database appearing")
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("ready %s after the database appeared, %d attempts", time.Since(appeared).Round(time.Millisecond), len(attempts))
		if !readyCalled.Load() {
			t.Error("ready callback not called")
		}
		if s, _ := get("/.well-known/openid-configuration"); s != http.StatusOK {
			t.Errorf("discovery once ready: %d", s)
		}
		// The database was migrated on its way up.
		st, err := store.Open(context.Background(), dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.GetUser(context.Background(), "nobody"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("users table after start: %v, want not found (migrated)", err)
		}

		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop")
		}
	})
}
