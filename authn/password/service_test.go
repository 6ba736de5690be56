package password

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/ratelimit"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// The sign-in check on a real store (SQLite always, PostgreSQL when
// TEST_DATABASE_URL is set) with the database-backed rate limiter and a
// settable clock.

type svcEnv struct {
	t     testing.TB
	st    *store.Store
	svc   *Service
	clock *storetest.Clock
	ctx   context.Context
}

func newSvcEnv(t testing.TB, st *store.Store, cfg Config) *svcEnv {
	t.Helper()
	// A fixed hour, so tests know where the windows start and end.
	c := storetest.NewClockAt(time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC))
	if cfg.Params == (Params{}) {
		cfg.Params = fastParams
	}
	svc, err := NewService(cfg, st, ratelimit.New(st, c.Now), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &svcEnv{t: t, st: st, svc: svc, clock: c, ctx: context.Background()}
}

// user creates an account; with a password when pw is not empty.
func (e *svcEnv) user(email, pw string) *models.User {
	e.t.Helper()
	u := &models.User{ID: uuid.NewString(), Email: email, DisplayName: "Test"}
	if err := e.st.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	if pw != "" {
		h, err := e.svc.NewHash(pw, email)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.SetUserPassword(e.ctx, u.ID, h); err != nil {
			e.t.Fatal(err)
		}
	}
	return u
}

func (e *svcEnv) signIn(email, pw, ip string) (*Verified, error) {
	return e.svc.SignIn(e.ctx, Attempt{Email: email, Password: pw, IP: ip})
}

const goodPassword = "correct horse battery staple"

// TestSignInAnswersNeverTellAccountsApart: a wrong password, an unknown
// address, an account without a password (passkey only) and a disabled
// account's wrong password all get ErrWrongPassword, after exactly one
// argon2id computation each; only the right password signs in.
func TestSignInAnswersNeverTellAccountsApart(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		e := newSvcEnv(t, st, Config{})
		ada := e.user("ada@example.test", goodPassword)
		e.user("passkey-only@example.test", "")
		off := e.user("off@example.test", goodPassword)
		if err := st.SetUserDisabled(e.ctx, off.ID, true); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, email, pw string }{
			{"wrong password", "ada@example.test", "wrong horse battery staple"},
			{"unknown address", "nobody@example.test", goodPassword},
			{"account without a password", "passkey-only@example.test", goodPassword},
			{"disabled account, wrong password", "off@example.test", "wrong horse battery staple"},
			{"empty password", "ada@example.test", ""},
		} {
			before := e.svc.hasher.hashes.Load()
			v, err := e.signIn(tc.email, tc.pw, "192.0.2.1")
			if v != nil || !errors.Is(err, ErrWrongPassword) {
				t.Errorf("%s: SignIn = %v, %v; want ErrWrongPassword", tc.name, v, err)
			}
			if n := e.svc.hasher.hashes.Load() - before; n != 1 {
				t.Errorf("%s: %d argon2id computations, want exactly 1", tc.name, n)
			}
		}
		v, err := e.signIn("  ADA@Example.test ", goodPassword, "192.0.2.1")
		if err != nil || v.User.ID != ada.ID || v.Rehashed {
			t.Fatalf("right password: %+v, %v", v, err)
		}
		if _, err := e.signIn("off@example.test", goodPassword, "192.0.2.1"); !errors.Is(err, ErrDisabled) {
			t.Fatalf("disabled account, right password: %v, want ErrDisabled", err)
		}
	})
}

// TestSignInBoundsInputBeforeWork: an over-long password or a malformed
// address is refused before any lookup, count or hash.
func TestSignInBoundsInputBeforeWork(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newSvcEnv(t, st, Config{})
	e.user("ada@example.test", goodPassword)
	for _, tc := range []struct {
		name, email, pw string
		want            error
	}{
		{"password of MaxBytes+1", "ada@example.test", strings.Repeat("x", MaxBytes+1), ErrTooLong},
		{"a megabyte", "ada@example.test", strings.Repeat("x", 1<<20), ErrTooLong},
		{"no @", "ada.example.test", goodPassword, ErrInvalidEmail},
		{"empty address", "", goodPassword, ErrInvalidEmail},
		{"address with a line break", "ada@example.test\r\nBcc: x@y", goodPassword, ErrInvalidEmail},
		{"address over 254 bytes", strings.Repeat("a", 250) + "@example.test", goodPassword, ErrInvalidEmail},
	} {
		before := e.svc.hasher.hashes.Load()
		if _, err := e.signIn(tc.email, tc.pw, "192.0.2.1"); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if e.svc.hasher.hashes.Load() != before {
			t.Errorf("%s: hashed", tc.name)
		}
	}
	var n int
	db, _ := st.SQLDB()
	if err := db.QueryRow("SELECT count(*) FROM rate_limits").Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused input was counted: %d rows (%v)", n, err)
	}
}

// TestSignInUpgradesHash: after the parameters change, the next right
// password stores a hash with the new ones (once); a wrong one changes
// nothing.
func TestSignInUpgradesHash(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		old := newSvcEnv(t, st, Config{Params: fastParams})
		u := old.user("ada@example.test", goodPassword)
		stronger := fastParams
		stronger.Memory, stronger.Iterations = 128, 2
		e := newSvcEnv(t, st, Config{Params: stronger})

		if _, err := e.signIn("ada@example.test", "wrong horse battery staple", "192.0.2.1"); !errors.Is(err, ErrWrongPassword) {
			t.Fatal(err)
		}
		row, _ := st.GetUserPassword(e.ctx, u.ID)
		if !strings.Contains(row.Hash, "m=64,t=1,p=1") {
			t.Fatalf("a wrong password changed the hash: %s", row.Hash)
		}
		v, err := e.signIn("ada@example.test", goodPassword, "192.0.2.1")
		if err != nil || !v.Rehashed {
			t.Fatalf("SignIn = %+v, %v; want a rehash", v, err)
		}
		row, _ = st.GetUserPassword(e.ctx, u.ID)
		if !strings.Contains(row.Hash, "$m=128,t=2,p=1$") {
			t.Fatalf("hash after sign-in = %s, want the new parameters", row.Hash)
		}
		v, err = e.signIn("ada@example.test", goodPassword, "192.0.2.1")
		if err != nil || v.Rehashed {
			t.Fatalf("second sign-in = %+v, %v; want no rehash", v, err)
		}
		// The old service's hasher still verifies the upgraded hash: the
		// parameters travel with it.
		if _, err := old.signIn("ada@example.test", goodPassword, "192.0.2.1"); err != nil {
			t.Fatalf("old parameters on the upgraded hash: %v", err)
		}
	})
}

// TestThrottleBackOffGrows (issue 5: growing back-off, not a lock-out):
// five quick attempts on one account from one address cost a wait of at
// most a minute; twenty in the hour cost the rest of the hour. While
// throttled even the right password is refused (the throttle is no
// oracle), other accounts and other addresses carry on, and every wait
// ends by itself.
func TestThrottleBackOffGrows(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		e := newSvcEnv(t, st, Config{})
		e.user("ada@example.test", goodPassword)
		e.user("bob@example.test", goodPassword)
		start := e.clock.Now()
		const attacker = "198.51.100.7"
		wrong := func() error {
			_, err := e.signIn("ada@example.test", "wrong horse battery staple", attacker)
			return err
		}
		throttled := func(err error) *ThrottledError {
			t.Helper()
			var te *ThrottledError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want throttled", err)
			}
			return te
		}
		for i := range 5 {
			if err := wrong(); !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		first := throttled(wrong())
		if first.RetryAfter <= 0 || first.RetryAfter > time.Minute || first.By != "account_ip" {
			t.Fatalf("after 5 attempts: %+v, want a wait of at most a minute", first)
		}
		before := e.svc.hasher.hashes.Load()
		throttled(func() error { _, err := e.signIn("ada@example.test", goodPassword, attacker); return err }())
		if e.svc.hasher.hashes.Load() != before {
			t.Fatal("a throttled attempt was hashed")
		}
		// Another account from the same address, and the same account
		// from elsewhere, are unaffected.
		if _, err := e.signIn("bob@example.test", goodPassword, attacker); err != nil {
			t.Fatalf("another account from the same address: %v", err)
		}
		if _, err := e.signIn("ada@example.test", goodPassword, "203.0.113.9"); err != nil {
			t.Fatalf("the same account from another address: %v", err)
		}

		// Keep guessing, five a minute, until the hour's twenty are spent.
		for minute := 1; minute < 4; minute++ {
			e.clock.Set(start.Add(time.Duration(minute) * time.Minute))
			for i := range 5 {
				if err := wrong(); !errors.Is(err, ErrWrongPassword) {
					t.Fatalf("minute %d attempt %d: %v", minute, i+1, err)
				}
			}
		}
		e.clock.Set(start.Add(4 * time.Minute))
		second := throttled(wrong())
		if second.RetryAfter != 56*time.Minute || second.RetryAfter <= first.RetryAfter {
			t.Fatalf("after 20 attempts in the hour: wait %v (first wait %v), want 56m: the back-off grows", second.RetryAfter, first.RetryAfter)
		}
		// Hammering while throttled does not move the end of the wait.
		for range 50 {
			throttled(wrong())
		}
		// The wait ends by itself: no lock-out.
		e.clock.Set(start.Add(time.Hour))
		if _, err := e.signIn("ada@example.test", goodPassword, attacker); err != nil {
			t.Fatalf("after the hour: %v", err)
		}
	})
}

// TestThrottleUnknownAddressLikeKnown: an address without an account is
// throttled after the same number of attempts as one with an account.
func TestThrottleUnknownAddressLikeKnown(t *testing.T) {
	st := storetest.OpenSQLite(t)
	e := newSvcEnv(t, st, Config{})
	e.user("ada@example.test", goodPassword)
	for _, email := range []string{"ada@example.test", "nobody@example.test"} {
		n := 0
		for {
			_, err := e.signIn(email, "wrong horse battery staple", "192.0.2.44")
			var te *ThrottledError
			if errors.As(err, &te) {
				break
			}
			n++
			if n > 10 {
				t.Fatalf("%s: never throttled", email)
			}
		}
		if n != 5 {
			t.Errorf("%s: throttled after %d attempts, want 5", email, n)
		}
	}
}

// TestThrottleAccountLimitAndReset: a guesser spread over many addresses
// meets the account's own limit; a new password (set by a reset link,
// which the throttle does not gate) starts the account's counts afresh,
// so the owner is not kept out.
func TestThrottleAccountLimitAndReset(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		limits := Limits{AccountIP: []Limit{{5, time.Minute}}, Account: []Limit{{8, 24 * time.Hour}}}
		e := newSvcEnv(t, st, Config{Limits: &limits})
		u := e.user("ada@example.test", goodPassword)
		for i := range 8 {
			ip := "198.51.100." + string(rune('1'+i))
			if _, err := e.signIn("ada@example.test", "wrong horse battery staple", ip); !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		var te *ThrottledError
		if _, err := e.signIn("ada@example.test", goodPassword, "203.0.113.1"); !errors.As(err, &te) || te.By != "account" {
			t.Fatalf("ninth attempt from a new address: %v, want the account limit", err)
		}
		h, err := e.svc.NewHash("a brand new passphrase", u.Email)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ResetUserPassword(e.ctx, u.ID, h); err != nil {
			t.Fatal(err)
		}
		if _, err := e.signIn("ada@example.test", "a brand new passphrase", "203.0.113.1"); err != nil {
			t.Fatalf("after a reset: %v", err)
		}
	})
}

// TestThrottleHoldsAcrossReplicas: two services on one database (two
// connection pools, as two replicas have) share the counts.
func TestThrottleHoldsAcrossReplicas(t *testing.T) {
	path := t.TempDir() + "/shared.db"
	open := func() *store.Store {
		st, err := store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}
	a, b := newSvcEnv(t, open(), Config{}), newSvcEnv(t, open(), Config{})
	a.user("ada@example.test", goodPassword)
	for i := range 5 {
		e := []*svcEnv{a, b}[i%2]
		if _, err := e.signIn("ada@example.test", "wrong", "192.0.2.7"); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	var te *ThrottledError
	for _, e := range []*svcEnv{a, b} {
		if _, err := e.signIn("ada@example.test", goodPassword, "192.0.2.7"); !errors.As(err, &te) {
			t.Fatalf("sixth attempt on a replica: %v, want throttled", err)
		}
	}
}

// TestSignInWorkUnknownLikeKnown: an unknown address costs what a wrong
// password for a real account costs — exactly one argon2id computation
// with the configured parameters (a dummy hash) — so response times do not
// tell which addresses have accounts. Counted, not timed: a wall-clock
// ratio is at the mercy of whatever else the machine runs.
func TestSignInWorkUnknownLikeKnown(t *testing.T) {
	st := storetest.OpenSQLite(t)
	limits := Limits{Account: []Limit{{1000, time.Hour}}}
	e := newSvcEnv(t, st, Config{Params: DefaultParams, Limits: &limits})
	e.user("ada@example.test", goodPassword)
	h := e.svc.hasher
	if p, err := decode(h.dummy); err != nil || p != h.params {
		t.Fatalf("the dummy hash has params %+v (%v), want the configured %+v", p, err, h.params)
	}
	// Making the dummy spent no hash (its 19 MiB were the start-up's
	// peak RSS); a password never matches it.
	if n := NewHasher(DefaultParams).hashes.Load(); n != 0 {
		t.Errorf("NewHasher ran %d argon2id computations, want 0", n)
	}
	if ok, _, err := h.Verify("", h.dummy); ok || err != nil {
		t.Errorf("the dummy hash: Verify = %v, %v; want no match, no error", ok, err)
	}
	for _, email := range []string{"ada@example.test", "nobody@example.test"} {
		before := h.hashes.Load()
		if _, err := e.signIn(email, "wrong horse battery staple", "192.0.2.1"); !errors.Is(err, ErrWrongPassword) {
			t.Fatal(err)
		}
		if n := h.hashes.Load() - before; n != 1 {
			t.Errorf("sign-in as %s ran %d argon2id computations, want 1", email, n)
		}
	}
}

// TestNewHashAppliesTheRules: new passwords pass the NIST rules with the
// configured minimum length, and are hashed with the service's params.
func TestNewHashAppliesTheRules(t *testing.T) {
	e := newSvcEnv(t, storetest.OpenSQLite(t), Config{MinLength: 12})
	for pw, want := range map[string]error{
		"eleven char":              ErrTooShort,
		"1qaz2wsx3edc":             ErrCommon,
		"ada-lovelace-2024":        ErrEmail,
		"aaaaaaaaaaaaaaa":          ErrSequence,
		strings.Repeat("ab1", 400): ErrTooLong,
	} {
		if _, err := e.svc.NewHash(pw, "ada-lovelace@example.test"); !errors.Is(err, want) {
			t.Errorf("NewHash(%.20q) = %v, want %v", pw, err, want)
		}
	}
	var rule *RuleError
	if _, err := e.svc.NewHash("eleven char", "x@example.test"); !errors.As(err, &rule) || !strings.Contains(rule.Message, "12") {
		t.Errorf("too short: %v, want a message naming 12 characters", err)
	}
	h, err := e.svc.NewHash("twelve chars ok", "ada@example.test")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("NewHash = %q, %v", h, err)
	}
}

func TestNewServiceRefusesBadConfig(t *testing.T) {
	st := storetest.OpenSQLite(t)
	lim := ratelimit.New(st, nil)
	for name, cfg := range map[string]Config{
		"bad params":       {Params: Params{Memory: 1}},
		"min length 65":    {MinLength: 65},
		"zero limit":       {Limits: &Limits{Account: []Limit{{0, time.Hour}}}},
		"no account limit": {Limits: &Limits{IP: []Limit{{5, time.Minute}}}},
	} {
		if _, err := NewService(cfg, st, lim, nil); err == nil {
			t.Errorf("%s: NewService succeeded", name)
		}
	}
	if _, err := NewService(Config{}, nil, lim, nil); err == nil {
		t.Error("no store: NewService succeeded")
	}
}

// BenchmarkSignIn is one password sign-in check at DefaultParams on each
// database: the reads, the throttle's counts and one argon2id.
func BenchmarkSignIn(b *testing.B) {
	storetest.EachDialect(b, func(b *testing.B, st *store.Store) {
		// DefaultLimits' five counters, never reached.
		big := []Limit{{1 << 30, time.Minute}, {1 << 30, time.Hour}}
		limits := Limits{IP: big, AccountIP: big, Account: []Limit{{1 << 30, 24 * time.Hour}}}
		e := newSvcEnv(b, st, Config{Params: DefaultParams, Limits: &limits})
		e.user("bench@example.test", goodPassword)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.signIn("bench@example.test", goodPassword, "192.0.2.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
