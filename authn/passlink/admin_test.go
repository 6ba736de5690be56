package passlink_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// sendAdmin sends an administrator's link to u and returns its token.
func (e *env) sendAdmin(t *testing.T, u *models.User) string {
	t.Helper()
	before := len(e.deliver(t))
	if _, err := e.svc.SendAdmin(context.Background(), passlink.AdminRequest{UserID: u.ID, AdminID: "user:admin-1", IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	msgs := e.deliver(t)
	if len(msgs) != before+1 {
		t.Fatalf("%d mails, want one", len(msgs)-before)
	}
	m := msgs[before]
	if !strings.Contains(m.Text, "An administrator") || !strings.Contains(m.HTML, "An administrator") || m.To != u.Email {
		t.Fatalf("admin mail to %s:\n%s", m.To, m.Text)
	}
	return tokenOf(m)
}

// An administrator's link has no requesting browser: any browser may use
// it (no code), exactly once among racing callers, until it expires; it
// never approves another browser, and its request id tells nobody
// anything (Status stays pending, Complete refuses).
func TestAdminLinkSignsInAnyBrowserOnce(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u := createUser(t, st, "lost@example.com", false)
		token := e.sendAdmin(t, u)

		l, err := e.svc.Lookup(ctx, token, browserB)
		if err != nil || !l.SameBrowser || l.Purpose != models.PasslinkAdmin || l.UsedAt != nil {
			t.Fatalf("lookup: %v %+v", err, l)
		}
		if _, err := e.svc.Approve(ctx, token, browserB, "123456", ""); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Errorf("approve an admin link: %v", err)
		}
		if st, _ := e.svc.Status(ctx, l.ID, ""); st != passlink.StatePending {
			t.Errorf("status: %s", st)
		}

		var wg sync.WaitGroup
		wins, used := 0, 0
		var mu sync.Mutex
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := e.svc.SignIn(ctx, token, browserB, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && res.User.ID == u.ID && res.Admin:
					wins++
				case errors.Is(err, passlink.ErrUsed):
					used++
				default:
					t.Errorf("sign in: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || used != 7 {
			t.Fatalf("%d wins, %d used, want 1 and 7", wins, used)
		}
		if _, err := e.svc.Complete(ctx, l.ID, ""); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Errorf("complete: %v", err)
		}
		if got, _ := st.GetUser(ctx, u.ID); !got.EmailVerified {
			t.Error("address not verified")
		}

		// Expiry.
		token = e.sendAdmin(t, u)
		e.clock.Advance(e.svc.TTL(context.Background()) + time.Second)
		if _, err := e.svc.SignIn(ctx, token, browserA, ""); !errors.Is(err, passlink.ErrExpired) {
			t.Errorf("expired: %v", err)
		}

		// Disabled or unknown users get nothing.
		if err := st.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SendAdmin(ctx, passlink.AdminRequest{UserID: u.ID}); !errors.Is(err, passlink.ErrUserUnavailable) {
			t.Errorf("disabled: %v", err)
		}
		if _, err := e.svc.SendAdmin(ctx, passlink.AdminRequest{UserID: "nope"}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
	})
}

// Admin links count against the address's hourly limit like every other
// request, and against the sender's.
func TestAdminLinkRateLimited(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, func(c *passlink.Config) { c.RateEmail, c.RateIP = 2, 3 })
		ctx := context.Background()
		a, b := createUser(t, st, "a@example.com", true), createUser(t, st, "b@example.com", true)
		send := func(u *models.User) error {
			_, err := e.svc.SendAdmin(ctx, passlink.AdminRequest{UserID: u.ID, AdminID: "user:admin-1"})
			return err
		}
		for i, want := range []error{nil, nil, passlink.ErrRateLimited} {
			if err := send(a); !errors.Is(err, want) && !(want == nil && err == nil) {
				t.Errorf("send %d to a: %v, want %v", i+1, err, want)
			}
		}
		// The sender's 3 are spent (the refused one counted too).
		if err := send(b); !errors.Is(err, passlink.ErrRateLimited) {
			t.Errorf("sender over its limit: %v", err)
		}
		if n := len(e.deliver(t)); n != 2 {
			t.Errorf("%d mails, want 2", n)
		}
	})
}
