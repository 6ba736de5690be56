package passkey

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/go-webauthn/webauthn/metadata"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestACRAndAMRFromFacts: the ordered scheme of models/acr.go and RFC 8176
// amr values, from what one ceremony proved.
func TestACRAndAMRFromFacts(t *testing.T) {
	tests := []struct {
		name string
		f    Facts
		acr  string
		amr  []string
	}{
		{"presence only, synced", Facts{BackupEligible: true}, models.ACRBasic, []string{"pop", "swk", "user"}},
		{"presence only, device-bound, attested", Facts{Attested: true}, models.ACRBasic, []string{"pop", "hwk", "user"}},
		{"verified, synced", Facts{UserVerified: true, BackupEligible: true}, models.ACRUserVerified, []string{"pop", "swk", "user", "mfa"}},
		// Attested is never claimed for a key that can leave its device.
		{"verified, synced, attested", Facts{UserVerified: true, BackupEligible: true, Attested: true}, models.ACRUserVerified, []string{"pop", "swk", "user", "mfa"}},
		{"verified, device-bound", Facts{UserVerified: true}, models.ACRDeviceBound, []string{"pop", "hwk", "user", "mfa"}},
		{"verified, device-bound, attested, fingerprint", Facts{UserVerified: true, Attested: true, UVMethod: "fpt"}, models.ACRAttested, []string{"pop", "hwk", "user", "mfa", "fpt"}},
		{"verified by PIN", Facts{UserVerified: true, UVMethod: "pin"}, models.ACRDeviceBound, []string{"pop", "hwk", "user", "mfa", "pin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ACRFor(tc.f); got != tc.acr {
				t.Errorf("ACRFor = %q, want %q", got, tc.acr)
			}
			if got := AMRFor(tc.f); !slices.Equal(got, tc.amr) {
				t.Errorf("AMRFor = %v, want %v", got, tc.amr)
			}
		})
	}
}

// TestUVMethod: pin or fpt only when the metadata names one kind of user
// verification; several kinds, or an unknown one, say nothing.
func TestUVMethod(t *testing.T) {
	d := func(ms ...string) [][]metadata.VerificationMethodDescriptor {
		var out [][]metadata.VerificationMethodDescriptor
		for _, m := range ms {
			out = append(out, []metadata.VerificationMethodDescriptor{{UserVerificationMethod: m}})
		}
		return out
	}
	for _, tc := range []struct {
		details [][]metadata.VerificationMethodDescriptor
		want    string
	}{
		{nil, ""},
		{d("presence_internal"), ""},
		{d("presence_internal", "passcode_internal"), "pin"},
		{d("passcode_external"), "pin"},
		{d("fingerprint_internal", "presence_internal"), "fpt"},
		{d("fingerprint_internal", "passcode_internal"), ""},
		{d("faceprint_internal"), ""},
	} {
		if got := uvMethod(tc.details); got != tc.want {
			t.Errorf("uvMethod(%v) = %q, want %q", tc.details, got, tc.want)
		}
	}
}

// TestLoginOffersOnlyQualifyingCredentials: a username-first sign-in for
// a level lists in allowCredentials only the passkeys whose enrolment
// facts can reach it (a step-up re-prompt), and a synced passkey is
// refused for a device-bound one even when presented (it is not in the
// ceremony's allowed ids). With none qualifying the options are the
// fake ones an unknown address gets.
func TestLoginOffersOnlyQualifyingCredentials(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		e := newEnv(t, dialect.Open(t), nil)
		user := e.createUser("steps@example.test")
		synced := newDevice(deviceOpts{backupEligible: true, backupState: true})
		e.register(user, nil, models.CredentialPasskey, synced)
		bound := newDevice(deviceOpts{})
		e.register(user, nil, models.CredentialPasskey, bound)

		allowed := func(level string) ([]string, json.RawMessage, string) {
			t.Helper()
			opts, cid, err := e.svc.BeginLoginWith(e.ctx, user, Options{UserVerification: "required", MinACR: level}, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			var o struct {
				Allow []struct {
					ID string `json:"id"`
				} `json:"allowCredentials"`
			}
			if err := json.Unmarshal(opts, &o); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range o.Allow {
				ids = append(ids, a.ID)
			}
			return ids, opts, cid
		}
		if ids, _, _ := allowed(models.ACRUserVerified); len(ids) != 2 || !hasAll(ids, synced.id(), bound.id()) {
			t.Errorf("uv level lists %v, want both passkeys", ids)
		}
		ids, opts, cid := allowed(models.ACRDeviceBound)
		if len(ids) != 1 || ids[0] != bound.id() {
			t.Fatalf("device-bound level lists %v, want only %s", ids, bound.id())
		}
		synced.cred.Counter++
		snap := e.snapshot()
		_, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, synced.assert(t, opts, testRP, nil))
		wantErr(t, err, ErrForeignCredential)
		e.wantUnchanged(snap)
		if ids, _, _ := allowed(models.ACRAttested); slices.Contains(ids, bound.id()) || slices.Contains(ids, synced.id()) {
			t.Errorf("attested level lists %v; neither passkey is attested", ids)
		}
		// The device-bound one signs in at its level.
		ids, opts, cid = allowed(models.ACRDeviceBound)
		bound.cred.Counter++
		res, err := e.svc.FinishLogin(e.ctx, cid, testBrowser, bound.assert(t, opts, testRP, nil))
		if err != nil || res.ACR != models.ACRDeviceBound || len(ids) != 1 {
			t.Fatalf("device-bound sign-in = %+v, %v", res, err)
		}
	})
}

// TestSelfAttestationIsNotAttested: with FIDO metadata that lists the
// model as certified, a self (surrogate) attestation passes the
// registration policy (the statement allows it) but proves nothing about
// the hardware: the credential is not attested and its sign-in reaches
// device-bound, not attested.
func TestSelfAttestationIsNotAttested(t *testing.T) {
	const listed = "0a1b2c3d-0000-4000-8000-000000000009"
	signer := mdstest.NewSigner(t)
	path := signer.Blob(t, mdstest.Entry{AAGUID: listed, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}, UV: []string{"fingerprint_internal"}})
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		e := newEnv(t, dialect.Open(t), func(c *Config) { c.Attestation, c.MDSFile, c.MDSRoot = "direct", path, signer.Root })
		user := e.createUser("self@example.test")
		d := newDevice(deviceOpts{aaguid: listed})
		_, cred := e.register(user, nil, models.CredentialPasskey, d)
		if cred.Attested {
			t.Fatal("a self-attested credential is stored as attested")
		}
		res, err := e.login(user, d)
		if err != nil {
			t.Fatal(err)
		}
		// The metadata says the model verifies users by fingerprint only.
		if res.ACR != models.ACRDeviceBound || !slices.Equal(res.AMR, []string{"pop", "hwk", "user", "mfa", "fpt"}) {
			t.Fatalf("acr %q amr %v", res.ACR, res.AMR)
		}
	})
}

// TestAttestedNeedsMetadataNow: a credential attested at enrolment
// reaches the attested level only while FIDO metadata is in force and
// lists its model as certified without an undesired status; without
// metadata at the sign-in it is device-bound (the status is unknown), and
// a synced one never is attested.
func TestAttestedNeedsMetadataNow(t *testing.T) {
	const model = "0a1b2c3d-0000-4000-8000-00000000000a"
	signer := mdstest.NewSigner(t)
	with := func(status string) func(*Config) {
		path := signer.Blob(t, mdstest.Entry{AAGUID: model, Status: status, Types: []string{"basic_full"}})
		return func(c *Config) { c.Attestation, c.MDSFile, c.MDSRoot = "direct", path, signer.Root }
	}
	st := storetest.OpenSQLite(t)
	rec := &models.WebAuthnCredential{Kind: models.CredentialPasskey, AAGUID: model, UserVerified: true, Attested: true}
	for _, tc := range []struct {
		name   string
		cfg    func(*Config)
		synced bool
		want   string
	}{
		{"certified", with("FIDO_CERTIFIED_L2"), false, models.ACRAttested},
		{"no metadata now", nil, false, models.ACRDeviceBound},
		{"listed but not certified", with("NOT_FIDO_CERTIFIED"), false, models.ACRDeviceBound},
		{"certified, synced", with("FIDO_CERTIFIED_L1"), true, models.ACRUserVerified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, st, tc.cfg)
			r := *rec
			r.BackupEligible = tc.synced
			if got := ACRFor(e.svc.CredentialFacts(e.ctx, &r)); got != tc.want {
				t.Fatalf("acr = %q, want %q", got, tc.want)
			}
		})
	}
}
