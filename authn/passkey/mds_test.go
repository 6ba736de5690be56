package passkey

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestMDS: with attestation direct and a FIDO MDS3 BLOB, an authenticator
// registers only when the metadata knows its model, its attestation type
// matches the statement, and its status is acceptable; a model revoked
// later is refused at sign-in (FIDO MDS 3.1 §3.1.8 status reports).
func TestMDS(t *testing.T) {
	const listed = "0a1b2c3d-0000-4000-8000-000000000001"
	signer := mdstest.NewSigner(t)
	mds := func(entries ...mdstest.Entry) func(*Config) {
		path := signer.Blob(t, entries...)
		return func(c *Config) { c.Attestation, c.MDSFile, c.MDSRoot = "direct", path, signer.Root }
	}
	certified := mds(mdstest.Entry{AAGUID: listed, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}})
	tests := []struct {
		name   string
		cfg    func(*Config)
		aaguid string
		want   error
	}{
		{"listed model, matching attestation type", certified, listed, nil},
		{"model absent from the metadata", certified, "0a1b2c3d-0000-4000-8000-000000000002", ErrAttestationRefused},
		// A self-attested claim to be a model that attests with a vendor
		// certificate proves nothing.
		{"attestation type the statement does not list", mds(mdstest.Entry{AAGUID: listed, Status: "FIDO_CERTIFIED", Types: []string{"basic_full"}}), listed, ErrAttestationRefused},
		{"revoked model", mds(mdstest.Entry{AAGUID: listed, Status: "REVOKED", Types: []string{"basic_surrogate"}}), listed, ErrAttestationRefused},
	}
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, dialect.Open(t), tc.cfg)
				user := e.createUser("mds@example.test")
				opts, cid, err := e.svc.BeginRegistration(e.ctx, user, nil, models.CredentialSecurityKey, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(opts), `"attestation":"direct"`) {
					t.Errorf("options do not ask for direct attestation: %s", opts)
				}
				d := newDevice(deviceOpts{aaguid: tc.aaguid, noUV: true})
				snap := e.snapshot()
				_, _, _, err = e.svc.FinishRegistration(e.ctx, cid, testBrowser, d.attest(t, opts, testRP, nil))
				if tc.want == nil {
					if err != nil {
						t.Fatalf("FinishRegistration: %v", err)
					}
					return
				}
				t.Logf("refused: %v", err)
				wantErr(t, err, tc.want)
				e.wantUnchanged(snap)
			})
		}

		// FIDO MDS 3.1 §3.1.4 statuses: a REVOKED model's credentials
		// prove nothing more than possession. Without the suspend policy
		// they sign in at the basic level only; with it they are
		// suspended (once, audited) and refused from then on.
		for _, suspend := range []bool{false, true} {
			t.Run(fmt.Sprintf("model revoked after registration, suspend=%v", suspend), func(t *testing.T) {
				st := dialect.Open(t)
				e := newEnv(t, st, certified)
				user := e.createUser("later@example.test")
				d := newDevice(deviceOpts{aaguid: listed})
				_, cred := e.register(user, nil, models.CredentialPasskey, d)
				revoked := signer.Blob(t, mdstest.Entry{AAGUID: listed, Status: "REVOKED", Types: []string{"basic_surrogate"}})
				later := newEnv(t, st, func(c *Config) {
					c.MDSRoot = signer.Root
					c.Policy = &fixedPolicy{p: policy.Passkey{Attestation: "direct", MDSFile: revoked, SuspendCompromised: suspend}}
				})
				login := func() (*Result, error) {
					opts, cid, err := later.svc.BeginLoginWith(e.ctx, user, Options{}, testBrowser, testIA)
					if err != nil {
						t.Fatal(err)
					}
					d.cred.Counter++
					return later.svc.FinishLogin(e.ctx, cid, testBrowser, d.assert(t, opts, testRP, nil))
				}
				res, err := login()
				if !suspend {
					if err != nil {
						t.Fatalf("sign-in with a revoked model's passkey: %v", err)
					}
					if res.ACR != models.ACRBasic || slices.Contains(res.AMR, "mfa") || !res.Facts.Compromised {
						t.Fatalf("acr %s amr %v facts %+v, want basic without mfa", res.ACR, res.AMR, res.Facts)
					}
					return
				}
				wantErr(t, err, ErrCredentialSuspended)
				got, gerr := st.GetCredential(e.ctx, cred.ID)
				if gerr != nil || got.SuspendedAt == nil {
					t.Fatalf("credential not suspended: %+v %v", got, gerr)
				}
				audit, _ := st.ListAuditEntries(e.ctx, store.AuditFilter{Action: "credential.suspended", TargetID: user.ID}, 10)
				if len(audit) != 1 {
					t.Fatalf("%d audit entries for the suspension", len(audit))
				}
				// Still refused once the model's status is lifted: a
				// suspension outlives its cause.
				lifted := newEnv(t, st, certified)
				opts, cid, err := lifted.svc.BeginLoginWith(e.ctx, user, Options{}, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				d.cred.Counter++
				_, err = lifted.svc.FinishLogin(e.ctx, cid, testBrowser, d.assert(t, opts, testRP, nil))
				wantErr(t, err, ErrCredentialSuspended)
			})
		}
	})
}

// TestConfig: New refuses what cannot work, including an MDS BLOB that is
// not signed by the configured root.
func TestConfig(t *testing.T) {
	st := storetest.OpenSQLite(t)
	signer, other := mdstest.NewSigner(t), mdstest.NewSigner(t)
	base := Config{RPID: testRPID, Origins: []string{testOrigin}}
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"no rp id", func(c *Config) { c.RPID = "" }, false},
		{"ip address rp id", func(c *Config) { c.RPID = "127.0.0.1" }, false},
		{"no origins", func(c *Config) { c.Origins = nil }, false},
		{"bad user verification", func(c *Config) { c.UserVerification = "always" }, false},
		{"bad attestation", func(c *Config) { c.Attestation = "enterprise" }, false},
		{"allow list without direct", func(c *Config) { c.AAGUIDAllow = []string{listedAAGUID} }, false},
		{"malformed deny list", func(c *Config) { c.AAGUIDDeny = []string{"yubikey"} }, false},
		{"mds without direct", func(c *Config) { c.MDSFile = signer.Blob(t); c.MDSRoot = signer.Root }, false},
		{"mds signed by its root", func(c *Config) { c.Attestation, c.MDSFile, c.MDSRoot = "direct", signer.Blob(t), signer.Root }, true},
		{"mds signed by another key", func(c *Config) { c.Attestation, c.MDSFile, c.MDSRoot = "direct", other.Blob(t), signer.Root }, false},
		{"mds checked against the FIDO root", func(c *Config) { c.Attestation, c.MDSFile = "direct", signer.Blob(t) }, false},
		{"mds file missing", func(c *Config) { c.Attestation, c.MDSFile = "direct", filepath.Join(t.TempDir(), "none.jwt") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			_, err := New(cfg, st, quietLogger())
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok = %v", err, tc.ok)
			}
		})
	}
}

const listedAAGUID = "cb69481e-8ff7-4039-93ec-0a2729a154a8"

// TestAuthenticatorName: the bundled table names well-known models; the
// zero AAGUID (undisclosed) and unknown ones have no name.
func TestAuthenticatorName(t *testing.T) {
	for aaguid, want := range map[string]string{
		"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
		"FBFC3007-154E-4ECC-8C0B-6E020557D7BD": "iCloud Keychain",
		"08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
		"bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
		"fa2b99dc-9e39-4257-8f92-4a30d23c4118": "YubiKey 5 Series",
		ZeroAAGUID:                             "",
		"12345678-1234-1234-1234-123456789012": "",
		"not an aaguid":                        "",
	} {
		if got := AuthenticatorName(aaguid); got != want {
			t.Errorf("AuthenticatorName(%q) = %q, want %q", aaguid, got, want)
		}
	}
}
