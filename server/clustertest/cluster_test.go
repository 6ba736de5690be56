package clustertest_test

// These tests start real `sesame serve` processes (built once per run by
// clustertest.Binary) on PostgreSQL. They run under plain `go test ./...`
// and in CI, where SESAME_REQUIRE_POSTGRES turns a missing database into a
// failure; without TEST_DATABASE_URL they skip like every PostgreSQL test.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// callback is the app's redirect URI; the browser never fetches it.
const callback = "http://127.0.0.1:9/callback"

func webApp(t *testing.T, c *clustertest.Cluster, rec *clustertest.Recorder) *clustertest.RP {
	t.Helper()
	id, secret := c.CreateClient(clients.Spec{Name: "Acme Notes", RedirectURIs: []string{callback}, SkipConsent: true})
	rp, err := clustertest.NewRP(t.Context(), c.Issuer, id, secret, callback, &http.Client{Transport: rec, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// TestSignInCrossesReplicasWithoutStickiness: with three replicas behind a
// round-robin balancer and no session affinity, every request of one
// sign-in — discovery, authorize, login page, link request, the emailed
// link, the sign-in POST, the resume, the code exchange, JWKS, userinfo and
// a refresh — is answered by a different replica than the one before, and
// the flow completes with a verified ID token.
func TestSignInCrossesReplicasWithoutStickiness(t *testing.T) {
	c := clustertest.Start(t, clustertest.Options{Replicas: 3})
	rec := &clustertest.Recorder{}
	rp := webApp(t, c, rec)
	email := "pat-" + clustertest.Random() + "@example.com"
	u, err := clustertest.CreateUser(t.Context(), c.Store, email)
	if err != nil {
		t.Fatal(err)
	}
	b := clustertest.NewBrowser(t, c.Issuer, rec)
	got, err := clustertest.PasslinkSignIn(t.Context(), b, rp, c.SMTP, email)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != u.ID {
		t.Fatalf("sub %q, want %q", got.Subject, u.ID)
	}
	info, err := rp.UserInfo(t.Context(), got.Token)
	if err != nil || info.Email != email {
		t.Fatalf("userinfo: %v %+v", err, info)
	}
	tok, err := rp.Refresh(t.Context(), got.Token.RefreshToken)
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == got.Token.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}

	hops := rec.Hops()
	seen := map[string]bool{}
	for i, h := range hops {
		if h.Replica == "" {
			t.Fatalf("hop %d %s %s: no replica named", i, h.Method, h.Path)
		}
		seen[h.Replica] = true
		if i > 0 && hops[i-1].Replica == h.Replica {
			t.Errorf("hops %d and %d (%s %s) both went to %s", i-1, i, h.Method, h.Path, h.Replica)
		}
		if h.Status >= 500 {
			t.Errorf("hop %d %s %s: %d", i, h.Method, h.Path, h.Status)
		}
	}
	if len(seen) != 3 || len(hops) < 10 {
		t.Fatalf("%d hops over %d replicas: %+v", len(hops), len(seen), hops)
	}
	t.Logf("%d requests over %v", len(hops), seen)
}

// introspect asks the introspection endpoint (RFC 7662) about token as its
// own client.
func introspect(t *testing.T, c *clustertest.Cluster, clientID, secret, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.URL("/oauth2/introspect"), strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Active bool `json:"active"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("introspect: %d", resp.StatusCode)
	}
	return out.Active
}

// TestReplicaKilledLosesNothing: under a bounded load of token requests
// (client_credentials and refresh-token rotation) through the balancer, one
// of three replicas is killed with SIGKILL. Every token a client received,
// before or after the kill, introspects active on the survivors; every
// refresh chain goes on; a sign-in link requested from the killed replica
// just before the kill (its first delivery attempt failed: the mail server
// was down) is delivered by a survivor — the outbox lives in the
// database — and the person completes the sign-in there.
func TestReplicaKilledLosesNothing(t *testing.T) {
	c := clustertest.Start(t, clustertest.Options{Replicas: 3})
	ctx := t.Context()
	rec := &clustertest.Recorder{}
	web := webApp(t, c, rec)
	machineID, machineSecret := c.CreateClient(clients.Spec{Name: "Machine", GrantTypes: []string{clients.GrantClientCredentials}})
	machine := clientcredentials.Config{ClientID: machineID, ClientSecret: machineSecret, TokenURL: c.URL("/oauth2/token")}

	// Two refresh chains from two sign-ins.
	const chains = 2
	latest := make([]*oauth2.Token, chains)
	for i := range chains {
		email := "chain-" + clustertest.Random() + "@example.com"
		if _, err := clustertest.CreateUser(ctx, c.Store, email); err != nil {
			t.Fatal(err)
		}
		got, err := clustertest.PasslinkSignIn(ctx, clustertest.NewBrowser(t, c.Issuer, rec), web, c.SMTP, email)
		if err != nil {
			t.Fatal(err)
		}
		latest[i] = got.Token
	}

	// The load: bounded in time, a few workers, a short pause each.
	var (
		mu        sync.Mutex
		machines  []string // every client_credentials access token received
		failures  atomic.Int64
		afterKill atomic.Int64
		killed    atomic.Bool
		wg        sync.WaitGroup
	)
	stop := make(chan struct{})
	tick := func() bool {
		select {
		case <-stop:
			return false
		case <-time.After(15 * time.Millisecond):
			return true
		}
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	for range 2 {
		wg.Go(func() {
			for tick() {
				tok, err := machine.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
				if err != nil {
					failures.Add(1)
					continue
				}
				mu.Lock()
				machines = append(machines, tok.AccessToken)
				mu.Unlock()
				if killed.Load() {
					afterKill.Add(1)
				}
			}
		})
	}
	for i := range chains {
		wg.Go(func() {
			for tick() {
				mu.Lock()
				rt := latest[i].RefreshToken
				mu.Unlock()
				// A refresh whose answer was lost (the replica died after
				// rotating) is retried with the same token: the reuse
				// interval gives a fresh pair instead of revoking the grant.
				tok, err := web.Refresh(ctx, rt)
				if err != nil {
					failures.Add(1)
					continue
				}
				mu.Lock()
				latest[i] = tok
				mu.Unlock()
				if killed.Load() {
					afterKill.Add(1)
				}
			}
		})
	}

	time.Sleep(1500 * time.Millisecond)
	// The mail server is down while replica r1 takes a link request, so the
	// mail is still queued (in the database) when r1 dies.
	email := "late-" + clustertest.Random() + "@example.com"
	if _, err := clustertest.CreateUser(ctx, c.Store, email); err != nil {
		t.Fatal(err)
	}
	c.SMTP.Stop()
	pending, err := clustertest.StartPasslinkSignIn(ctx, clustertest.NewBrowser(t, c.Issuer, rec), web, email, "r1")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // r1's first delivery attempt fails
	c.Kill(1)
	killed.Store(true)
	c.SMTP.Start()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(machines) < 20 || afterKill.Load() < 10 {
		t.Fatalf("too little load to mean anything: %d machine tokens, %d answers after the kill", len(machines), afterKill.Load())
	}
	t.Logf("%d machine tokens, %d answers after the kill, %d failed requests (in flight at r1 when it died)", len(machines), afterKill.Load(), failures.Load())
	for i, tok := range machines {
		if !introspect(t, c, machineID, machineSecret, tok) {
			t.Errorf("machine token %d of %d is not active", i, len(machines))
		}
	}
	for i, tok := range latest {
		if !introspect(t, c, web.OAuth.ClientID, web.OAuth.ClientSecret, tok.AccessToken) ||
			!introspect(t, c, web.OAuth.ClientID, web.OAuth.ClientSecret, tok.RefreshToken) {
			t.Errorf("chain %d: its latest tokens are not active", i)
		}
		if _, err := web.Refresh(ctx, tok.RefreshToken); err != nil {
			t.Errorf("chain %d does not go on: %v", i, err)
		}
	}

	// The queued link arrives from a survivor, and the sign-in completes.
	done, err := pending.Finish(ctx, c.SMTP, email)
	if err != nil {
		t.Fatalf("the link requested before the kill: %v", err)
	}
	if _, err := web.UserInfo(ctx, done.Token); err != nil {
		t.Fatalf("userinfo after the kill: %v", err)
	}
	for _, h := range rec.Hops() {
		if h.Status >= 500 && h.Status != http.StatusBadGateway {
			t.Errorf("%s %s: %d from %s", h.Method, h.Path, h.Status, h.Replica)
		}
	}
}
