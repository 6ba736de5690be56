package authn_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// sendAdminLink posts the admin API's "send a sign-in link" from admin's
// console session.
func sendAdminLink(t *testing.T, admin *plClient, userID string) int {
	t.Helper()
	resp, body := admin.postJSON("/api/admin/v1/users/"+url.PathEscape(userID)+"/passlink", `{}`)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusConflict {
		t.Fatalf("send link: %d %s", resp.StatusCode, body)
	}
	return resp.StatusCode
}

// An administrator's sign-in link: the mail says an administrator sent
// it; its GET never signs in (scanners prefetch links); its POST signs in
// whichever browser opens it, once, with amr ["otp"] and acr basic (RFC
// 8176 §2), and leads a user without a passkey to add one; it is
// audit-logged and rate-limited like every other link.
func TestAdminPasslinkSignsInTheOpeningBrowserOnce(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPLEnv(t, opts...)
		ctx := context.Background()
		adminUser := plUser(t, env, "admin-"+randomString()+"@example.test", true)
		if err := env.Store.SetUserRole(ctx, adminUser.ID, models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		admin := env.client(t)
		admin.get("/login") // the CSRF token
		env.Login(admin.c, adminUser.ID, []string{"pop", "mfa"}, models.ACRPhishingResistant, time.Now())
		email := "pat-" + randomString() + "@example.test"
		u := plUser(t, env, email, false)

		if got := sendAdminLink(t, admin, u.ID); got != http.StatusAccepted {
			t.Fatalf("send link: %d", got)
		}
		m, link := env.mailTo(t, 1, email)
		if link == "" || !strings.Contains(m.Text, "An administrator") || !strings.Contains(m.HTML, "An administrator") {
			t.Fatalf("the mail does not say an administrator sent the link:\n%s", m.Text)
		}

		// Who sent it to whom.
		entries, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{Action: "user.send_passlink"}, 10)
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit entries: %v %d", err, len(entries))
		}
		if e := entries[0]; e.ActorID != adminUser.ID || e.ActorLabel != adminUser.Email || e.TargetID != u.ID || !strings.Contains(e.AfterJSON, email) {
			t.Errorf("audit entry: %+v", e)
		}

		// Another browser (no binding to anything) opens it: GET shows the
		// confirmation and signs nobody in.
		pat := env.client(t)
		resp, body := pat.get(link)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "An administrator sent you this sign-in link") || !strings.Contains(body, `value="signin"`) {
			t.Fatalf("open: %d\n%s", resp.StatusCode, body)
		}
		pat.get(link) // a scanner's second fetch changes nothing either
		if n := plCount(t, env, "SELECT COUNT(*) FROM login_sessions WHERE user_id = '"+u.ID+"'"); n != 0 {
			t.Fatalf("GET signed in: %d sessions", n)
		}
		// A forged approval (no code exists) is refused.
		if resp, _ := pat.post(link, url.Values{"action": {"approve"}, "code": {"123456"}}); resp.StatusCode < 400 {
			t.Errorf("approve of an admin link: %d", resp.StatusCode)
		}

		resp, _ = pat.post(link, url.Values{"action": {"signin"}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/passlink/passkey" {
			t.Fatalf("sign in: %d %s (want the passkey offer)", resp.StatusCode, resp.Request.URL)
		}
		sessions, err := env.Store.ListUserLoginSessions(ctx, u.ID)
		if err != nil || len(sessions) != 1 {
			t.Fatalf("sessions: %v %d", err, len(sessions))
		}
		if ls := sessions[0]; !slices.Equal(ls.AMR, []string{"otp"}) || ls.ACR != models.ACRBasic {
			t.Errorf("session amr %v acr %s, want [otp] %s", ls.AMR, ls.ACR, models.ACRBasic)
		}
		if got, _ := env.Store.GetUser(ctx, u.ID); !got.EmailVerified {
			t.Error("the link did not mark the address verified")
		}

		// Single use: a second browser and a replay both fail.
		other := env.client(t)
		if resp, body := other.get(link); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") {
			t.Errorf("open a used link: %d", resp.StatusCode)
		}
		if resp, body := pat.post(link, url.Values{"action": {"signin"}}); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") {
			t.Errorf("replay: %d", resp.StatusCode)
		}
		if n := plCount(t, env, "SELECT COUNT(*) FROM login_sessions WHERE user_id = '"+u.ID+"'"); n != 1 {
			t.Errorf("after a replay: %d sessions, want 1", n)
		}

		// Rate limit: the address's quota (5 an hour) holds for admins too.
		codes := []int{}
		for range 5 {
			codes = append(codes, sendAdminLink(t, admin, u.ID))
		}
		if codes[3] != http.StatusAccepted || codes[4] != http.StatusTooManyRequests {
			t.Errorf("sends 2..6: %v, want four 202 then 429", codes)
		}

		// A disabled user gets nothing.
		if err := env.Store.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		v := plUser(t, env, "off-"+randomString()+"@example.test", true)
		if err := env.Store.SetUserDisabled(ctx, v.ID, true); err != nil {
			t.Fatal(err)
		}
		if got := sendAdminLink(t, admin, v.ID); got != http.StatusConflict {
			t.Errorf("send to a disabled user: %d, want 409", got)
		}
	})
}
