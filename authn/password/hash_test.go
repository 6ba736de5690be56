package password

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fastParams keep the tests quick where the cost does not matter.
var fastParams = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

var (
	defaultHasherOnce sync.Once
	defaultHasher     *Hasher
)

// hasherWithDefaults shares one DefaultParams Hasher between tests (making
// it costs a hash).
func hasherWithDefaults() *Hasher {
	defaultHasherOnce.Do(func() { defaultHasher = NewHasher(DefaultParams) })
	return defaultHasher
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := hasherWithDefaults()
	for _, pw := range []string{"correct horse battery staple", "ñandú-café ☀ 日本", strings.Repeat("ab1", MaxBytes/3)} {
		encoded, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
		if !phc.MatchString(encoded) {
			t.Fatalf("Hash = %q, not a PHC string with DefaultParams", encoded)
		}
		ok, rehash, err := h.Verify(pw, encoded)
		if err != nil || !ok || rehash {
			t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
		ok, rehash, err = h.Verify(pw+"x", encoded)
		if err != nil || ok || rehash {
			t.Fatalf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
		}
	}
}

// TestHashIsSalted: the same password hashes differently each time
// (a random salt per hash), and each hash verifies.
func TestHashIsSalted(t *testing.T) {
	h := NewHasher(fastParams)
	a, _ := h.Hash("correct horse battery staple")
	b, _ := h.Hash("correct horse battery staple")
	if a == b {
		t.Fatal("two hashes of one password are equal")
	}
	for _, enc := range []string{a, b} {
		if ok, _, err := h.Verify("correct horse battery staple", enc); !ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	h := NewHasher(fastParams)
	encoded, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if ok, rehash, err := h.Verify(wrong, encoded); ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
}

// TestVerifyDamagedHash: a tampered or garbage stored hash is an error,
// never a panic, a match, or a huge allocation.
func TestVerifyDamagedHash(t *testing.T) {
	h := NewHasher(fastParams)
	good, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..,t=..,p=.., salt, key
	with := func(i int, v string) string {
		p := slices.Clone(parts)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := map[string]string{
		"empty":                 "",
		"garbage":               "not a hash",
		"dollars only":          "$$$$$",
		"bcrypt":                "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i variant":       with(1, "argon2i"),
		"version 16":            with(2, "v=16"),
		"version garbage":       with(2, "v=x"),
		"params garbage":        with(3, "m=a,t=b,p=c"),
		"zero iterations":       with(3, "m=64,t=0,p=1"),
		"zero parallelism":      with(3, "m=64,t=1,p=0"),
		"memory too small":      with(3, "m=1,t=1,p=1"),
		"4 TiB memory":          with(3, "m=4294967295,t=1,p=1"),
		"too many iterations":   with(3, "m=64,t=4294967295,p=1"),
		"salt not base64":       with(4, "!!!!"),
		"salt too short":        with(4, "AAAA"),
		"key not base64":        with(5, "***"),
		"empty key":             with(5, ""),
		"padded base64 key":     with(5, parts[5]+"="),
		"missing key":           strings.Join(parts[:5], "$"),
		"extra field":           good + "$AAAA",
		"truncated":             good[:len(good)/2],
		"unicode in params":     with(3, "m=６４,t=1,p=1"),
		"negative memory":       with(3, "m=-64,t=1,p=1"),
		"parallelism over 255":  with(3, "m=64,t=1,p=256"),
		"key of 4 bytes":        with(5, "AAAAAA"),
		"salt of 100 bytes":     with(4, strings.Repeat("A", 134)),
		"key of 1000 bytes":     with(5, strings.Repeat("A", 1334)),
		"whitespace around":     " " + good + " ",
		"prefix":                "x" + good,
		"trailing junk params":  with(3, parts[3]+"junk"),
		"leading zero":          with(3, "m=064,t=1,p=1"),
		"newline inside params": with(3, "m=64,\nt=1,p=1"),
	}
	for name, encoded := range tests {
		t.Run(name, func(t *testing.T) {
			before := h.hashes.Load()
			ok, rehash, err := h.Verify("correct horse battery staple", encoded)
			if ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v, %v; want no match", encoded, ok, rehash, err)
			}
			if err == nil {
				// A variation that still parses within bounds must at
				// least not match; none of these should parse.
				t.Fatalf("Verify(%q) = nil error, want ErrInvalidHash", encoded)
			}
			if !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("Verify(%q) = %v, want ErrInvalidHash", encoded, err)
			}
			if h.hashes.Load() != before {
				t.Fatalf("Verify(%q) hashed", encoded)
			}
		})
	}
}

// TestVerifyFlippedKeyBit: a hash with a changed key parses but never
// matches.
func TestVerifyFlippedKeyBit(t *testing.T) {
	h := NewHasher(fastParams)
	good, _ := h.Hash("correct horse battery staple")
	last := good[len(good)-2]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	bad := good[:len(good)-2] + string(repl) + good[len(good)-1:]
	if ok, _, err := h.Verify("correct horse battery staple", bad); ok || err != nil {
		t.Fatalf("Verify(changed key) = %v, %v; want false, nil", ok, err)
	}
}

// TestVerifyNeedsRehash: a hash made with other parameters still verifies
// and asks for an upgrade, only when the password is right.
func TestVerifyNeedsRehash(t *testing.T) {
	h := hasherWithDefaults()
	smaller := DefaultParams
	smaller.Memory = 8 * 1024
	tests := []struct {
		name   string
		params Params
		want   bool
	}{
		{"same params", DefaultParams, false},
		{"smaller memory", smaller, true},
		{"fewer iterations", Params{Memory: 19 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, true},
		{"more lanes", Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32}, true},
		{"shorter salt", Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 8, KeyLength: 32}, true},
		{"longer key", Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 64}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, err := NewHasher(tt.params).Hash("correct horse battery staple")
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := h.Verify("correct horse battery staple", old)
			if err != nil || !ok || rehash != tt.want {
				t.Fatalf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.want)
			}
			if ok, rehash, _ := h.Verify("wrong horse battery staple", old); ok || rehash {
				t.Fatalf("Verify(wrong password) = %v, %v; want false, false", ok, rehash)
			}
			if !tt.want {
				return
			}
			upgraded, err := h.Hash("correct horse battery staple")
			if err != nil {
				t.Fatal(err)
			}
			if ok, rehash, err := h.Verify("correct horse battery staple", upgraded); !ok || rehash || err != nil {
				t.Fatalf("Verify(upgraded) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestOverLongPasswordIsNotHashed: MaxBytes+1 bytes are refused by Hash,
// Verify and VerifyDummy without an argon2id computation (issue 5: bounded
// before hashing).
func TestOverLongPasswordIsNotHashed(t *testing.T) {
	h := NewHasher(fastParams)
	encoded, _ := h.Hash("correct horse battery staple")
	atMax, tooLong := strings.Repeat("x", MaxBytes), strings.Repeat("x", MaxBytes+1)

	before := h.hashes.Load()
	if _, err := h.Hash(tooLong); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash(MaxBytes+1) error = %v, want ErrTooLong", err)
	}
	if ok, rehash, err := h.Verify(tooLong, encoded); ok || rehash || !errors.Is(err, ErrTooLong) {
		t.Fatalf("Verify(MaxBytes+1) = %v, %v, %v; want ErrTooLong", ok, rehash, err)
	}
	if _, _, err := h.Verify(strings.Repeat("x", 10<<20), encoded); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Verify(10 MiB) error = %v, want ErrTooLong", err)
	}
	h.VerifyDummy(tooLong)
	if n := h.hashes.Load() - before; n != 0 {
		t.Fatalf("%d argon2id computations for over-long passwords, want 0", n)
	}

	if _, err := h.Hash(atMax); err != nil {
		t.Fatalf("Hash(MaxBytes) = %v", err)
	}
	if n := h.hashes.Load() - before; n != 1 {
		t.Fatalf("%d computations for a MaxBytes password, want 1", n)
	}
}

// TestVerifyDummyDoesVerifysWork: an unknown email costs what a wrong
// password costs, so timing does not reveal which addresses have accounts
// (issue 5, throttling: "unknown emails take the same path and time").
// Shown by construction rather than by a clock, which a loaded machine
// makes noisy: the dummy is a canonical hash with the hasher's own
// parameters (so argon2id does the same work), and VerifyDummy runs one
// argon2id computation through the same gate. BenchmarkVerify and
// BenchmarkVerifyDummy measure the two side by side.
func TestVerifyDummyDoesVerifysWork(t *testing.T) {
	for _, p := range []Params{DefaultParams, fastParams} {
		h := NewHasher(p)
		got, err := decode(h.dummy)
		if err != nil {
			t.Fatalf("dummy %q: %v", h.dummy, err)
		}
		if got != p {
			t.Fatalf("dummy made with %+v, want the hasher's %+v", got, p)
		}
		before := h.hashes.Load()
		h.VerifyDummy("wrong horse battery staple")
		if n := h.hashes.Load() - before; n != 1 {
			t.Fatalf("VerifyDummy ran %d argon2id computations, want 1", n)
		}
		if ok, _, err := h.Verify("", h.dummy); ok || err != nil {
			t.Fatalf("Verify against the dummy = %v, %v; want no match and no error", ok, err)
		}
	}
}

func TestVerifyDummyUnusualInput(t *testing.T) {
	h := NewHasher(fastParams)
	for _, pw := range []string{"", "\x00", "\xff\xfe", strings.Repeat("é", MaxBytes/2)} {
		h.VerifyDummy(pw)
	}
}

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams.Validate(); err != nil {
		t.Fatalf("DefaultParams.Validate() = %v", err)
	}
	bad := map[string]Params{
		"zero":               {},
		"zero iterations":    {Memory: 19456, Iterations: 0, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		"too many passes":    {Memory: 19456, Iterations: MaxIterations + 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		"zero parallelism":   {Memory: 19456, Iterations: 2, Parallelism: 0, SaltLength: 16, KeyLength: 32},
		"memory below 8×p":   {Memory: 15, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32},
		"memory over 1 GiB":  {Memory: MaxMemory + 1, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		"salt under 8 bytes": {Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 7, KeyLength: 32},
		"key under 16 bytes": {Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 15},
	}
	for name, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil", name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewHasher(Params{}) did not panic")
		}
	}()
	NewHasher(Params{})
}

// TestConcurrentHashing: a Hasher is shared by all requests.
func TestConcurrentHashing(t *testing.T) {
	h := NewHasher(fastParams)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			pw := fmt.Sprintf("password number %d", i)
			enc, err := h.Hash(pw)
			if err != nil {
				errs <- err
				return
			}
			if ok, _, err := h.Verify(pw, enc); !ok || err != nil {
				errs <- fmt.Errorf("verify %d: %v, %v", i, ok, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkVerify is the cost of one password check (a sign-in's
// argon2id) at DefaultParams.
func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams)
	encoded, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify("correct horse battery staple", encoded); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkVerifyDummy is the cost of an unknown email's check; it should
// match BenchmarkVerify.
func BenchmarkVerifyDummy(b *testing.B) {
	h := NewHasher(DefaultParams)
	b.ReportAllocs()
	for b.Loop() {
		h.VerifyDummy("correct horse battery staple")
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
