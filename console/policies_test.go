package console_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/server/servertest"
)

// Saved policies: validated with the configuration's own rules, audited,
// read back through the cache, read by another replica (or the next
// start) over the same store, and the default login methods used for new
// clients at once.
func TestPoliciesRoundTrip(t *testing.T) {
	st := storetest.OpenSQLite(t)
	cfg := config.Default()
	cfg.Dev = true
	secrets, err := server.ClientSecrets([]byte("test-system-secret-0123456789-abcdefghijklmnop"), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := console.NewServices(st, cfg, policy.New(st, cfg), secrets, nil, nil, nil)
	ctx := console.WithActor(context.Background(), console.CLIActor())

	p, err := svc.Policies.Current(ctx)
	if err != nil || p.SignupOpen != cfg.SignupOpen || time.Duration(p.PasslinkTTL) != cfg.PasslinkTTL {
		t.Fatalf("defaults = %+v, %v", p, err)
	}
	bad := p
	bad.PasslinkTTL = policy.Duration(5 * time.Hour)
	if _, err := svc.Policies.Update(ctx, bad); err == nil {
		t.Error("a passlink TTL of 5h was accepted")
	}
	bad = p
	bad.AAGUIDDeny = []string{"not-a-uuid"}
	if _, err := svc.Policies.Update(ctx, bad); err == nil {
		t.Error("a malformed AAGUID was accepted")
	}
	p.SignupOpen = false
	p.UserVerification = "required"
	p.AccessTokenTTL = policy.Duration(10 * time.Minute)
	p.DefaultLoginMethods = []string{models.MethodPasskey}
	if _, err := svc.Policies.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Policies.Current(ctx); got.SignupOpen || got.UserVerification != "required" {
		t.Errorf("read back %+v", got)
	}
	next, err := policy.New(st, cfg).Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next.SignupOpen || next.UserVerification != "required" || next.AccessTokenTTL != policy.Duration(10*time.Minute) {
		t.Errorf("another replica reads: signup %v uv %q access %s", next.SignupOpen, next.UserVerification, time.Duration(next.AccessTokenTTL))
	}
	c, _, err := svc.Clients.Create(ctx, clients.Spec{Name: "new", RedirectURIs: []string{"https://n.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AllowedLoginMethods, []string{models.MethodPasskey}) {
		t.Errorf("new client's methods %v, want the policy's default", c.AllowedLoginMethods)
	}
	rows, _ := st.ListAuditEntries(ctx, storeFilter("policy.update"), 5)
	if len(rows) != 1 || rows[0].ActorKind != models.ActorCLI {
		t.Errorf("policy audit rows %+v", rows)
	}
}

func storeFilter(action string) store.AuditFilter { return store.AuditFilter{Action: action} }

// TestPolicyMDSFileRefusedWhenUnusable: a policy naming an MDS file that
// is missing, not a signed BLOB, or set without attestation "direct" is
// refused with an error on the mds_file field, and nothing is saved.
func TestPolicyMDSFileRefusedWhenUnusable(t *testing.T) {
	servertest.EachDialect(t, policyMDSFileRefused)
}

func policyMDSFileRefused(t *testing.T, opts ...servertest.Option) {
	env := servertest.New(t, opts...)
	pols := env.Server.Console().Policies
	ctx := console.WithActor(context.Background(), console.CLIActor())
	garbage := filepath.Join(t.TempDir(), "garbage.jwt")
	if err := os.WriteFile(garbage, []byte("not a jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ path, attestation string }{
		"missing file":        {filepath.Join(t.TempDir(), "none.jwt"), "direct"},
		"not a signed BLOB":   {garbage, "direct"},
		"without attestation": {garbage, "none"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := pols.Current(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p.Attestation, p.MDSFile = tc.attestation, tc.path
			_, err = pols.Update(ctx, p)
			var pr *console.Problem
			if !errors.As(err, &pr) || pr.Status != 422 || len(pr.Errors) == 0 || pr.Errors[0].Field != "mds_file" {
				t.Fatalf("update with MDS file %s: err = %v, want a 422 on mds_file", tc.path, err)
			}
			t.Logf("refused: %s", pr.Errors[0].Message)
			if got, _ := pols.Current(ctx); got.MDSFile != "" {
				t.Fatalf("stored MDS file %q after a refusal", got.MDSFile)
			}
		})
	}
}
