package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// failTokenWrites makes every UPDATE and DELETE of oauth2_requests fail
// in the database (a trigger), while reads work: the store answers, but a
// revocation or a logout cannot write. It returns the undo.
func failTokenWrites(t *testing.T, env *servertest.Env) func() {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var do, undo []string
	if strings.HasPrefix(env.DatabaseURL(), "postgres") {
		do = []string{
			`CREATE FUNCTION forced_write_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'forced write failure'; END $$`,
			`CREATE TRIGGER forced_write_failure BEFORE UPDATE OR DELETE ON oauth2_requests FOR EACH ROW EXECUTE FUNCTION forced_write_failure()`,
		}
		undo = []string{`DROP TRIGGER forced_write_failure ON oauth2_requests`, `DROP FUNCTION forced_write_failure()`}
	} else {
		do = []string{
			`CREATE TRIGGER forced_update_failure BEFORE UPDATE ON oauth2_requests BEGIN SELECT RAISE(ABORT, 'forced write failure'); END`,
			`CREATE TRIGGER forced_delete_failure BEFORE DELETE ON oauth2_requests BEGIN SELECT RAISE(ABORT, 'forced write failure'); END`,
		}
		undo = []string{`DROP TRIGGER forced_update_failure`, `DROP TRIGGER forced_delete_failure`}
	}
	for _, q := range do {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return func() {
		for _, q := range undo {
			if _, err := db.ExecContext(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}

var logoutCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestFailedWriteIsNeverReportedDone (SQLite and PostgreSQL): with the
// database answering reads but refusing the writes (a trigger on the
// token table), a revocation of a refresh or access token is a 5xx OAuth
// error (RFC 7009 §2.2.1: the client keeps the token and retries), never
// 200; a confirmed sign-out is the "Sign-out failed" page with the session
// cookie kept, never "signed out" — its transaction (session revoked,
// then its tokens) rolls back whole. Once writes work again nothing was
// half done: the refresh token refreshes, the browser is still signed in
// (authorize answers with a code, no login page), and now revocation and
// sign-out succeed.
func TestFailedWriteIsNeverReportedDone(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		rp, secret := env.CreateClient(clients.Spec{Name: "Write-failure RP", SkipConsent: true, RedirectURIs: []string{outageRedirect}})
		user := env.CreateUser("writefail@example.com")
		b := env.Browser()
		env.Login(b, user.ID, []string{"pop", "user", "mfa"}, models.ACRPhishingResistant, time.Now())
		at, rt := signedInTokens(t, env, b, rp, secret)
		if at == "" || rt == "" {
			t.Fatal("no tokens")
		}
		do := func(c *http.Client, method, path string, form url.Values, basicAuth bool) (*http.Response, string) {
			t.Helper()
			req, _ := http.NewRequest(method, env.Issuer+path, strings.NewReader(form.Encode()))
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", env.Issuer)
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			if basicAuth {
				req.Header.Set("Authorization", basic(rp, secret))
			}
			cl := *c
			cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(raw)
		}
		// The sign-out confirmation page and its CSRF token, before the
		// failure (reading it writes nothing to the token table anyway).
		_, page := do(b, http.MethodGet, "/oauth2/logout", nil, false)
		m := logoutCSRF.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no sign-out confirmation page: %.300s", page)
		}

		restore := failTokenWrites(t, env)
		for _, tok := range []struct{ name, value string }{{"refresh token", rt}, {"access token", at}} {
			t.Run("revoke "+tok.name, func(t *testing.T) {
				resp, body := do(http.DefaultClient, http.MethodPost, "/oauth2/revoke", url.Values{"token": {tok.value}}, true)
				var v map[string]any
				_ = json.Unmarshal([]byte(body), &v)
				if resp.StatusCode < 500 || (v["error"] != "temporarily_unavailable" && v["error"] != "server_error") {
					t.Fatalf("revocation whose write failed: %d %s, want a 5xx OAuth error", resp.StatusCode, body)
				}
			})
		}
		t.Run("sign out", func(t *testing.T) {
			resp, body := do(b, http.MethodPost, "/oauth2/logout", url.Values{"confirm": {"yes"}, "csrf": {m[1]}}, false)
			if resp.StatusCode < 500 || !strings.Contains(body, "Sign-out failed") || strings.Contains(body, "signed out") {
				t.Fatalf("sign-out whose write failed: %d %.300s, want the 5xx sign-out failed page", resp.StatusCode, body)
			}
			for _, ck := range resp.Cookies() {
				if ck.MaxAge < 0 {
					t.Errorf("cookie %s cleared though the session could not be ended", ck.Name)
				}
			}
		})
		restore()

		// Nothing half done: the grant and the session live.
		if tok := tokenResponse(t, env.Issuer, rp, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); tok["access_token"] == nil {
			t.Fatal("the refresh token did not survive the failed revocation")
		}
		_, rt2 := signedInTokens(t, env, b, rp, secret) // fails unless still signed in
		// And with writes back, both succeed.
		if resp, body := do(http.DefaultClient, http.MethodPost, "/oauth2/revoke", url.Values{"token": {rt2}}, true); resp.StatusCode != http.StatusOK {
			t.Fatalf("revocation with writes back: %d %s", resp.StatusCode, body)
		}
		if resp, body := do(http.DefaultClient, http.MethodPost, "/oauth2/introspect", url.Values{"token": {rt2}}, true); !strings.Contains(body, `"active":false`) {
			t.Fatalf("revoked refresh token introspects %d %s", resp.StatusCode, body)
		}
		_, page = do(b, http.MethodGet, "/oauth2/logout", nil, false)
		if m = logoutCSRF.FindStringSubmatch(page); m == nil {
			t.Fatalf("no sign-out confirmation page: %.300s", page)
		}
		resp, body := do(b, http.MethodPost, "/oauth2/logout", url.Values{"confirm": {"yes"}, "csrf": {m[1]}}, false)
		if resp.StatusCode >= 400 || strings.Contains(body, "Sign-out failed") {
			t.Fatalf("sign-out with writes back: %d %.300s", resp.StatusCode, body)
		}
	})
}
