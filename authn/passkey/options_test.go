package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestClientUserVerificationIsEnforced: a ceremony begun for a client
// that requires user verification asks for it (WebAuthn §5.4.6/§5.5
// userVerification "required") and refuses an assertion or attestation
// whose UV flag is not set (§7.2 step 15, §7.1 step 15), whatever the
// global policy ("preferred" here).
func TestClientUserVerificationIsEnforced(t *testing.T) {
	required := Options{UserVerification: "required"}
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		t.Run("login", func(t *testing.T) {
			e := newEnv(t, dialect.Open(t), nil)
			user := e.createUser("user@example.test")
			d := newDevice(deviceOpts{noUV: true})
			e.register(user, nil, models.CredentialPasskey, d)

			for _, named := range []*models.User{user, nil} {
				opts, cid, err := e.svc.BeginLoginWith(e.ctx, named, required, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				wantUV(t, opts, "required")
				before := e.snapshot()
				d.cred.Counter++
				_, err = e.svc.FinishLogin(e.ctx, cid, testBrowser, d.assert(t, opts, testRP, nil))
				wantErr(t, err, ErrUserVerificationRequired)
				e.wantUnchanged(before)
			}

			// The same device passes where the client leaves the policy.
			opts, cid, err := e.svc.BeginLoginWith(e.ctx, user, Options{}, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			wantUV(t, opts, "preferred")
			d.cred.Counter++
			if _, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, d.assert(t, opts, testRP, nil)); err != nil {
				t.Fatalf("FinishLogin without a client requirement: %v", err)
			}

			// A verifying device passes the required ceremony.
			v := newDevice(deviceOpts{})
			e.register(user, nil, models.CredentialPasskey, v)
			opts, cid, err = e.svc.BeginLoginWith(e.ctx, user, required, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			v.cred.Counter++
			if _, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, v.assert(t, opts, testRP, nil)); err != nil {
				t.Fatalf("FinishLogin with UV: %v", err)
			}
		})
		t.Run("unknown address", func(t *testing.T) {
			e := newEnv(t, dialect.Open(t), nil)
			opts, _, err := e.svc.BeginLoginUnknownWith(e.ctx, "nobody@example.test", required, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			wantUV(t, opts, "required") // same shape as a real user's
		})
		t.Run("sign-up", func(t *testing.T) {
			e := newEnv(t, dialect.Open(t), nil)
			opts, cid, err := e.svc.BeginRegistrationWith(e.ctx, nil, &NewUser{Email: "new@example.test", DisplayName: "New"}, models.CredentialPasskey, required, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			var o struct {
				AuthenticatorSelection struct {
					UserVerification string `json:"userVerification"`
				} `json:"authenticatorSelection"`
			}
			if err := json.Unmarshal(opts, &o); err != nil {
				t.Fatal(err)
			}
			if o.AuthenticatorSelection.UserVerification != "required" {
				t.Fatalf("creation options = %s, want userVerification required", opts)
			}
			before := e.snapshot()
			_, _, _, err = e.svc.FinishRegistration(e.ctx, cid, testBrowser, newDevice(deviceOpts{noUV: true}).attest(t, opts, testRP, nil))
			wantErr(t, err, ErrUserVerificationRequired)
			e.wantUnchanged(before)
		})
		t.Run("bad value", func(t *testing.T) {
			e := newEnv(t, dialect.Open(t), nil)
			_, _, err := e.svc.BeginLoginWith(e.ctx, nil, Options{UserVerification: "sometimes"}, testBrowser, testIA)
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("err = %v, want ErrBadInput", err)
			}
		})
	})
}

func wantUV(t testing.TB, opts json.RawMessage, want string) {
	t.Helper()
	var o struct {
		UserVerification string `json:"userVerification"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	if o.UserVerification != want {
		t.Fatalf("request options = %s, want userVerification %q", opts, want)
	}
}

// fakePolicy is a PolicySource an admin edits between requests.
type fakePolicy struct {
	p   policy.Passkey
	err error
}

func (f *fakePolicy) PasskeyPolicy(context.Context) (policy.Passkey, error) { return f.p, f.err }

// TestLivePolicyAppliesToNextCeremony: the policy from the PolicySource
// (the global policy, internal/policy) governs each new ceremony without a new
// Service: user verification, attestation conveyance (WebAuthn §5.4.7)
// and the AAGUID deny list; a source that fails or gives a policy New
// would refuse leaves Config in force.
func TestLivePolicyAppliesToNextCeremony(t *testing.T) {
	const model = "11111111-2222-3333-4444-555555555555"
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		src := &fakePolicy{p: policy.Passkey{UserVerification: "preferred", Attestation: "none"}}
		e := newEnv(t, dialect.Open(t), func(c *Config) { c.Policy = src })
		user := e.createUser("user@example.test")
		e.register(user, nil, models.CredentialPasskey, newDevice(deviceOpts{aaguid: model}))

		src.p = policy.Passkey{UserVerification: "required", Attestation: "direct", AAGUIDDeny: []string{model}, Version: 1}
		opts, _, err := e.svc.BeginLogin(e.ctx, user, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		wantUV(t, opts, "required")
		opts, cid, err := e.svc.BeginRegistration(e.ctx, user, nil, models.CredentialPasskey, testBrowser, testIA)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			Attestation string `json:"attestation"`
		}
		if err := json.Unmarshal(opts, &o); err != nil || o.Attestation != "direct" {
			t.Fatalf("creation options = %s, want attestation direct", opts)
		}
		_, _, _, err = e.svc.FinishRegistration(e.ctx, cid, testBrowser, newDevice(deviceOpts{aaguid: model}).attest(t, opts, testRP, nil))
		wantErr(t, err, ErrAttestationRefused)

		// Unusable policies fall back to Config ("preferred").
		for _, bad := range []*fakePolicy{
			{err: errors.New("database down")},
			{p: policy.Passkey{UserVerification: "always", Version: 2}},
			{p: policy.Passkey{Attestation: "none", AAGUIDAllow: []string{model}, Version: 3}},
		} {
			*src = *bad
			opts, _, err := e.svc.BeginLogin(e.ctx, user, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			wantUV(t, opts, "preferred")
		}
	})
}
