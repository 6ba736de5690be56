package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/server/servertest"
)

// The caches' TTLs (clients 30 s, policy 10 s, keys 30 s) are the safety
// net; these tests give the change feed far less than any of them, so a
// pass proves the announcement, not the expiry, reached the other replica.
const propagationDeadline = 5 * time.Second

// tokenAt asks baseURL's token endpoint for a client_credentials token
// with client_secret_basic; it returns the status and the decoded body.
func tokenAt(t *testing.T, baseURL, id, secret string) (int, map[string]any) {
	t.Helper()
	return postTokenAt(t, baseURL, id, secret, url.Values{"grant_type": {"client_credentials"}})
}

// within polls cond every few milliseconds until it holds and returns how
// long that took after start; it fails the test after propagationDeadline.
func within(t *testing.T, what string, start time.Time, cond func() bool) time.Duration {
	t.Helper()
	for {
		if cond() {
			d := time.Since(start)
			t.Logf("%s: %v after the write", what, d.Round(time.Millisecond))
			return d
		}
		if time.Since(start) > propagationDeadline {
			t.Fatalf("%s: not seen within %v (the caches' TTL would be next)", what, propagationDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func machineSpec() clients.Spec {
	return clients.Spec{Name: "Machine", GrantTypes: []string{clients.GrantClientCredentials}}
}

// waitListening waits until env's change feed has its listener (PostgreSQL;
// SQLite delivers in process and has none).
func waitListening(t *testing.T, env *servertest.Env) {
	t.Helper()
	if env.Store.Dialect() != "postgres" {
		return
	}
	deadline := time.Now().Add(propagationDeadline)
	for env.Store.Changes().ListenerPID() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("change feed listener never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestChangesReachTheOtherReplica: two replicas on one database, each
// with its own pool and caches. A write on A (client disabled, secret
// rotated, global policy changed, signing key rotated) applies on B as
// soon as the change feed delivers it, which the test measures, instead
// of when B's cached copy expires.
func TestChangesReachTheOtherReplica(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		a := servertest.New(t, opts...)
		b := a.Replica()
		waitListening(t, a)
		waitListening(t, b)
		ctx := t.Context()
		secrets, err := server.ClientSecrets(a.Secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		svcA := clients.NewService(a.Store, secrets)

		t.Run("disable", func(t *testing.T) {
			id, secret := a.CreateClient(machineSpec())
			if st, body := tokenAt(t, b.HTTP.URL, id, secret); st != http.StatusOK {
				t.Fatalf("B before: %d %v", st, body) // B now caches the client
			}
			start := time.Now()
			if _, err := disableClient(ctx, svcA, id); err != nil {
				t.Fatal(err)
			}
			within(t, "disabled on A, refused by B", start, func() bool {
				st, body := tokenAt(t, b.HTTP.URL, id, secret)
				return st == http.StatusUnauthorized && body["error"] == "invalid_client"
			})
		})

		t.Run("rotate secret", func(t *testing.T) {
			id, old := a.CreateClient(machineSpec())
			if st, body := tokenAt(t, b.HTTP.URL, id, old); st != http.StatusOK {
				t.Fatalf("B before: %d %v", st, body)
			}
			start := time.Now()
			fresh, err := svcA.RotateSecret(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			within(t, "rotated on A, new secret accepted by B", start, func() bool {
				st, _ := tokenAt(t, b.HTTP.URL, id, fresh)
				return st == http.StatusOK
			})
			// The same cached copy that accepts the new secret refuses the
			// old one: no window where both work.
			if st, body := tokenAt(t, b.HTTP.URL, id, old); st != http.StatusUnauthorized || body["error"] != "invalid_client" {
				t.Fatalf("B, old secret after rotation: %d %v; want 401 invalid_client", st, body)
			}
		})

		t.Run("global policy", func(t *testing.T) {
			id, secret := a.CreateClient(machineSpec())
			_, body := tokenAt(t, b.HTTP.URL, id, secret) // B now caches the policy
			if got := body["expires_in"].(float64); got > 3600 || got < 60 {
				t.Fatalf("B before: expires_in %v", got)
			}
			liveA := policy.New(a.Store, a.Config)
			p, err := liveA.Current(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.AccessTokenTTL = policy.Duration(42 * time.Second)
			start := time.Now()
			if err := liveA.Save(ctx, p, "test:propagation"); err != nil {
				t.Fatal(err)
			}
			within(t, "policy saved on A, applied by B", start, func() bool {
				_, body := tokenAt(t, b.HTTP.URL, id, secret)
				got, _ := body["expires_in"].(float64)
				return got <= 42
			})
		})

		t.Run("custom scope", func(t *testing.T) {
			scopesOf := func() []string {
				resp, err := http.Get(b.HTTP.URL + "/.well-known/openid-configuration")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var doc struct {
					Scopes []string `json:"scopes_supported"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
					t.Fatal(err)
				}
				return doc.Scopes
			}
			if slices.Contains(scopesOf(), "propagated") { // B now caches the scopes
				t.Fatal("B lists the scope before it exists")
			}
			now := time.Now()
			start := time.Now()
			if err := a.Store.CreateCustomScope(ctx, &models.CustomScope{Name: "propagated", CreatedAt: now, UpdatedAt: now,
				Claims: models.ScopeClaims{{Claim: "propagated_roles", Source: models.ClaimFromAttribute, Attribute: "roles"}}}); err != nil {
				t.Fatal(err)
			}
			within(t, "scope defined on A, in B's discovery", start, func() bool { return slices.Contains(scopesOf(), "propagated") })
			start = time.Now()
			if err := a.Store.DeleteCustomScope(ctx, "propagated"); err != nil {
				t.Fatal(err)
			}
			within(t, "scope deleted on A, gone from B's discovery", start, func() bool { return !slices.Contains(scopesOf(), "propagated") })
		})

		t.Run("key rotation", func(t *testing.T) {
			before, err := b.Server.Keys().SigningKey(ctx, "RS256") // B now caches the key set
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Server.Keys().Rotate(ctx, "RS256"); err != nil {
				t.Fatal(err)
			}
			start := time.Now() // the key's generation is not propagation
			after, err := a.Server.Keys().SigningKey(ctx, "RS256")
			if err != nil {
				t.Fatal(err)
			}
			if after.KeyID() == before.KeyID() {
				t.Fatal("rotation on A kept the signing key")
			}
			within(t, "key rotated on A, signing key used by B", start, func() bool {
				k, err := b.Server.Keys().SigningKey(ctx, "RS256")
				return err == nil && k.KeyID() == after.KeyID()
			})
		})
	})
}

// TestChangeFeedReconnectsAndResyncs: when B's listening connection drops
// (a failover, an idle-connection killer), announcements sent meanwhile
// are lost, so B reconnects and drops every cached entry. The test makes
// B's cache stale behind the feed's back (a write that announces nothing),
// shows B still serving the stale copy, then cuts B's listener: B
// reconnects and refuses, long before the cache's TTL.
func TestChangeFeedReconnectsAndResyncs(t *testing.T) {
	a := servertest.New(t, servertest.Postgres())
	b := a.Replica()
	waitListening(t, b)
	ctx := t.Context()
	id, secret := a.CreateClient(machineSpec())
	if st, body := tokenAt(t, b.HTTP.URL, id, secret); st != http.StatusOK {
		t.Fatalf("B before: %d %v", st, body)
	}
	db, err := a.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE clients SET disabled = true WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	if st, body := tokenAt(t, b.HTTP.URL, id, secret); st != http.StatusOK {
		t.Fatalf("B with an unannounced change: %d %v; want its cached copy (200)", st, body)
	}

	feed := b.Store.Changes()
	pid, resyncs := feed.ListenerPID(), feed.Resyncs()
	start := time.Now()
	var killed bool
	if err := db.QueryRowContext(ctx, "SELECT pg_terminate_backend($1)", int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate listener %d: %v %v", pid, killed, err)
	}
	within(t, "listener reconnected", start, func() bool {
		p := feed.ListenerPID()
		return p != 0 && p != pid && feed.Resyncs() > resyncs
	})
	within(t, "after the resync, refused by B", start, func() bool {
		st, body := tokenAt(t, b.HTTP.URL, id, secret)
		return st == http.StatusUnauthorized && body["error"] == "invalid_client"
	})

	// And announcements flow again on the new connection.
	id2, secret2 := a.CreateClient(machineSpec())
	if st, body := tokenAt(t, b.HTTP.URL, id2, secret2); st != http.StatusOK {
		t.Fatalf("B before: %d %v", st, body)
	}
	start = time.Now()
	if _, err := disableClient(ctx, clients.NewService(a.Store, mustSecrets(t, a)), id2); err != nil {
		t.Fatal(err)
	}
	within(t, "after reconnect, disabled on A, refused by B", start, func() bool {
		st, _ := tokenAt(t, b.HTTP.URL, id2, secret2)
		return st == http.StatusUnauthorized
	})
}

func mustSecrets(t *testing.T, env *servertest.Env) *clients.Secrets {
	t.Helper()
	s, err := server.ClientSecrets(env.Secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestChangeFeedDeliversOnlyCommittedWrites: a rolled-back write announces
// nothing, on both dialects (PostgreSQL drops the NOTIFY with the
// transaction; SQLite delivers after commit only).
func TestChangeFeedDeliversOnlyCommittedWrites(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		a := servertest.New(t, opts...)
		b := a.Replica()
		waitListening(t, b)
		got := make(chan store.Change, 16)
		defer b.Store.Changes().Subscribe(func(c store.Change) {
			if c.Kind == store.ChangeUser {
				got <- c
			}
		})()
		u := a.CreateUser("rollback@example.com")
		ctx := t.Context()
		errRollback := context.Canceled
		err := a.Store.WithTx(ctx, func(ctx context.Context) error {
			if err := a.Store.SetUserDisabled(ctx, u.ID, true); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatalf("rolled back transaction: %v", err)
		}
		if err := a.Store.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-got:
			if c.ID != u.ID {
				t.Fatalf("announced %+v; want the user %s", c, u.ID)
			}
		case <-time.After(propagationDeadline):
			t.Fatal("committed user disable not announced")
		}
		select {
		case c := <-got:
			t.Fatalf("a second announcement %+v: the rolled-back write was announced", c)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestAuthEventsAnnouncedOnce: every recorded auth event reaches the other
// replicas' change feed (the console's live statistics) exactly once, and
// a rolled-back one never: on PostgreSQL the auth_events table's trigger
// sends it from inside the INSERT (migration 00049), on SQLite the store
// after the commit.
func TestAuthEventsAnnouncedOnce(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		a := servertest.New(t, opts...)
		b := a.Replica()
		waitListening(t, b)
		got := make(chan string, 16)
		defer b.Store.Changes().Subscribe(func(c store.Change) {
			if c.Kind == store.ChangeAuthEvent {
				got <- c.ID
			}
		})()
		ctx := t.Context()
		rolledBack := &models.AuthEvent{ID: "ev-rolled-back", Method: models.MethodPasskey, Event: "login", Result: "success"}
		errRollback := context.Canceled
		if err := a.Store.WithTx(ctx, func(ctx context.Context) error {
			if err := a.Store.RecordAuthEvent(ctx, rolledBack); err != nil {
				return err
			}
			return errRollback
		}); err != errRollback {
			t.Fatalf("rolled back transaction: %v", err)
		}
		var want []string
		for i := range 3 {
			ev := &models.AuthEvent{ID: fmt.Sprintf("ev-%d", i), Method: models.MethodPasskey, Event: "login", Result: "success"}
			if err := a.Store.RecordAuthEvent(ctx, ev); err != nil {
				t.Fatal(err)
			}
			want = append(want, ev.ID)
		}
		var heard []string
		for range want {
			select {
			case id := <-got:
				heard = append(heard, id)
			case <-time.After(propagationDeadline):
				t.Fatalf("announced %v of %v", heard, want)
			}
		}
		select {
		case id := <-got:
			t.Fatalf("a further announcement %q after %v (once each, none for the rolled-back event)", id, heard)
		case <-time.After(300 * time.Millisecond):
		}
		slices.Sort(heard)
		if !slices.Equal(heard, want) {
			t.Fatalf("announced %v, want %v", heard, want)
		}
	})
}

// disableClient disables a client as the console and the CLI do.
func disableClient(ctx context.Context, svc *clients.Service, id string) (*models.Client, error) {
	c, err := svc.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	spec := clients.ToSpec(c)
	spec.Disabled = true
	return svc.Update(ctx, id, spec)
}

// postTokenAt posts a token request to base with client_secret_basic and
// returns the status and the decoded body.
func postTokenAt(t *testing.T, base, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// userinfoAt asks base's userinfo endpoint with the access token.
func userinfoAt(t *testing.T, base, at string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUserChangesReachTheOtherReplica: a user disabled, or taken out of
// the group a client admits, on replica A is refused by replica B within
// a second — refresh (invalid_grant), userinfo (401) and, for the disabled
// user, the browser session at /authorize. Nothing caches users or
// memberships (every one of these reads them per request, so neither
// write needs the change feed); the test holds B to the second the issue
// asks for, whatever a future cache does.
func TestUserChangesReachTheOtherReplica(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		a := servertest.New(t, opts...)
		b := a.Replica()
		ctx := t.Context()
		refresh := func(id, secret, rt string) (int, map[string]any) {
			return postTokenAt(t, b.HTTP.URL, id, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		}
		// refreshed refreshes at B and returns the new access and refresh
		// tokens (a refresh revokes the previous ones).
		refreshed := func(id, secret, rt string) (string, string) {
			st, body := refresh(id, secret, rt)
			at, _ := body["access_token"].(string)
			next, _ := body["refresh_token"].(string)
			if st != http.StatusOK || next == "" || at == "" {
				t.Fatalf("B before the change: refresh %d %v", st, body)
			}
			return at, next
		}
		atMostASecond := func(what string, d time.Duration) {
			if d > time.Second {
				t.Errorf("%s: %v; want within 1 s", what, d)
			}
		}

		t.Run("disable", func(t *testing.T) {
			id, secret := a.CreateClient(clients.Spec{Name: "RP", SkipConsent: true, RedirectURIs: []string{outageRedirect}})
			u := a.CreateUser("disable-me@example.com")
			browser := a.Browser()
			a.Login(browser, u.ID, []string{"pop", "user", "mfa"}, models.ACRPhishingResistant, time.Now())
			_, rt := signedInTokens(t, a, browser, id, secret)
			at, rt := refreshed(id, secret, rt)
			if st := userinfoAt(t, b.HTTP.URL, at); st != http.StatusOK {
				t.Fatalf("B before: userinfo %d", st)
			}
			// The browser's session, presented to B.
			bURL, _ := url.Parse(b.HTTP.URL)
			iss, _ := url.Parse(a.Issuer)
			browser.Jar.SetCookies(bURL, browser.Jar.Cookies(iss))
			authorizeAtB := func() *http.Response {
				q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {outageRedirect}, "scope": {"openid"},
					"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
				resp, err := browser.Get(b.HTTP.URL + "/oauth2/authorize?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			if loc := authorizeAtB().Header.Get("Location"); !strings.Contains(loc, "code=") {
				t.Fatalf("B before: authorize with the session redirected to %q; want a code", loc)
			}

			start := time.Now()
			if err := a.Store.SetUserDisabled(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
			atMostASecond("refresh", within(t, "disabled on A, refresh refused by B", start, func() bool {
				st, body := refresh(id, secret, rt)
				return st == http.StatusBadRequest && body["error"] == "invalid_grant"
			}))
			atMostASecond("userinfo", within(t, "disabled on A, userinfo refused by B", start, func() bool {
				return userinfoAt(t, b.HTTP.URL, at) == http.StatusUnauthorized
			}))
			atMostASecond("session", within(t, "disabled on A, B's authorize asks for a sign-in", start, func() bool {
				resp := authorizeAtB()
				return resp.StatusCode == http.StatusOK && resp.Request.URL.Query().Get("interaction") != "" ||
					resp.StatusCode/100 == 3 && !strings.Contains(resp.Header.Get("Location"), "code=")
			}))
		})

		t.Run("group membership", func(t *testing.T) {
			now := store.Now()
			if err := a.Store.CreateGroup(ctx, &models.Group{ID: "grp-staff", Name: "staff", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			id, secret := a.CreateClient(clients.Spec{Name: "Staff RP", SkipConsent: true, RedirectURIs: []string{outageRedirect},
				AllowedGroups: []string{"staff"}})
			u := a.CreateUser("staff@example.com")
			if err := a.Store.AddGroupMember(ctx, "staff", u.ID); err != nil {
				t.Fatal(err)
			}
			browser := a.Browser()
			a.Login(browser, u.ID, []string{"pop", "user", "mfa"}, models.ACRPhishingResistant, time.Now())
			_, rt := signedInTokens(t, a, browser, id, secret)
			_, rt = refreshed(id, secret, rt)

			start := time.Now()
			if err := a.Store.RemoveGroupMember(ctx, "staff", u.ID); err != nil {
				t.Fatal(err)
			}
			atMostASecond("refresh", within(t, "removed from the group on A, refresh refused by B", start, func() bool {
				st, body := refresh(id, secret, rt)
				return st == http.StatusBadRequest && body["error"] == "invalid_grant"
			}))
		})
	})
}
