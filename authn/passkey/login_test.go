package passkey

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestLogin signs in username-first and usernameless (discoverable, user
// found by userHandle: WebAuthn §7.2 step 6) and checks the result, the
// amr (RFC 8176 §2) and what is written.
func TestLogin(t *testing.T) {
	tests := []struct {
		name         string
		dev          deviceOpts
		usernameless bool
		wantAMR      []string
		wantACR      string
	}{
		{"username-first, device-bound, verified", deviceOpts{counter: 1}, false, []string{"pop", "hwk", "user", "mfa"}, models.ACRDeviceBound},
		{"username-first, synced, verified", deviceOpts{backupEligible: true, backupState: true}, false, []string{"pop", "swk", "user", "mfa"}, models.ACRUserVerified},
		{"usernameless, synced, verified", deviceOpts{backupEligible: true}, true, []string{"pop", "swk", "user", "mfa"}, models.ACRUserVerified},
		{"usernameless, device-bound, presence only", deviceOpts{noUV: true, counter: 7}, true, []string{"pop", "hwk", "user"}, models.ACRBasic},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				st := dialect.Open(t)
				e := newEnv(t, st, nil)
				other := e.createUser("other@example.test")
				e.register(other, nil, models.CredentialPasskey, newDevice(deviceOpts{}))
				user := e.createUser("user@example.test")
				d := newDevice(tc.dev)
				e.register(user, nil, models.CredentialPasskey, d)
				second := newDevice(deviceOpts{})
				e.register(user, nil, models.CredentialPasskey, second)

				var named *models.User
				if !tc.usernameless {
					named = user
				}
				opts, cid, err := e.svc.BeginLogin(e.ctx, named, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				var o map[string]any
				if err := json.Unmarshal(opts, &o); err != nil {
					t.Fatal(err)
				}
				allow, _ := o["allowCredentials"].([]any)
				var ids []string
				for _, a := range allow {
					ids = append(ids, a.(map[string]any)["id"].(string))
				}
				if tc.usernameless && len(ids) != 0 {
					t.Errorf("discoverable login lists credentials: %v", ids)
				}
				if !tc.usernameless && (len(ids) != 2 || !hasAll(ids, d.id(), second.id())) {
					t.Errorf("allowCredentials = %v, want the user's two passkeys", ids)
				}
				if o["rpId"] != testRPID || o["userVerification"] != "preferred" {
					t.Errorf("options = %s", opts)
				}

				e.clock.Advance(1)
				d.cred.Counter += 2
				res, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, d.assert(t, opts, testRP, nil))
				if err != nil {
					t.Fatalf("FinishLogin: %v", err)
				}
				// A passkey level only with user verification (presence
				// alone is one factor), device-bound when not backup
				// eligible (ACRFor).
				if res.User.ID != user.ID || res.Credential.ID != d.id() || res.InteractionID != testIA || res.ACR != tc.wantACR {
					t.Errorf("result = %+v", res)
				}
				if !slices.Equal(res.AMR, tc.wantAMR) {
					t.Errorf("amr = %v, want %v", res.AMR, tc.wantAMR)
				}
				got, err := st.GetCredential(e.ctx, d.id())
				if err != nil {
					t.Fatal(err)
				}
				if got.SignCount != int64(d.cred.Counter) || got.LastUsedAt == nil || !got.LastUsedAt.Equal(e.clock.Now().UTC().Truncate(1000)) ||
					got.UserVerified != !tc.dev.noUV || got.BackupEligible != tc.dev.backupEligible || got.BackupState != tc.dev.backupState {
					t.Errorf("credential after login = %+v (counter %d)", got, d.cred.Counter)
				}

				// A second sign-in with a higher counter works too.
				if _, err := e.login(named, d); err != nil {
					t.Fatalf("second login: %v", err)
				}
			})
		}
	})
}

// TestZeroCounter: synced passkeys never count (always 0); that is not a
// regression (WebAuthn §7.2 step 22 applies only when a counter is used).
func TestZeroCounter(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		st := dialect.Open(t)
		e := newEnv(t, st, nil)
		user := e.createUser("zero@example.test")
		d := newDevice(deviceOpts{backupEligible: true, backupState: true})
		e.register(user, nil, models.CredentialPasskey, d)
		for i := range 3 {
			opts, cid, err := e.svc.BeginLogin(e.ctx, nil, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, d.assert(t, opts, testRP, nil)); err != nil {
				t.Fatalf("login %d with counter 0: %v", i, err)
			}
		}
	})
}

// TestSecurityKeyLogin: a security key (registered as a second factor) signs
// in through BeginSecurityKeyLogin, and is refused where a passkey is
// needed: it would skip the password.
func TestSecurityKeyLogin(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		st := dialect.Open(t)
		e := newEnv(t, st, func(c *Config) { c.UserVerification = "required" })
		user := e.createUser("key@example.test")
		key := newDevice(deviceOpts{noUV: true})
		e.register(user, nil, models.CredentialSecurityKey, key)

		opts, cid, err := e.svc.BeginSecurityKeyLogin(e.ctx, user, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		var o map[string]any
		_ = json.Unmarshal(opts, &o)
		if o["userVerification"] != "discouraged" {
			t.Errorf("security key login userVerification = %v", o["userVerification"])
		}
		key.cred.Counter++
		res, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, key.assert(t, opts, testRP, nil))
		if err != nil {
			t.Fatalf("security key login: %v", err)
		}
		if !slices.Equal(res.AMR, []string{"pop", "hwk", "user"}) {
			t.Errorf("amr = %v", res.AMR)
		}

		// Usernameless passkey sign-in with the security key.
		before := e.snapshot()
		opts, cid, err = e.svc.BeginLogin(e.ctx, nil, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		key.cred.Counter++
		_, err = e.svc.FinishLogin(e.ctx, cid, testBrowser, key.assert(t, opts, testRP, nil))
		wantErr(t, err, ErrWrongCredentialKind)
		e.wantUnchanged(before)

		// Username-first: the user has no passkey, so the options are the
		// fake ones, and the key is not accepted.
		opts, cid, err = e.svc.BeginLogin(e.ctx, user, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		fake, _, err := e.svc.BeginLoginUnknown(e.ctx, user.Email, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		if ids(t, opts)[0] != ids(t, fake)[0] {
			t.Errorf("a user without passkeys gets different options than an unknown address")
		}
		_, err = e.svc.FinishLogin(e.ctx, cid, testBrowser, key.assert(t, opts, testRP, nil))
		wantErr(t, err, ErrForeignCredential)
		e.wantUnchanged(before)
	})
}

func ids(t *testing.T, opts json.RawMessage) []string {
	t.Helper()
	var o struct {
		AllowCredentials []struct {
			ID         string   `json:"id"`
			Type       string   `json:"type"`
			Transports []string `json:"transports"`
		} `json:"allowCredentials"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range o.AllowCredentials {
		if c.Type != "public-key" || len(unb64(t, c.ID)) < 16 {
			t.Errorf("allowCredentials entry %+v", c)
		}
		out = append(out, c.ID)
	}
	return out
}

// TestBeginLoginUnknown: an unknown address gets options of the same shape
// as a real user's, stable per address, different between addresses, so
// the answer does not tell whether the account exists.
func TestBeginLoginUnknown(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		st := dialect.Open(t)
		e := newEnv(t, st, nil)
		user := e.createUser("real@example.test")
		d := newDevice(deviceOpts{})
		e.register(user, nil, models.CredentialPasskey, d)

		real, _, err := e.svc.BeginLogin(e.ctx, user, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		a1, c1, err := e.svc.BeginLoginUnknown(e.ctx, "Nobody@Example.test", testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		a2, _, err := e.svc.BeginLoginUnknown(e.ctx, " nobody@example.TEST", testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := e.svc.BeginLoginUnknown(e.ctx, "somebody@example.test", testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(ids(t, a1)); n < 1 || n > 2 {
			t.Errorf("fake options list %d credentials", n)
		}
		if !slices.Equal(ids(t, a1), ids(t, a2)) {
			t.Errorf("fake ids differ for one address: %v %v", ids(t, a1), ids(t, a2))
		}
		if slices.Equal(ids(t, a1), ids(t, b)) {
			t.Errorf("fake ids equal for two addresses")
		}
		if keys(t, real) != keys(t, a1) {
			t.Errorf("shape differs:\nreal %s\nfake %s", real, a1)
		}
		// Another key (another deployment) gives other ids.
		other := newEnv(t, st, func(c *Config) { c.FakeCredentialKey = []byte("another key") })
		o, _, err := other.svc.BeginLoginUnknown(e.ctx, "nobody@example.test", testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(ids(t, a1), ids(t, o)) {
			t.Errorf("fake ids do not depend on the key")
		}
		// Nothing can finish it: a real credential is refused.
		before := e.snapshot()
		_, err = e.svc.FinishLogin(e.ctx, c1, testBrowser, d.assert(t, a1, testRP, nil))
		wantErr(t, err, ErrForeignCredential)
		e.wantUnchanged(before)
	})
}

// keys lists the top-level members of options, to compare their shape.
func keys(t *testing.T, opts json.RawMessage) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(opts, &m); err != nil {
		t.Fatal(err)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return fmtList(ks)
}

func fmtList(ks []string) string {
	out := ""
	for _, k := range ks {
		out += k + ","
	}
	return out
}

// TestLoginCeremonyHeldByTheBrowser: a sign-in's options write nothing —
// the browser holds the ceremony, sealed — and it finishes on any replica
// with the same key; only its spend is stored, once, so a replay to either
// replica is refused.
func TestLoginCeremonyHeldByTheBrowser(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		st := dialect.Open(t)
		key := bytes.Repeat([]byte{42}, 32)
		withKey := func(c *Config) { c.CeremonyKey = key }
		a, b := newEnv(t, st, withKey), newEnv(t, st, withKey)
		user := a.createUser("user@example.test")
		d := newDevice(deviceOpts{})
		a.register(user, nil, models.CredentialPasskey, d)
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		ceremonies := func() (n int) {
			if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM webauthn_ceremonies WHERE kind = 'login'").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, named := range []*models.User{user, nil} {
			before := ceremonies()
			opts, cid, err := a.svc.BeginLogin(a.ctx, named, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			if n := ceremonies(); n != before {
				t.Fatalf("options wrote %d ceremonies", n-before)
			}
			if c, err := a.svc.openCeremony(cid); err != nil || strings.Contains(cid, c.ID) || strings.Contains(cid, testBrowser) || strings.Contains(cid, user.ID) {
				t.Errorf("the ceremony the browser holds is not sealed: %s (%v)", cid, err)
			}
			d.cred.Counter++
			body := d.assert(t, opts, testRP, nil)
			res, err := b.svc.FinishLogin(b.ctx, cid, testBrowser, body)
			if err != nil {
				t.Fatalf("finish on the other replica: %v", err)
			}
			if res.User.ID != user.ID {
				t.Errorf("signed in %s, want %s", res.User.ID, user.ID)
			}
			if n := ceremonies(); n != before+1 {
				t.Errorf("%d ceremonies stored after the finish, want its spend only", n-before)
			}
			for _, e := range []*env{a, b} {
				_, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, body)
				wantErr(t, err, ErrCeremonyUsed)
			}
			if got, err := st.GetCredential(t.Context(), d.id()); err != nil || got.CloneWarning {
				t.Errorf("the replays flagged the passkey: %+v %v", got, err)
			}
		}
	})
}
