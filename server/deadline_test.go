package server_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// holdPool takes every connection of st's pool and keeps it busy until
// the returned release is called: on PostgreSQL each runs a pg_sleep (a
// slow query), on SQLite each is simply held.
func holdPool(t *testing.T, st *store.Store, n int) (release func()) {
	t.Helper()
	db, err := st.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var conns []*sql.Conn
	for range n {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatalf("take a pool connection: %v", err)
		}
		conns = append(conns, conn)
	}
	var wg sync.WaitGroup
	if st.Dialect() == "postgres" {
		for _, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = conn.ExecContext(ctx, "SELECT pg_sleep(60)")
			}()
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			for _, c := range conns {
				_ = c.Close()
			}
		})
	}
	t.Cleanup(release)
	return release
}

// TestPoolExhaustionIs503NotAHang: while slow queries hold every
// connection of a replica's pool, its other requests end at the request
// deadline (request_timeout) with 503 and Retry-After instead of waiting
// for a connection as long as the slow queries last; once the pool is
// free they succeed again.
func TestPoolExhaustionIs503NotAHang(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		const poolSize = 2
		env := servertest.New(t, append(opts, servertest.With(func(c *config.Config) { c.RequestTimeout = time.Second }))...)
		st, err := store.Open(t.Context(), env.DatabaseURL(), store.Options{MaxOpenConns: poolSize})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		replica := env.ReplicaOn(st)

		rp, rpSecret := env.CreateClient(clients.Spec{Name: "Pool RP", SkipConsent: true, RedirectURIs: []string{outageRedirect}})
		user := env.CreateUser("pool@example.com")
		b := env.Browser()
		env.Login(b, user.ID, []string{"pop", "user"}, models.ACRPhishingResistant, time.Now())
		at, _ := signedInTokens(t, env, b, rp, rpSecret)
		userinfo := func() (*http.Response, time.Duration) {
			req, _ := http.NewRequest(http.MethodGet, replica.HTTP.URL+"/oauth2/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+at)
			start := time.Now()
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("userinfo: %v (after %s)", err, time.Since(start))
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp, time.Since(start)
		}
		if resp, _ := userinfo(); resp.StatusCode != http.StatusOK {
			t.Fatalf("userinfo before: %d", resp.StatusCode)
		}

		release := holdPool(t, st, poolSize)
		// Several requests at once, of several kinds: each waits for a
		// connection until its deadline, then answers 503.
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var resp *http.Response
				var took time.Duration
				switch i % 3 {
				case 0:
					resp, took = userinfo()
				case 1:
					req, _ := http.NewRequest(http.MethodPost, replica.HTTP.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {at}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", basic(rp, rpSecret))
					start := time.Now()
					r, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
					if err != nil {
						t.Errorf("introspect: %v", err)
						return
					}
					r.Body.Close()
					resp, took = r, time.Since(start)
				default:
					start := time.Now()
					r, err := (&http.Client{Timeout: 30 * time.Second}).Get(replica.HTTP.URL + "/login?interaction=no-such-interaction")
					if err != nil {
						t.Errorf("login page: %v", err)
						return
					}
					r.Body.Close()
					resp, took = r, time.Since(start)
				}
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
					t.Errorf("request %d with the pool held: %d (Retry-After %q) after %s, want 503", i, resp.StatusCode, resp.Header.Get("Retry-After"), took)
				}
				// The deadline is 1 s; 10 s only tells an answer from a hang
				// on a busy machine (the slow queries last 60 s).
				if took > 10*time.Second {
					t.Errorf("request %d took %s with the pool held", i, took)
				}
			}()
		}
		wg.Wait()

		release()
		if resp, _ := userinfo(); resp.StatusCode != http.StatusOK {
			t.Fatalf("userinfo after the pool is free: %d", resp.StatusCode)
		}
	})
}
