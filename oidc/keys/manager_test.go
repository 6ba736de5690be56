package keys

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

var _ Store = (*store.Store)(nil)

var testEncKey = bytes.Repeat([]byte{0x5e}, 32)

func openStore(t testing.TB, path string) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t testing.TB) *store.Store {
	return openStore(t, filepath.Join(t.TempDir(), "t.db"))
}

func newManager(t testing.TB, st Store, opts Options) *Manager {
	t.Helper()
	m, err := NewManager(st, testEncKey, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// byState returns the stored kids of alg in state.
func byState(t *testing.T, st Store, alg, state string) []string {
	t.Helper()
	rows, err := st.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if r.Alg == alg && r.State == state {
			out = append(out, r.KID)
		}
	}
	return out
}

func one(t *testing.T, kids []string, what string) string {
	t.Helper()
	if len(kids) != 1 {
		t.Fatalf("%s: want exactly one key, got %v", what, kids)
	}
	return kids[0]
}

func jwksKIDs(t *testing.T, m *Manager) []string {
	t.Helper()
	raw, err := m.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids = append(kids, k.KeyID())
	}
	return kids
}

func TestNewManagerRejectsBadOptions(t *testing.T) {
	st := newStore(t)
	tests := []struct {
		name string
		key  []byte
		opts Options
	}{
		{"short encryption key", testEncKey[:16], Options{}},
		{"unknown alg", testEncKey, Options{Algs: []string{RS256, "HS256"}}},
		{"RS256 missing (OIDC Discovery §3)", testEncKey, Options{Algs: []string{ES256}}},
		{"alg twice", testEncKey, Options{Algs: []string{RS256, RS256}}},
		{"rotation shorter than two cache TTLs", testEncKey, Options{RotationPeriod: time.Minute, CacheTTL: time.Minute}},
		{"negative TTL", testEncKey, Options{MaxTokenTTL: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewManager(st, tt.key, tt.opts); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestEnsureCreatesCurrentAndNextPerAlgIdempotently(t *testing.T) {
	tests := []struct {
		name string
		algs []string
	}{
		{"defaults", nil},
		{"RS256 only", []string{RS256}},
		{"RS256 and EdDSA", []string{RS256, EdDSA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			m := newManager(t, st, Options{Algs: tt.algs})
			if err := m.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			first, _ := st.ListSigningKeys(ctx)
			if err := m.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			second, _ := st.ListSigningKeys(ctx)
			want := max(len(tt.algs), 1)
			if tt.algs == nil {
				want = len(DefaultAlgs)
			}
			if len(first) != 2*want || len(second) != len(first) {
				t.Fatalf("want %d keys before and after a second Ensure, got %d and %d", 2*want, len(first), len(second))
			}
			for _, alg := range m.Algs() {
				cur := one(t, byState(t, st, alg, models.KeyCurrent), alg+" current")
				one(t, byState(t, st, alg, models.KeyNext), alg+" next")
				k, err := m.SigningKey(ctx, alg)
				if err != nil {
					t.Fatal(err)
				}
				if k.KeyID() != cur || k.Algorithm().String() != alg {
					t.Fatalf("SigningKey(%s) = %s/%s, want current %s", alg, k.KeyID(), k.Algorithm(), cur)
				}
			}
		})
	}
}

// Signing keys are encrypted at rest (DESIGN, Tokens and keys): a database
// dump alone reveals no private key.
func TestPrivateKeysAreEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	m := newManager(t, st, Options{})
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	rows, _ := st.ListSigningKeys(ctx)
	for _, r := range rows {
		if !strings.HasPrefix(r.PrivateJWK, "v1.") || strings.Contains(r.PrivateJWK, `"d"`) {
			t.Fatalf("%s: private JWK stored in clear: %.40s…", r.Alg, r.PrivateJWK)
		}
		ct, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(r.PrivateJWK, "v1."))
		if err != nil {
			t.Fatalf("%s: ciphertext not base64url: %v", r.Alg, err)
		}
		if strings.Contains(r.PublicJWK, `"d"`) {
			t.Fatalf("%s: public JWK has private parts", r.Alg)
		}
		plain, err := open(m.aead, r.KID, r.PrivateJWK)
		var priv struct{ D string }
		if err != nil || json.Unmarshal(plain, &priv) != nil || len(priv.D) < 32 {
			t.Fatalf("%s: right key does not decrypt to a private JWK: %v", r.Alg, err)
		}
		// The private exponent or scalar itself appears nowhere in what is
		// stored (a bare `"d"` could occur in random bytes by chance: once
		// in ~10⁴ keys).
		if d, _ := base64.RawURLEncoding.DecodeString(priv.D); strings.Contains(r.PrivateJWK, priv.D) || bytes.Contains(ct, []byte(priv.D)) || bytes.Contains(ct, d) {
			t.Fatalf("%s: ciphertext not opaque", r.Alg)
		}
		if _, err := open(m.aead, "another-kid", r.PrivateJWK); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%s: ciphertext moved to another kid decrypted: %v", r.Alg, err)
		}
	}

	wrong := bytes.Repeat([]byte{0x01}, 32)
	other, err := NewManager(st, wrong, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Reload(ctx); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Reload with the wrong key: want ErrDecrypt, got %v", err)
	}
	if _, err := other.SigningKey(ctx, RS256); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("SigningKey with the wrong key: want ErrDecrypt, got %v", err)
	}
}

func TestJWKSPublishesNextAndCurrentWithoutPrivateParts(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	m := newManager(t, st, Options{})
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	raw, err := m.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
		if bytes.Contains(raw, []byte(private)) {
			t.Fatalf("JWKS contains private member %s: %s", private, raw)
		}
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, alg := range DefaultAlgs {
		want = append(want, byState(t, st, alg, models.KeyCurrent)...)
		want = append(want, byState(t, st, alg, models.KeyNext)...)
	}
	got := jwksKIDs(t, m)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("JWKS kids %v, want current+next %v", got, want)
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if k.KeyID() != base64.RawURLEncoding.EncodeToString(tp) {
			t.Errorf("kid %s is not the RFC 7638 thumbprint", k.KeyID())
		}
		if k.KeyUsage() != "sig" || !slices.Contains(DefaultAlgs, k.Algorithm().String()) {
			t.Errorf("kid %s: use %q alg %q", k.KeyID(), k.KeyUsage(), k.Algorithm())
		}
	}
	again, _ := m.JWKS(ctx)
	if &again[0] != &raw[0] {
		t.Error("JWKS is serialized again on every call; want the cached bytes")
	}
	if err := m.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if reloaded, _ := m.JWKS(ctx); &reloaded[0] != &raw[0] {
		t.Error("an unchanged key set re-serialized the JWKS")
	}
}

// A retired key stays published until the last token it signed has expired
// (DESIGN, Tokens and keys), then leaves the JWKS.
func TestRotateKeepsRetiredKeyPublishedUntilTokensExpire(t *testing.T) {
	const maxTTL, cacheTTL = time.Hour, 30 * time.Second
	for _, alg := range DefaultAlgs {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			clock := storetest.NewClock()
			m := newManager(t, st, Options{Algs: []string{RS256, ES256, EdDSA}, MaxTokenTTL: maxTTL, CacheTTL: cacheTTL, Now: clock.Now})
			if err := m.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			oldCur := one(t, byState(t, st, alg, models.KeyCurrent), "current")
			oldNext := one(t, byState(t, st, alg, models.KeyNext), "next")
			rotatedAt := m.now()
			if err := m.Rotate(ctx, alg); err != nil {
				t.Fatal(err)
			}
			if got := one(t, byState(t, st, alg, models.KeyCurrent), "current after"); got != oldNext {
				t.Fatalf("current after rotation = %s, want the old next %s", got, oldNext)
			}
			newNext := one(t, byState(t, st, alg, models.KeyNext), "next after")
			if newNext == oldNext || newNext == oldCur {
				t.Fatal("rotation did not create a new next key")
			}
			if got := one(t, byState(t, st, alg, models.KeyRetired), "retired"); got != oldCur {
				t.Fatalf("retired = %s, want %s", got, oldCur)
			}
			infos, _ := m.List(ctx)
			for _, ki := range infos {
				if ki.KID == oldCur {
					want := rotatedAt.Add(maxTTL + cacheTTL)
					if ki.ExpiresAt == nil || ki.ExpiresAt.Before(want) || ki.ExpiresAt.After(want.Add(time.Second)) {
						t.Fatalf("retired key expires at %v, want %v", ki.ExpiresAt, want)
					}
				}
			}
			k, _ := m.SigningKey(ctx, alg)
			if k.KeyID() != oldNext {
				t.Fatalf("signing with %s after rotation, want %s", k.KeyID(), oldNext)
			}
			for _, kid := range []string{oldCur, oldNext, newNext} {
				if !slices.Contains(jwksKIDs(t, m), kid) {
					t.Fatalf("kid %s missing from the JWKS", kid)
				}
			}

			clock.Advance(maxTTL + cacheTTL - time.Second)
			if !slices.Contains(jwksKIDs(t, m), oldCur) {
				t.Fatal("retired key left the JWKS before its tokens expired")
			}
			if _, err := m.PublicKey(ctx, oldCur); err != nil {
				t.Fatalf("retired key not usable for verification: %v", err)
			}
			clock.Advance(2 * time.Second)
			if slices.Contains(jwksKIDs(t, m), oldCur) {
				t.Fatal("retired key still in the JWKS after MaxTokenTTL")
			}
			if _, err := m.PublicKey(ctx, oldCur); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("PublicKey(expired) = %v, want ErrUnknownKey", err)
			}
		})
	}
}

// Two replicas on one database never leave an algorithm with two current
// keys, however their Ensure and rotations interleave.
func TestConcurrentReplicasKeepOneCurrentKeyPerAlg(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	st1, st2 := openStore(t, path), openStore(t, path)
	algs := []string{RS256, ES256, EdDSA}
	ms := []*Manager{newManager(t, st1, Options{Algs: algs}), newManager(t, st2, Options{Algs: algs})}

	run := func(f func(m *Manager) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, len(ms))
		for i, m := range ms {
			wg.Go(func() { errs[i] = f(m) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, alg := range algs {
			one(t, byState(t, st1, alg, models.KeyCurrent), alg+" current")
			one(t, byState(t, st1, alg, models.KeyNext), alg+" next")
		}
	}
	run(func(m *Manager) error { return m.Ensure(ctx) })
	for range 2 {
		run(func(m *Manager) error { return m.RotateAll(ctx) })
	}
	for _, m := range ms {
		if err := m.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, alg := range algs {
		k1, _ := ms[0].SigningKey(ctx, alg)
		k2, _ := ms[1].SigningKey(ctx, alg)
		if k1.KeyID() != k2.KeyID() {
			t.Fatalf("%s: replicas sign with different keys %s and %s", alg, k1.KeyID(), k2.KeyID())
		}
	}
}

// The loser of a race on the same rotation changes nothing and returns nil.
func TestRotationLoserReturnsNil(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	st1, st2 := openStore(t, path), openStore(t, path)
	m1 := newManager(t, st1, Options{Algs: []string{RS256}})
	m2 := newManager(t, st2, Options{Algs: []string{RS256}})
	if err := m1.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	stale, err := m2.listGrouped(ctx) // what m2 saw before m1 won
	if err != nil {
		t.Fatal(err)
	}
	if err := m1.Rotate(ctx, RS256); err != nil {
		t.Fatal(err)
	}
	before, _ := st1.ListSigningKeys(ctx)
	won, err := m2.rotate(ctx, RS256, stale[RS256], stale[RS256].current[0].KID)
	if err != nil || won {
		t.Fatalf("loser: won=%v err=%v, want false, nil", won, err)
	}
	after, _ := st1.ListSigningKeys(ctx)
	if len(after) != len(before) {
		t.Fatalf("loser changed the key set: %d keys, then %d", len(before), len(after))
	}
	k, _ := m2.SigningKey(ctx, RS256)
	if k.KeyID() != one(t, byState(t, st1, RS256, models.KeyCurrent), "current") {
		t.Fatal("loser did not reload the winner's keys")
	}
}

// A database without serializable transactions can let two replicas each
// promote a key; every replica then signs with the same one, and Ensure
// retires the other while keeping it published.
func TestEnsureRepairsDuplicateCurrentKeys(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	clock := storetest.NewClock()
	m := newManager(t, st, Options{Algs: []string{RS256}, Now: clock.Now})
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first := one(t, byState(t, st, RS256, models.KeyCurrent), "current")
	clock.Advance(time.Second)
	dup, err := generate(RS256)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.create(ctx, dup, models.KeyCurrent, m.now()); err != nil {
		t.Fatal(err)
	}
	fresh := newManager(t, st, Options{Algs: []string{RS256}, Now: clock.Now})
	if k, err := fresh.SigningKey(ctx, RS256); err != nil || k.KeyID() != first {
		t.Fatalf("with two current keys, signing with %v (%v), want the earliest activated %s", k, err, first)
	}
	if err := fresh.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if got := one(t, byState(t, st, RS256, models.KeyCurrent), "current"); got != first {
		t.Fatalf("kept %s, want %s", got, first)
	}
	if got := one(t, byState(t, st, RS256, models.KeyRetired), "retired"); got != dup.kid {
		t.Fatalf("retired %s, want %s", got, dup.kid)
	}
	if !slices.Contains(jwksKIDs(t, fresh), dup.kid) {
		t.Fatal("the retired duplicate may have signed tokens; it must stay published")
	}
}

func TestRotateDueHonoursPeriod(t *testing.T) {
	const period = 24 * time.Hour
	ctx := context.Background()
	st := newStore(t)
	clock := storetest.NewClock()
	m := newManager(t, st, Options{Algs: []string{RS256, ES256}, RotationPeriod: period, Now: clock.Now})
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		want    []string
	}{
		{0, nil},
		{period - time.Second, nil},
		{time.Second, []string{RS256, ES256}},
		{0, nil},
		{period / 2, nil},
		{period / 2, []string{RS256, ES256}},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		got, err := m.RotateDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, s.want) {
			t.Fatalf("step %d: rotated %v, want %v", i, got, s.want)
		}
	}
	if n := len(byState(t, st, RS256, models.KeyRetired)); n != 2 {
		t.Fatalf("%d retired RS256 keys, want 2", n)
	}

	off := newManager(t, st, Options{Now: clock.Now})
	clock.Advance(10 * period)
	if got, err := off.RotateDue(ctx); err != nil || got != nil {
		t.Fatalf("RotationPeriod 0 rotated %v (%v)", got, err)
	}
}

func TestRunRotatesWhenDue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st := newStore(t)
	clock := storetest.NewClock()
	m := newManager(t, st, Options{Algs: []string{RS256}, RotationPeriod: time.Hour, Now: clock.Now})
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	before := one(t, byState(t, st, RS256, models.KeyCurrent), "current")
	clock.Advance(time.Hour)
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for byState(t, st, RS256, models.KeyCurrent)[0] == before {
		if time.Now().After(deadline) {
			t.Fatal("Run did not rotate a due key")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
}
