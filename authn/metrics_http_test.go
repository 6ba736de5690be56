package authn_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/telemetry/telemetrytest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

const metricsToken = "metrics-token-0123456789abcdef"

// TestMetricsAfterCodeFlow: after a real authorization code flow (password
// + security key over HTTP, the code exchanged by x/oauth2, the ID token
// verified by go-oidc) and refused password attempts up to the throttle,
// /metrics on the main listener (behind metrics_token) counts the
// sign-ins by method and client, the token by grant and client, the
// requests by route pattern, the throttle's refusals by limit kind, and
// exports the pool, cache, key, outbox, change-feed and build gauges. No
// label carries the code, a token, the interaction id, the user's id or
// address, or a path secret.
func TestMetricsAfterCodeFlow(t *testing.T) {
	servertest.EachDialect(t, metricsAfterCodeFlow)
}

func metricsAfterCodeFlow(t *testing.T, opts ...servertest.Option) {
	env := newPWEnv(t, append(opts, servertest.With(func(c *config.Config) { c.MetricsToken = metricsToken }))...)
	const email, pw = "grace@example.com", "a long enough password 42"
	u := pwUser(t, env.Env, email, pw)
	key := newSecurityKey()
	b := newBrowser(t, env.Env)

	a := env.rp.start()
	in := b.openAuthorization(a)
	callback := b.follow(b.enrol(in, email, pw, key))
	cb, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	code := cb.Query().Get("code")
	tok, err := env.rp.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if idt, err := env.rp.provider.Verifier(&gooidc.Config{ClientID: env.rp.clientID}).Verify(context.Background(), raw); err != nil || idt.Subject != u.ID {
		t.Fatalf("ID token: %v", err)
	}
	// The code again: refused, and counted as such.
	if _, err := env.rp.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier)); err == nil {
		t.Fatal("a used code was exchanged twice")
	}

	// Wrong passwords in a new interaction until the throttle refuses one.
	a2 := env.rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	in2 := b.openAuthorization(a2)
	throttled := false
	for i := 0; i < 10 && !throttled; i++ {
		res := b.passwordStep(in2, email, "wrong password number "+string(rune('a'+i)))
		throttled = res.status == http.StatusTooManyRequests
		if res.status == http.StatusOK {
			t.Fatalf("a wrong password was accepted: %s", res)
		}
	}
	if !throttled {
		t.Fatal("10 wrong passwords in a minute were never throttled")
	}
	// A path with a secret in it (a sign-in link's token).
	const pathSecret = "PATHSECRET0123456789abcdefghijkl"
	b.page("/passlink/" + pathSecret)

	base := env.Issuer + "/metrics"
	for _, tc := range []struct{ name, auth string }{{"none", ""}, {"wrong", "Bearer nope"}, {"basic", "Basic " + metricsToken}} {
		req, _ := http.NewRequest(http.MethodGet, base, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/metrics with %s authorization: %d, want 401", tc.name, resp.StatusCode)
		}
	}

	client := env.rp.clientID
	var s telemetrytest.Scrape
	// The change feed's listener (PostgreSQL) connects in the background.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s = telemetrytest.Get(t, base, metricsToken)
		if v, _ := s.Value("sesame_change_feed_listening", nil); v == 1 || time.Now().After(deadline) {
			break
		}
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
		max    float64
	}{
		{"sesame_sign_ins_total", map[string]string{"method": models.MethodPasswordKey, "client": client, "result": "success"}, 1, 1},
		{"sesame_sign_ins_total", map[string]string{"method": models.MethodPasswordKey, "client": client, "result": "failure"}, 2, 10},
		{"sesame_auth_events_total", map[string]string{"method": models.MethodPasswordKey, "event": "register", "result": "success"}, 1, 1},
		{"sesame_tokens_issued_total", map[string]string{"grant_type": "authorization_code", "client": client}, 1, 1},
		{"sesame_token_errors_total", map[string]string{"grant_type": "authorization_code", "error": "invalid_grant"}, 1, 1},
		{"sesame_rate_limit_hits_total", map[string]string{"limit": "password:account-ip"}, 1, 10},
		{"sesame_http_requests_total", map[string]string{"method": "POST", "route": "/oauth2/token", "code": "200"}, 1, 1},
		{"sesame_http_requests_total", map[string]string{"method": "POST", "route": "/oauth2/token", "code": "400"}, 1, 1},
		{"sesame_http_requests_total", map[string]string{"method": "GET", "route": "/oauth2/authorize"}, 1, 100},
		{"sesame_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/login/password"}, 3, 100},
		{"sesame_cache_requests_total", map[string]string{"cache": "client", "result": "hit"}, 1, 1e6},
		{"sesame_cache_requests_total", map[string]string{"cache": "policy", "result": "hit"}, 1, 1e6},
		{"sesame_cache_requests_total", map[string]string{"cache": "keys", "result": "hit"}, 1, 1e6},
		{"sesame_signing_key_age_seconds", map[string]string{"alg": "RS256", "state": "current"}, 0, 3600},
		{"sesame_mail_outbox_mails", map[string]string{"status": "pending"}, 0, 0},
		{"sesame_mail_outbox_oldest_pending_age_seconds", nil, 0, 0},
		{"sesame_change_feed_listening", nil, 1, 1},
		{"sesame_change_feed_resyncs_total", nil, 0, 100},
		{"go_sql_max_open_connections", map[string]string{"db_name": "sesame"}, 1, 100},
		{"sesame_build_info", nil, 1, 1},
		{"go_goroutines", nil, 1, 1e6},
	} {
		v, ok := s.Value(c.name, c.labels)
		if !ok || v < c.min || v > c.max {
			t.Errorf("%s%v = %v (present %v), want between %v and %v", c.name, c.labels, v, ok, c.min, c.max)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", grepSesame(s.Body))
	}

	secrets := []string{code, tok.AccessToken, in, in2, u.ID, email, pathSecret, a.state, a.verifier}
	for name, values := range s.Labels() {
		for _, v := range values {
			for _, secret := range secrets {
				if secret != "" && strings.Contains(v, secret) {
					t.Errorf("label %s=%q carries a secret", name, v)
				}
			}
			if name == "route" && v != "(unmatched)" && !strings.HasPrefix(v, "/") {
				t.Errorf("route label %q is not a pattern", v)
			}
		}
	}
	for _, secret := range secrets {
		if secret != "" && strings.Contains(s.Body, secret) {
			t.Errorf("the scrape contains %q", secret)
		}
	}
	if v, ok := s.Value("sesame_http_requests_total", map[string]string{"route": "/passlink/:token"}); !ok || v < 1 {
		t.Errorf("the path-secret request is not counted under its pattern /passlink/:token (%v, %v)", v, ok)
	}
}

// grepSesame keeps the sesame_ lines of a scrape, for failure messages.
func grepSesame(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "sesame_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
