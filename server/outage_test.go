package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

const outageRedirect = "http://127.0.0.1:9/cb"

// cuttable opens a second store on env's database — a replica's own pool
// — and returns it with a function that takes its database away: on
// PostgreSQL a TCP proxy in front of the server is cut (every connection
// dropped, new ones refused), on SQLite the pool is closed.
func cuttable(t *testing.T, env *servertest.Env) (*store.Store, func()) {
	t.Helper()
	if !strings.HasPrefix(env.DatabaseURL(), "postgres") {
		st, err := store.Open(t.Context(), env.DatabaseURL(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st, func() { _ = st.Close() }
	}
	proxied, proxy := storetest.ProxiedURL(t, env.DatabaseURL())
	st, err := store.Open(t.Context(), proxied, store.Options{})
	if err != nil {
		t.Fatalf("open store through the proxy: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, proxy.Cut
}

// settled returns once replica has heard every change announced on
// primary so far: it waits for replica's listener, then announces one more
// change (a no-op update of client id) and waits for it, as PostgreSQL
// delivers a listener's notifications in commit order. On SQLite
// announcements are delivered before the write returns.
func settled(t *testing.T, primary, replica *store.Store, postgres bool, id string) {
	t.Helper()
	ctx := t.Context()
	feed := replica.Changes()
	heard := make(chan struct{}, 1)
	defer feed.Subscribe(func(c store.Change) {
		if c.Kind == store.ChangeClient && c.ID == id {
			select {
			case heard <- struct{}{}:
			default:
			}
		}
	})()
	deadline := time.Now().Add(10 * time.Second)
	for postgres && feed.ListenerPID() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the replica's change listener never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c, err := primary.GetClient(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := primary.UpdateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-time.After(time.Until(deadline)):
		t.Fatal("the replica did not hear the announcement within 10 s")
	}
}

// tokenResponse posts form to the token endpoint at base.
func tokenResponse(t *testing.T, base, clientID, secret string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v %v", resp.StatusCode, out, err)
	}
	return out
}

// signedInTokens runs the code flow for a signed-in browser at env and
// returns the access and refresh tokens.
func signedInTokens(t *testing.T, env *servertest.Env, b *http.Client, clientID, secret string) (string, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {outageRedirect},
		"scope": {"openid offline_access"}, "state": {"outage-state-0123"}, "nonce": {"outage-nonce-0123"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	resp, err := b.Get(env.Issuer + "/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok := tokenResponse(t, env.Issuer, clientID, secret, url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {outageRedirect}, "code_verifier": {verifier}})
	at, _ := tok["access_token"].(string)
	rt, _ := tok["refresh_token"].(string)
	return at, rt
}

var csrfAttr = regexp.MustCompile(`data-csrf="([^"]+)"`)

// TestDatabaseOutageEverywhereIs503: with its database gone, a replica
// answers every endpoint that needs it with 503 and Retry-After (RFC 9110
// §15.6.4) in that endpoint's own shape — OAuth JSON, hosted page, hosted
// JSON, problem+json, console page — never a 500, never an answer that
// pretends the work was done: introspection does not say active:false
// (RFC 7662 §2.2 would make a resource server refuse a valid token),
// revocation does not say 200 (RFC 7009 §2.2.1: 503, the token still
// exists), logout keeps the session cookie (the session is still alive).
func TestDatabaseOutageEverywhereIs503(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		st, cut := cuttable(t, env)
		replica := env.ReplicaOn(st)
		base := "http://localhost:" + replica.HTTP.URL[strings.LastIndex(replica.HTTP.URL, ":")+1:]

		rp, rpSecret := env.CreateClient(clients.Spec{Name: "Outage RP", SkipConsent: true, RedirectURIs: []string{outageRedirect}})
		adminClient, adminSecret := env.CreateClient(clients.Spec{Name: "Outage admin", GrantTypes: []string{clients.GrantClientCredentials},
			Scopes: []string{clients.ScopeAdmin}})
		user := env.CreateUser("outage@example.com")
		if err := env.Store.SetUserRole(ctx, user.ID, models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		b := env.Browser()
		env.Login(b, user.ID, []string{"pop", "user", "mfa"}, models.ACRPhishingResistant, time.Now())
		at, rt := signedInTokens(t, env, b, rp, rpSecret)
		adminTok, _ := tokenResponse(t, env.Issuer, adminClient, adminSecret, url.Values{"grant_type": {"client_credentials"},
			"scope": {clients.ScopeAdmin}})["access_token"].(string)

		// Every announcement of the set-up (the secret-hash upgrade of the
		// first token request among them) must reach the replica before it
		// caches the client, or a late one empties that cache after the cut.
		settled(t, env.Store, st, strings.HasPrefix(env.DatabaseURL(), "postgres"), adminClient)

		// A parked sign-in (an interaction) of a browser that is not signed
		// in, and the CSRF token of its login page, taken from the replica
		// while its database is there.
		guest := env.Browser()
		guest.CheckRedirect = nil // the replica's port is not the issuer's
		q := url.Values{"response_type": {"code"}, "client_id": {rp}, "redirect_uri": {outageRedirect}, "scope": {"openid"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
		resp, err := guest.Get(base + "/oauth2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		interaction := resp.Request.URL.Query().Get("interaction")
		m := csrfAttr.FindSubmatch(page)
		if interaction == "" || m == nil {
			t.Fatalf("no login page with an interaction before the outage: %d %s", resp.StatusCode, resp.Request.URL)
		}
		csrf := string(m[1])

		cut()

		form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
		type check func(t *testing.T, resp *http.Response, body string)
		json503 := func(code string) check {
			return func(t *testing.T, resp *http.Response, body string) {
				var v map[string]any
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &v) != nil || v["error"] != code {
					t.Fatalf("body %s (%s), want JSON error %q", body, resp.Header.Get("Content-Type"), code)
				}
				if _, ok := v["active"]; ok {
					t.Fatalf("an outage answered as a token state: %s", body)
				}
			}
		}
		html503 := func(t *testing.T, resp *http.Response, body string) {
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Temporarily unavailable") && !strings.Contains(body, "briefly unavailable") {
				t.Fatalf("body (%s) is not the unavailable page: %.300s", resp.Header.Get("Content-Type"), body)
			}
		}
		problem503 := func(t *testing.T, resp *http.Response, body string) {
			var p map[string]any
			if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(body), &p) != nil || p["status"] != float64(503) {
				t.Fatalf("body %s (%s), want a 503 problem", body, resp.Header.Get("Content-Type"))
			}
		}
		for _, tc := range []struct {
			name    string
			client  *http.Client
			method  string
			path    string
			body    io.Reader
			headers map[string]string
			check   check
		}{
			{"token: refresh", http.DefaultClient, "POST", "/oauth2/token", form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(rp, rpSecret)}, json503("server_error")},
			{"authorize: signed in", b, "GET", "/oauth2/authorize?" + q.Encode(), nil, nil, nil},
			{"resume", guest, "GET", "/oauth2/authorize/resume?interaction=" + interaction, nil, nil, html503},
			{"introspection", http.DefaultClient, "POST", "/oauth2/introspect", form(url.Values{"token": {at}}),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(rp, rpSecret)}, json503("temporarily_unavailable")},
			{"revocation", http.DefaultClient, "POST", "/oauth2/revoke", form(url.Values{"token": {rt}}),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(rp, rpSecret)}, json503("temporarily_unavailable")},
			{"userinfo", http.DefaultClient, "GET", "/oauth2/userinfo", nil, map[string]string{"Authorization": "Bearer " + at}, json503("temporarily_unavailable")},
			{"logout", b, "GET", "/oauth2/logout", nil, nil, html503},
			{"hosted page: login", guest, "GET", "/login?interaction=" + interaction, nil, nil, html503},
			{"hosted page: consent", guest, "GET", "/consent?interaction=" + interaction, nil, nil, html503},
			{"hosted page: account", b, "GET", "/account", nil, nil, html503},
			{"hosted JSON API: passkey options", guest, "POST", "/webauthn/login/options", strings.NewReader(`{"interaction":"` + interaction + `"}`),
				map[string]string{"Content-Type": "application/json", "Origin": env.Issuer, "X-CSRF-Token": csrf}, json503("unavailable")},
			{"admin API: bearer token", http.DefaultClient, "GET", "/api/admin/v1/clients", nil, map[string]string{"Authorization": "Bearer " + adminTok}, problem503},
			{"admin API: console session", b, "GET", "/api/admin/v1/users", nil, nil, problem503},
			{"console page", b, "GET", "/console/clients", nil, map[string]string{"Accept": "text/html"}, html503},
			{"readiness", http.DefaultClient, "GET", "/readyz", nil, nil, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(tc.method, base+tc.path, tc.body)
				for k, v := range tc.headers {
					req.Header.Set(k, v)
				}
				c := *tc.client
				c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
				start := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body := string(raw)
				if tc.name == "authorize: signed in" {
					// The client's redirect URI is verified: the error goes
					// to it (RFC 6749 §4.1.2.1), with Retry-After.
					loc, _ := url.Parse(resp.Header.Get("Location"))
					if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("error") != "temporarily_unavailable" {
						t.Fatalf("got %d %s, want temporarily_unavailable at the client", resp.StatusCode, resp.Header.Get("Location"))
					}
				} else if resp.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("%s %s: %d %.300s, want 503", tc.method, tc.path, resp.StatusCode, body)
				}
				if tc.path != "/readyz" {
					if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 || n > 5 {
						t.Errorf("Retry-After = %q, want 1 to 5 seconds", resp.Header.Get("Retry-After"))
					}
				}
				for _, ck := range resp.Cookies() {
					if ck.MaxAge < 0 {
						t.Errorf("cookie %s cleared during an outage: the session is still alive", ck.Name)
					}
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("answered after %s", d)
				}
				if tc.check != nil {
					tc.check(t, resp, body)
				}
			})
		}

		// Nothing was done behind the 503s: the refresh token is still live
		// and the browser still signed in (the database never saw a write).
		if tok := tokenResponse(t, env.Issuer, rp, rpSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); tok["access_token"] == nil {
			t.Fatal("the refresh token did not survive the outage")
		}
	})
}

func basic(id, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return req.Header.Get("Authorization")
}
