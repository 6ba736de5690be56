package passkey

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// fixedPolicy is a PolicySource an admin edits between ceremonies.
type fixedPolicy struct {
	mu sync.Mutex
	p  policy.Passkey
}

func (f *fixedPolicy) PasskeyPolicy(context.Context) (policy.Passkey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p, nil
}

func (f *fixedPolicy) setMDS(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.p.MDSFile = path
	f.p.Version++ // a new policy, as policy.Live gives after a save
}

// syncBuffer collects log output written from any goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMDSFileFromPolicyReloadsLive: the MDS file named by the live policy
// governs the next registration with no restart (FIDO MDS 3.1 §3.1.8:
// models absent from the metadata are refused); a policy naming a file
// that fails to verify keeps the previous metadata and logs a warning; an
// empty path turns the metadata checks off.
func TestMDSFileFromPolicyReloadsLive(t *testing.T) {
	const listed, absent = "0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002"
	signer, other := mdstest.NewSigner(t), mdstest.NewSigner(t)
	good := signer.Blob(t, mdstest.Entry{AAGUID: listed, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}})
	forged := other.Blob(t, mdstest.Entry{AAGUID: listed, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}}, mdstest.Entry{AAGUID: absent, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}})
	garbage := filepath.Join(t.TempDir(), "garbage.jwt")
	if err := os.WriteFile(garbage, []byte("not a jwt"), 0o600); err != nil {
		t.Fatal(err)
	}

	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		logs := &syncBuffer{}
		pol := &fixedPolicy{p: policy.Passkey{UserVerification: "preferred", Attestation: "direct"}}
		e := newEnv(t, dialect.Open(t), func(c *Config) { c.MDSRoot, c.Policy = signer.Root, pol })
		e.svc.log = slog.New(slog.NewTextHandler(logs, nil))
		n := 0
		tryRegister := func(aaguid string) error {
			t.Helper()
			n++
			user := e.createUser("live-mds-" + strings.Repeat("x", n) + "@example.test")
			opts, cid, err := e.svc.BeginRegistration(e.ctx, user, nil, models.CredentialSecurityKey, testBrowser, testIA)
			if err != nil {
				t.Fatal(err)
			}
			d := newDevice(deviceOpts{aaguid: aaguid, noUV: true})
			_, _, _, err = e.svc.FinishRegistration(e.ctx, cid, testBrowser, d.attest(t, opts, testRP, nil))
			return err
		}

		// Started without metadata: any model registers.
		if err := tryRegister(absent); err != nil {
			t.Fatalf("without an MDS file: %v", err)
		}

		pol.setMDS(good)
		wantErr(t, tryRegister(absent), ErrAttestationRefused)
		if err := tryRegister(listed); err != nil {
			t.Fatalf("listed model under the policy's MDS file: %v", err)
		}

		for _, bad := range []string{forged, garbage, filepath.Join(t.TempDir(), "missing.jwt")} {
			pol.setMDS(bad)
			// The previous (good) metadata stays in force.
			wantErr(t, tryRegister(absent), ErrAttestationRefused)
			if err := tryRegister(listed); err != nil {
				t.Fatalf("listed model after a failed reload of %s: %v", bad, err)
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), bad) {
				t.Fatalf("no warning naming %s:\n%s", bad, logs.String())
			}
		}

		pol.setMDS("")
		if err := tryRegister(absent); err != nil {
			t.Fatalf("after clearing the MDS file: %v", err)
		}
	})
}

// TestCheckMDSFile: the check the console runs before saving a policy
// accepts a BLOB signed by the root and refuses the rest.
func TestCheckMDSFile(t *testing.T) {
	signer, other := mdstest.NewSigner(t), mdstest.NewSigner(t)
	e := newEnv(t, storetest.OpenSQLite(t), func(c *Config) { c.MDSRoot = signer.Root })
	if err := e.svc.CheckMDSFile(signer.Blob(t)); err != nil {
		t.Fatalf("a BLOB signed by the root: %v", err)
	}
	for name, path := range map[string]string{
		"signed by another key": other.Blob(t),
		"missing":               filepath.Join(t.TempDir(), "none.jwt"),
	} {
		if err := e.svc.CheckMDSFile(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := CheckMDSFile(signer.Blob(t), ""); err == nil {
		t.Error("a test BLOB passed against the FIDO production root")
	}
}
