package passlink_test

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

type fakePolicy struct{ p policy.Passlink }

func (f *fakePolicy) PasslinkPolicy(context.Context) (policy.Passlink, error) { return f.p, nil }

// TestLivePolicyAppliesToNextRequest: the expiry, the per-address rate
// limit and open sign-up come from the PolicySource (the global policy,
// internal/policy) at each request, so an admin's change needs no restart.
func TestLivePolicyAppliesToNextRequest(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		src := &fakePolicy{p: policy.Passlink{TTL: 10 * time.Minute, RateEmail: 5, RateIP: 30, SignupOpen: true}}
		e := newEnv(t, st, func(c *passlink.Config) { c.Policy = src })
		email := addr()
		sent, _ := e.request(t, email)
		if sent.Purpose != models.PasslinkSignup {
			t.Fatalf("purpose %q with sign-up open, want %q", sent.Purpose, models.PasslinkSignup)
		}

		src.p = policy.Passlink{TTL: 3 * time.Minute, RateEmail: 2, RateIP: 30, SignupOpen: false}
		if got := e.svc.TTL(context.Background()); got != 3*time.Minute {
			t.Fatalf("TTL = %v, want 3m", got)
		}
		sent, _ = e.request(t, email)
		if sent.Limited || sent.Purpose != models.PasslinkNotice || sent.ExpiresAt.Sub(e.clock.Now().UTC()) > 3*time.Minute+time.Second {
			t.Fatalf("second request: %+v, want a notice expiring in 3m", sent)
		}
		if sent, _ = e.request(t, email); !sent.Limited || sent.LimitedBy != "email" {
			t.Fatalf("third request with 2 per address: limited %v by %q", sent.Limited, sent.LimitedBy)
		}
	})
}
