package oidc_test

// The refresh-token reuse interval (RFC 9700 §4.14.2): a refresh token
// presented again by its own client moments after its rotation — two tabs,
// a retry after a timeout, two replicas — gets a fresh pair and revokes
// nothing; after the interval, or from another client, or once the family
// is revoked, reuse still revokes the family.

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

func reuseInterval(d time.Duration) servertest.Option {
	return func(c *config.Config) { c.RefreshTokenReuseInterval = d }
}

// refreshAt runs the refresh_token grant with raw HTTP against the token
// endpoint of base (the issuer, or one replica's own address) without
// failing the test (it runs in goroutines).
func refreshAt(base, clientID, secret, refreshToken string) negTokenResp {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	r, err := negSend(req)
	if err != nil {
		return negTokenResp{Status: -1, Raw: err.Error()}
	}
	return r
}

func (r negTokenResp) str(k string) string { s, _ := r.Body[k].(string); return s }

// concurrentRefreshes presents refreshToken n times at once, spread over
// the bases round-robin, and returns the answers.
func concurrentRefreshes(f *e2eFlow, bases []string, refreshToken string, n int) []negTokenResp {
	results := make([]negTokenResp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = refreshAt(bases[i%len(bases)], f.r.clientID, f.r.secret, refreshToken)
		})
	}
	close(start)
	wg.Wait()
	return results
}

// wantConcurrentRefreshesAllWork: every one of n concurrent refreshes of
// one token gets a fresh, distinct pair; all those pairs are active
// together (nobody's pair was revoked as reuse or rotated out by a loser);
// and each returned refresh token refreshes again afterwards.
func wantConcurrentRefreshesAllWork(t *testing.T, f *e2eFlow, bases []string) {
	t.Helper()
	rt := f.tokens("openid", "offline_access").RefreshToken
	if rt == "" {
		t.Fatal("no refresh token for offline_access")
	}
	for round := range 3 {
		const n = 8
		results := concurrentRefreshes(f, bases, rt, n)
		seen := map[string]bool{}
		for i, r := range results {
			if r.Status != http.StatusOK || r.str("access_token") == "" || r.str("refresh_token") == "" || r.str("id_token") == "" {
				t.Fatalf("round %d: refresh %d of %d concurrent: %d %s", round, i, n, r.Status, r.Raw)
			}
			if seen[r.str("refresh_token")] || r.str("refresh_token") == rt {
				t.Fatalf("round %d: refresh token handed out twice", round)
			}
			seen[r.str("refresh_token")] = true
		}
		for _, r := range results {
			f.wantActive(r.str("refresh_token"), "refresh_token", true)
			f.wantActive(r.str("access_token"), "access_token", true)
		}
		// The spent token stays spent for everyone but a refresh grant.
		f.wantActive(rt, "refresh_token", false)
		// Every winner's and loser's refresh token works, one after another
		// (each is its own rotation, so none is a reuse).
		for i, r := range results {
			next := refreshAt(bases[0], f.r.clientID, f.r.secret, r.str("refresh_token"))
			if next.Status != http.StatusOK || next.str("refresh_token") == "" {
				t.Fatalf("round %d: refresh token %d after the race: %d %s", round, i, next.Status, next.Raw)
			}
			rt = next.str("refresh_token")
		}
		f.wantActive(rt, "refresh_token", true)
	}
}

// TestConcurrentRefreshesKeepTheGrant_RFC9700_4_14_2: of concurrent
// refreshes of one refresh token, none is mistaken for reuse: each gets a
// working pair and the family survives (on SQLite and PostgreSQL).
func TestConcurrentRefreshesKeepTheGrant_RFC9700_4_14_2(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		wantConcurrentRefreshesAllWork(t, f, []string{env.Issuer})
	})
}

// TestConcurrentRefreshesAcrossReplicasKeepTheGrant_RFC9700_4_14_2: the
// same, with the refreshes split between two replicas on one PostgreSQL
// database (each with its own pool and caches).
func TestConcurrentRefreshesAcrossReplicasKeepTheGrant_RFC9700_4_14_2(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.Postgres())
	replica := env.Replica()
	f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
	wantConcurrentRefreshesAllWork(t, f, []string{env.Issuer, replica.HTTP.URL})
}

// TestRefreshReuseAfterTheIntervalRevokesTheFamily_RFC9700_4_14_2: the
// interval is short and narrow. Within it, a presentation by another
// client, or of a token whose family was revoked, is still reuse; after it,
// any reuse revokes the family as before; with the interval off, the first
// reuse does.
func TestRefreshReuseAfterTheIntervalRevokesTheFamily_RFC9700_4_14_2(t *testing.T) {
	t.Parallel()
	// Long enough that two refreshes on a loaded CI machine fall within it
	// (production defaults are documented in SECURITY.md).
	const interval = 2 * time.Second
	negForEachDB(t, []servertest.Option{reuseInterval(interval)}, func(t *testing.T, env *servertest.Env) {
		refresh := func(f *e2eFlow, rt string) negTokenResp {
			return refreshAt(env.Issuer, f.r.clientID, f.r.secret, rt)
		}
		wantRevoked := func(t *testing.T, f *e2eFlow, r negTokenResp, newest negTokenResp) {
			t.Helper()
			negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
			negWantOAuthError(t, refresh(f, newest.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
			f.wantActive(newest.str("refresh_token"), "refresh_token", false)
			f.wantActive(newest.str("access_token"), "access_token", false)
		}

		t.Run("after the interval", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			rt := f.tokens("openid", "offline_access").RefreshToken
			next := refresh(f, rt)
			if next.Status != http.StatusOK {
				t.Fatalf("refresh: %d %s", next.Status, next.Raw)
			}
			// Within the interval: a fresh pair, the family lives.
			again := refresh(f, rt)
			if again.Status != http.StatusOK {
				t.Fatalf("refresh again within the interval: %d %s", again.Status, again.Raw)
			}
			f.wantActive(next.str("refresh_token"), "refresh_token", true)
			time.Sleep(interval + 100*time.Millisecond)
			wantRevoked(t, f, refresh(f, rt), next)
			f.wantActive(again.str("refresh_token"), "refresh_token", false)
		})

		t.Run("another client within the interval", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			other := newRP(t, env, clients.Spec{SkipConsent: true})
			rt := f.tokens("openid", "offline_access").RefreshToken
			next := refresh(f, rt)
			if next.Status != http.StatusOK {
				t.Fatalf("refresh: %d %s", next.Status, next.Raw)
			}
			stolen := refreshAt(env.Issuer, other.clientID, other.secret, rt)
			wantRevoked(t, f, stolen, next)
		})

		t.Run("revoked family within the interval", func(t *testing.T) {
			f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
			rt := f.tokens("openid", "offline_access").RefreshToken
			next := refresh(f, rt)
			if next.Status != http.StatusOK {
				t.Fatalf("refresh: %d %s", next.Status, next.Raw)
			}
			f.revoke(next.str("refresh_token"), "refresh_token")
			negWantOAuthError(t, refresh(f, rt), http.StatusBadRequest, "invalid_grant")
		})
	})

	t.Run("interval off", func(t *testing.T) {
		t.Parallel()
		env := servertest.New(t, reuseInterval(0))
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
		rt := f.tokens("openid", "offline_access").RefreshToken
		next := refreshAt(env.Issuer, f.r.clientID, f.r.secret, rt)
		if next.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", next.Status, next.Raw)
		}
		r := refreshAt(env.Issuer, f.r.clientID, f.r.secret, rt)
		negWantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		negWantOAuthError(t, refreshAt(env.Issuer, f.r.clientID, f.r.secret, next.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
	})
}
