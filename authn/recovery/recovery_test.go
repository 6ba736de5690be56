package recovery

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/ratelimit"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

var testKey = []byte(strings.Repeat("k", 32))

func newTestService(t testing.TB, st *store.Store, limits Limits) *Service {
	t.Helper()
	svc, err := New(st, ratelimit.New(st, nil), testKey, limits)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newUser(t testing.TB, st *store.Store, disabled bool) *models.User {
	t.Helper()
	id := uuid.NewString()
	u := &models.User{ID: id, Email: "rc-" + id[:8] + "@example.com", DisplayName: "Test"}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if disabled {
		if err := st.SetUserDisabled(context.Background(), u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// TestCodeShape: a set is Count distinct codes of 16 symbols from the
// Crockford alphabet in groups of four (80 bits each), read back however
// they are typed.
func TestCodeShape(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := Format(newCode())
		if len(c) != 19 || strings.Count(c, "-") != 3 {
			t.Fatalf("code %q: want four groups of four", c)
		}
		raw, ok := Normalize(c)
		if !ok || Format(raw) != c {
			t.Fatalf("normalize(%q) = %q, %v", c, raw, ok)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
	}
	for _, tc := range []struct {
		typed, want string
		ok          bool
	}{
		{"ABCD-EFGH-JKMN-PQRS", "abcdefghjkmnpqrs", true},
		{" abcd efgh jkmn pqrs ", "abcdefghjkmnpqrs", true},
		{"i1l0-o000-0000-0000", "1110000000000000", true},
		{"abcd-efgh-jkmn-pqr", "", false},       // short
		{"abcd-efgh-jkmn-pqrsz", "", false},     // long
		{"abcd-efgh-jkmn-pqru", "", false},      // u is not in the alphabet
		{"abcd-efgh-jkmn-pqr\u00e9", "", false}, // not ASCII
		{strings.Repeat("a", 100), "", false},
	} {
		got, ok := Normalize(tc.typed)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.typed, got, ok, tc.want, tc.ok)
		}
	}
}

// TestSignInWithCode: a generated code signs in once, typed any way; a
// second set replaces the first; unknown, disabled, wrong and malformed
// all give the one ErrWrongCode; only hashes are stored.
func TestSignInWithCode(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newTestService(t, st, Limits{IP: []Limit{{1000, time.Minute}}, Account: []Limit{{1000, time.Minute}}})
		u := newUser(t, st, false)
		codes, err := svc.Generate(ctx, u.ID)
		if err != nil || len(codes) != Count {
			t.Fatalf("generate: %v, %d codes", err, len(codes))
		}
		stored, _ := st.UnusedRecoveryCodeHashes(ctx, u.ID)
		for _, h := range stored {
			for _, c := range codes {
				raw, _ := Normalize(c)
				if strings.Contains(h, raw) {
					t.Fatalf("stored %q holds the code", h)
				}
			}
		}
		m, err := svc.Verify(ctx, Attempt{Identifier: " " + strings.ToUpper(u.Email), Code: strings.ToUpper(strings.ReplaceAll(codes[3], "-", " ")), IP: "192.0.2.1"})
		if err != nil || m.User.ID != u.ID {
			t.Fatalf("verify: %v", err)
		}
		left, err := svc.Spend(ctx, m)
		if err != nil || left != Count-1 {
			t.Fatalf("spend: %v, %d left", err, left)
		}
		if _, err := svc.Verify(ctx, Attempt{Identifier: u.Email, Code: codes[3], IP: "192.0.2.1"}); !errors.Is(err, ErrWrongCode) {
			t.Fatalf("a used code: %v", err)
		}
		// By username too.
		name := "ada" + u.ID[:6]
		if err := st.SetUserProfile(ctx, u.ID, store.UserProfile{Username: &name}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Verify(ctx, Attempt{Identifier: name, Code: codes[4], IP: "192.0.2.1"}); err != nil {
			t.Fatalf("by username: %v", err)
		}

		disabled := newUser(t, st, false)
		dcodes, _ := svc.Generate(ctx, disabled.ID)
		if err := st.SetUserDisabled(ctx, disabled.ID, true); err != nil {
			t.Fatal(err)
		}
		other := newUser(t, st, false)
		for name, a := range map[string]Attempt{
			"unknown account":     {Identifier: "nobody-" + u.ID[:6] + "@example.com", Code: codes[0]},
			"unknown username":    {Identifier: "nobody" + u.ID[:6], Code: codes[0]},
			"disabled account":    {Identifier: disabled.Email, Code: dcodes[0]},
			"wrong code":          {Identifier: u.Email, Code: "0000-0000-0000-0000"},
			"malformed code":      {Identifier: u.Email, Code: "letmein"},
			"empty":               {},
			"another's code":      {Identifier: other.Email, Code: codes[0]},
			"account with none":   {Identifier: other.Email, Code: "abcd-efgh-jkmn-pqrs"},
			"code of the old set": {Identifier: u.Email, Code: ""},
		} {
			if name == "code of the old set" {
				old := codes[5]
				if _, err := svc.Generate(ctx, u.ID); err != nil {
					t.Fatal(err)
				}
				a.Code = old
			}
			a.IP = "192.0.2.2"
			if _, err := svc.Verify(ctx, a); !errors.Is(err, ErrWrongCode) {
				t.Errorf("%s: %v, want ErrWrongCode", name, err)
			}
		}
		if n, err := svc.Invalidate(ctx, u.ID); err != nil || n != Count {
			t.Fatalf("invalidate: %d, %v", n, err)
		}
	})
}

// TestConcurrentUseSpendsOnce: many sign-ins racing with one code (each
// verified before any spends) — exactly one is spent, on both dialects.
func TestConcurrentUseSpendsOnce(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newTestService(t, st, Limits{IP: []Limit{{1000, time.Minute}}, Account: []Limit{{1000, time.Minute}}})
		u := newUser(t, st, false)
		codes, err := svc.Generate(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		const racers = 12
		matches := make([]*Match, racers)
		for i := range matches {
			if matches[i], err = svc.Verify(ctx, Attempt{Identifier: u.Email, Code: codes[0], IP: "192.0.2.9"}); err != nil {
				t.Fatal(err)
			}
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, m := range matches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch _, err := svc.Spend(ctx, m); {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, ErrWrongCode):
					t.Errorf("racer: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d sign-ins spent one code, want exactly 1", wins.Load())
		}
		if n, _ := svc.Remaining(ctx, u.ID); n != Count-1 {
			t.Fatalf("%d left, want %d", n, Count-1)
		}
	})
}

// TestThrottle: per account (whatever the address: unknown accounts are
// counted alike) and per client address.
func TestThrottle(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newTestService(t, st, Limits{IP: []Limit{{6, time.Hour}}, Account: []Limit{{3, time.Hour}}})
		u := newUser(t, st, false)
		codes, _ := svc.Generate(ctx, u.ID)
		for _, ident := range []string{u.Email, "nobody-" + u.ID[:8] + "@example.com"} {
			for i := range 3 {
				if _, err := svc.Verify(ctx, Attempt{Identifier: ident, Code: "0000-0000-0000-0000", IP: "198.51.100." + ident[:1]}); !errors.Is(err, ErrWrongCode) {
					t.Fatalf("%s attempt %d: %v", ident, i, err)
				}
			}
			var th *ThrottledError
			if _, err := svc.Verify(ctx, Attempt{Identifier: ident, Code: codes[0], IP: "198.51.100.7"}); !errors.As(err, &th) || th.By != "account" {
				t.Fatalf("%s: 4th attempt %v, want the account limit", ident, err)
			}
		}
		for i := range 6 {
			_, err := svc.Verify(ctx, Attempt{Identifier: "x" + string(rune('a'+i)) + "@example.com", Code: "x", IP: "203.0.113.5"})
			if !errors.Is(err, ErrWrongCode) {
				t.Fatalf("ip attempt %d: %v", i, err)
			}
		}
		var th *ThrottledError
		if _, err := svc.Verify(ctx, Attempt{Identifier: "y@example.com", Code: "x", IP: "203.0.113.5"}); !errors.As(err, &th) || th.By != "ip" {
			t.Fatalf("7th from one address: %v, want the ip limit", err)
		}
	})
}

// TestNewRefuses a short key, no limiter and a bad limit.
func TestNewRefuses(t *testing.T) {
	st := storetest.OpenSQLite(t)
	lim := ratelimit.New(st, nil)
	for name, fn := range map[string]func() error{
		"short key":  func() error { _, err := New(st, lim, []byte("short"), Limits{}); return err },
		"no limiter": func() error { _, err := New(st, nil, testKey, Limits{}); return err },
		"bad limit":  func() error { _, err := New(st, lim, testKey, Limits{IP: []Limit{{0, time.Minute}}}); return err },
	} {
		if fn() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkVerify: the check of one attempt (throttle, lookup, hashes,
// constant-time comparison) on SQLite.
func BenchmarkVerify(b *testing.B) {
	st := storetest.OpenSQLite(b)
	svc := newTestService(b, st, Limits{IP: []Limit{{1 << 30, time.Hour}}, Account: []Limit{{1 << 30, time.Hour}}})
	u := newUser(b, st, false)
	codes, err := svc.Generate(context.Background(), u.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Verify(context.Background(), Attempt{Identifier: u.Email, Code: codes[9], IP: "192.0.2.1"}); err != nil {
			b.Fatal(err)
		}
	}
}
