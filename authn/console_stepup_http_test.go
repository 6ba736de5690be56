package authn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// An admin who signs in with a password and a security key confirms a
// destructive console action the same way: the password again, then an
// assertion of their security key (two factors, one phishing-resistant),
// recorded as the session's step-up. A wrong password, another user's key
// or a ceremony of another step gets no step-up.
func TestConsoleStepUpWithPasswordAndSecurityKey(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := newPWEnv(t, opts...)
		ctx := context.Background()
		const pw = "correct horse battery staple 42"
		admin := pwUser(t, env.Env, "root-"+randomString()+"@example.test", pw)
		if err := env.Store.SetUserRole(ctx, admin.ID, models.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		key := newSecurityKey()
		b := newBrowser(t, env.Env)
		b.page("/login/password")
		b.enrol("", admin.Email, pw, key)

		// The throttle allows 5 password attempts a minute per account and
		// address; this test makes exactly 5 (enrol above, 4 step-ups), so
		// the console session comes as a sign-in with the key leaves it.
		ls := env.Login(b.c, admin.ID, []string{"pwd", "hwk", "mfa"}, models.ACRPhishingResistant, time.Now())

		var m struct {
			Passkey     bool `json:"passkey"`
			PasswordKey bool `json:"password_key"`
		}
		res := b.post("/console/stepup/methods", map[string]string{})
		if err := json.Unmarshal(res.raw, &m); res.status != http.StatusOK || err != nil || m.Passkey || !m.PasswordKey {
			t.Fatalf("step-up methods: %s", res)
		}

		steppedUp := func() bool {
			t.Helper()
			got, err := env.Store.GetLoginSession(ctx, ls.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.SteppedUpAt != nil && time.Since(*got.SteppedUpAt) < time.Minute
		}

		// Wrong password: no ceremony.
		if res := b.post("/console/stepup/password/options", map[string]string{"password": "wrong " + pw}); res.status != http.StatusUnauthorized {
			t.Errorf("wrong password: %s", res)
		}
		if res := b.post("/console/stepup/password/options", map[string]string{}); res.status != http.StatusUnprocessableEntity {
			t.Errorf("no password: %s", res)
		}

		// Another account's key does not confirm this admin.
		o := b.options("/console/stepup/password/options", map[string]string{"password": pw})
		if res := b.post("/console/stepup/password/verify", verifyBody(o.Ceremony, newSecurityKey().get(t, o.PublicKey, env.Issuer))); res.status < 400 {
			t.Errorf("a foreign key: %s", res)
		}
		// A ceremony of this step cannot be finished as a passkey step-up.
		o = b.options("/console/stepup/password/options", map[string]string{"password": pw})
		if res := b.post("/console/stepup/verify", verifyBody(o.Ceremony, key.get(t, o.PublicKey, env.Issuer))); res.status < 400 {
			t.Errorf("password ceremony finished at the passkey step-up: %s", res)
		}
		if steppedUp() {
			t.Fatal("stepped up without a right password and own key")
		}

		o = b.options("/console/stepup/password/options", map[string]string{"password": pw})
		res = b.post("/console/stepup/password/verify", verifyBody(o.Ceremony, key.get(t, o.PublicKey, env.Issuer)))
		if res.status != http.StatusOK || res.str("stepped_up_until") == "" {
			t.Fatalf("step-up: %s", res)
		}
		if !steppedUp() {
			t.Fatal("the step-up was not recorded on the session")
		}
		// A replay of the same assertion is refused.
		if res := b.post("/console/stepup/password/verify", verifyBody(o.Ceremony, key.get(t, o.PublicKey, env.Issuer))); res.status < 400 {
			t.Errorf("replayed ceremony: %s", res)
		}

		// And the destructive action now goes through.
		victim := env.CreateUser("victim-" + randomString() + "@example.test")
		req, _ := http.NewRequest(http.MethodDelete, env.Issuer+"/api/admin/v1/users/"+victim.ID, nil)
		req.Header.Set("X-CSRF-Token", b.csrf)
		req.Header.Set("Origin", env.Issuer)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Accept", "application/json")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("delete after a password + key step-up: %d", resp.StatusCode)
		}
	})
}

// /login?return=… also brings a password + security key sign-in back to
// the console (CWE-601: the path was checked when the page was shown and
// again when it is used).
func TestLoginReturnPathAfterPasswordAndKey(t *testing.T) {
	env := newPWEnv(t)
	const pw = "correct horse battery staple 42"
	u := pwUser(t, env.Env, "pat-"+randomString()+"@example.test", pw)
	key := newSecurityKey()
	b := newBrowser(t, env.Env)
	b.page("/login/password")
	b.enrol("", u.Email, pw, key)
	b.page("/login?return=" + url.QueryEscape("/console/users?q=pat"))
	if got := b.signInWithKey("", u.Email, pw, key); got != "/console/users?q=pat" {
		t.Errorf("redirect %q, want /console/users?q=pat", got)
	}
	b.page("/login?return=" + url.QueryEscape("//evil.example/console"))
	if got := b.signInWithKey("", u.Email, pw, key); got != "/account" {
		t.Errorf("redirect %q, want /account", got)
	}
}
