package oidc_test

// Benchmarks of the hot protocol paths over loopback HTTP against a real
// Sesame (servertest), on SQLite and on PostgreSQL (skipped without
// TEST_DATABASE_URL). Allocations count both sides: the Go HTTP client and
// the server run in this process.
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench . -benchtime 200x ./oidc/

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// benchForEachDB runs fn as a sub-benchmark per database.
func benchForEachDB(b *testing.B, fn func(b *testing.B, env *servertest.Env)) {
	servertest.EachDialect(b, func(b *testing.B, db ...servertest.Option) { fn(b, servertest.New(b, db...)) })
}

// benchClient is a keep-alive HTTP client that does not follow redirects.
func benchClient(jar http.CookieJar) *http.Client {
	return &http.Client{
		Jar:       jar,
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// benchDo sends req and drains the answer; it fails unless the status is want.
func benchDo(b *testing.B, c *http.Client, req *http.Request, want int) *http.Response {
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s: status %d, want %d", req.Method, req.URL.Path, resp.StatusCode, want)
	}
	return resp
}

func benchReport(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "req/s")
	}
}

// BenchmarkTokenClientCredentials: client_credentials with
// client_secret_basic. The first call (before the timer) pays the argon2id
// check; the rest hit the verified-secret cache.
func BenchmarkTokenClientCredentials(b *testing.B) {
	benchForEachDB(b, func(b *testing.B, env *servertest.Env) {
		id, secret := env.CreateClient(clients.Spec{Name: "Bench M2M", GrantTypes: []string{"client_credentials"}})
		hc := benchClient(nil)
		body := url.Values{"grant_type": {"client_credentials"}}.Encode()
		do := func() {
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			benchDo(b, hc, req, http.StatusOK)
		}
		do()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			do()
		}
		b.StopTimer()
		benchReport(b)
	})
}

// BenchmarkTokenCodeExchange: authorization_code + PKCE for a public
// client (openid profile email: access token and a signed RS256 ID token).
// The b.N codes are made before the timer starts, by a signed-in browser;
// only the exchanges are timed.
func BenchmarkTokenCodeExchange(b *testing.B) {
	benchForEachDB(b, func(b *testing.B, env *servertest.Env) {
		id, _ := env.CreateClient(clients.Spec{Name: "Bench SPA", Public: true, SkipConsent: true, RedirectURIs: []string{redirectURI}})
		browser := benchSignedIn(b, env)
		verifier := oauth2.GenerateVerifier()
		authURL := benchAuthURL(env, id, oauth2.S256ChallengeFromVerifier(verifier))
		codes := make([]string, b.N)
		for i := range codes {
			codes[i] = benchCode(b, browser, authURL)
		}
		hc := benchClient(nil)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]}, "redirect_uri": {redirectURI},
				"code_verifier": {verifier}, "client_id": {id}}
			req, _ := http.NewRequest(http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			benchDo(b, hc, req, http.StatusOK)
		}
		b.StopTimer()
		benchReport(b)
	})
}

// BenchmarkAuthorizeSSO: an authorization request answered from an
// existing login session: session lookup, user load, and the code, OpenID
// Connect and PKCE records written in one transaction, then the redirect.
func BenchmarkAuthorizeSSO(b *testing.B) {
	benchForEachDB(b, func(b *testing.B, env *servertest.Env) {
		id, _ := env.CreateClient(clients.Spec{Name: "Bench SPA", Public: true, SkipConsent: true, RedirectURIs: []string{redirectURI}})
		browser := benchSignedIn(b, env)
		authURL := benchAuthURL(env, id, oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
		benchCode(b, browser, authURL)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			benchCode(b, browser, authURL)
		}
		b.StopTimer()
		benchReport(b)
	})
}

// benchSignedIn returns a no-redirect browser with a login session.
func benchSignedIn(b *testing.B, env *servertest.Env) *http.Client {
	b.Helper()
	u := env.CreateUser("bench@example.com")
	jarClient := env.Browser()
	env.Login(jarClient, u.ID, []string{"pop", "hwk", "user"}, models.ACRPhishingResistant, time.Now())
	return benchClient(jarClient.Jar)
}

func benchAuthURL(env *servertest.Env, clientID, challenge string) string {
	return env.Issuer + "/oauth2/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile email"}, "state": {"bench-state-0123456789"}, "nonce": {"bench-nonce-0123456789"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}.Encode()
}

// benchCode runs one authorization and returns the code from the redirect.
func benchCode(b *testing.B, browser *http.Client, authURL string) string {
	req, _ := http.NewRequest(http.MethodGet, authURL, nil)
	resp := benchDo(b, browser, req, http.StatusSeeOther)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.Fatal(err)
	}
	code := loc.Query().Get("code")
	if code == "" {
		b.Fatalf("no code in %s", loc)
	}
	return code
}

// BenchmarkCORSPreflight: a browser's preflight of the token endpoint from
// a registered origin, among 200 clients' origins: a map lookup in the
// cached union, no database query (after the first, untimed, load).
func BenchmarkCORSPreflight(b *testing.B) {
	benchForEachDB(b, func(b *testing.B, env *servertest.Env) {
		for i := range 200 {
			env.CreateClient(clients.Spec{Name: "SPA", Public: true, RedirectURIs: []string{"https://spa" + strconv.Itoa(i) + ".example/cb"}})
		}
		const origin = "https://spa123.example"
		hc := benchClient(nil)
		do := func() {
			req, _ := http.NewRequest(http.MethodOptions, env.Issuer+"/oauth2/token", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
			if resp := benchDo(b, hc, req, http.StatusNoContent); resp.Header.Get("Access-Control-Allow-Origin") != origin {
				b.Fatalf("preflight not allowed: %v", resp.Header)
			}
		}
		do()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			do()
		}
		b.StopTimer()
		benchReport(b)
	})
}

// BenchmarkBackchannelLogout: a login session that signed in to one client
// with a back-channel logout URI ends (the revocation and its queued
// notice, one transaction), then one delivery pass signs the RS256 logout
// token and POSTs it to the client on loopback (answering 204). Creating
// the session is not timed.
func BenchmarkBackchannelLogout(b *testing.B) {
	servertest.EachDialect(b, func(b *testing.B, db ...servertest.Option) {
		env := servertest.New(b, append(db, servertest.AllowOutbound("127.0.0.0/8"))...)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(recv.Close)
		id, _ := env.CreateClient(clients.Spec{Name: "Bench app", SkipConsent: true, RedirectURIs: []string{redirectURI}, BackchannelLogoutURI: recv.URL + "/bcl"})
		u := env.CreateUser("bench-bcl@example.com")
		ctx := b.Context()
		bcl := env.Server.Provider().BackchannelLogout()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			ls, _, err := websession.NewLoginSession(websession.Login{UserID: u.ID, AMR: []string{"pop"}, ACR: models.ACRBasic, AuthTime: time.Now()}, time.Hour, "bench", "127.0.0.1")
			if err != nil {
				b.Fatal(err)
			}
			if err := env.Store.CreateLoginSession(ctx, ls); err != nil {
				b.Fatal(err)
			}
			if err := env.Store.RecordSessionClient(ctx, &models.SessionClient{SessionID: ls.ID, ClientID: id, UserID: u.ID, CreatedAt: time.Now(), ExpiresAt: ls.ExpiresAt}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := env.Store.RevokeLoginSession(ctx, ls.ID); err != nil {
				b.Fatal(err)
			}
			if n, err := bcl.DeliverDue(ctx); n != 1 || err != nil {
				b.Fatalf("delivered %d: %v", n, err)
			}
		}
		b.StopTimer()
		benchReport(b)
	})
}

// BenchmarkPairwiseSubject: deriving a pairwise sub (one HMAC-SHA-256),
// paid for every ID token, userinfo answer, introspection, JWT access token
// and logout token of a pairwise client.
func BenchmarkPairwiseSubject(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for range b.N {
		_ = oidc.PairwiseSubject(key, "app.example.com", "7d3f0c2e-5b1a-4c57-9a44-0e8f2b6c1d90")
	}
}
