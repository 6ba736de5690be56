package authn_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// The passkey JSON API driven over real HTTP, as static/webauthn.js drives
// it, with a virtual authenticator in Go standing in for the browser's
// navigator.credentials (WebAuthn Level 3 §5.1.3/§5.1.4).

const testRPID = "localhost"

// authenticator is a virtual passkey authenticator holding one credential.
type authenticator struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newAuthenticator() *authenticator {
	a := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
	c := virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key())
	a.AddCredential(c)
	return &authenticator{auth: a, cred: c}
}

// p256Key returns a PKCS#8 P-256 key whose coordinates are both 32 bytes:
// virtualwebauthn encodes x and y with big.Int.Bytes, so a short
// coordinate would make a COSE key that go-webauthn rightly refuses
// (RFC 9053 §7.1.1).
func p256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return der
	}
}

func (d *authenticator) id() string { return base64.RawURLEncoding.EncodeToString(d.cred.ID) }

// create answers creation options (navigator.credentials.create) as a
// browser at origin would; the authenticator keeps the user handle, as a
// discoverable credential does.
func (d *authenticator) create(t *testing.T, publicKey json.RawMessage, origin string) json.RawMessage {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(string(publicKey))
	if err != nil {
		t.Fatalf("parse creation options: %v\n%s", err, publicKey)
	}
	d.auth.Options.UserHandle = []byte(ao.UserID)
	rp := virtualwebauthn.RelyingParty{ID: testRPID, Name: "Sesame", Origin: origin}
	// Browsers report the authenticator's transports
	// (AuthenticatorAttestationResponse.getTransports, in toJSON); the
	// virtual authenticator does not, so add what a platform passkey says.
	var m map[string]any
	if err := json.Unmarshal([]byte(virtualwebauthn.CreateAttestationResponse(rp, d.auth, d.cred, *ao)), &m); err != nil {
		t.Fatal(err)
	}
	m["response"].(map[string]any)["transports"] = []string{"hybrid", "internal"}
	return mustJSON(t, m)
}

// get answers request options (navigator.credentials.get); each use
// advances the sign counter, as an authenticator does.
func (d *authenticator) get(t *testing.T, publicKey json.RawMessage, origin string) json.RawMessage {
	t.Helper()
	return d.getAs(t, publicKey, virtualwebauthn.RelyingParty{ID: testRPID, Name: "Sesame", Origin: origin})
}

func (d *authenticator) getAs(t *testing.T, publicKey json.RawMessage, rp virtualwebauthn.RelyingParty) json.RawMessage {
	t.Helper()
	ao, err := virtualwebauthn.ParseAssertionOptions(string(publicKey))
	if err != nil {
		t.Fatalf("parse request options: %v\n%s", err, publicKey)
	}
	d.cred.Counter++
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, d.auth, d.cred, *ao))
}

// browser is an HTTP client with a cookie jar and the CSRF token of the
// last hosted page it loaded (the page's data-csrf attribute).
type browser struct {
	t    *testing.T
	env  *servertest.Env
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, env *servertest.Env) *browser {
	return &browser{t: t, env: env, c: env.Browser()}
}

// with is the same browser reporting to t (a subtest).
func (b *browser) with(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

var csrfAttr = regexp.MustCompile(`data-csrf="([^"]*)"`)

// page loads a hosted page (following redirects within the issuer) and
// keeps its CSRF token.
func (b *browser) page(u string) (*http.Response, string) {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.env.Issuer + u
	}
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfAttr.FindStringSubmatch(string(body)); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return resp, string(body)
}

// openAuthorization starts a's authorization and returns the interaction
// id of the login page it lands on.
func (b *browser) openAuthorization(a *authorization) string {
	b.t.Helper()
	resp, _ := b.page(a.url)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		b.t.Fatalf("authorization landed on %s (status %d), want /login", resp.Request.URL, resp.StatusCode)
	}
	id := resp.Request.URL.Query().Get("interaction")
	if id == "" || b.csrf == "" {
		b.t.Fatalf("login page %s has no interaction or CSRF token", resp.Request.URL)
	}
	return id
}

// apiResponse is one answer of the JSON API.
type apiResponse struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r apiResponse) String() string { return fmt.Sprintf("%d %s", r.status, r.raw) }

func (r apiResponse) str(key string) string { s, _ := r.body[key].(string); return s }

// send posts body to the API with the given content type and CSRF header
// ("" leaves the header out).
func (b *browser) send(path, contentType, csrf string, body io.Reader) apiResponse {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.env.Issuer+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	// What a same-origin fetch() from our page carries.
	req.Header.Set("Origin", b.env.Issuer)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			b.t.Fatalf("POST %s: answer is not JSON: %v\n%s", path, err, raw)
		}
	}
	return out
}

// post sends v as JSON with this browser's CSRF token.
func (b *browser) post(path string, v any) apiResponse {
	b.t.Helper()
	return b.send(path, "application/json", b.csrf, bytes.NewReader(mustJSON(b.t, v)))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type ceremonyOptions struct {
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// options begins a ceremony and fails the test unless it is granted.
func (b *browser) options(path string, req map[string]string) ceremonyOptions {
	b.t.Helper()
	res := b.post(path, req)
	if res.status != http.StatusOK {
		b.t.Fatalf("POST %s %v: %s", path, req, res)
	}
	var o ceremonyOptions
	if err := json.Unmarshal(res.raw, &o); err != nil || o.Ceremony == "" || len(o.PublicKey) == 0 {
		b.t.Fatalf("POST %s: no ceremony in %s (%v)", path, res.raw, err)
	}
	return o
}

func verifyBody(ceremony string, credential json.RawMessage) map[string]any {
	return map[string]any{"ceremony": ceremony, "credential": credential}
}

// redirectOf returns the redirect of a successful verify.
func redirectOf(t *testing.T, res apiResponse) string {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("verify: %s", res)
	}
	r := res.str("redirect")
	if r == "" || !strings.HasPrefix(r, "/") || strings.HasPrefix(r, "//") {
		t.Fatalf("verify answered no local redirect: %s", res.raw)
	}
	return r
}

// follow goes where a verify said and returns the client's callback URL
// the provider redirects to.
func (b *browser) follow(redirect string) string {
	b.t.Helper()
	resp, err := b.c.Get(b.env.Issuer + redirect)
	if err != nil {
		b.t.Fatalf("GET %s: %v", redirect, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		b.t.Fatalf("GET %s: ended at %s with %d, want a redirect to the client", redirect, resp.Request.URL, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// signUp creates an account with d through the API, optionally inside an
// interaction, proves its address with the mailed code, and returns where
// the sign-in goes (the verify's redirect without the proof step).
func (b *browser) signUp(interaction, email, name string, d *authenticator) string {
	b.t.Helper()
	o := b.options("/webauthn/register/options", map[string]string{"interaction": interaction, "email": email, "name": name})
	r := redirectOf(b.t, b.post("/webauthn/register/verify", verifyBody(o.Ceremony, d.create(b.t, o.PublicKey, b.env.Issuer))))
	// The policy holds a sign-up until its address is proven (the
	// default): type the mailed code (verify_email_http_test.go).
	return b.passVerification(r, strings.TrimSpace(email))
}

// signIn signs in with d (username-first when email is set).
func (b *browser) signIn(interaction, email string, d *authenticator) string {
	b.t.Helper()
	o := b.options("/webauthn/login/options", map[string]string{"interaction": interaction, "email": email})
	return redirectOf(b.t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, d.get(b.t, o.PublicKey, b.env.Issuer))))
}

// snapshot is what a refused request must leave untouched: every user,
// credential (with its counter and flags) and login session.
func snapshot(t *testing.T, env *servertest.Env) string {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, q := range []string{
		"SELECT id || ' ' || email || ' ' || display_name FROM users",
		"SELECT id || ' ' || user_id || ' ' || name || ' ' || sign_count || ' ' || clone_warning || ' ' || COALESCE(CAST(last_used_at AS TEXT), '-') FROM webauthn_credentials",
		"SELECT id || ' ' || user_id || ' ' || CASE WHEN revoked_at IS NULL THEN 'live' ELSE 'revoked' END FROM login_sessions",
	} {
		rows, err := db.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var lines []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&out, "%d rows:\n%s\n", len(lines), strings.Join(lines, "\n"))
	}
	return out.String()
}

func countRows(t *testing.T, env *servertest.Env, table string) int {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// wantAPIError checks a refusal: the status, a JSON body {error, message}
// with the expected code and a message for people.
func wantAPIError(t *testing.T, res apiResponse, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d: %s", res.status, status, res.raw)
	}
	if res.body == nil {
		t.Fatalf("%d answer is not JSON (Content-Type %q): %s", res.status, res.header.Get("Content-Type"), res.raw)
	}
	if code != "" && res.str("error") != code {
		t.Fatalf("error %q, want %q: %s", res.str("error"), code, res.raw)
	}
	if res.str("error") == "" || len(res.str("message")) < 10 {
		t.Fatalf("refusal without a code and a message: %s", res.raw)
	}
	if _, ok := res.body["redirect"]; ok {
		t.Fatalf("a refusal carries a redirect: %s", res.raw)
	}
	if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("refusal is cacheable (Cache-Control %q)", cc)
	}
}

// fixture is a running Sesame with one client and one account (Ada)
// signed up with a passkey through the API.
type fixture struct {
	env   *servertest.Env
	rp    *relyingParty
	ada   *authenticator
	adaID string
}

func newFixture(t *testing.T, opts ...servertest.Option) *fixture {
	t.Helper()
	env := servertest.New(t, opts...)
	f := &fixture{env: env, rp: newRelyingParty(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"}), ada: newAuthenticator()}
	b := newBrowser(t, env)
	b.page("/signup")
	if r := b.signUp("", "ada@example.com", "Ada Lovelace", f.ada); r != "/account" {
		t.Fatalf("sign-up without an app redirected to %q, want /account", r)
	}
	u, err := env.Store.GetUserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	f.adaID = u.ID
	return f
}

// loginPage returns a browser on the login page of a new authorization,
// and the interaction id.
func (f *fixture) loginPage(t *testing.T) (*browser, string) {
	t.Helper()
	b := newBrowser(t, f.env)
	return b, b.openAuthorization(f.rp.start(oauth2.SetAuthURLParam("prompt", "login")))
}

// TestPasskeyAPISignUpAndSignIn: a person completes authorizations with
// nothing but a passkey over the JSON API — sign-up in the middle of an
// authorization, then usernameless (discoverable, WebAuthn §5.1.4 with
// empty allowCredentials), then username-first — and each ends in a code
// that a stock OIDC client exchanges for a verified ID token (OIDC Core
// §3.1.2.5). Amr values follow RFC 8176 §2.
// It runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.
func TestPasskeyAPISignUpAndSignIn(t *testing.T) {
	servertest.EachDialect(t, passkeyJourney)
}

func passkeyJourney(t *testing.T, opts ...servertest.Option) {
	env := servertest.New(t, opts...)
	rp := newRelyingParty(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	b := newBrowser(t, env)
	dev := newAuthenticator()

	// 1. Sign-up during an authorization.
	a := rp.start()
	ia := b.openAuthorization(a)
	b.page("/signup?interaction=" + url.QueryEscape(ia))
	o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": " ada@example.com ", "name": "Ada Lovelace"})
	var creation struct {
		RP   struct{ ID string } `json:"rp"`
		User struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		AuthenticatorSelection struct {
			ResidentKey string `json:"residentKey"`
		} `json:"authenticatorSelection"`
	}
	if err := json.Unmarshal(o.PublicKey, &creation); err != nil {
		t.Fatal(err)
	}
	if creation.RP.ID != testRPID || creation.User.Name != "ada@example.com" || creation.AuthenticatorSelection.ResidentKey != "required" {
		t.Fatalf("creation options = %s", o.PublicKey)
	}
	if countRows(t, env, "users") != 0 {
		t.Fatal("the account was created before its passkey")
	}
	res := b.post("/webauthn/register/verify", verifyBody(o.Ceremony, dev.create(t, o.PublicKey, env.Issuer)))
	redirect := redirectOf(t, res)
	if !strings.HasPrefix(redirect, "/verify-email?") {
		t.Fatalf("sign-up redirect %q, want the email verification (require_verified_email is on by default)", redirect)
	}
	redirect = b.passVerification(redirect, "ada@example.com")
	if want := "/oauth2/authorize/resume?interaction=" + url.QueryEscape(ia); redirect != want {
		t.Fatalf("sign-up redirect after the proof %q, want %q", redirect, want)
	}
	claims := a.finish(t, b.follow(redirect))
	if claims.Email != "ada@example.com" || !claims.EmailVerified || claims.Name != "Ada Lovelace" {
		t.Fatalf("sign-up claims = %+v (the address was proven)", claims)
	}
	if !slices.Contains(claims.AMR, "pop") || claims.ACR != models.ACRUserVerified {
		t.Fatalf("sign-up amr/acr = %v %q", claims.AMR, claims.ACR)
	}
	sub := claims.Sub
	if string(dev.auth.Options.UserHandle) != sub {
		t.Fatalf("user handle %q is not the subject %q", dev.auth.Options.UserHandle, sub)
	}

	// 2. Usernameless: no email, empty allowCredentials, user found by
	// the assertion's userHandle.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	ia = b.openAuthorization(a)
	o = b.options("/webauthn/login/options", map[string]string{"interaction": ia})
	var request struct {
		RPID             string            `json:"rpId"`
		AllowCredentials []json.RawMessage `json:"allowCredentials"`
	}
	if err := json.Unmarshal(o.PublicKey, &request); err != nil {
		t.Fatal(err)
	}
	if request.RPID != testRPID || len(request.AllowCredentials) != 0 {
		t.Fatalf("discoverable request options = %s", o.PublicKey)
	}
	redirect = redirectOf(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, dev.get(t, o.PublicKey, env.Issuer))))
	if want := "/oauth2/authorize/resume?interaction=" + url.QueryEscape(ia); redirect != want {
		t.Fatalf("sign-in redirect %q, want %q", redirect, want)
	}
	claims = a.finish(t, b.follow(redirect))
	if claims.Sub != sub || !slices.Contains(claims.AMR, "pop") || !slices.Contains(claims.AMR, "user") || !slices.Contains(claims.AMR, "mfa") {
		t.Fatalf("usernameless claims = %+v", claims)
	}
	if slices.Contains(claims.AMR, "hwk") {
		t.Fatalf("a synced passkey (BE set) reported as hardware-bound: %v", claims.AMR)
	}

	// 3. Username-first, the address typed in another case.
	a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
	ia = b.openAuthorization(a)
	o = b.options("/webauthn/login/options", map[string]string{"interaction": ia, "email": "ADA@Example.com"})
	var named struct {
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	}
	if err := json.Unmarshal(o.PublicKey, &named); err != nil {
		t.Fatal(err)
	}
	if len(named.AllowCredentials) != 1 || named.AllowCredentials[0].ID != dev.id() {
		t.Fatalf("username-first allowCredentials = %s, want [%s]", o.PublicKey, dev.id())
	}
	redirect = redirectOf(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, dev.get(t, o.PublicKey, env.Issuer))))
	if claims = a.finish(t, b.follow(redirect)); claims.Sub != sub {
		t.Fatalf("username-first signed in %s, want %s", claims.Sub, sub)
	}

	// The browser holds one session: each sign-in replaced the last.
	sessions, err := env.Store.ListUserLoginSessions(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 {
		t.Fatalf("%d live sessions after three sign-ins in one browser, want 1", len(sessions))
	}

	// 4. Without an app, sign-in leads to the account page.
	b2 := newBrowser(t, env)
	b2.page("/login")
	if r := b2.signIn("", "", dev); r != "/account" {
		t.Fatalf("sign-in without an app redirected to %q, want /account", r)
	}
	if _, body := b2.page("/account"); !strings.Contains(body, "ada@example.com") {
		t.Fatal("the account page does not show the signed-in user")
	}
}

// endpoints are the four JSON API routes.
var endpoints = []string{"/webauthn/login/options", "/webauthn/login/verify", "/webauthn/register/options", "/webauthn/register/verify"}

// TestPasskeyAPIRefusesBadInput: each bad request gets a clear 4xx JSON
// error {error, message} and writes no user, credential or session
// (WebAuthn §7.1/§7.2 verification steps; CSRF defence per OWASP's
// synchronizer-token pattern; ceremonies single-use and bound to the
// browser, §13.4.3 on challenge replay).
func TestPasskeyAPIRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	env := f.env
	origin := env.Issuer

	type testCase struct {
		name string
		// prepare does any setup (which may write) and returns the bad
		// request; nothing may change between the two.
		prepare func(t *testing.T, b *browser, ia string) func() apiResponse
		status  int
		code    string
		check   func(t *testing.T, res apiResponse)
	}
	var cases []testCase
	for _, ep := range endpoints {
		valid := `{"interaction":"","email":"","name":""}`
		cases = append(cases,
			testCase{name: "no CSRF header " + ep, status: http.StatusForbidden, code: "csrf",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse { return b.send(ep, "application/json", "", strings.NewReader(valid)) }
				}},
			testCase{name: "wrong CSRF header " + ep, status: http.StatusForbidden, code: "csrf",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse {
						return b.send(ep, "application/json", mangle(b.csrf), strings.NewReader(valid))
					}
				}},
			testCase{name: "CSRF token of another browser " + ep, status: http.StatusForbidden, code: "csrf",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					other := newBrowser(t, env)
					other.page("/login")
					return func() apiResponse { return b.send(ep, "application/json", other.csrf, strings.NewReader(valid)) }
				}},
			testCase{name: "CSRF token without its cookie " + ep, status: http.StatusForbidden, code: "csrf",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					bare := newBrowser(t, env)
					return func() apiResponse { return bare.send(ep, "application/json", b.csrf, strings.NewReader(valid)) }
				}},
			testCase{name: "text/plain " + ep, status: http.StatusUnsupportedMediaType, code: "invalid_request",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse { return b.send(ep, "text/plain", b.csrf, strings.NewReader(valid)) }
				}},
			testCase{name: "form body " + ep, status: http.StatusUnsupportedMediaType, code: "invalid_request",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse {
						return b.send(ep, "application/x-www-form-urlencoded", b.csrf, strings.NewReader("email=ada%40example.com"))
					}
				}},
			testCase{name: "no content type " + ep, status: http.StatusUnsupportedMediaType, code: "invalid_request",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse { return b.send(ep, "", b.csrf, strings.NewReader(valid)) }
				}},
			testCase{name: "malformed JSON " + ep, status: http.StatusBadRequest, code: "invalid_request",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse {
						return b.send(ep, "application/json", b.csrf, strings.NewReader(`{"email": "ada@`))
					}
				}},
			testCase{name: "JSON of the wrong shape " + ep, status: http.StatusBadRequest, code: "invalid_request",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse {
						return b.send(ep, "application/json", b.csrf, strings.NewReader(`{"email":["x"],"ceremony":7}`))
					}
				}},
			// A streamed body (no Content-Length) passes the server's
			// length check and is cut at 64 KiB by the handler.
			testCase{name: "streamed body over 64 KiB " + ep, status: http.StatusRequestEntityTooLarge, code: "too_large",
				prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
					return func() apiResponse {
						big := `{"email":"` + strings.Repeat("a", 64<<10) + `"}`
						return b.send(ep, "application/json", b.csrf, io.MultiReader(strings.NewReader(big))) // no length
					}
				}},
		)
	}
	cases = append(cases,
		testCase{name: "verify without a ceremony", status: http.StatusBadRequest, code: "invalid_request",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				return func() apiResponse {
					return b.post("/webauthn/login/verify", map[string]any{"credential": map[string]string{"id": "x"}})
				}
			}},
		testCase{name: "unknown ceremony", status: http.StatusBadRequest, code: "ceremony_not_found",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				cred := f.ada.get(t, o.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody("no-such-ceremony", cred)) }
			}},
		testCase{name: "registration ceremony finished as a login", status: http.StatusBadRequest, code: "ceremony_not_found",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"})
				lo := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				cred := f.ada.get(t, lo.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "login ceremony of another browser", status: http.StatusForbidden, code: "wrong_browser",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				other, oia := f.loginPage(t)
				o := other.options("/webauthn/login/options", map[string]string{"interaction": oia})
				cred := f.ada.get(t, o.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "sign-up ceremony of another browser", status: http.StatusForbidden, code: "wrong_browser",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				other, oia := f.loginPage(t)
				o := other.options("/webauthn/register/options", map[string]string{"interaction": oia, "email": "mallory@example.com", "name": "Mallory"})
				cred := newAuthenticator().create(t, o.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/register/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "replayed login verify", status: http.StatusConflict, code: "ceremony_used",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				body := verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, origin))
				redirectOf(t, b.post("/webauthn/login/verify", body))
				return func() apiResponse { return b.post("/webauthn/login/verify", body) }
			}},
		testCase{name: "replayed login verify with a fresh signature", status: http.StatusConflict, code: "ceremony_used",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				redirectOf(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, origin))))
				again := verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, origin)) // counter advanced
				return func() apiResponse { return b.post("/webauthn/login/verify", again) }
			}},
		testCase{name: "replayed sign-up verify", status: http.StatusConflict, code: "ceremony_used",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "replay-" + randomString() + "@example.com", "name": "Replay"})
				body := verifyBody(o.Ceremony, newAuthenticator().create(t, o.PublicKey, origin))
				redirectOf(t, b.post("/webauthn/register/verify", body))
				return func() apiResponse { return b.post("/webauthn/register/verify", body) }
			}},
		testCase{name: "unknown credential", status: http.StatusBadRequest, code: "unknown_credential",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				stranger := newAuthenticator()
				stranger.auth.Options.UserHandle = []byte(f.adaID)
				cred := stranger.get(t, o.PublicKey, origin)
				id := stranger.id()
				return func() apiResponse {
					res := b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred))
					// For PublicKeyCredential.signalUnknownCredential (WebAuthn L3 §5.1.10).
					if res.str("unknownCredentialId") != id || res.str("rpId") != testRPID {
						t.Errorf("unknown credential answer lacks {unknownCredentialId: %s, rpId: %s}: %s", id, testRPID, res.raw)
					}
					return res
				}
			}},
		testCase{name: "assertion from another origin", status: http.StatusBadRequest, code: "verification_failed",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				cred := f.ada.get(t, o.PublicKey, "http://evil.localhost"+origin[strings.LastIndex(origin, ":"):])
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "attestation from another origin", status: http.StatusBadRequest, code: "verification_failed",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"})
				cred := newAuthenticator().create(t, o.PublicKey, "https://phish.example")
				return func() apiResponse { return b.post("/webauthn/register/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "assertion for another RP ID", status: http.StatusBadRequest, code: "verification_failed",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				cred := f.ada.getAs(t, o.PublicKey, virtualwebauthn.RelyingParty{ID: "evil.example", Origin: origin})
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "tampered signature", status: http.StatusBadRequest, code: "verification_failed",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				var m map[string]any
				if err := json.Unmarshal(f.ada.get(t, o.PublicKey, origin), &m); err != nil {
					t.Fatal(err)
				}
				resp := m["response"].(map[string]any)
				sig, _ := base64.RawURLEncoding.DecodeString(resp["signature"].(string))
				sig[len(sig)-1] ^= 1
				resp["signature"] = base64.RawURLEncoding.EncodeToString(sig)
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, mustJSON(t, m))) }
			}},
		testCase{name: "malformed authenticator response", status: http.StatusBadRequest, code: "invalid_response",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				cred := json.RawMessage(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"!!","authenticatorData":"","signature":""}}`)
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "user presence missing", status: http.StatusBadRequest, code: "verification_failed",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
				ada := *f.ada
				ada.auth.Options.UserNotPresent = true
				cred := ada.get(t, o.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "another account's passkey, username-first", status: http.StatusBadRequest, code: "wrong_credential",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				bob := env.CreateUser("bob-" + randomString() + "@example.com")
				o := b.options("/webauthn/login/options", map[string]string{"interaction": ia, "email": bob.Email})
				cred := f.ada.get(t, o.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "an already registered passkey", status: http.StatusConflict, code: "credential_exists",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"})
				cred := f.ada.create(t, o.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/register/verify", verifyBody(o.Ceremony, cred)) }
			}},
		testCase{name: "sign-up with an address that has an account", status: http.StatusConflict, code: "email_taken",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "ADA@example.COM", "name": "Not Ada"})
				cred := newAuthenticator().create(t, o.PublicKey, origin)
				return func() apiResponse { return b.post("/webauthn/register/verify", verifyBody(o.Ceremony, cred)) }
			},
			check: func(t *testing.T, res apiResponse) {
				// The message and nothing else: no user, credential or id.
				keys := make([]string, 0, len(res.body))
				for k := range res.body {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				if !slices.Equal(keys, []string{"error", "message"}) {
					t.Errorf("email_taken answer has keys %v, want only error and message", keys)
				}
				if strings.Contains(string(res.raw), "Ada") || strings.Contains(string(res.raw), f.adaID) {
					t.Errorf("email_taken answer reveals the account: %s", res.raw)
				}
			}},
		testCase{name: "interaction of another browser at login", status: http.StatusForbidden, code: "interaction",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				_, oia := f.loginPage(t)
				return func() apiResponse {
					return b.post("/webauthn/login/options", map[string]string{"interaction": oia})
				}
			}},
		testCase{name: "interaction of another browser at sign-up", status: http.StatusForbidden, code: "interaction",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				_, oia := f.loginPage(t)
				return func() apiResponse {
					return b.post("/webauthn/register/options", map[string]string{"interaction": oia, "email": "eve@example.com", "name": "Eve"})
				}
			}},
		testCase{name: "unknown interaction", status: http.StatusBadRequest, code: "interaction",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				return func() apiResponse {
					return b.post("/webauthn/login/options", map[string]string{"interaction": "no-such-interaction"})
				}
			}},
		testCase{name: "oversized interaction id", status: http.StatusBadRequest, code: "interaction",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				return func() apiResponse {
					return b.post("/webauthn/login/options", map[string]string{"interaction": strings.Repeat("i", 5000)})
				}
			}},
		testCase{name: "login with an invalid address", status: http.StatusBadRequest, code: "invalid_email",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				return func() apiResponse {
					return b.post("/webauthn/login/options", map[string]string{"interaction": ia, "email": "no-at-sign"})
				}
			}},
	)
	for _, bad := range []struct{ name, email, display string }{
		{"no at sign", "ada.example.com", "Eve"},
		{"nothing before the at", "@example.com", "Eve"},
		{"nothing after the at", "eve@", "Eve"},
		{"a space", "eve smith@example.com", "Eve"},
		{"angle brackets", "<eve@example.com>", "Eve"},
		{"a line break", "eve@example.com\r\nBcc: x@example.com", "Eve"},
		{"an address over 254 bytes", strings.Repeat("e", 250) + "@example.com", "Eve"},
		{"an empty address", "", "Eve"},
		{"an empty name", "eve@example.com", ""},
		{"a blank name", "eve@example.com", " \t "},
		{"a name over 100 characters", "eve@example.com", strings.Repeat("E", 101)},
	} {
		cases = append(cases, testCase{name: "sign-up with " + bad.name, status: http.StatusBadRequest, code: "invalid_signup",
			prepare: func(t *testing.T, b *browser, ia string) func() apiResponse {
				return func() apiResponse {
					return b.post("/webauthn/register/options", map[string]string{"interaction": ia, "email": bad.email, "name": bad.display})
				}
			}})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, ia := f.loginPage(t)
			do := tc.prepare(t, b, ia)
			before := snapshot(t, env)
			res := do()
			wantAPIError(t, res, tc.status, tc.code)
			if tc.check != nil {
				tc.check(t, res)
			}
			if after := snapshot(t, env); after != before {
				t.Fatalf("a refused request wrote:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestPasskeyAPIOversizedBody: a WebAuthn response over 64 KiB is refused
// with 413 before it is parsed, whether or not it declares its length.
func TestPasskeyAPIOversizedBody(t *testing.T) {
	f := newFixture(t)
	b, ia := f.loginPage(t)
	o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
	cred := f.ada.get(t, o.PublicKey, f.env.Issuer)
	var m map[string]any
	if err := json.Unmarshal(cred, &m); err != nil {
		t.Fatal(err)
	}
	m["padding"] = strings.Repeat("p", 64<<10)
	body := mustJSON(t, verifyBody(o.Ceremony, mustJSON(t, m)))
	before := snapshot(t, f.env)
	res := b.send("/webauthn/login/verify", "application/json", b.csrf, bytes.NewReader(body))
	if res.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", res.status, res.raw)
	}
	if res.body == nil {
		// Refused by the server's body limit before the handler runs.
		t.Logf("note: a declared-length body over 64 KiB is answered %q, not the API's JSON error", res.header.Get("Content-Type"))
	}
	res = b.send("/webauthn/login/verify", "application/json", b.csrf, io.MultiReader(bytes.NewReader(body)))
	wantAPIError(t, res, http.StatusRequestEntityTooLarge, "too_large")
	if after := snapshot(t, f.env); after != before {
		t.Fatalf("an oversized request wrote:\n%s\n%s", before, after)
	}
	// The ceremony was not spent by the refused requests.
	redirectOf(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)))
}

// TestPasskeyAPICeremonyOfAnotherBrowserIsSpent: a ceremony id presented
// by another browser has leaked, so it is spent: the browser that began it
// cannot finish it either, and nothing is signed in anywhere.
func TestPasskeyAPICeremonyOfAnotherBrowserIsSpent(t *testing.T) {
	f := newFixture(t)
	owner, ia := f.loginPage(t)
	thief, _ := f.loginPage(t)
	o := owner.options("/webauthn/login/options", map[string]string{"interaction": ia})
	cred := f.ada.get(t, o.PublicKey, f.env.Issuer)
	wantAPIError(t, thief.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)), http.StatusForbidden, "wrong_browser")
	wantAPIError(t, owner.post("/webauthn/login/verify", verifyBody(o.Ceremony, cred)), http.StatusConflict, "ceremony_used")
	sessions, err := f.env.Store.ListUserLoginSessions(context.Background(), f.adaID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 { // the sign-up's
		t.Fatalf("%d sessions, want only the sign-up's", len(sessions))
	}
}

// TestPasskeySignupClosed: with sign-up closed, nobody can create an
// account through the API, and nothing is written.
func TestPasskeySignupClosed(t *testing.T) {
	env := servertest.New(t, func(c *config.Config) { c.SignupOpen = false })
	rp := newRelyingParty(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	b := newBrowser(t, env)
	ia := b.openAuthorization(rp.start())
	before := snapshot(t, env)
	for _, ia := range []string{ia, ""} {
		res := b.post("/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"})
		wantAPIError(t, res, http.StatusForbidden, "signup_closed")
	}
	if after := snapshot(t, env); after != before {
		t.Fatalf("a refused sign-up wrote:\n%s\n%s", before, after)
	}
	if n := countRows(t, env, "webauthn_ceremonies"); n != 0 {
		t.Fatalf("%d ceremonies begun with sign-up closed", n)
	}
	// Existing accounts still sign in.
	u := env.CreateUser("ada@example.com")
	o := b.options("/webauthn/login/options", map[string]string{"interaction": ia, "email": u.Email})
	if len(o.PublicKey) == 0 {
		t.Fatal("no options")
	}
}

// TestPasskeyRefusedForClientWithoutIt: a client whose
// allowed_login_methods excludes "passkey" gets no passkey ceremony, for
// sign-in or sign-up.
func TestPasskeyRefusedForClientWithoutIt(t *testing.T) {
	f := newFixture(t)
	rp := newRelyingParty(t, f.env, clients.Spec{Name: "Links Only", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none",
		AllowedLoginMethods: []string{models.MethodPasslink}})
	b := newBrowser(t, f.env)
	ia := b.openAuthorization(rp.start())
	before := snapshot(t, f.env)
	ceremonies := countRows(t, f.env, "webauthn_ceremonies")
	for _, req := range []struct {
		path string
		body map[string]string
	}{
		{"/webauthn/login/options", map[string]string{"interaction": ia}},
		{"/webauthn/login/options", map[string]string{"interaction": ia, "email": "ada@example.com"}},
		{"/webauthn/register/options", map[string]string{"interaction": ia, "email": "eve@example.com", "name": "Eve"}},
	} {
		wantAPIError(t, b.post(req.path, req.body), http.StatusForbidden, "interaction")
	}
	if after := snapshot(t, f.env); after != before {
		t.Fatalf("a refused request wrote:\n%s\n%s", before, after)
	}
	if n := countRows(t, f.env, "webauthn_ceremonies"); n != ceremonies {
		t.Fatalf("a ceremony was begun for a client that does not allow passkeys")
	}
}

// TestPasskeyLoginOptionsDoNotRevealAccounts: username-first options for an
// unknown address, or for an account without passkeys, have the same shape
// as a real account's — allowCredentials non-empty, the same keys, the
// same answer each time — so the endpoint cannot be used to find out who
// has an account (WebAuthn L3 §14.6.2, username enumeration). Finishing
// such a ceremony fails like any wrong passkey.
func TestPasskeyLoginOptionsDoNotRevealAccounts(t *testing.T) {
	f := newFixture(t)
	f.env.CreateUser("nopasskey@example.com")
	b, ia := f.loginPage(t)

	shape := func(email string) (ceremonyOptions, []string, []string, []string) {
		t.Helper()
		res := b.post("/webauthn/login/options", map[string]string{"interaction": ia, "email": email})
		if res.status != http.StatusOK {
			t.Fatalf("options for %s: %s", email, res)
		}
		var o ceremonyOptions
		_ = json.Unmarshal(res.raw, &o)
		var pk map[string]json.RawMessage
		if err := json.Unmarshal(o.PublicKey, &pk); err != nil {
			t.Fatal(err)
		}
		var allow []map[string]json.RawMessage
		if err := json.Unmarshal(pk["allowCredentials"], &allow); err != nil || len(allow) == 0 {
			t.Fatalf("options for %s have no allowCredentials: %s", email, o.PublicKey)
		}
		var ids, descKeys []string
		for _, d := range allow {
			var id string
			_ = json.Unmarshal(d["id"], &id)
			ids = append(ids, id)
			descKeys = append(descKeys, strings.Join(sortedKeys(d), ","))
		}
		return o, append(sortedKeys(res.body), "|", strings.Join(sortedKeys(pk), ",")), slices.Compact(descKeys), ids
	}

	_, knownKeys, knownDesc, _ := shape("ada@example.com")
	for _, email := range []string{"nobody@example.com", "nopasskey@example.com"} {
		_, keys, desc, ids := shape(email)
		if !slices.Equal(keys, knownKeys) || !slices.Equal(desc, knownDesc) {
			t.Fatalf("options for %s differ in shape from a real account's:\n%v %v\n%v %v", email, keys, desc, knownKeys, knownDesc)
		}
		_, _, _, again := shape(strings.ToUpper(email))
		if !slices.Equal(ids, again) {
			t.Fatalf("fake credential ids for %s change between requests (%v, %v): that tells them apart", email, ids, again)
		}
	}

	// A passkey presented to a fake ceremony is refused and writes nothing.
	o, _, _, _ := shape("nobody@example.com")
	before := snapshot(t, f.env)
	res := b.post("/webauthn/login/verify", verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, f.env.Issuer)))
	if res.status < 400 || res.status > 499 {
		t.Fatalf("a passkey finished a fake ceremony: %s", res)
	}
	wantAPIError(t, res, res.status, "")
	if after := snapshot(t, f.env); after != before {
		t.Fatalf("a refused sign-in wrote:\n%s\n%s", before, after)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestPasskeyAuthEvents: successes and failures are stored as auth events
// (method passkey, event, result, reason, client, AAGUID) for the
// console's statistics.
func TestPasskeyAuthEvents(t *testing.T) {
	f := newFixture(t)
	b, ia := f.loginPage(t)
	b.follow(b.signIn(ia, "", f.ada))

	b, ia = f.loginPage(t)
	o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
	stranger := newAuthenticator()
	stranger.auth.Options.UserHandle = []byte(f.adaID)
	wantAPIError(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, stranger.get(t, o.PublicKey, f.env.Issuer))), http.StatusBadRequest, "unknown_credential")
	o = b.options("/webauthn/login/options", map[string]string{"interaction": ia})
	wantAPIError(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, "https://phish.example"))), http.StatusBadRequest, "verification_failed")

	db, err := f.env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(context.Background(), `SELECT user_id, client_id, method, event, result, reason, aaguid, ip FROM auth_events ORDER BY at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type event struct{ user, client, method, event, result, reason, aaguid, ip string }
	var events []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.user, &e.client, &e.method, &e.event, &e.result, &e.reason, &e.aaguid, &e.ip); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	has := func(want event) bool {
		return slices.ContainsFunc(events, func(e event) bool {
			return e.method == want.method && e.event == want.event && e.result == want.result && e.reason == want.reason &&
				e.user == want.user && (want.client == "" || e.client == want.client)
		})
	}
	for _, want := range []event{
		{user: f.adaID, method: models.MethodPasskey, event: "register", result: models.ResultSuccess},
		{user: f.adaID, client: f.rp.clientID, method: models.MethodPasskey, event: "login", result: models.ResultSuccess},
		{user: "", method: models.MethodPasskey, event: "login", result: models.ResultFailure, reason: "unknown_credential"},
		{user: f.adaID, method: models.MethodPasskey, event: "login", result: models.ResultFailure, reason: "verification_failed"},
	} {
		if !has(want) {
			t.Errorf("no auth event %+v among %+v", want, events)
		}
	}
	for _, e := range events {
		if e.ip == "" {
			t.Errorf("auth event without an IP: %+v", e)
		}
		if e.result == models.ResultSuccess && e.aaguid == "" {
			t.Errorf("success without the authenticator's AAGUID: %+v", e)
		}
	}
}

// TestPasskeyOneCounterValueSignsInOnce: two assertions that carry one
// sign-counter value (a copied key), sent at once from two browsers, sign
// in once. The other is refused and starts no session: as the loser of
// the race for the counter (the passkey's use gates the session's start)
// or, when it comes second, as a counter that did not increase.
func TestPasskeyOneCounterValueSignsInOnce(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		f := newFixture(t, opts...)
		ctx := context.Background()
		before, err := f.env.Store.ListUserLoginSessions(ctx, f.adaID)
		if err != nil {
			t.Fatal(err)
		}
		var sends []func() apiResponse
		for range 2 {
			b, ia := f.loginPage(t)
			o := b.options("/webauthn/login/options", map[string]string{"interaction": ia})
			body := verifyBody(o.Ceremony, f.ada.get(t, o.PublicKey, f.env.Issuer))
			f.ada.cred.Counter-- // the copy signs with the same value
			sends = append(sends, func() apiResponse { return b.post("/webauthn/login/verify", body) })
		}
		res := make([]apiResponse, len(sends))
		var wg sync.WaitGroup
		for i, send := range sends {
			wg.Go(func() { res[i] = send() })
		}
		wg.Wait()
		signedIn := 0
		for _, r := range res {
			if r.status == http.StatusOK {
				signedIn++
				continue
			}
			wantAPIError(t, r, http.StatusForbidden, "credential_suspended")
		}
		if signedIn != 1 {
			t.Fatalf("%d sign-ins with one counter value, want 1: %v", signedIn, res)
		}
		after, err := f.env.Store.ListUserLoginSessions(ctx, f.adaID)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before)+1 {
			t.Errorf("%d live sessions after, %d before: want one more", len(after), len(before))
		}
	})
}

// account is a browser signed in on /account.
type account struct {
	*browser
	noFollow *http.Client
	session  *models.LoginSession
}

// signedIn signs userID in (through the store, as servertest does) and
// loads /account for its CSRF token.
func signedIn(t *testing.T, env *servertest.Env, userID string) *account {
	t.Helper()
	b := newBrowser(t, env)
	ls := env.Login(b.c, userID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
	resp, body := b.page("/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-page="account"`) {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	nf := *b.c
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &account{browser: b, noFollow: &nf, session: ls}
}

// form posts an account form and returns the status and Location.
func (a *account) form(t *testing.T, path string, v url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.env.Issuer+path, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.env.Issuer)
	resp, err := a.noFollow.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func (a *account) wantRedirect(t *testing.T, path string, v url.Values, want string) {
	t.Helper()
	status, loc := a.form(t, path, v)
	if status != http.StatusSeeOther || loc != want {
		t.Fatalf("POST %s %v: %d %q, want 303 %q", path, v, status, loc, want)
	}
}

// addPasskey registers a fresh passkey for the signed-in user through the
// API, as the account page's "Add a passkey" does.
func (a *account) addPasskey(t *testing.T) *authenticator {
	t.Helper()
	b := a.with(t)
	d := newAuthenticator()
	o := b.options("/webauthn/register/options", map[string]string{})
	if r := redirectOf(t, b.post("/webauthn/register/verify", verifyBody(o.Ceremony, d.create(t, o.PublicKey, a.env.Issuer)))); r != "/account?done=passkey_added" {
		t.Fatalf("adding a passkey redirected to %q", r)
	}
	return d
}

func credentialOf(t *testing.T, env *servertest.Env, id string) *models.WebAuthnCredential {
	t.Helper()
	c, err := env.Store.GetCredential(context.Background(), id)
	if err != nil {
		t.Fatalf("credential %s: %v", id, err)
	}
	return c
}

// TestAccountPagesTouchOnlyTheirOwner: account forms act on the signed-in
// user's own passkeys and sessions only (OWASP ASVS V4.2.1, insecure direct
// object references), need the CSRF token, refuse to delete the last
// passkey, and validate the display name.
func TestAccountPagesTouchOnlyTheirOwner(t *testing.T) {
	env := servertest.New(t)
	// Ada and Bob, each with a passkey registered through the API.
	adaB := newBrowser(t, env)
	adaB.page("/signup")
	adaDev := newAuthenticator()
	adaB.signUp("", "ada@example.com", "Ada Lovelace", adaDev)
	bobB := newBrowser(t, env)
	bobB.page("/signup")
	bobDev := newAuthenticator()
	bobB.signUp("", "bob@example.com", "Bob", bobDev)
	ctx := context.Background()
	ada, _ := env.Store.GetUserByEmail(ctx, "ada@example.com")
	bob, _ := env.Store.GetUserByEmail(ctx, "bob@example.com")

	a := signedIn(t, env, ada.ID)
	csrf := a.csrf

	t.Run("rename a foreign passkey", func(t *testing.T) {
		before := snapshot(t, env)
		a.form(t, "/account/passkeys/rename", url.Values{"csrf": {csrf}, "id": {bobDev.id()}, "name": {"Owned by Ada"}})
		if got := credentialOf(t, env, bobDev.id()).Name; got == "Owned by Ada" {
			t.Fatal("Ada renamed Bob's passkey")
		}
		if after := snapshot(t, env); after != before {
			t.Fatalf("renaming a foreign passkey wrote:\n%s\n%s", before, after)
		}
	})
	t.Run("rename own passkey", func(t *testing.T) {
		a.wantRedirect(t, "/account/passkeys/rename", url.Values{"csrf": {csrf}, "id": {adaDev.id()}, "name": {"  Work laptop "}}, "/account?done=passkey_renamed")
		if got := credentialOf(t, env, adaDev.id()).Name; got != "Work laptop" {
			t.Fatalf("renamed passkey is %q", got)
		}
		for _, bad := range []string{"", "   ", strings.Repeat("n", 65)} {
			a.wantRedirect(t, "/account/passkeys/rename", url.Values{"csrf": {csrf}, "id": {adaDev.id()}, "name": {bad}}, "/account?done=bad_name")
		}
		if got := credentialOf(t, env, adaDev.id()).Name; got != "Work laptop" {
			t.Fatalf("a refused rename changed the name to %q", got)
		}
	})
	t.Run("delete the last passkey", func(t *testing.T) {
		a.wantRedirect(t, "/account/passkeys/delete", url.Values{"csrf": {csrf}, "id": {adaDev.id()}}, "/account?done=last_passkey")
		credentialOf(t, env, adaDev.id())
	})
	t.Run("delete without CSRF", func(t *testing.T) {
		a.addPasskey(t)
		foreign := bobCSRF(t, env, bob.ID)
		before := snapshot(t, env)
		for _, token := range []string{"", mangle(csrf), foreign} {
			if status, _ := a.form(t, "/account/passkeys/delete", url.Values{"csrf": {token}, "id": {adaDev.id()}}); status != http.StatusForbidden {
				t.Fatalf("delete with CSRF %q: %d, want 403", token, status)
			}
		}
		if after := snapshot(t, env); after != before {
			t.Fatalf("a refused delete wrote:\n%s\n%s", before, after)
		}
	})
	t.Run("delete a foreign passkey", func(t *testing.T) {
		// Ada has two passkeys now, so the last-passkey rule does not stop it.
		a.form(t, "/account/passkeys/delete", url.Values{"csrf": {csrf}, "id": {bobDev.id()}})
		credentialOf(t, env, bobDev.id())
	})
	t.Run("delete own second passkey", func(t *testing.T) {
		a.wantRedirect(t, "/account/passkeys/delete", url.Values{"csrf": {csrf}, "id": {adaDev.id()}}, "/account?done=passkey_deleted")
		if _, err := env.Store.GetCredential(ctx, adaDev.id()); err == nil {
			t.Fatal("the passkey is still there")
		}
		// A deleted passkey no longer signs in; the page is told to forget it.
		b := newBrowser(t, env)
		b.page("/login")
		o := b.options("/webauthn/login/options", map[string]string{})
		res := b.post("/webauthn/login/verify", verifyBody(o.Ceremony, adaDev.get(t, o.PublicKey, env.Issuer)))
		wantAPIError(t, res, http.StatusBadRequest, "unknown_credential")
		if res.str("unknownCredentialId") != adaDev.id() {
			t.Fatalf("no unknownCredentialId for the deleted passkey: %s", res.raw)
		}
	})
	t.Run("revoke a foreign session", func(t *testing.T) {
		bobSession := env.Login(newBrowser(t, env).c, bob.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
		a.form(t, "/account/sessions/revoke", url.Values{"csrf": {csrf}, "session_id": {bobSession.ID}})
		live, err := env.Store.ListUserLoginSessions(ctx, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(live, func(s models.LoginSession) bool { return s.ID == bobSession.ID }) {
			t.Fatal("Ada revoked Bob's session")
		}
	})
	t.Run("revoke own other session", func(t *testing.T) {
		other := env.Login(newBrowser(t, env).c, ada.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
		a.wantRedirect(t, "/account/sessions/revoke", url.Values{"csrf": {csrf}, "session_id": {other.ID}}, "/account?done=session")
		live, _ := env.Store.ListUserLoginSessions(ctx, ada.ID)
		if slices.ContainsFunc(live, func(s models.LoginSession) bool { return s.ID == other.ID }) {
			t.Fatal("Ada's other session is still live")
		}
		if len(live) == 0 {
			t.Fatal("revoking another session signed this browser out")
		}
	})
	t.Run("display name", func(t *testing.T) {
		for _, bad := range []string{"", "   ", strings.Repeat("N", 101)} {
			a.wantRedirect(t, "/account/name", url.Values{"csrf": {csrf}, "display_name": {bad}}, "/account?done=bad_name")
		}
		if u, _ := env.Store.GetUser(ctx, ada.ID); u.DisplayName != "Ada Lovelace" {
			t.Fatalf("a refused name change wrote %q", u.DisplayName)
		}
		name := strings.Repeat("é", 100) // 100 characters, 200 bytes
		a.wantRedirect(t, "/account/name", url.Values{"csrf": {csrf}, "display_name": {name}}, "/account?done=name")
		if u, _ := env.Store.GetUser(ctx, ada.ID); u.DisplayName != name {
			t.Fatalf("display name is %q", u.DisplayName)
		}
		if u, _ := env.Store.GetUser(ctx, bob.ID); u.DisplayName != "Bob" {
			t.Fatalf("Ada's change renamed Bob to %q", u.DisplayName)
		}
	})
	t.Run("signed out", func(t *testing.T) {
		a.wantRedirect(t, "/account/signout", url.Values{"csrf": {csrf}}, "/account")
		// The CSRF token is still this browser's, but nobody is signed in.
		a.wantRedirect(t, "/account/name", url.Values{"csrf": {csrf}, "display_name": {"Mallory"}}, "/account")
		if u, _ := env.Store.GetUser(ctx, ada.ID); u.DisplayName == "Mallory" {
			t.Fatal("a signed-out browser changed the name")
		}
	})
}

// bobCSRF is a valid CSRF token, of another browser.
func bobCSRF(t *testing.T, env *servertest.Env, userID string) string {
	t.Helper()
	return signedIn(t, env, userID).csrf
}

// mangle changes one character of a token.
func mangle(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestAddPasskeyNeedsTheSessionThatAskedForIt: adding a passkey to an
// account is bound to the login session that began it. When that session
// ends before the passkey is created (signed out here, revoked from
// another device, or another account signed in on this browser), the
// ceremony is refused: no credential is added and, above all, the browser
// is not signed back in: sign-out and revocation are final (OWASP ASVS
// 4.0 V3.3.1).
func TestAddPasskeyNeedsTheSessionThatAskedForIt(t *testing.T) {
	env := servertest.New(t)
	ctx := context.Background()
	ada := env.CreateUser("ada@example.com")
	bob := env.CreateUser("bob@example.com")
	for _, tc := range []struct {
		name  string
		after func(t *testing.T, a *account, ls *models.LoginSession)
	}{
		{"signed out", func(t *testing.T, a *account, _ *models.LoginSession) {
			a.wantRedirect(t, "/account/signout", url.Values{"csrf": {a.csrf}}, "/account")
		}},
		{"session revoked elsewhere", func(t *testing.T, _ *account, ls *models.LoginSession) {
			if err := env.Store.RevokeLoginSession(ctx, ls.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"another account signed in", func(t *testing.T, a *account, _ *models.LoginSession) {
			env.Login(a.c, bob.ID, []string{"pop"}, models.ACRPhishingResistant, time.Now())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := signedIn(t, env, ada.ID)
			b := a.with(t)
			o := b.options("/webauthn/register/options", map[string]string{})
			cred := newAuthenticator().create(t, o.PublicKey, env.Issuer)
			tc.after(t, a, a.session)
			before := snapshot(t, env)
			res := b.post("/webauthn/register/verify", verifyBody(o.Ceremony, cred))
			if res.status < 400 || res.status > 499 {
				t.Fatalf("a passkey was added after the session that asked for it ended: %s", res)
			}
			wantAPIError(t, res, res.status, "")
			if after := snapshot(t, env); after != before {
				t.Fatalf("the refused registration wrote:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// TestSignUpNameLimits: the display name limit counts characters, as the
// message ("100 characters at most") and the form's maxlength do, not
// bytes.
func TestSignUpNameLimits(t *testing.T) {
	f := newFixture(t)
	b, ia := f.loginPage(t)
	for _, name := range []string{strings.Repeat("E", 100), strings.Repeat("é", 100), "Zoë Ōtsuka"} {
		b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "zoe@example.com", "name": name})
	}
	wantAPIError(t, b.post("/webauthn/register/options", map[string]string{"interaction": ia, "email": "zoe@example.com", "name": strings.Repeat("é", 101)}),
		http.StatusBadRequest, "invalid_signup")
}

// TestSignUpWhileSignedIn: creating a second account in a signed-in
// browser works (the ceremony is bound to the session that began it) and
// leaves the browser signed in to the new account only.
func TestSignUpWhileSignedIn(t *testing.T) {
	f := newFixture(t)
	a := signedIn(t, f.env, f.adaID)
	dev := newAuthenticator()
	if r := a.signUp("", "carol@example.com", "Carol", dev); r != "/account" {
		t.Fatalf("sign-up redirected to %q", r)
	}
	carol, err := f.env.Store.GetUserByEmail(context.Background(), "carol@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.Store.GetLoginSession(context.Background(), a.session.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("Ada's session in this browser is still live: %v", err)
	}
	if _, body := a.page("/account"); !strings.Contains(body, "carol@example.com") {
		t.Fatal("the browser is not signed in to the new account")
	}
	if creds, _ := f.env.Store.ListUserCredentials(context.Background(), carol.ID); len(creds) != 1 || creds[0].ID != dev.id() {
		t.Fatalf("Carol's credentials = %+v", creds)
	}
}
