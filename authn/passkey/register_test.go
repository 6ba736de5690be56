package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestRegistration registers passkeys and security keys (WebAuthn §7.1)
// and checks what is stored and what the browser is asked for.
func TestRegistration(t *testing.T) {
	yubikey := "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	tests := []struct {
		name       string
		kind       string
		dev        deviceOpts
		wantName   string
		wantUV     bool
		wantBE     bool
		wantOption func(t *testing.T, o map[string]any)
	}{
		{
			name: "synced passkey with user verification", kind: models.CredentialPasskey,
			dev:      deviceOpts{backupEligible: true, backupState: true, aaguid: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"},
			wantName: "Google Password Manager", wantUV: true, wantBE: true,
			wantOption: func(t *testing.T, o map[string]any) {
				sel := o["authenticatorSelection"].(map[string]any)
				if sel["residentKey"] != "required" || sel["requireResidentKey"] != true || sel["userVerification"] != "preferred" {
					t.Errorf("passkey authenticatorSelection = %v", sel)
				}
				if _, ok := sel["authenticatorAttachment"]; ok {
					t.Errorf("passkey must allow platform and roaming authenticators: %v", sel)
				}
			},
		},
		{
			name: "device-bound passkey of an unknown model", kind: models.CredentialPasskey,
			dev:      deviceOpts{},
			wantName: "Passkey", wantUV: true,
		},
		{
			name: "security key without user verification", kind: models.CredentialSecurityKey,
			dev:      deviceOpts{noUV: true, aaguid: yubikey},
			wantName: "YubiKey 5 Series",
			wantOption: func(t *testing.T, o map[string]any) {
				sel := o["authenticatorSelection"].(map[string]any)
				if sel["authenticatorAttachment"] != "cross-platform" || sel["residentKey"] != "discouraged" || sel["userVerification"] != "discouraged" {
					t.Errorf("security key authenticatorSelection = %v", sel)
				}
			},
		},
		{
			name: "security key of an unknown model", kind: models.CredentialSecurityKey,
			dev:      deviceOpts{noUV: true},
			wantName: "Security key",
		},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				st := dialect.Open(t)
				e := newEnv(t, st, nil)
				user := e.createUser(tc.name + "@example.test")
				old := newDevice(deviceOpts{})
				e.register(user, nil, tc.kind, old)

				opts, cid, err := e.svc.BeginRegistration(e.ctx, user, nil, tc.kind, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				var o map[string]any
				if err := json.Unmarshal(opts, &o); err != nil {
					t.Fatal(err)
				}
				if o["challenge"] == "" || o["rp"].(map[string]any)["id"] != testRPID {
					t.Errorf("options = %s", opts)
				}
				if u := o["user"].(map[string]any); u["id"] != b64([]byte(user.ID)) || u["name"] != user.Email {
					t.Errorf("options user = %v", u)
				}
				ex, _ := o["excludeCredentials"].([]any)
				if len(ex) != 1 || ex[0].(map[string]any)["id"] != old.id() {
					t.Errorf("excludeCredentials = %v, want the existing credential %s", ex, old.id())
				}
				if tc.wantOption != nil {
					tc.wantOption(t, o)
				}

				d := newDevice(tc.dev)
				u, c, ia, err := e.svc.FinishRegistration(e.ctx, cid, testBrowser, d.attest(t, opts, testRP, nil))
				if err != nil {
					t.Fatalf("FinishRegistration: %v", err)
				}
				if u.ID != user.ID || ia != testIA {
					t.Errorf("user %s interaction %q", u.ID, ia)
				}
				got, err := st.GetCredential(e.ctx, d.id())
				if err != nil {
					t.Fatal(err)
				}
				if got.UserID != user.ID || got.Kind != tc.kind || got.Name != tc.wantName ||
					got.UserVerified != tc.wantUV || got.BackupEligible != tc.wantBE || got.BackupState != tc.dev.backupState ||
					got.AAGUID != aaguidString(d.auth.Aaguid[:]) || got.AttestationFormat != "packed" ||
					got.AttestationType != "basic_surrogate" || got.PublicKey == "" || got.SignCount != 0 || got.CloneWarning {
					t.Errorf("stored credential = %+v", got)
				}
				if got.ID != c.ID || got.Name != c.Name {
					t.Errorf("returned %+v, stored %+v", c, got)
				}
			})
		}
	})
}

// TestSignUp: a sign-up stores the user and the first passkey together;
// the address is normalized and stays unverified until a passlink proves
// it.
func TestSignUp(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		st := dialect.Open(t)
		e := newEnv(t, st, nil)
		d := newDevice(deviceOpts{backupEligible: true})
		u, c := e.register(nil, &NewUser{Email: "  New.Person@Example.TEST ", DisplayName: " New Person "}, models.CredentialPasskey, d)
		got, err := st.GetUser(e.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "New.Person@Example.TEST" || got.EmailNormalized != "new.person@example.test" || got.EmailVerified || got.DisplayName != "New Person" {
			t.Errorf("user = %+v", got)
		}
		if c.UserID != u.ID {
			t.Errorf("credential user = %s, want %s", c.UserID, u.ID)
		}
		// The new account signs in with its passkey, usernameless.
		res, err := e.login(nil, d)
		if err != nil || res.User.ID != u.ID {
			t.Fatalf("login after sign-up: %v %+v", err, res)
		}
	})
}

// failingCredentialStore fails the credential insert after the user insert
// succeeded, to prove a sign-up is one transaction.
type failingCredentialStore struct{ *store.Store }

var errInjected = errors.New("injected failure")

func (f failingCredentialStore) CreateCredential(context.Context, *models.WebAuthnCredential) error {
	return errInjected
}

// TestSignUpIsAtomic: when the credential cannot be stored the new user is
// rolled back too (no account without a way in).
func TestSignUpIsAtomic(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		st := dialect.Open(t)
		e := newEnv(t, st, nil)
		svc, err := New(e.svc.cfg, failingCredentialStore{st}, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		before := e.snapshot()
		opts, cid, err := svc.BeginRegistration(e.ctx, nil, &NewUser{Email: "atomic@example.test"}, models.CredentialPasskey, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		d := newDevice(deviceOpts{})
		_, _, _, err = svc.FinishRegistration(e.ctx, cid, testBrowser, d.attest(t, opts, testRP, nil))
		if !errors.Is(err, errInjected) {
			t.Fatalf("err = %v, want the injected failure", err)
		}
		e.wantUnchanged(before)
		if _, err := st.GetUserByEmail(e.ctx, "atomic@example.test"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("user exists after a failed sign-up: %v", err)
		}
	})
}
