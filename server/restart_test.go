package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestDatabaseRestartUnderLoad: PostgreSQL goes away under a steady load
// of token requests (a proxy in front of it cut, then restored, as a
// restart): while it is away requests fail fast with 503 (never a 500,
// never a hang), service comes back soon after it returns, goroutines
// return to their baseline, and every token that was handed out is a
// real, stored token (no half-issued tokens). Bounded: ~4 s, loopback.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	env := servertest.New(t, servertest.Postgres(), servertest.With(func(c *config.Config) { c.RequestTimeout = 2 * time.Second }))
	proxied, proxy := storetest.ProxiedURL(t, env.DatabaseURL())
	st, err := store.Open(t.Context(), proxied, store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	replica := env.ReplicaOn(st)
	id, secret := env.CreateClient(clients.Spec{Name: "Load", GrantTypes: []string{clients.GrantClientCredentials}, Scopes: []string{clients.ScopeIntrospect}})
	hc := &http.Client{Timeout: 15 * time.Second}
	token := func(base string) (int, string, time.Duration) {
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {clients.ScopeIntrospect}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return -1, err.Error(), time.Since(start)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		at, _ := v["access_token"].(string)
		return resp.StatusCode, at, time.Since(start)
	}
	if s, _, _ := token(replica.HTTP.URL); s != http.StatusOK {
		t.Fatalf("token before: %d", s)
	}
	hc.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	type result struct {
		at     time.Time
		status int
		token  string
		took   time.Duration
	}
	var mu sync.Mutex
	var results []result
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, tok, took := token(replica.HTTP.URL)
				mu.Lock()
				results = append(results, result{time.Now(), s, tok, took})
				mu.Unlock()
				if s != http.StatusOK {
					time.Sleep(20 * time.Millisecond) // a client's pause before retrying
				}
			}
		}()
	}
	time.Sleep(time.Second)
	cutAt := time.Now()
	proxy.Cut()
	time.Sleep(1500 * time.Millisecond)
	proxy.Restore()
	restoredAt := time.Now()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()

	var during, failed, ok int
	var recovered time.Time
	var slowest time.Duration
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			ok++
			if r.at.After(restoredAt) && recovered.IsZero() {
				recovered = r.at
			}
		case r.status == http.StatusServiceUnavailable:
			failed++
		default:
			t.Errorf("a token request answered %d (want 200 or 503)", r.status)
		}
		if r.at.After(cutAt) && r.at.Before(restoredAt) {
			during++
			slowest = max(slowest, r.took)
		}
	}
	if recovered.IsZero() {
		t.Fatal("no token request succeeded after the database came back")
	}
	t.Logf("%d requests (%d ok, %d 503, %d answered while the database was away, slowest then %s); first success %s after it returned",
		len(results), ok, failed, during, slowest.Round(time.Millisecond), recovered.Sub(restoredAt).Round(time.Millisecond))
	if failed == 0 || during == 0 {
		t.Fatal("the outage was not seen by the load")
	}
	// Failing fast: within the request deadline (2 s) plus slack for a
	// busy machine, not the 15 s client timeout.
	if slowest > 5*time.Second {
		t.Errorf("slowest answer during the outage %s", slowest)
	}
	// Every token handed out is a stored, live token.
	for _, r := range results {
		if r.status != http.StatusOK {
			continue
		}
		_, _, _, err := env.Server.Provider().IntrospectAccessToken(t.Context(), r.token)
		if err != nil {
			t.Fatalf("a token handed out is not live: %v", err)
		}
	}
	// No goroutine pile-up: back to the baseline once the load stops.
	hc.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline+8 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline+8 {
		t.Errorf("%d goroutines after the load, %d before", n, baseline)
	}
}
