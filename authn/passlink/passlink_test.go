package passlink_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

func addr() string { return "p-" + uuid.NewString()[:8] + "@example.com" }

// TestRequestSameAnswerForEveryAddress: the requester learns nothing about
// the account (no enumeration): known, unknown and disabled addresses get
// a Sent of the same shape, each request a row, and the mail says what
// fits the account.
func TestRequestSameAnswerForEveryAddress(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		cases := []struct {
			name        string
			cfg         func(*passlink.Config)
			setup       func(email string)
			wantPurpose string
			wantMail    string // subject prefix, "" for none
			wantLink    bool
		}{
			{"known", nil, func(e string) { createUser(t, st, e, false) }, models.PasslinkLogin, "Sign in to Sesame", true},
			{"unknown, open sign-up", nil, nil, models.PasslinkSignup, "Create your Sesame account", true},
			{"unknown, closed sign-up, offer falls back to notice", func(c *passlink.Config) { c.SignupOpen = false }, nil, models.PasslinkNotice, "No Sesame account", false},
			{"unknown, notice", func(c *passlink.Config) { c.UnknownMail = passlink.UnknownNotice }, nil, models.PasslinkNotice, "No Sesame account", false},
			{"unknown, none", func(c *passlink.Config) { c.UnknownMail = passlink.UnknownNone }, nil, models.PasslinkNone, "", false},
			{"disabled", nil, func(e string) {
				u := createUser(t, st, e, true)
				if err := st.SetUserDisabled(ctx, u.ID, true); err != nil {
					t.Fatal(err)
				}
			}, models.PasslinkNone, "", false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var mods []func(*passlink.Config)
				if tc.cfg != nil {
					mods = append(mods, tc.cfg)
				}
				e := newEnv(t, st, mods...)
				email := addr()
				if tc.setup != nil {
					tc.setup(email)
				}
				sent, err := e.svc.Request(ctx, passlink.Request{Email: email, BrowserHash: browserA, Device: "Chrome on Linux", IP: "192.0.2.1"})
				if err != nil {
					t.Fatal(err)
				}
				if sent.Limited || sent.Purpose != tc.wantPurpose || len(sent.Code) != 6 || len(sent.RequestID) != 22 ||
					sent.MaskedEmail != "p…@example.com" || !sent.ExpiresAt.Equal(e.clock.Now().Truncate(time.Microsecond).Add(10*time.Minute)) {
					t.Fatalf("sent = %+v", sent)
				}
				if _, err := st.GetPasslink(ctx, sent.RequestID); err != nil {
					t.Fatalf("no row for the request: %v", err)
				}
				msgs := e.deliver(t)
				if tc.wantMail == "" {
					if len(msgs) != 0 {
						t.Fatalf("mails = %+v, want none", msgs)
					}
					return
				}
				if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, tc.wantMail) || msgs[0].To != email {
					t.Fatalf("mails = %+v", msgs)
				}
				m := msgs[0]
				if tc.wantLink != (tokenOf(m) != "") {
					t.Fatalf("link in mail = %q, want link %v:\n%s", tokenOf(m), tc.wantLink, m.Text)
				}
				for _, want := range []string{"Chrome on Linux", "Sesame"} {
					if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
						t.Errorf("mail does not name %q:\n%s", want, m.Text)
					}
				}
				if tc.wantLink && (!strings.Contains(m.Text, "10 minutes") || !strings.Contains(m.HTML, "/passlink/"+tokenOf(m))) {
					t.Errorf("mail lacks the expiry or the HTML link:\n%s\n%s", m.Text, m.HTML)
				}
			})
		}
	})
}

// TestRequestRefusesBadAddresses: header injection and anything that is
// not one plain address is refused before anything is stored or counted.
func TestRequestRefusesBadAddresses(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st)
	bad := []string{
		"", "   ", "no-at-sign", "@example.com", "a@", "a@@example.com",
		"victim@example.com\r\nBcc: attacker@evil.test",
		"victim@example.com\nSubject: hi",
		"victim@example.com%0d%0aBcc:attacker@evil.test",
		"Victim <victim@example.com>", "a@example.com, b@example.com", "a@example.com;b@example.com",
		"\"a b\"@example.com", "a@example..com", "a@.example.com", "a b@example.com",
		strings.Repeat("a", 250) + "@example.com", "a@example.com\x00",
	}
	for _, email := range bad {
		_, err := e.svc.Request(context.Background(), passlink.Request{Email: email, BrowserHash: browserA, IP: "192.0.2.2"})
		if !errors.Is(err, passlink.ErrInvalidEmail) {
			t.Errorf("Request(%q) = %v, want ErrInvalidEmail", email, err)
		}
	}
	if msgs := e.deliver(t); len(msgs) != 0 {
		t.Fatalf("bad addresses caused mails: %+v", msgs)
	}
	// Nothing was counted either: the IP still has its whole quota.
	for range 30 {
		sent, err := e.svc.Request(context.Background(), passlink.Request{Email: addr(), BrowserHash: browserA, IP: "192.0.2.2"})
		if err != nil || sent.Limited {
			t.Fatalf("good request after bad ones: %+v %v", sent, err)
		}
	}
	for _, good := range []string{"Ada.Lovelace+tag@Example.COM", "x@localhost", "zoë@exämple.com"} {
		if _, err := passlink.ParseEmail(good); err != nil {
			t.Errorf("ParseEmail(%q) = %v", good, err)
		}
	}
}

// TestRateLimits: per address (5 an hour) and per IP (30 an hour); over
// a limit the answer has the same shape, with no row and no mail.
func TestRateLimits(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		email := addr()
		createUser(t, st, email, true)
		for i := range 7 {
			// Different IPs: the address limit holds whoever asks.
			ip := "198.51.100." + strconv.Itoa(i+1)
			sent, err := e.svc.Request(ctx, passlink.Request{Email: email, BrowserHash: browserA, IP: ip})
			if err != nil {
				t.Fatal(err)
			}
			if want := i >= 5; sent.Limited != want || (want && sent.LimitedBy != "email") {
				t.Fatalf("request %d: limited %v by %q, want %v", i+1, sent.Limited, sent.LimitedBy, want)
			}
			if len(sent.Code) != 6 || sent.RequestID == "" || sent.MaskedEmail == "" {
				t.Fatalf("limited answer differs in shape: %+v", sent)
			}
			if sent.Limited {
				if _, err := st.GetPasslink(ctx, sent.RequestID); !errors.Is(err, models.ErrNotFound) {
					t.Fatalf("a limited request stored a row: %v", err)
				}
			}
		}
		if n := len(e.deliver(t)); n != 5 {
			t.Fatalf("%d mails, want 5", n)
		}
		// An hour later the address may ask again.
		e.clock.Advance(time.Hour)
		if sent, _ := e.request(t, email); sent.Limited {
			t.Fatal("still limited an hour later")
		}

		// One IP, many addresses.
		limited := 0
		for range 32 {
			sent, err := e.svc.Request(ctx, passlink.Request{Email: addr(), BrowserHash: browserA, IP: "203.0.113.9"})
			if err != nil {
				t.Fatal(err)
			}
			if sent.Limited {
				limited++
				if sent.LimitedBy != "ip" {
					t.Fatalf("limited by %q", sent.LimitedBy)
				}
			}
		}
		if limited != 2 {
			t.Fatalf("%d of 32 requests from one IP limited, want 2", limited)
		}
	})
}

// TestLookupChangesNothing: opening a link (what a mail scanner does)
// leaves it usable; malformed and tampered tokens are refused before any
// lookup.
func TestLookupChangesNothing(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st)
	email := addr()
	u := createUser(t, st, email, false)
	_, token := e.request(t, email)
	for range 3 {
		l, err := e.svc.Lookup(context.Background(), token, "")
		if err != nil || l.SameBrowser || l.UserID != u.ID {
			t.Fatalf("lookup: %+v %v", l, err)
		}
	}
	tampered := []byte(token)
	tampered[10] ^= 1
	if tampered[10] == '.' {
		tampered[10] = 'A'
	}
	for _, bad := range []string{"", "x", token[:42], token + "A", token + token, strings.Repeat("A", 10000),
		string(tampered), token[:42] + "=", token[:42] + "/", "../../etc/passwd" + token[:27]} {
		if _, err := e.svc.Lookup(context.Background(), bad, browserA); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Errorf("Lookup(%.50q) = %v, want ErrInvalidLink", bad, err)
		}
		if _, err := e.svc.SignIn(context.Background(), bad, browserA, ""); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Errorf("SignIn(%.50q) = %v, want ErrInvalidLink", bad, err)
		}
	}
	res, err := e.svc.SignIn(context.Background(), token, browserA, "")
	if err != nil || res.User.ID != u.ID || !res.User.EmailVerified {
		t.Fatalf("sign in after lookups: %+v %v", res, err)
	}
	got, _ := st.GetUser(context.Background(), u.ID)
	if !got.EmailVerified {
		t.Fatal("a passlink did not mark the address verified")
	}
}

// TestSignInSingleUse: a link signs in once, in the browser that asked,
// before it expires; replays and other browsers are refused.
func TestSignInSingleUse(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		email := addr()
		createUser(t, st, email, true)

		_, token := e.request(t, email)
		if _, err := e.svc.SignIn(ctx, token, browserB, ""); !errors.Is(err, passlink.ErrOtherBrowser) {
			t.Fatalf("other browser: %v", err)
		}
		if _, err := e.svc.SignIn(ctx, token, browserA, ""); err != nil {
			t.Fatal(err)
		}
		l, err := e.svc.SignIn(ctx, token, browserA, "")
		if !errors.Is(err, passlink.ErrUsed) {
			t.Fatalf("replay: %v", err)
		}
		if l2, err := e.svc.Lookup(ctx, token, browserA); !errors.Is(err, passlink.ErrUsed) || l2.Outcome != models.PasslinkSignedIn {
			t.Fatalf("lookup after use: %+v %v (%v)", l2, err, l)
		}

		_, token = e.request(t, email)
		e.clock.Advance(10*time.Minute + time.Second)
		if _, err := e.svc.SignIn(ctx, token, browserA, ""); !errors.Is(err, passlink.ErrExpired) {
			t.Fatalf("expired: %v", err)
		}
	})
}

// TestNewerLinkSupersedesOlder: asking again for the same sign-in (same
// interaction, or the same browser and address) ends the older links, so a
// stale mail cannot sign in; another browser's link for the address stays.
func TestNewerLinkSupersedesOlder(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		email := addr()
		createUser(t, st, email, true)

		other, _ := e.requestFrom(t, browserB, email)
		_, first := e.request(t, email)
		_, second := e.request(t, email)
		if _, err := e.svc.SignIn(ctx, first, browserA, ""); !errors.Is(err, passlink.ErrUsed) {
			t.Fatalf("the older link: %v, want ErrUsed", err)
		}
		if l, err := e.svc.Lookup(ctx, first, browserA); l == nil || l.Outcome != models.PasslinkSuperseded {
			t.Fatalf("older link: %+v, %v; want superseded", l, err)
		}
		if _, err := e.svc.SignIn(ctx, second, browserA, ""); err != nil {
			t.Fatalf("the newest link: %v", err)
		}
		if s, _ := e.svc.Status(ctx, other.RequestID, browserB); s != passlink.StatePending {
			t.Fatalf("another browser's request: %q, want still pending", s)
		}
	})
}

// TestSignInRace: N concurrent uses of one link (double clicks, or a
// replay racing the real use) sign in exactly once.
func TestSignInRace(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		email := addr()
		createUser(t, st, email, true)
		_, token := e.request(t, email)
		const n = 16
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = e.svc.SignIn(context.Background(), token, browserA, "")
			})
		}
		close(start)
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
		if wins != 1 {
			t.Fatalf("%d sign-ins, want exactly 1", wins)
		}
	})
}

// TestCrossDeviceApproval: another device approves only with the code the
// requesting screen shows; the requesting browser then takes the approval
// exactly once.
func TestCrossDeviceApproval(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		email := addr()
		u := createUser(t, st, email, false)
		sent, token := e.request(t, email)

		if s, _ := e.svc.Status(ctx, sent.RequestID, browserA); s != passlink.StatePending {
			t.Fatalf("status %q", s)
		}
		if _, err := e.svc.Complete(ctx, sent.RequestID, browserA); !errors.Is(err, passlink.ErrNotApproved) {
			t.Fatalf("complete before approval: %v", err)
		}
		for _, bad := range []string{"", "12345", "1234567", "abcdef", "12 34 5x"} {
			if _, err := e.svc.Approve(ctx, token, browserB, bad, ""); !errors.Is(err, passlink.ErrCodeFormat) {
				t.Fatalf("Approve(code %q) = %v, want ErrCodeFormat", bad, err)
			}
		}
		wrong := wrongCode(sent.Code)
		_, err := e.svc.Approve(ctx, token, browserB, wrong, "")
		var wce *passlink.WrongCodeError
		if !errors.As(err, &wce) || wce.Left != 4 {
			t.Fatalf("wrong code: %v (malformed codes must not count)", err)
		}
		res, err := e.svc.Approve(ctx, token, browserB, sent.Code[:3]+" "+sent.Code[3:], "")
		if err != nil || res.User.ID != u.ID || !res.User.EmailVerified {
			t.Fatalf("approve: %+v %v", res, err)
		}
		if _, err := e.svc.Approve(ctx, token, browserB, sent.Code, ""); !errors.Is(err, passlink.ErrUsed) {
			t.Fatalf("approve twice: %v", err)
		}
		if _, err := e.svc.SignIn(ctx, token, browserA, ""); !errors.Is(err, passlink.ErrUsed) {
			t.Fatalf("sign in after approval: %v", err)
		}
		// Only the requesting browser sees and takes the approval.
		if s, _ := e.svc.Status(ctx, sent.RequestID, browserB); s != passlink.StatePending {
			t.Fatalf("another browser sees status %q", s)
		}
		if _, err := e.svc.Complete(ctx, sent.RequestID, browserB); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Fatalf("complete from another browser: %v", err)
		}
		if s, _ := e.svc.Status(ctx, sent.RequestID, browserA); s != passlink.StateApproved {
			t.Fatalf("status %q, want approved", s)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Go(func() {
				r, err := e.svc.Complete(ctx, sent.RequestID, browserA)
				if err == nil && r.User.ID == u.ID {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, passlink.ErrUsed) {
					t.Errorf("complete racer: %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d completions, want 1", wins)
		}
		if s, _ := e.svc.Status(ctx, sent.RequestID, browserA); s != passlink.StateCompleted {
			t.Fatalf("status %q, want completed", s)
		}

		// "It wasn't me" is a report that ends nothing: a scanner pressing
		// it cannot strand the rightful requester, who still needs the code.
		sent, token = e.request(t, email)
		if _, err := e.svc.Report(ctx, token, browserB); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Report(ctx, token, browserA); !errors.Is(err, passlink.ErrInvalidLink) {
			t.Fatalf("report from the requesting browser: %v, want ErrInvalidLink", err)
		}
		if s, _ := e.svc.Status(ctx, sent.RequestID, browserA); s != passlink.StatePending {
			t.Fatalf("status after a report %q, want pending", s)
		}
		if _, err := e.svc.Approve(ctx, token, browserB, sent.Code, ""); err != nil {
			t.Fatalf("approve with the code after a report: %v", err)
		}
		if _, err := e.svc.Report(ctx, token, browserB); !errors.Is(err, passlink.ErrUsed) {
			t.Fatalf("report after approval: %v, want ErrUsed", err)
		}

		// An approval goes stale: the requesting browser has the link's TTL.
		sent, token = e.request(t, email)
		if _, err := e.svc.Approve(ctx, token, browserB, sent.Code, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(11 * time.Minute)
		if _, err := e.svc.Complete(ctx, sent.RequestID, browserA); !errors.Is(err, passlink.ErrExpired) {
			t.Fatalf("complete a stale approval: %v", err)
		}
		if s, _ := e.svc.Status(ctx, "no-such-request", browserA); s != passlink.StatePending {
			t.Fatalf("unknown request status %q", s)
		}
	})
}

func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// TestWrongCodesLock: at most five codes may be typed, even concurrently;
// the fifth wrong one kills the request, and the right code is then
// refused too.
func TestWrongCodesLock(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		email := addr()
		createUser(t, st, email, true)

		sent, token := e.request(t, email)
		wrong := wrongCode(sent.Code)
		for left := 4; left >= 1; left-- {
			_, err := e.svc.Approve(ctx, token, browserB, wrong, "")
			var wce *passlink.WrongCodeError
			if !errors.As(err, &wce) || wce.Left != left {
				t.Fatalf("wrong code with %d left: %v", left, err)
			}
		}
		if _, err := e.svc.Approve(ctx, token, browserB, wrong, ""); !errors.Is(err, passlink.ErrLocked) {
			t.Fatalf("fifth wrong code: %v", err)
		}
		if _, err := e.svc.Approve(ctx, token, browserB, sent.Code, ""); !errors.Is(err, passlink.ErrUsed) {
			t.Fatalf("right code after lock: %v", err)
		}
		if _, err := e.svc.SignIn(ctx, token, browserA, ""); !errors.Is(err, passlink.ErrUsed) {
			t.Fatalf("same-browser sign-in after lock: %v", err)
		}
		if s, _ := e.svc.Status(ctx, sent.RequestID, browserA); s != passlink.StateLocked {
			t.Fatalf("status %q, want locked", s)
		}

		// Sixteen concurrent guesses: five are compared, none approves.
		sent, token = e.request(t, email)
		wrong = wrongCode(sent.Code)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				_, err := e.svc.Approve(ctx, token, browserB, wrong, "")
				if !errors.Is(err, passlink.ErrWrongCode) && !errors.Is(err, passlink.ErrLocked) && !errors.Is(err, passlink.ErrUsed) {
					t.Errorf("guess: %v", err)
				}
			})
		}
		wg.Wait()
		p, err := st.GetPasslink(ctx, sent.RequestID)
		if err != nil || p.CodeAttempts != 5 || p.Outcome != models.PasslinkLocked {
			t.Fatalf("after 16 guesses: attempts %d outcome %q (%v)", p.CodeAttempts, p.Outcome, err)
		}
	})
}

// TestSignupLink: an unknown address with open sign-up gets a link that
// creates the account with the address verified; a second sign-up link
// for the same address (asked from another browser) signs into that
// account instead of failing.
func TestSignupLink(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		email := addr()
		_, t1 := e.request(t, email)
		_, t2 := e.requestFrom(t, browserB, strings.ToUpper(email[:1])+email[1:])
		res, err := e.svc.SignIn(ctx, t1, browserA, "  Grace Hopper ")
		if err != nil || !res.Created || res.User.DisplayName != "Grace Hopper" || !res.User.EmailVerified || res.User.Email != email {
			t.Fatalf("sign-up: %+v %v", res, err)
		}
		res2, err := e.svc.SignIn(ctx, t2, browserB, "Other")
		if err != nil || res2.Created || res2.User.ID != res.User.ID {
			t.Fatalf("second sign-up link: %+v %v", res2, err)
		}

		// Sign-up closed after the link was sent: nothing is created and the
		// link is not burnt.
		closed := newEnv(t, st)
		other := addr()
		_, t3 := closed.request(t, other)
		e2 := newEnv(t, st, func(c *passlink.Config) { c.SignupOpen = false })
		if _, err := e2.svc.SignIn(ctx, t3, browserA, ""); !errors.Is(err, passlink.ErrUserUnavailable) {
			t.Fatalf("sign-up link after closing sign-up: %v", err)
		}
		if _, err := st.GetUserByEmail(ctx, other); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("account created: %v", err)
		}
	})
}

// TestDisabledAfterRequest: an account disabled after the link was sent
// is not signed in.
func TestDisabledAfterRequest(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newEnv(t, st)
	email := addr()
	u := createUser(t, st, email, true)
	_, token := e.request(t, email)
	if err := st.SetUserDisabled(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SignIn(context.Background(), token, browserA, ""); !errors.Is(err, passlink.ErrUserUnavailable) {
		t.Fatalf("disabled user: %v", err)
	}
}

func TestHelpers(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Minute: "10 minutes", time.Minute: "1 minute", time.Hour: "1 hour", 2 * time.Hour: "2 hours", 90 * time.Minute: "90 minutes"} {
		if got := passlink.HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
	for in, want := range map[string]string{"ada@example.com": "a…@example.com", "élodie@x.fr": "é…@x.fr", "x": "…"} {
		if got := passlink.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
