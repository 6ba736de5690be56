package oidc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// wantRetryAfter asserts a Retry-After of a few seconds (RFC 9110 §10.2.3).
func wantRetryAfter(t *testing.T, h http.Header) {
	t.Helper()
	if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 || n > 5 {
		t.Fatalf("Retry-After = %q, want 1 to 5 seconds", h.Get("Retry-After"))
	}
}

// TestDatabaseOutageIs503WithRetryAfter_RFC6749_5_2: when the database
// goes away, the token endpoint answers 503 server_error (RFC 6749 §5.2 has
// no temporarily_unavailable) and the authorization endpoint 503
// temporarily_unavailable (RFC 6749 §4.1.2.1) — to the client when its
// redirect URI is verified, else on the error page — all with Retry-After
// (RFC 9110 §15.6.4), never an unrecognizable 500.
func TestDatabaseOutageIs503WithRetryAfter_RFC6749_5_2(t *testing.T) {
	t.Parallel()
	env := servertest.New(t, servertest.Postgres())
	// A replica whose database connection the test can cut.
	proxied, proxy := storetest.ProxiedURL(t, env.DatabaseURL())
	st, err := store.Open(t.Context(), proxied, store.Options{})
	if err != nil {
		t.Fatalf("open store through the proxy: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	replica := env.ReplicaOn(st)

	f := newE2EFlow(t, env, clients.Spec{SkipConsent: true})
	rt := f.tokens("openid", "offline_access").RefreshToken
	code, verifier := f.code(url.Values{})
	cold, coldSecret := env.CreateClient(clients.Spec{Name: "Cold", SkipConsent: true, RedirectURIs: []string{redirectURI}})

	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(clientID string) *http.Response {
		t.Helper()
		q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
			"scope": {"openid"}, "state": {negState}, "nonce": {"outage-nonce-0123"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		resp, err := noRedirects.Get(replica.HTTP.URL + "/oauth2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	// Before the outage the replica works (and knows f's client).
	if resp := authorize(f.r.clientID); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/login") {
		t.Fatalf("authorize before the outage: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	warm := refreshAt(replica.HTTP.URL, f.r.clientID, f.r.secret, rt)
	if warm.Status != http.StatusOK {
		t.Fatalf("refresh before the outage: %d %s", warm.Status, warm.Raw)
	}

	proxy.Cut()

	wantTokenOutage := func(t *testing.T, r negTokenResp) {
		t.Helper()
		if r.Status != http.StatusServiceUnavailable || r.err() != "server_error" || !json.Valid([]byte(r.Raw)) ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("got %d %q (%s), want 503 server_error in JSON", r.Status, r.Raw, r.Header.Get("Content-Type"))
		}
		wantRetryAfter(t, r.Header)
	}
	t.Run("token: refresh", func(t *testing.T) {
		wantTokenOutage(t, refreshAt(replica.HTTP.URL, f.r.clientID, f.r.secret, warm.str("refresh_token")))
	})
	t.Run("token: code exchange", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		req, _ := http.NewRequest(http.MethodPost, replica.HTTP.URL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(f.r.clientID), url.QueryEscape(f.r.secret))
		r, err := negSend(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTokenOutage(t, r)
	})
	t.Run("token: client unknown to the replica", func(t *testing.T) {
		// Client authentication itself needs the database: still 503, not
		// invalid_client.
		wantTokenOutage(t, refreshAt(replica.HTTP.URL, cold, coldSecret, "any-refresh-token"))
	})
	t.Run("authorize: verified redirect URI", func(t *testing.T) {
		resp := authorize(f.r.clientID)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), redirectURI) {
			t.Fatalf("got %d %s, want a redirect to the client", resp.StatusCode, resp.Header.Get("Location"))
		}
		q := loc.Query()
		if q.Get("error") != "temporarily_unavailable" || q.Get("state") != negState || q.Get("iss") != env.Issuer {
			t.Fatalf("authorization error response %v", q)
		}
		wantRetryAfter(t, resp.Header)
	})
	t.Run("authorize: unverified redirect URI", func(t *testing.T) {
		// The replica has never loaded this client: its redirect URI cannot
		// be checked, so the answer is the error page.
		resp := authorize(cold)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
			t.Fatalf("got %d %s, want the 503 page", resp.StatusCode, resp.Header.Get("Location"))
		}
		wantRetryAfter(t, resp.Header)
	})
}
