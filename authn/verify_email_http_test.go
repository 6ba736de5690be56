package authn_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// verifyCodeRE finds the code in a verification mail's text.
var verifyCodeRE = regexp.MustCompile(`(?:Your code is|Ihr Code lautet): ([0-9]{6})`)

// outboxVerifyMail is the newest verification mail waiting in the outbox
// for email (servertest runs no delivery loop, so mails stay there).
func outboxVerifyMail(t *testing.T, env *servertest.Env, email string) string {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var text string
	q := "SELECT text_body FROM mail_outbox WHERE kind = 'passlink_verify' AND to_address = '" +
		strings.ReplaceAll(email, "'", "''") + "' ORDER BY created_at DESC, id LIMIT 1"
	if err := db.QueryRowContext(context.Background(), q).Scan(&text); err != nil {
		t.Fatalf("no verification mail to %s: %v", email, err)
	}
	return text
}

// outboxVerifyCode is the code of the newest verification mail to email.
func outboxVerifyCode(t *testing.T, env *servertest.Env, email string) string {
	t.Helper()
	m := verifyCodeRE.FindStringSubmatch(outboxVerifyMail(t, env, email))
	if m == nil {
		t.Fatalf("verification mail to %s has no code", email)
	}
	return m[1]
}

// noRedirects is b's HTTP client stopping at the first redirect.
func (b *browser) noRedirects() *http.Client {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// postForm posts a hosted page's form (with the CSRF token of the page
// last loaded) and returns the status and, for a redirect, its target.
func (b *browser) postForm(path string, v url.Values) (int, string) {
	b.t.Helper()
	v.Set("csrf", b.csrf)
	req, err := http.NewRequest(http.MethodPost, b.env.Issuer+path, strings.NewReader(v.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.env.Issuer)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.noRedirects().Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// passVerification goes through the email verification a sign-in was
// held for, when redirect is its page: it types the mailed code and
// returns where the sign-in then goes (what the verify would have said
// without the step). Any other redirect is returned as it is.
func (b *browser) passVerification(redirect, email string) string {
	b.t.Helper()
	if !strings.HasPrefix(redirect, "/verify-email?") {
		return redirect
	}
	resp, _ := b.page(redirect)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d", redirect, resp.StatusCode)
	}
	u, _ := url.Parse(redirect)
	status, next := b.postForm("/verify-email", url.Values{"request": {u.Query().Get("request")},
		"code": {outboxVerifyCode(b.t, b.env, email)}})
	if status != http.StatusSeeOther || next == "" {
		b.t.Fatalf("verification code refused: %d %q", status, next)
	}
	return next
}

// requestOf is the verification request id of a /verify-email redirect.
func requestOf(t *testing.T, redirect string) string {
	t.Helper()
	if !strings.HasPrefix(redirect, "/verify-email?") {
		t.Fatalf("redirect %q, want the email verification page", redirect)
	}
	u, _ := url.Parse(redirect)
	return u.Query().Get("request")
}

// TestVerifiedEmailRequiredBeforeSignIn: with require_verified_email (the
// default) a passkey sign-up is held until the mailed code proves the
// address — no login session, no authorization code before — and the code
// is refused when wrong, malformed, expired, locked after five tries, or
// used again; the right one completes the same authorization, keeps the
// passkey just created, and the ID token says email_verified (OIDC Core
// §5.1). The step cannot be skipped where it is required.
func TestVerifiedEmailRequiredBeforeSignIn(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		rp := newRelyingParty(t, env, clients.Spec{SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"})
		b := newBrowser(t, env)
		dev := newAuthenticator()
		const email = "grace@example.com"
		a := rp.start()
		ia := b.openAuthorization(a)
		b.page("/signup?interaction=" + url.QueryEscape(ia))
		o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": email, "name": "Grace Hopper"})
		held := redirectOf(t, b.post("/webauthn/register/verify", verifyBody(o.Ceremony, dev.create(t, o.PublicKey, env.Issuer))))
		id := requestOf(t, held)
		resume := "/oauth2/authorize/resume?interaction=" + url.QueryEscape(ia)

		// Held: no session, no code for the app.
		notSignedIn := func(when string) {
			t.Helper()
			if n := countRows(t, env, "login_sessions"); n != 0 {
				t.Fatalf("%s: %d login sessions, want none before the proof", when, n)
			}
			resp, err := b.noRedirects().Get(env.Issuer + resume)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, rp.callback) {
				t.Fatalf("%s: the app got %s before the proof", when, loc)
			}
		}
		notSignedIn("after sign-up")
		if resp, page := b.page(held); resp.StatusCode != http.StatusOK || !strings.Contains(page, "g…@example.com") {
			t.Fatalf("verification page: %d\n%s", resp.StatusCode, page)
		}
		mail := outboxVerifyMail(t, env, email)
		if !strings.Contains(mail, env.Issuer+"/verify-email/") {
			t.Fatalf("the mail has no link:\n%s", mail)
		}
		code := outboxVerifyCode(t, env, email)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}

		// Malformed (no try spent), wrong, and a skip where it is required.
		for _, c := range []struct{ code string }{{"12ab56"}, {wrong}, {""}} {
			if status, loc := b.postForm("/verify-email", url.Values{"request": {id}, "code": {c.code}}); status != http.StatusBadRequest {
				t.Fatalf("code %q: %d %q, want 400", c.code, status, loc)
			}
		}
		if status, _ := b.postForm("/verify-email/skip", url.Values{"request": {id}}); status != http.StatusForbidden {
			t.Fatalf("skip where required: %d, want 403", status)
		}
		notSignedIn("after wrong codes")

		// Expired: the right code no longer works.
		db, err := env.Store.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE passlinks SET expires_at = created_at WHERE id = '" + id + "'"); err != nil {
			t.Fatal(err)
		}
		if status, _ := b.postForm("/verify-email", url.Values{"request": {id}, "code": {code}}); status != http.StatusGone {
			t.Fatalf("expired code: %d, want 410", status)
		}
		notSignedIn("after an expired code")

		// Signing in again with the passkey asks for a new code; five
		// wrong ones lock it, and then the right one is refused too.
		id = requestOf(t, b.signIn(ia, email, dev))
		code = outboxVerifyCode(t, env, email)
		wrong = "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 1; i <= 5; i++ {
			want := http.StatusBadRequest
			if i == 5 {
				want = http.StatusGone
			}
			if status, _ := b.postForm("/verify-email", url.Values{"request": {id}, "code": {wrong}}); status != want {
				t.Fatalf("wrong code %d: %d, want %d", i, status, want)
			}
		}
		if status, _ := b.postForm("/verify-email", url.Values{"request": {id}, "code": {code}}); status != http.StatusGone {
			t.Fatalf("right code after the lock: %d, want 410", status)
		}
		notSignedIn("after a locked code")

		// A new code, typed right: the same authorization completes.
		id = requestOf(t, b.signIn(ia, email, dev))
		code = outboxVerifyCode(t, env, email)
		status, next := b.postForm("/verify-email", url.Values{"request": {id}, "code": {code}})
		if status != http.StatusSeeOther || next != resume {
			t.Fatalf("right code: %d %q, want 303 to %s", status, next, resume)
		}
		claims := a.finish(t, b.follow(next))
		if claims.Email != email || !claims.EmailVerified {
			t.Fatalf("claims after the proof: %+v, want email_verified", claims)
		}
		if n := countRows(t, env, "webauthn_credentials"); n != 1 {
			t.Fatalf("%d passkeys after the proof, want the one just created", n)
		}
		// Used once: the same code again is refused and signs nobody in.
		sessions := countRows(t, env, "login_sessions")
		if status, _ := b.postForm("/verify-email", url.Values{"request": {id}, "code": {code}}); status != http.StatusGone {
			t.Fatalf("reused code: %d, want 410", status)
		}
		if n := countRows(t, env, "login_sessions"); n != sessions {
			t.Fatal("a reused code started a session")
		}
		// Proven now: the next sign-in is not held.
		a2 := rp.start(oauth2.SetAuthURLParam("prompt", "login"))
		if r := b.signIn(b.openAuthorization(a2), email, dev); strings.HasPrefix(r, "/verify-email") {
			t.Fatalf("a proven address was held again: %s", r)
		}
	})
}
