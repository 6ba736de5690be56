package authn_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// Passlinks over real HTTP, with the mails going through a real SMTP
// server in the test process (mail/mailtest).

// plEnv is a Sesame whose mail reaches a test SMTP server.
type plEnv struct {
	*servertest.Env
	smtp *mailtest.Server
}

// newPLEnv starts Sesame with its own outbox loop delivering to a test
// SMTP server, as `sesame serve` does.
func newPLEnv(t *testing.T, opts ...servertest.Option) *plEnv {
	t.Helper()
	srv := mailtest.Start(t)
	env := servertest.New(t, append([]servertest.Option{servertest.SMTP(srv)}, opts...)...)
	env.DeliverMail()
	return &plEnv{Env: env, smtp: srv}
}

// plClient is a browser without JavaScript: a cookie jar that stops at
// redirects leaving the issuer.
type plClient struct {
	t    *testing.T
	env  *plEnv
	c    *http.Client
	csrf string
	ua   string
	// ip, when set, is sent as X-Forwarded-For (for a server that trusts
	// the loopback proxy: a client from another address).
	ip string
	// acceptLanguage, when set, is sent as Accept-Language.
	acceptLanguage string
}

func (e *plEnv) client(t *testing.T) *plClient {
	return &plClient{t: t, env: e, c: e.Browser(), ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"}
}

var plCSRF = regexp.MustCompile(`(?:name="csrf" value|data-csrf)="([^"]*)"`)

func (b *plClient) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.env.Issuer + u
	}
	return u
}

func (b *plClient) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	req.Header.Set("User-Agent", b.ua)
	if b.ip != "" {
		req.Header.Set("X-Forwarded-For", b.ip)
	}
	if b.acceptLanguage != "" {
		req.Header.Set("Accept-Language", b.acceptLanguage)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := plCSRF.FindStringSubmatch(string(body)); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return resp, string(body)
}

func (b *plClient) get(u string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(u), nil)
	return b.do(req)
}

// post sends a form as our own pages do (same origin), with the page's
// CSRF token unless form has one.
func (b *plClient) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.env.Issuer)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *plClient) postJSON(u, body string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", b.env.Issuer)
	return b.do(req)
}

// requestLink asks for a link (for interaction, if not "") and returns
// the "check your inbox" page.
func (b *plClient) requestLink(interaction, email string) (*http.Response, string) {
	b.t.Helper()
	q := ""
	if interaction != "" {
		q = "?interaction=" + url.QueryEscape(interaction)
	}
	b.get("/passlink" + q)
	form := url.Values{"email": {email}}
	if interaction != "" {
		form.Set("interaction", interaction)
	}
	return b.post("/passlink", form)
}

var (
	plCodeRE    = regexp.MustCompile(`id="passlink-code"[^>]*>(\d{3}) (\d{3})<`)
	plRequestRE = regexp.MustCompile(`data-request="([^"]+)"`)
	plLinkRE    = regexp.MustCompile(`/passlink/([A-Za-z0-9_-]{43})`)
)

func plCode(t *testing.T, page string) string {
	t.Helper()
	m := plCodeRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no code on the page:\n%s", page)
	}
	return m[1] + m[2]
}

// mailTo waits for the n-th mail (1-based) overall and checks it went to
// email; it returns the mail and its link path ("" when it has none).
func (e *plEnv) mailTo(t *testing.T, n int, email string) (mailtest.Message, string) {
	t.Helper()
	msgs := e.smtp.WaitFor(t, n, 10*time.Second)
	m := msgs[n-1]
	if len(m.To) != 1 || m.To[0] != email {
		t.Fatalf("mail %d went to %v, want %s", n, m.To, email)
	}
	if l := plLinkRE.FindString(m.Text); l != "" {
		return m, l
	}
	return m, ""
}

// startAuthorization starts an authorization in b and returns it and its
// interaction id (the browser is on the login page).
func (b *plClient) startAuthorization(rp *relyingParty, extra ...oauth2.AuthCodeOption) (*authorization, string) {
	b.t.Helper()
	a := rp.start(extra...)
	resp, body := b.get(a.url)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.Path, "/login") {
		b.t.Fatalf("authorization did not reach the login page: %d %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	return a, resp.Request.URL.Query().Get("interaction")
}

func plUser(t *testing.T, env *plEnv, email string, verified bool) *models.User {
	t.Helper()
	u := &models.User{ID: "u-" + randomString(), Email: email, DisplayName: "Pat Example", EmailVerified: verified}
	if err := env.Store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func plSQL(t *testing.T, env *plEnv, q string, args ...any) {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	if env.Store.Dialect() == "postgres" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", "$"+string(rune('0'+i)), 1)
		}
	}
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func plCount(t *testing.T, env *plEnv, q string) int {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// neutralRE removes what legitimately differs between two "check your
// inbox" pages: the request's random values, and the browser's CSRF token
// (the same for both, but a test that rewrites address prefixes may alter
// it by chance).
var neutralRE = regexp.MustCompile(`data-request="[^"]*"|data-expires="\d+"|Code: [\d ]+"|>\d{3} \d{3}<|data-csrf="[^"]*"|name="csrf" value="[^"]*"`)

// TestPasslinkRequestRevealsNothing: known, unknown and rate-limited
// addresses get the same page, byte for byte apart from the request's
// random values, in similar time (no account enumeration).
func TestPasslinkRequestRevealsNothing(t *testing.T) {
	env := newPLEnv(t, servertest.With(func(c *config.Config) { c.PasslinkRateIP = 1000 }))
	b := env.client(t)
	known := "known-" + randomString() + "@example.com"
	plUser(t, env, known, true)

	_, first := b.requestLink("", known)
	if !strings.Contains(first, "Check your inbox") || !strings.Contains(first, "k…@example.com") || !strings.Contains(first, "10 minutes") {
		t.Fatalf("check-your-inbox page:\n%s", first)
	}
	pages := map[string]string{}
	for _, email := range []string{known, "kz-" + randomString() + "@example.com"} {
		_, page := b.requestLink("", email)
		pages[email] = neutralRE.ReplaceAllString(strings.ReplaceAll(page, email[:2], "k"), "")
	}
	// Masked addresses differ by their first letter only; both start "k".
	if pages[known] != neutralRE.ReplaceAllString(first, "") {
		t.Fatal("two requests for one known address gave different pages")
	}
	var ref string
	for _, p := range pages {
		if ref == "" {
			ref = p
		} else if p != ref {
			t.Fatalf("known and unknown addresses get different pages:\n%s\n---\n%s", ref, p)
		}
	}
	// Rate-limited: the sixth request for the address in an hour.
	for range 3 {
		b.requestLink("", known)
	}
	_, limited := b.requestLink("", known)
	if neutralRE.ReplaceAllString(limited, "") != neutralRE.ReplaceAllString(first, "") {
		t.Fatalf("a rate-limited request gets another page:\n%s", limited)
	}
	if n := plCount(t, env, "SELECT count(*) FROM auth_events WHERE method = 'passlink' AND reason = 'rate_limited'"); n != 1 {
		t.Fatalf("%d rate_limited auth events, want 1", n)
	}
	// Five mails for the known address, one for the unknown one.
	env.smtp.WaitFor(t, 6, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(env.smtp.Messages()); n != 6 {
		t.Fatalf("%d mails, want 6 (the limited request sends none)", n)
	}

	// Similar time: median of alternating requests, known vs unknown.
	var tk, tu []time.Duration
	for range 15 {
		k := "t-" + randomString() + "@example.com"
		plUser(t, env, k, true)
		start := time.Now()
		b.requestLink("", k)
		tk = append(tk, time.Since(start))
		start = time.Now()
		b.requestLink("", "t-"+randomString()+"@example.com")
		tu = append(tu, time.Since(start))
	}
	mk, mu := median(tk), median(tu)
	t.Logf("median request time: known %s, unknown %s", mk, mu)
	if mk > 3*mu+20*time.Millisecond || mu > 3*mk+20*time.Millisecond {
		t.Errorf("request times differ: known %s, unknown %s", mk, mu)
	}
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestPasslinkSameBrowserSignIn: the link's GET signs nobody in (mail
// scanners); its POST in the browser that asked signs in with amr otp and
// acr basic, marks the address verified, and resumes the authorization.
// Replays and double clicks sign in once.
func TestPasslinkSameBrowserSignIn(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, opts...)
		rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		b := env.client(t)
		email := "sam-" + randomString() + "@example.com"
		u := plUser(t, env, email, true)
		// A passkey, so no offer comes in between.
		plSQL(t, env, "INSERT INTO webauthn_credentials (id, user_id, kind, name, public_key, created_at, updated_at) VALUES (?, ?, 'passkey', 'Phone', 'x', ?, ?)",
			"cred-"+randomString(), u.ID, time.Now().UTC(), time.Now().UTC())

		a, ia := b.startAuthorization(rp)
		resp, body := b.requestLink(ia, email)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request: %d\n%s", resp.StatusCode, body)
		}
		m, link := env.mailTo(t, 1, email)
		if link == "" || !strings.Contains(m.Subject, "Acme Notes") || !strings.Contains(m.Text, "Chrome on macOS") || !strings.Contains(m.HTML, "Acme Notes") {
			t.Fatalf("mail: %q\n%s", m.Subject, m.Text)
		}

		// A scanner (no cookies) and the person each GET the link: nothing
		// happens.
		scanner := env.client(t)
		for _, c := range []*plClient{scanner, b, b} {
			resp, body := c.get(link)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<form") {
				t.Fatalf("GET link: %d\n%s", resp.StatusCode, body)
			}
		}
		if ss, _ := env.Store.ListUserLoginSessions(context.Background(), u.ID); len(ss) != 0 {
			t.Fatalf("GET signed in: %d sessions", len(ss))
		}
		_, page := b.get(link)
		if !strings.Contains(page, "Continue as") || !strings.Contains(page, "s…@example.com") {
			t.Fatalf("same-browser confirmation page:\n%s", page)
		}

		// Double clicks: many POSTs race; exactly one signs in.
		const n = 8
		codes := make([]int, n)
		locs := make([]string, n)
		var wg sync.WaitGroup
		csrf := b.csrf
		for i := range n {
			wg.Go(func() {
				resp, _ := b.post(link, url.Values{"action": {"signin"}, "csrf": {csrf}})
				codes[i], locs[i] = resp.StatusCode, resp.Header.Get("Location")
			})
		}
		wg.Wait()
		// The client follows redirects within the issuer: the winner ends at
		// the redirect to the app's callback, by way of the resume URL.
		wins, loc := 0, ""
		for i := range n {
			switch codes[i] {
			case http.StatusFound, http.StatusSeeOther:
				wins++
				loc = locs[i]
			case http.StatusGone:
			default:
				t.Errorf("racer got %d", codes[i])
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d racing POSTs signed in, want 1 (%v)", wins, n, codes)
		}
		if ss, _ := env.Store.ListUserLoginSessions(context.Background(), u.ID); len(ss) != 1 {
			t.Fatalf("%d sessions, want 1", len(ss))
		}
		if !strings.HasPrefix(loc, rp.callback) {
			t.Fatalf("redirect %q", loc)
		}
		claims := a.finish(t, loc)
		if claims.Sub != u.ID || claims.ACR != models.ACRBasic || len(claims.AMR) != 1 || claims.AMR[0] != "otp" || !claims.EmailVerified {
			t.Fatalf("claims = %+v", claims)
		}

		// A replay explains itself, with a way forward.
		resp, body = b.post(link, url.Values{"action": {"signin"}})
		if resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") {
			t.Fatalf("replay: %d\n%s", resp.StatusCode, body)
		}
	})
}

// TestPasslinkBadLinks: garbage, truncated, over-long, tampered, expired
// and used links each get a friendly page with a way to a new link, and
// sign nobody in.
func TestPasslinkBadLinks(t *testing.T) {
	env := newPLEnv(t)
	b := env.client(t)
	email := "bad-" + randomString() + "@example.com"
	u := plUser(t, env, email, true)
	b.requestLink("", email)
	_, link := env.mailTo(t, 1, email)
	token := strings.TrimPrefix(link, "/passlink/")
	tampered := []byte(token)
	tampered[5] = map[bool]byte{true: 'B', false: 'A'}[tampered[5] == 'A']

	b.get("/passlink") // a CSRF token for the posts
	for _, tc := range []struct{ name, path string }{
		{"garbage", "/passlink/%3Cscript%3E"},
		{"truncated", "/passlink/" + token[:30]},
		{"one short", "/passlink/" + token[:42]},
		{"over-long", "/passlink/" + token + strings.Repeat("A", 4000)},
		{"tampered", "/passlink/" + string(tampered)},
		{"padding", "/passlink/" + token[:42] + "="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				var resp *http.Response
				var body string
				if method == "GET" {
					resp, body = b.get(tc.path)
				} else {
					resp, body = b.post(tc.path, url.Values{"action": {"signin"}})
				}
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This link doesn&#39;t work") || !strings.Contains(body, `href="/passlink"`) {
					t.Fatalf("%s: %d\n%s", method, resp.StatusCode, body)
				}
			}
		})
	}

	// Expired.
	plSQL(t, env, "UPDATE passlinks SET expires_at = ? WHERE user_id = ?", time.Now().UTC().Add(-time.Minute), u.ID)
	for _, method := range []string{"GET", "POST"} {
		var resp *http.Response
		var body string
		if method == "GET" {
			resp, body = b.get(link)
		} else {
			resp, body = b.post(link, url.Values{"action": {"signin"}})
		}
		if resp.StatusCode != http.StatusGone || !strings.Contains(body, "This link has expired") || !strings.Contains(body, "Email me a new link") {
			t.Fatalf("expired %s: %d\n%s", method, resp.StatusCode, body)
		}
	}
	if ss, _ := env.Store.ListUserLoginSessions(context.Background(), u.ID); len(ss) != 0 {
		t.Fatalf("bad links signed in: %d sessions", len(ss))
	}

	// A form without its CSRF token is refused.
	b.requestLink("", email)
	_, link = env.mailTo(t, 2, email)
	resp, _ := b.post(link, url.Values{"action": {"signin"}, "csrf": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged CSRF: %d", resp.StatusCode)
	}
	resp, _ = b.post(link, url.Values{"action": {"frobnicate"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unknown action: %d", resp.StatusCode)
	}

	// The link's authorization ended meanwhile (finished in another tab):
	// the link still signs in, but resumes nothing; it goes to the account.
	rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	_, ia := b.startAuthorization(rp)
	b.requestLink(ia, email)
	_, link = env.mailTo(t, 3, email)
	if err := env.Store.ConsumeInteraction(context.Background(), ia); err != nil {
		t.Fatal(err)
	}
	b.get(link)
	resp, _ = b.post(link, url.Values{"action": {"signin"}})
	if got := resp.Request.URL.RequestURI(); got != "/passlink/passkey?next=%2Faccount" {
		t.Fatalf("link of a finished authorization went to %s", got)
	}
}

// TestPasslinkRequestBadInput: header injection and malformed addresses
// are refused before anything is stored or sent; an interaction of
// another browser, or of a client that does not allow passlinks, or one
// that demands a phishing-resistant login, cannot be used.
func TestPasslinkRequestBadInput(t *testing.T) {
	env := newPLEnv(t)
	b := env.client(t)
	b.get("/passlink")
	for _, email := range []string{
		"victim@example.com\r\nBcc: attacker@evil.test",
		"victim@example.com\nBcc: attacker@evil.test",
		"Victim <victim@example.com>",
		"victim@example.com, attacker@evil.test",
		"not an address",
		strings.Repeat("x", 5000) + "@example.com",
	} {
		resp, body := b.post("/passlink", url.Values{"email": {email}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter a valid email address") || strings.Contains(body, "Check your inbox") {
			t.Fatalf("email %.40q: %d\n%s", email, resp.StatusCode, body)
		}
		if strings.Contains(body, "Bcc") && strings.Contains(body, "\r\n") {
			t.Fatal("the injected header was echoed")
		}
	}
	if n := plCount(t, env, "SELECT count(*) FROM passlinks") + plCount(t, env, "SELECT count(*) FROM mail_outbox"); n != 0 {
		t.Fatalf("bad addresses stored %d rows", n)
	}
	if resp, _ := b.post("/passlink", url.Values{"email": {"a@example.com"}, "csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged CSRF: %d", resp.StatusCode)
	}

	rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
	// Another browser's interaction.
	_, ia := b.startAuthorization(rp)
	mallory := env.client(t)
	mallory.get("/passlink")
	resp, body := mallory.post("/passlink", url.Values{"email": {"m@example.com"}, "interaction": {ia}})
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "Check your inbox") {
		t.Fatalf("another browser's interaction: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := mallory.post("/passlink", url.Values{"email": {"m@example.com"}, "interaction": {strings.Repeat("i", 500)}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("over-long interaction id: %d", resp.StatusCode)
	}

	// acr_values asking phishing resistance: no passlink offered, none sent.
	_, ia = b.startAuthorization(rp, oauth2.SetAuthURLParam("acr_values", models.ACRPhishingResistant))
	_, login := b.get("/login?interaction=" + ia)
	if strings.Contains(login, "passlink-link") {
		t.Fatal("the login page offers a passlink to a request that demands a phishing-resistant login")
	}
	if resp, _ := b.get("/passlink?interaction=" + ia); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("passlink form for acr phr: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/passlink", url.Values{"email": {"p@example.com"}, "interaction": {ia}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("passlink request for acr phr: %d", resp.StatusCode)
	}
	// Without acr_values the link is offered.
	_, ia = b.startAuthorization(rp)
	if _, login := b.get("/login?interaction=" + ia); !strings.Contains(login, "Email me a sign-in link") {
		t.Fatalf("no passlink on the login page:\n%s", login)
	}

	// A client that allows passkeys only.
	rp2 := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none", AllowedLoginMethods: []string{models.MethodPasskey}})
	_, ia = b.startAuthorization(rp2)
	if _, login := b.get("/login?interaction=" + ia); strings.Contains(login, "passlink-link") {
		t.Fatal("passlink offered to a client that does not allow it")
	}
	if resp, _ := b.post("/passlink", url.Values{"email": {"p@example.com"}, "interaction": {ia}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("passlink for a client without it: %d", resp.StatusCode)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(env.smtp.Messages()); n != 0 {
		t.Fatalf("%d mails sent for refused requests", n)
	}

	// A client that allows passlinks only: the link is the primary action.
	rp3 := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none", AllowedLoginMethods: []string{models.MethodPasslink}})
	_, ia = b.startAuthorization(rp3)
	if _, login := b.get("/login?interaction=" + ia); strings.Contains(login, "passkey-button") || !strings.Contains(login, `id="passlink-link" class="button primary"`) {
		t.Fatalf("login page for a passlink-only client:\n%s", login)
	}
}

// TestPasslinkCrossDevice: another device approves only with the right
// code, five tries at most; the requesting browser polls and takes the
// approval once; without "also sign me in" the other device gets no
// session.
func TestPasslinkCrossDevice(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, opts...)
		rp := newRelyingParty(t, env.Env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		desk, phone := env.client(t), env.client(t)
		phone.ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
		email := "cd-" + randomString() + "@example.com"
		u := plUser(t, env, email, false)

		a, ia := desk.startAuthorization(rp)
		_, page := desk.requestLink(ia, email)
		code := plCode(t, page)
		request := plRequestRE.FindStringSubmatch(page)[1]
		_, link := env.mailTo(t, 1, email)

		status := func(c *plClient) string {
			_, body := c.get("/passlink/status/" + request)
			return body
		}
		if s := status(desk); !strings.Contains(s, `"pending"`) {
			t.Fatalf("status %s", s)
		}

		// The phone sees who asked, and must type the code.
		resp, body := phone.get(link)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Chrome on macOS") || !strings.Contains(body, `name="code"`) || !strings.Contains(body, "Acme Notes") {
			t.Fatalf("approval page: %d\n%s", resp.StatusCode, body)
		}
		// Signing in directly from the phone is not possible.
		resp, body = phone.post(link, url.Values{"action": {"signin"}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="code"`) {
			t.Fatalf("sign-in from another browser: %d\n%s", resp.StatusCode, body)
		}
		wrong := wrongDigits(code)
		resp, body = phone.post(link, url.Values{"action": {"approve"}, "code": {wrong}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "4 tries left") {
			t.Fatalf("wrong code: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := phone.post(link, url.Values{"action": {"approve"}, "code": {""}}); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("empty code: %d", resp.StatusCode)
		}
		// Completing before approval does nothing.
		desk.get("/passlink") // CSRF token of the desk
		if resp, _ := desk.postJSON("/passlink/complete", `{"request":"`+request+`"}`); resp.StatusCode != http.StatusConflict {
			t.Fatalf("complete before approval: %d", resp.StatusCode)
		}
		resp, body = phone.post(link, url.Values{"action": {"approve"}, "code": {code[:3] + " " + code[3:]}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign-in approved") {
			t.Fatalf("approve: %d\n%s", resp.StatusCode, body)
		}
		if _, acct := phone.get("/account"); strings.Contains(acct, email) {
			t.Fatal("the approving device was signed in without asking")
		}
		// The link is spent for the phone too.
		if resp, body := phone.get(link); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already approved") {
			t.Fatalf("approved link again: %d\n%s", resp.StatusCode, body)
		}

		// The phone cannot take the approval; the desk can, once.
		if s := status(phone); !strings.Contains(s, `"pending"`) {
			t.Fatalf("phone sees %s", s)
		}
		phone.get("/passlink")
		if resp, _ := phone.postJSON("/passlink/complete", `{"request":"`+request+`"}`); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("complete from the phone: %d", resp.StatusCode)
		}
		if s := status(desk); !strings.Contains(s, `"approved"`) {
			t.Fatalf("desk status %s", s)
		}
		resp, body = desk.postJSON("/passlink/complete", `{"request":"`+request+`"}`)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "/passlink/passkey?next=") {
			t.Fatalf("complete: %d %s (a user without a passkey is offered one)", resp.StatusCode, body)
		}
		if resp, _ := desk.postJSON("/passlink/complete", `{"request":"`+request+`"}`); resp.StatusCode != http.StatusConflict {
			t.Fatalf("second complete: %d", resp.StatusCode)
		}
		// The offer's "Not now" continues the authorization.
		var redirect struct{ Redirect string }
		_ = json.Unmarshal([]byte(body), &redirect)
		_, offer := desk.get(redirect.Redirect)
		next := regexp.MustCompile(`id="not-now" class="button secondary" href="([^"]+)"`).FindStringSubmatch(offer)
		if next == nil {
			t.Fatalf("passkey offer page:\n%s", offer)
		}
		resp, _ = desk.get(html.UnescapeString(next[1]))
		claims := a.finish(t, resp.Header.Get("Location"))
		if claims.Sub != u.ID || claims.AMR[0] != "otp" || claims.ACR != models.ACRBasic || !claims.EmailVerified {
			t.Fatalf("claims %+v", claims)
		}

		// Five wrong codes lock the request; the desk hears of it.
		_, ia = desk.startAuthorization(rp, oauth2.SetAuthURLParam("prompt", "login"))
		_, page = desk.requestLink(ia, email)
		code, request = plCode(t, page), plRequestRE.FindStringSubmatch(page)[1]
		_, link = env.mailTo(t, 2, email)
		phone.get(link)
		for left := 4; left >= 1; left-- {
			resp, body := phone.post(link, url.Values{"action": {"approve"}, "code": {wrongDigits(code)}})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "doesn&#39;t match") {
				t.Fatalf("wrong code (%d left): %d\n%s", left, resp.StatusCode, body)
			}
		}
		resp, body = phone.post(link, url.Values{"action": {"approve"}, "code": {wrongDigits(code)}})
		if resp.StatusCode != http.StatusGone || !strings.Contains(body, "locked") {
			t.Fatalf("fifth wrong code: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := phone.post(link, url.Values{"action": {"approve"}, "code": {code}}); resp.StatusCode != http.StatusGone {
			t.Fatalf("right code after the lock: %d", resp.StatusCode)
		}
		if s := status(desk); !strings.Contains(s, `"locked"`) {
			t.Fatalf("desk status after lock %s", s)
		}

		// "It wasn't me" (a scanner pressing buttons, say) ends nothing:
		// the requester still waits, and the code still approves.
		_, page = desk.requestLink("", email)
		request = plRequestRE.FindStringSubmatch(page)[1]
		code = plCode(t, page)
		_, link = env.mailTo(t, 3, email)
		phone.get(link)
		if resp, body := phone.post(link, url.Values{"action": {"deny"}}); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Nobody was signed in") {
			t.Fatalf("deny: %d\n%s", resp.StatusCode, body)
		}
		if s := status(desk); !strings.Contains(s, `"pending"`) {
			t.Fatalf("desk status after a report %s, want pending", s)
		}
		if resp, body := phone.post(link, url.Values{"action": {"approve"}, "code": {code}, "also": {"on"}}); resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed in here too") {
			t.Fatalf("approve and sign in here: %d\n%s", resp.StatusCode, body)
		}
		if _, acct := phone.get("/account"); !strings.Contains(acct, email) {
			t.Fatal("the phone is not signed in after asking")
		}
	})
}

func wrongDigits(code string) string {
	b := []byte(code)
	b[5] = '0' + (b[5]-'0'+1)%10
	return string(b)
}

// TestPasslinkSignupAndRecovery: an unknown address (open sign-up) gets
// a link that creates the account, verified, then offers a passkey; the
// offer only goes where it leads (no open redirect).
func TestPasslinkSignupAndRecovery(t *testing.T) {
	env := newPLEnv(t)
	b := env.client(t)
	email := "new-" + randomString() + "@example.com"
	b.requestLink("", email)
	m, link := env.mailTo(t, 1, email)
	if !strings.Contains(m.Subject, "Create your") {
		t.Fatalf("sign-up mail subject %q", m.Subject)
	}
	_, page := b.get(link)
	if !strings.Contains(page, "Create account") || !strings.Contains(page, `name="name"`) {
		t.Fatalf("sign-up confirmation:\n%s", page)
	}
	resp, _ := b.post(link, url.Values{"action": {"signin"}, "name": {"Grace Hopper"}})
	if got := resp.Request.URL.RequestURI(); resp.StatusCode != http.StatusOK || got != "/passlink/passkey?next=%2Faccount" {
		t.Fatalf("after sign-up: %d %q", resp.StatusCode, got)
	}
	u, err := env.Store.GetUserByEmail(context.Background(), email)
	if err != nil || !u.EmailVerified || u.DisplayName != "Grace Hopper" {
		t.Fatalf("created user %+v %v", u, err)
	}
	for next, want := range map[string]string{
		"/account": "/account", "https://evil.test/": "/account", "//evil.test": "/account",
		"/oauth2/authorize/resume?interaction=abc":                     "/oauth2/authorize/resume?interaction=abc",
		"/oauth2/authorize/resume?interaction=abc&x=https://evil.test": "/account",
	} {
		_, offer := b.get("/passlink/passkey?next=" + url.QueryEscape(next))
		if !strings.Contains(offer, `data-next="`+html.EscapeString(want)+`"`) {
			t.Errorf("next %q: offer page does not lead to %q", next, want)
		}
	}
	// Signed out, the offer just moves on.
	anon := env.client(t)
	if resp, _ := anon.get("/passlink/passkey?next=%2Faccount"); resp.Request.URL.Path != "/account" {
		t.Fatalf("signed-out offer went to %s", resp.Request.URL)
	}
}

// TestPasslinkSMTPOutage: the SMTP server is down when the link is
// requested and comes back later: the mail arrives, exactly once, and its
// link works.
func TestPasslinkSMTPOutage(t *testing.T) {
	srv := mailtest.Start(t)
	env := &plEnv{Env: servertest.New(t, servertest.SMTP(srv)), smtp: srv}
	srv.Stop()
	env.DeliverMail(mail.OutboxOptions{PollInterval: 50 * time.Millisecond, BaseBackoff: 200 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})

	b := env.client(t)
	email := "down-" + randomString() + "@example.com"
	plUser(t, env, email, true)
	resp, body := b.requestLink("", email)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Check your inbox") {
		t.Fatalf("request while SMTP is down: %d", resp.StatusCode)
	}
	// Let a few attempts fail.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && plCount(t, env, "SELECT coalesce(max(attempts), 0) FROM mail_outbox") < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	if n := plCount(t, env, "SELECT coalesce(max(attempts), 0) FROM mail_outbox"); n < 2 {
		t.Fatalf("%d failed attempts while SMTP was down, want at least 2", n)
	}
	srv.Start()
	_, link := env.mailTo(t, 1, email)
	time.Sleep(1500 * time.Millisecond)
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d mails after the outage, want exactly 1", n)
	}
	if n := plCount(t, env, "SELECT count(*) FROM mail_outbox WHERE status = 'sent'"); n != 1 {
		t.Fatalf("%d mails marked sent", n)
	}
	b.get(link)
	if resp, _ := b.post(link, url.Values{"action": {"signin"}}); resp.Request.URL.Path != "/passlink/passkey" {
		t.Fatalf("the delayed link does not sign in: %d %s", resp.StatusCode, resp.Request.URL)
	}
}
