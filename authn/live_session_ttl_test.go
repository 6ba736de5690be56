package authn_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestLoginSessionLifetimePolicyAppliesWithoutRestart: the login-session
// lifetime an admin saves governs the next session the running server
// starts (its stored expiry and the cookie's Max-Age), with no restart.
func TestLoginSessionLifetimePolicyAppliesWithoutRestart(t *testing.T) {
	servertest.EachDialect(t, loginSessionTTLLive)
}

func loginSessionTTLLive(t *testing.T, opts ...servertest.Option) {
	env := servertest.New(t, opts...)
	ctx := context.Background()
	user := env.CreateUser("ttl@example.com")
	start := func() (time.Duration, *http.Cookie) {
		t.Helper()
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, env.Issuer+"/login", nil)
		st, err := env.Server.Sessions().Start(ctx, rec, r, websession.Login{UserID: user.ID, AMR: []string{"hwk"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := env.Store.GetLoginSession(ctx, st.Session.ID)
		if err != nil {
			t.Fatal(err)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("cookies set: %v", cookies)
		}
		return time.Until(got.ExpiresAt), cookies[0]
	}
	check := func(when string, want time.Duration) {
		t.Helper()
		d, c := start()
		if d > want || d < want-time.Minute {
			t.Fatalf("%s: session expires in %v, want %v", when, d, want)
		}
		if c.MaxAge != int(want/time.Second) {
			t.Fatalf("%s: cookie Max-Age %d, want %d", when, c.MaxAge, int(want/time.Second))
		}
	}
	check("before the change", env.Config.LoginSessionTTL)

	pols := env.Server.Console().Policies
	p, err := pols.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.LoginSessionTTL = policy.Duration(90 * time.Minute)
	if _, err := pols.Update(ctx, p); err != nil {
		t.Fatalf("update policy: %v", err)
	}
	check("after the change", 90*time.Minute)
}
