package policy

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestCurrentDefaultsToConfig: before an admin saved a policy, every
// reader sees the configuration's values.
func TestCurrentDefaultsToConfig(t *testing.T) {
	cfg := config.Default()
	live := New(storetest.OpenSQLite(t), cfg)
	p, err := live.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := FromConfig(cfg)
	if p.SignupOpen != want.SignupOpen || p.PasslinkTTL != Duration(cfg.PasslinkTTL) ||
		p.IDTokenTTL != Duration(cfg.IDTokenTTL) || !slices.Equal(p.DefaultLoginMethods, LoginMethods) {
		t.Fatalf("Current() = %+v, want the configuration's %+v", p, want)
	}
	if p.AAGUIDAllow == nil || p.AAGUIDDeny == nil {
		t.Fatalf("AAGUID lists %v %v, want empty, not nil (they encode as [])", p.AAGUIDAllow, p.AAGUIDDeny)
	}
	if ttl, _ := live.LoginSessionTTL(context.Background()); ttl != cfg.LoginSessionTTL {
		t.Fatalf("LoginSessionTTL() = %v, want %v", ttl, cfg.LoginSessionTTL)
	}
}

// TestSaveAppliesHereAtOnceElsewhereWithinCacheTTL: the saving replica
// reads its change at once; another replica keeps its cached copy for at
// most CacheTTL, then reads the stored one.
func TestSaveAppliesHereAtOnceElsewhereWithinCacheTTL(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	cfg := config.Default()
	clk := &clock{t: time.Now()}
	saver, other := New(st, cfg), New(st, cfg)
	saver.now, other.now = clk.Now, clk.Now
	if _, err := other.Current(ctx); err != nil { // warm its cache
		t.Fatal(err)
	}

	p, err := saver.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.SignupOpen = !cfg.SignupOpen
	p.AccessTokenTTL = Duration(7 * time.Minute)
	p.UserVerification, p.AAGUIDDeny = "required", nil
	if err := saver.Save(ctx, p, "cli:test"); err != nil {
		t.Fatal(err)
	}
	if got, _ := saver.SignupOpen(ctx); got != p.SignupOpen {
		t.Fatalf("saving replica: SignupOpen = %v right after the save, want %v", got, p.SignupOpen)
	}
	if got, _ := other.SignupOpen(ctx); got != cfg.SignupOpen {
		t.Fatalf("other replica: SignupOpen = %v within the cache's lifetime, want the cached %v", got, cfg.SignupOpen)
	}
	clk.Add(CacheTTL + time.Millisecond)
	l, err := other.TokenLifespans(ctx)
	if err != nil || l.AccessToken != 7*time.Minute {
		t.Fatalf("other replica after CacheTTL: lifespans %+v, %v; want access 7m", l, err)
	}
	pk, err := other.PasskeyPolicy(ctx)
	if err != nil || pk.UserVerification != "required" || pk.AAGUIDDeny == nil {
		t.Fatalf("other replica after CacheTTL: passkey part %+v, %v", pk, err)
	}
	row, err := st.GetPolicy(ctx, Global)
	if err != nil || row.UpdatedBy != "cli:test" {
		t.Fatalf("stored row %+v, %v", row, err)
	}
}

// failingStore stands for a database that cannot be read.
type failingStore struct{}

func (failingStore) GetPolicy(context.Context, string) (*models.Policy, error) {
	return nil, errors.New("database down")
}
func (failingStore) PutPolicy(context.Context, *models.Policy) error {
	return errors.New("database down")
}

// TestReadErrorsReachTheReader: a store that fails is reported, so each
// reader can fall back to its configuration (and log why).
func TestReadErrorsReachTheReader(t *testing.T) {
	live := New(failingStore{}, config.Default())
	if _, err := live.PasslinkPolicy(context.Background()); err == nil {
		t.Fatal("PasslinkPolicy() with the database down: no error")
	}
}

// TestOverLeavesBaseAlone: checking a policy against the configuration's
// rules never changes the configuration.
func TestOverLeavesBaseAlone(t *testing.T) {
	base := config.Default()
	base.AAGUIDDeny = []string{"11111111-2222-3333-4444-555555555555"}
	p := FromConfig(base)
	p.AAGUIDDeny[0] = "changed"
	p.PasslinkTTL = Duration(3 * time.Minute)
	c := p.Over(base)
	if base.AAGUIDDeny[0] != "11111111-2222-3333-4444-555555555555" || base.PasslinkTTL == 3*time.Minute {
		t.Fatalf("base changed: %v %v", base.AAGUIDDeny, base.PasslinkTTL)
	}
	if c.PasslinkTTL != 3*time.Minute || c.AAGUIDDeny[0] != "changed" {
		t.Fatalf("Over() = ttl %v deny %v", c.PasslinkTTL, c.AAGUIDDeny)
	}
}

// TestTokenExchangeSwitch: the switch starts at the configuration's value,
// a stored document saved before the switch existed keeps that value, and
// a saved one wins.
func TestTokenExchangeSwitch(t *testing.T) {
	ctx := context.Background()
	for _, base := range []bool{false, true} {
		st := storetest.OpenSQLite(t)
		cfg := config.Default()
		cfg.TokenExchange = base
		live := New(st, cfg)
		if on, err := live.TokenExchange(ctx); err != nil || on != base {
			t.Fatalf("configuration %v, nothing saved: %v, %v", base, on, err)
		}
		if err := st.PutPolicy(ctx, &models.Policy{Name: Global, Value: `{"signup_open":true}`, UpdatedBy: "cli:old"}); err != nil {
			t.Fatal(err)
		}
		live.Invalidate()
		if on, err := live.TokenExchange(ctx); err != nil || on != base {
			t.Fatalf("configuration %v, a document without the switch: %v, %v", base, on, err)
		}
		p, err := live.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.TokenExchange = !base
		if err := live.Save(ctx, p, "cli:test"); err != nil {
			t.Fatal(err)
		}
		if on, err := New(st, cfg).TokenExchange(ctx); err != nil || on != !base {
			t.Fatalf("configuration %v, saved %v: another replica reads %v, %v", base, !base, on, err)
		}
	}
}
