package authn_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

var resetLinkRE = regexp.MustCompile(`/password/reset/([A-Za-z0-9_-]{43})`)

// TestPasswordResetByPasslink: "forgot password" sends a reset link (the
// same page for every address; an unknown one gets a notice without a
// link); the link's GET changes nothing; a password the rules refuse
// spends nothing; a good one spends the link, replaces the password and
// signs the user out everywhere, in one transaction. A reset link never
// signs in and a sign-in link never sets a password.
func TestPasswordResetByPasslink(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, append(opts, servertest.With(fastPasswords))...)
		email := "ada-" + randomString()[:6] + "@example.com"
		u := pwUser(t, env.Env, email, "correct horse battery staple")
		elsewhere := newBrowser(t, env.Env)
		ls := env.Login(elsewhere.c, u.ID, []string{"pwd", "hwk", "mfa"}, models.ACRPhishingResistant, time.Now())

		b := env.client(t)
		if resp, body := b.get("/password/forgot"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="forgot-form"`) {
			t.Fatalf("forgot page: %d", resp.StatusCode)
		}
		_, known := b.post("/password/forgot", url.Values{"email": {email}})
		if !strings.Contains(known, "Check your inbox") || !strings.Contains(known, "a…@example.com") || !strings.Contains(known, "10 minutes") {
			t.Fatalf("check-your-inbox page:\n%s", known)
		}
		_, unknown := b.post("/password/forgot", url.Values{"email": {"an-" + randomString() + "@example.com"}})
		if unknown != known {
			t.Fatalf("known and unknown addresses get different pages:\n%s\n---\n%s", known, unknown)
		}
		if resp, _ := b.post("/password/forgot", url.Values{"email": {"not an address"}}); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a bad address: %d", resp.StatusCode)
		}
		msg, _ := env.mailTo(t, 1, email)
		m := resetLinkRE.FindStringSubmatch(msg.Text)
		if m == nil || !strings.Contains(msg.Subject, "Reset your") {
			t.Fatalf("reset mail %q has no reset link:\n%s", msg.Subject, msg.Text)
		}
		token := m[1]
		notice := env.smtp.WaitFor(t, 2, 10*time.Second)[1]
		if resetLinkRE.MatchString(notice.Text) || plLinkRE.MatchString(notice.Text) || !strings.Contains(notice.Text, "no account") {
			t.Fatalf("the unknown address's mail:\n%s", notice.Text)
		}

		// A reset link is no sign-in link, and the reverse.
		if resp, _ := b.get("/passlink/" + token); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a reset link opened as a sign-in link: %d", resp.StatusCode)
		}
		other := env.client(t)
		other.requestLink("", email)
		_, signin := env.mailTo(t, 3, email)
		if resp, _ := b.get("/password/reset/" + strings.TrimPrefix(signin, "/passlink/")); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a sign-in link opened as a reset link: %d", resp.StatusCode)
		}

		// Opening the link changes nothing; it works in any browser.
		before := snapshot(t, env.Env)
		phone := env.client(t)
		resp, page := phone.get("/password/reset/" + token)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Choose a new password") || !strings.Contains(page, email) {
			t.Fatalf("reset page: %d\n%s", resp.StatusCode, page)
		}
		if rp := resp.Header.Get("Referrer-Policy"); rp != "same-origin" {
			t.Fatalf("reset page Referrer-Policy %q: the token would leak to other sites", rp)
		}
		if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
			t.Fatal("the reset page links to another site")
		}
		// A refused password: the message at the field, nothing spent.
		resp, page = phone.post("/password/reset/"+token, url.Values{"password": {"short"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Use at least 10 characters") {
			t.Fatalf("short password: %d", resp.StatusCode)
		}
		if after := snapshot(t, env.Env); after != before {
			t.Fatalf("the reset page changed something:\n%s\n---\n%s", before, after)
		}
		// Without the page's CSRF token: refused.
		if resp, _ := phone.post("/password/reset/"+token, url.Values{"password": {"a brand new passphrase"}, "csrf": {"x"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("reset without CSRF: %d", resp.StatusCode)
		}
		resp, _ = phone.post("/password/reset/"+token, url.Values{"password": {"a brand new passphrase"}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login/password" || resp.Request.URL.Query().Get("done") != "reset" {
			t.Fatalf("after the reset: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		if _, err := env.Store.GetLoginSessionByTokenHash(context.Background(), ls.TokenHash); err == nil {
			t.Fatal("the reset left a session signed in")
		}
		// The link is spent.
		if resp, page := phone.get("/password/reset/" + token); resp.StatusCode != http.StatusGone || !strings.Contains(page, "already used") {
			t.Fatalf("the used link: %d", resp.StatusCode)
		}
		if resp, _ := phone.post("/password/reset/"+token, url.Values{"password": {"yet another passphrase"}}); resp.StatusCode != http.StatusGone {
			t.Fatalf("the used link posted again: %d", resp.StatusCode)
		}
		// The old password no longer works; the new one does.
		lb := newBrowser(t, env.Env)
		lb.page("/login/password")
		wantAPIError(t, lb.passwordStep("", email, "correct horse battery staple"), http.StatusUnauthorized, "wrong_password")
		wantStep(t, lb.passwordStep("", email, "a brand new passphrase"), "enrol")
		if n := plCount(t, env, "SELECT count(*) FROM auth_events WHERE method = 'password_security_key' AND event = 'reset'"); n != 1 {
			t.Fatalf("%d reset events, want 1", n)
		}
		got, _ := env.Store.GetUser(context.Background(), u.ID)
		if !got.EmailVerified {
			t.Fatal("the reset link did not mark the address verified")
		}
	})
}

// TestPasswordResetSetsAFirstPassword: a passkey-only account can get a
// password through the reset link (and a disabled one cannot).
func TestPasswordResetSetsAFirstPassword(t *testing.T) {
	env := newPLEnv(t, servertest.With(fastPasswords))
	u := env.CreateUser("carol@example.com")
	b := env.client(t)
	b.get("/password/forgot")
	b.post("/password/forgot", url.Values{"email": {"carol@example.com"}})
	msg, _ := env.mailTo(t, 1, "carol@example.com")
	token := resetLinkRE.FindStringSubmatch(msg.Text)[1]
	b.get("/password/reset/" + token)
	if resp, _ := b.post("/password/reset/"+token, url.Values{"password": {"my first real passphrase"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	if _, err := env.Store.GetUserPassword(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}

	b.post("/password/forgot", url.Values{"email": {"carol@example.com"}})
	msg, _ = env.mailTo(t, 2, "carol@example.com")
	token = resetLinkRE.FindStringSubmatch(msg.Text)[1]
	if err := env.Store.SetUserDisabled(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	b.get("/password/reset/" + token)
	if resp, _ := b.post("/password/reset/"+token, url.Values{"password": {"a password for nobody"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reset of a disabled account: %d", resp.StatusCode)
	}
}
