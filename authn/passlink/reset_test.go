package passlink_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

var resetRE = regexp.MustCompile(`https://id\.example/password/reset/([A-Za-z0-9_-]{43})`)

// requestReset asks for a reset link and returns the mail's reset token
// ("" when the mail has none) and the mail's subject ("" when none).
func (e *env) requestReset(t *testing.T, email string) (string, string) {
	t.Helper()
	before := len(e.deliver(t))
	if _, err := e.svc.Request(context.Background(), passlink.Request{
		Email: email, BrowserHash: browserA, Device: "Chrome on Linux", IP: "192.0.2.10", Reset: true,
	}); err != nil {
		t.Fatal(err)
	}
	msgs := e.deliver(t)
	if len(msgs) == before {
		return "", ""
	}
	m := msgs[len(msgs)-1]
	if tokenOf(m) != "" {
		t.Fatalf("a reset request mailed a sign-in link:\n%s", m.Text)
	}
	if s := resetRE.FindStringSubmatch(m.Text); s != nil {
		return s[1], m.Subject
	}
	return "", m.Subject
}

// TestResetLinks: a reset request mails a link to /password/reset/ for a
// known address and a notice without a link for an unknown one (never a
// sign-up, even with open sign-up); a reset link is never a sign-in link
// (Lookup, SignIn, Approve refuse it) and a sign-in link is never a reset
// link; Reset spends the link once, running the caller's change in the
// same transaction.
func TestResetLinks(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		u := createUser(t, st, "ada@example.test", false)

		token, subject := e.requestReset(t, "ada@example.test")
		if token == "" || !strings.Contains(subject, "Reset your") {
			t.Fatalf("known address: token %q subject %q", token, subject)
		}
		if tok, subject := e.requestReset(t, "nobody@example.test"); tok != "" || !strings.Contains(subject, "No Sesame account") {
			t.Fatalf("unknown address: token %q subject %q", tok, subject)
		}
		if _, err := st.GetUserByEmail(ctx, "nobody@example.test"); !errors.Is(err, models.ErrNotFound) {
			t.Fatal("a reset request created an account")
		}

		if _, err := e.svc.Lookup(ctx, token, browserA); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Fatalf("Lookup(reset token) = %v, want ErrInvalidLink", err)
		}
		if _, err := e.svc.SignIn(ctx, token, browserA, ""); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Fatalf("SignIn(reset token) = %v", err)
		}
		if _, err := e.svc.Approve(ctx, token, browserB, "123456", ""); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Fatalf("Approve(reset token) = %v", err)
		}
		_, signin := e.request(t, "ada@example.test")
		if _, err := e.svc.LookupReset(ctx, signin); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Fatalf("LookupReset(sign-in token) = %v", err)
		}
		if _, err := e.svc.LookupReset(ctx, "short"); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Fatalf("LookupReset(malformed) = %v", err)
		}

		// A failing change rolls the spending back.
		boom := errors.New("boom")
		if _, err := e.svc.Reset(ctx, token, func(context.Context, *models.User) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("Reset with a failing change = %v", err)
		}
		if _, err := e.svc.LookupReset(ctx, token); err != nil {
			t.Fatalf("the link after a failed change: %v", err)
		}

		// Concurrent uses: exactly one runs the change.
		var mu sync.Mutex
		ran := 0
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = e.svc.Reset(ctx, token, func(ctx context.Context, got *models.User) error {
					mu.Lock()
					defer mu.Unlock()
					ran++
					if got.ID != u.ID {
						t.Errorf("Reset changed %s, want %s", got.ID, u.ID)
					}
					return st.SetUserPassword(ctx, got.ID, "$argon2id$new")
				})
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, passlink.ErrUsed):
				t.Errorf("racer: %v", err)
			}
		}
		if wins != 1 || ran != 1 {
			t.Fatalf("%d resets won, %d changes ran; want 1 and 1", wins, ran)
		}
		if got, _ := st.GetUser(ctx, u.ID); !got.EmailVerified {
			t.Fatal("the reset did not verify the address")
		}
		if l, err := e.svc.LookupReset(ctx, token); !errors.Is(err, passlink.ErrUsed) || l.Outcome != models.PasslinkPasswordReset {
			t.Fatalf("used link: %v %+v", err, l)
		}

		// Expiry.
		token, _ = e.requestReset(t, "ada@example.test")
		e.clock.Advance(11 * time.Minute)
		if _, err := e.svc.Reset(ctx, token, func(context.Context, *models.User) error { return nil }); !errors.Is(err, passlink.ErrExpired) {
			t.Fatalf("expired reset link: %v", err)
		}
	})
}

// TestResetRequestsShareTheLimits: reset and sign-in requests for one
// address draw on the same hourly limit, so reset links cannot flood a
// mailbox either.
func TestResetRequestsShareTheLimits(t *testing.T) {
	e := newEnv(t, storeOf(t))
	createUser(t, e.st, "ada@example.test", true)
	for range 5 {
		if tok, _ := e.requestReset(t, "ada@example.test"); tok == "" {
			t.Fatal("no reset link")
		}
	}
	if tok, subject := e.requestReset(t, "ada@example.test"); tok != "" || subject != "" {
		t.Fatalf("the sixth request in the hour mailed %q", subject)
	}
}

func storeOf(t *testing.T) *store.Store { return storetest.OpenSQLite(t) }
