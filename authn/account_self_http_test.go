package authn_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

var accountLinkRE = regexp.MustCompile(`/account/link/[A-Za-z0-9_-]{43}`)

// passkeyAMR is a user-verified passkey sign-in (RFC 8176).
var passkeyAMR = []string{"pop", "user", "mfa"}

// mailFor waits for n mails in all and returns the last one to email, with
// its account link ("" when it has none).
func (e *plEnv) mailFor(t *testing.T, n int, email string) (mailtest.Message, string) {
	t.Helper()
	msgs := e.smtp.WaitFor(t, n, 10*time.Second)
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].To) == 1 && msgs[i].To[0] == email {
			return msgs[i], accountLinkRE.FindString(msgs[i].Text)
		}
	}
	t.Fatalf("no mail to %s among %d", email, len(msgs))
	return mailtest.Message{}, ""
}

// selfClient is a browser signed in as u with the given sign-in, on the
// account page (its CSRF token read).
func selfClient(t *testing.T, env *plEnv, u *models.User, amr []string, authTime time.Time) *plClient {
	t.Helper()
	b := env.client(t)
	env.Login(b.c, u.ID, amr, models.ACRBasic, authTime)
	if resp, body := b.get("/account"); resp.StatusCode != http.StatusOK || !strings.Contains(body, u.Email) {
		t.Fatalf("account page: %d", resp.StatusCode)
	}
	return b
}

func wantSeeOther(t *testing.T, resp *http.Response, body, want string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), want) {
		t.Fatalf("got %d → %q, want 303 → %q\n%s", resp.StatusCode, resp.Header.Get("Location"), want, body)
	}
}

// noRedirect makes b stop at redirects, to read them.
func noRedirect(b *plClient) *plClient {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cp := *b
	cp.c = &c
	return &cp
}

func auditActions(t *testing.T, env *plEnv, target string) []string {
	t.Helper()
	es, err := env.Store.ListAuditEntries(context.Background(), store.AuditFilter{TargetType: "user", TargetID: target}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return out
}

// TestEmailChangeBySelf: a change of address needs a fresh, user-verified
// passkey sign-in; it takes effect only through the single-use link mailed
// to the new address, which spends the old address's pending sign-in
// links; the old address gets a revert link that restores it and signs
// every session out; a taken address gets a mail instead of the link and
// the page answers alike (no enumeration); bad, forged, used and expired
// links and the rate limit are refused with a page that says why.
func TestEmailChangeBySelf(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, opts...)
		tag := randomString()[:6]
		old, next, taken := "ada-"+tag+"@example.com", "ada.new-"+tag+"@example.com", "bob-"+tag+"@example.com"
		u := plUser(t, env, old, true)
		plUser(t, env, taken, true)

		// Not fresh enough: an old passkey sign-in, a link sign-in.
		for _, s := range []struct {
			amr []string
			at  time.Time
		}{{passkeyAMR, time.Now().Add(-time.Hour)}, {[]string{"otp"}, time.Now()}} {
			b := noRedirect(selfClient(t, env, u, s.amr, s.at))
			resp, body := b.post("/account/email", url.Values{"email": {next}})
			wantSeeOther(t, resp, body, "done=reauth_email#email")
		}

		// A sign-in link for the old address, pending.
		other := env.client(t)
		other.requestLink("", old)
		_, oldLogin := env.mailTo(t, 1, old)

		b := selfClient(t, env, u, passkeyAMR, time.Now())
		for _, bad := range []struct{ email, want string }{
			{"not an address", "Enter an email address"}, {strings.ToUpper(old), "already your address"},
		} {
			resp, body := b.post("/account/email", url.Values{"email": {bad.email}})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, bad.want) {
				t.Fatalf("%q: %d, want 400 with %q", bad.email, resp.StatusCode, bad.want)
			}
		}
		nb := noRedirect(b)
		respTaken, bodyTaken := nb.post("/account/email", url.Values{"email": {taken}})
		respFree, bodyFree := nb.post("/account/email", url.Values{"email": {next}})
		wantSeeOther(t, respTaken, bodyTaken, "done=email_sent#email")
		wantSeeOther(t, respFree, bodyFree, "done=email_sent#email")
		mTaken, linkTaken := env.mailFor(t, 3, taken)
		if linkTaken != "" || !strings.Contains(mTaken.Text, "already belongs to another") {
			t.Fatalf("the taken address's mail has link %q:\n%s", linkTaken, mTaken.Text)
		}
		_, change := env.mailFor(t, 3, next)
		if change == "" {
			t.Fatal("no link to the new address")
		}
		if got, _ := env.Store.GetUser(context.Background(), u.ID); got.Email != old {
			t.Fatalf("the address changed before the link was used: %s", got.Email)
		}

		// The link's page changes nothing; a forged token is refused.
		anyone := env.client(t)
		if resp, body := anyone.get(change); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Use this address") {
			t.Fatalf("link page: %d\n%s", resp.StatusCode, body)
		}
		forged := change[:len(change)-1] + map[bool]string{true: "A", false: "B"}[!strings.HasSuffix(change, "A")]
		if resp, _ := useLink(anyone, forged); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("forged link: %d, want 404", resp.StatusCode)
		}
		if resp, body := useLink(anyone, change); resp.StatusCode != http.StatusOK || !strings.Contains(body, "now uses "+next) {
			t.Fatalf("use link: %d\n%s", resp.StatusCode, body)
		}
		got, _ := env.Store.GetUser(context.Background(), u.ID)
		if got.Email != next || !got.EmailVerified {
			t.Fatalf("after the link: %s verified %v", got.Email, got.EmailVerified)
		}
		if resp, body := useLink(anyone, change); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") {
			t.Fatalf("used link again: %d\n%s", resp.StatusCode, body)
		}
		// The old address's sign-in link no longer works.
		if resp, body := other.post(oldLogin, url.Values{}); resp.StatusCode < 400 {
			t.Fatalf("the old address's sign-in link still works: %d\n%s", resp.StatusCode, body)
		}
		// The old address hears of it, with a way back.
		notice, revert := env.mailFor(t, 4, old)
		if revert == "" || !strings.Contains(notice.Text, next) {
			t.Fatalf("notice to the old address:\n%s", notice.Text)
		}
		if resp, body := anyone.get(revert); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Undo the change") {
			t.Fatalf("revert page: %d\n%s", resp.StatusCode, body)
		}
		if resp, body := useLink(anyone, revert); resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out everywhere") {
			t.Fatalf("revert: %d\n%s", resp.StatusCode, body)
		}
		got, _ = env.Store.GetUser(context.Background(), u.ID)
		if got.Email != old || !got.EmailVerified {
			t.Fatalf("after revert: %s verified %v", got.Email, got.EmailVerified)
		}
		if n, _ := env.Store.CountLiveLoginSessions(context.Background(), u.ID); n != 0 {
			t.Fatalf("%d sessions live after the revert", n)
		}
		if _, body := b.get("/account"); strings.Contains(body, old) {
			t.Fatal("the account page still shows the account after the revert")
		}
		want := []string{"user.email_revert", "user.email_change", "user.email_change_requested", "user.email_change_requested"}
		if got := auditActions(t, env, u.ID); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("audit %v, want %v", got, want)
		}

		// An expired link; then the rate limit (5 an hour per user).
		b = selfClient(t, env, u, passkeyAMR, time.Now())
		noRedirect(b).post("/account/email", url.Values{"email": {next}})
		_, late := env.mailFor(t, 5, next)
		plSQL(t, env, "UPDATE passlinks SET expires_at = ? WHERE purpose = ? AND used_at IS NULL", time.Now().Add(-time.Minute).UTC(), models.PasslinkEmailChange)
		if resp, body := useLink(anyone, late); resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
			t.Fatalf("expired link: %d\n%s", resp.StatusCode, body)
		}
		limited := false
		for range 6 {
			resp, _ := noRedirect(b).post("/account/email", url.Values{"email": {next}})
			if resp.StatusCode == http.StatusTooManyRequests {
				limited = true
				break
			}
		}
		if !limited {
			t.Fatal("no rate limit on address changes")
		}
	})
}

// TestAccountDeletionBySelf: deletion needs a fresh passkey sign-in and a
// ticked box; it signs out everywhere, mails a cancel link and waits for
// the grace period, during which signing in offers "Keep my account";
// after it the janitor removes the account and the audit log keeps only a
// pseudonym. The only administrator cannot delete themselves.
func TestAccountDeletionBySelf(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, opts...)
		email := "cleo-" + randomString()[:6] + "@example.com"
		u := plUser(t, env, email, true)
		ctx := context.Background()

		b := noRedirect(selfClient(t, env, u, passkeyAMR, time.Now().Add(-time.Hour)))
		resp, body := b.post("/account/delete", url.Values{"confirm": {"delete"}})
		wantSeeOther(t, resp, body, "done=reauth_delete#delete")
		b = noRedirect(selfClient(t, env, u, passkeyAMR, time.Now()))
		resp, body = b.post("/account/delete", url.Values{})
		wantSeeOther(t, resp, body, "done=delete_unconfirmed#delete")
		plSQL(t, env, "UPDATE users SET role = ? WHERE id = ?", models.RoleAdmin, u.ID)
		resp, body = b.post("/account/delete", url.Values{"confirm": {"delete"}})
		wantSeeOther(t, resp, body, "done=last_admin#delete")
		plSQL(t, env, "UPDATE users SET role = '' WHERE id = ?", u.ID)

		schedule := func(n int) string {
			t.Helper()
			b := selfClient(t, env, u, passkeyAMR, time.Now())
			resp, body := b.post("/account/delete", url.Values{"confirm": {"delete"}})
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "will be deleted on") {
				t.Fatalf("delete: %d\n%s", resp.StatusCode, body)
			}
			if _, body := b.get("/account"); strings.Contains(body, email) {
				t.Fatal("still signed in after asking for deletion")
			}
			got, _ := env.Store.GetUser(ctx, u.ID)
			if got.DeletionDueAt == nil || time.Until(*got.DeletionDueAt) < 6*24*time.Hour {
				t.Fatalf("deletion due %v, want in 7 days", got.DeletionDueAt)
			}
			m, link := env.mailFor(t, n, email)
			if link == "" || !strings.Contains(m.Text, "Keep my account") {
				t.Fatalf("deletion mail:\n%s", m.Text)
			}
			return link
		}

		// Cancelled by signing in.
		schedule(1)
		b2 := selfClient(t, env, u, []string{"otp"}, time.Now())
		if _, body := b2.get("/account"); !strings.Contains(body, `id="keep-account"`) {
			t.Fatal("signing in does not offer to keep the account")
		}
		resp, body = noRedirect(b2).post("/account/delete/cancel", url.Values{})
		wantSeeOther(t, resp, body, "done=deletion_cancelled")
		if got, _ := env.Store.GetUser(ctx, u.ID); got.DeletionDueAt != nil {
			t.Fatal("still scheduled after cancelling")
		}

		// Cancelled by the mailed link.
		link := schedule(2)
		anyone := env.client(t)
		if resp, body := useLink(anyone, link); resp.StatusCode != http.StatusOK || !strings.Contains(body, "deletion was cancelled") {
			t.Fatalf("cancel link: %d\n%s", resp.StatusCode, body)
		}
		if got, _ := env.Store.GetUser(ctx, u.ID); got.DeletionDueAt != nil {
			t.Fatal("still scheduled after the cancel link")
		}

		// Not cancelled: the janitor removes the account after the grace
		// period, and not before.
		schedule(3)
		if n, err := env.Server.PurgeDueDeletions(ctx); err != nil || n != 0 {
			t.Fatalf("purged %d (%v) before the grace period ended", n, err)
		}
		plSQL(t, env, "UPDATE users SET deletion_due_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UTC(), u.ID)
		if n, err := env.Server.PurgeDueDeletions(ctx); err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want 1", n, err)
		}
		if _, err := env.Store.GetUser(ctx, u.ID); err == nil {
			t.Fatal("the account survived its deletion")
		}
		if got := auditActions(t, env, u.ID); len(got) != 0 {
			t.Fatalf("the audit log still names the user: %v", got)
		}
		es, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{Action: "user.deleted"}, 100)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range es {
			if strings.HasPrefix(e.TargetID, models.PseudonymPrefix) && !strings.Contains(e.TargetID, u.ID) {
				found = true
				if acts := auditActions(t, env, e.TargetID); len(acts) != 6 || acts[0] != "user.deleted" {
					t.Errorf("the pseudonym's history: %v", acts)
				}
			}
		}
		if !found {
			t.Fatal("no pseudonymous deletion record")
		}
	})
}

// TestAdminEmailEditReverifies (issue 14 part 1): an address an
// administrator sets is unverified until proven: the new address gets a
// link that proves it (only while it is still the account's), the old one
// a notice, and sign-in links pending for the old address stop working.
func TestAdminEmailEditReverifies(t *testing.T) {
	env := newPLEnv(t)
	tag := randomString()[:6]
	old, next := "dora-"+tag+"@example.com", "dora.new-"+tag+"@example.com"
	u := plUser(t, env, old, true)
	ctx := context.Background()
	other := env.client(t)
	other.requestLink("", old)
	_, oldLogin := env.mailTo(t, 1, old)

	if _, err := env.Server.Console().Users.Update(ctx, u.ID, consoleUpdate(next)); err != nil {
		t.Fatal(err)
	}
	got, _ := env.Store.GetUser(ctx, u.ID)
	if got.Email != next || got.EmailVerified || !got.EmailVerificationDue {
		t.Fatalf("after the edit: %+v", got)
	}
	m, confirm := env.mailFor(t, 3, next)
	if confirm == "" || !strings.Contains(m.Text, "administrator changed") {
		t.Fatalf("mail to the new address:\n%s", m.Text)
	}
	notice, link := env.mailFor(t, 3, old)
	if link != "" || !strings.Contains(notice.Text, next) {
		t.Fatalf("notice to the old address (link %q):\n%s", link, notice.Text)
	}
	if resp, _ := other.post(oldLogin, url.Values{}); resp.StatusCode < 400 {
		t.Fatalf("the old address's sign-in link still works: %d", resp.StatusCode)
	}
	anyone := env.client(t)
	if resp, body := useLink(anyone, confirm); resp.StatusCode != http.StatusOK || !strings.Contains(body, "is confirmed") {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, body)
	}
	got, _ = env.Store.GetUser(ctx, u.ID)
	if !got.EmailVerified || got.EmailVerificationDue {
		t.Fatalf("after the proof: verified %v due %v", got.EmailVerified, got.EmailVerificationDue)
	}

	// A link for an address the account no longer has proves nothing.
	third := "dora.third-" + tag + "@example.com"
	if _, err := env.Server.Console().Users.Update(ctx, u.ID, consoleUpdate(third)); err != nil {
		t.Fatal(err)
	}
	_, stale := env.mailFor(t, 5, third)
	if _, err := env.Server.Console().Users.Update(ctx, u.ID, consoleUpdate("dora.fourth-"+tag+"@example.com")); err != nil {
		t.Fatal(err)
	}
	if resp, body := useLink(anyone, stale); resp.StatusCode != http.StatusGone || !strings.Contains(body, "no longer applies") {
		t.Fatalf("stale confirm: %d\n%s", resp.StatusCode, body)
	}
	if got, _ := env.Store.GetUser(ctx, u.ID); got.EmailVerified {
		t.Fatal("a stale link proved the current address")
	}
}

func consoleUpdate(email string) console.UserUpdate { return console.UserUpdate{Email: &email} }

// useLink opens an account link's page, as a person does, then presses
// its button.
func useLink(b *plClient, link string) (*http.Response, string) {
	b.t.Helper()
	b.get(link)
	return b.post(link, url.Values{})
}
