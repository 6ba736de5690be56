package authn_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/server/servertest"
)

// verifyCodeRE finds the code in a verification mail's text.
var verifyCodeRE = regexp.MustCompile(`Your code is: ([0-9]{6})`)

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
