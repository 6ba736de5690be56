package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/telemetry/telemetrytest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestMetadataAlertsAndMetrics: the FIDO metadata's alerts reach the
// console and /metrics, on SQLite and PostgreSQL. An offline site's
// hand-supplied BLOB past its nextUpdate (plus the grace period) is
// stale: every console page warns, the policies page says so, and
// sesame_fido_metadata_status{state="stale"} is 1. The admin supplies a
// fresh BLOB reporting an enrolled credential's model REVOKED: the
// metadata check flags the credential; the stale warning goes, the
// console warns that one credential is of a compromised model, the
// health page lists it (judged, not "not checked"), and
// sesame_fido_metadata_compromised_credentials{suspended="false"} is 1.
// Under suspend_compromised_passkeys the next check suspends it: the
// metric moves to suspended="true" and the warning says so.
func TestMetadataAlertsAndMetrics(t *testing.T) {
	const model = "0a1b2c3d-0000-4000-8000-00000000a1e7"
	const token = "metrics-token-0123456789abcdef"
	signer := mdstest.NewSigner(t)
	blob := func(t *testing.T, h mdstest.Header, status string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "mds.jwt")
		must(t, os.WriteFile(path, signer.BytesWith(t, h, mdstest.Entry{AAGUID: model, Status: status, Types: []string{"basic_full"}}), 0o600))
		return path
	}
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		old := blob(t, mdstest.Header{No: 1, NextUpdate: time.Now().Add(-10 * 24 * time.Hour)}, "FIDO_CERTIFIED_L1")
		env, browser, _ := uiAdmin(t, append(opts, servertest.With(func(c *config.Config) {
			c.Attestation, c.MDSFile, c.MDSRoot, c.MetricsToken = "direct", old, signer.Root, token
		}))...)
		bg := context.Background()
		u := env.CreateUser("ada@example.test")
		must(t, env.Store.CreateCredential(bg, &models.WebAuthnCredential{ID: "cred-model", UserID: u.ID, Kind: models.CredentialPasskey,
			PublicKey: "k", AAGUID: model, AttestationFormat: "packed", Attested: true}))
		metric := func(name string, labels map[string]string) float64 {
			t.Helper()
			v, ok := telemetrytest.Get(t, env.Issuer+"/metrics", token).Value(name, labels)
			if !ok {
				t.Fatalf("no %s%v", name, labels)
			}
			return v
		}
		// The compromised-model finding is judged whenever metadata is in
		// force (a hand-supplied file too), not only after a fetch.
		compromised := func(want int64) {
			t.Helper()
			sum, err := env.Server.Console().Health.Summary(bg)
			must(t, err)
			for _, it := range sum.Items {
				if it.Finding == "compromised_model" && (!it.Checked || it.Credentials != want) {
					t.Errorf("compromised_model: checked %v, %d credentials; want checked, %d", it.Checked, it.Credentials, want)
				}
			}
		}
		const staleWarning, compromisedWarning = "The FIDO metadata is stale", "1 passkey or security key is of a model the FIDO metadata reports compromised or revoked"

		// Stale: the console warns on every page, the metric says so.
		for _, path := range []string{"/console", "/console/users", "/console/policies"} {
			if page := getPage(t, browser, env.Issuer+path, 200); !strings.Contains(page, staleWarning) || strings.Contains(page, compromisedWarning) {
				t.Errorf("%s: no stale warning (or a compromised one)", path)
			}
		}
		if page := getPage(t, browser, env.Issuer+"/console/policies", 200); !strings.Contains(page, "Stale") || !strings.Contains(page, old) {
			t.Error("the policies page does not give the metadata's state and source")
		}
		compromised(0)
		for state, want := range map[string]float64{"stale": 1, "current": 0, "missing": 0, "off": 0} {
			if got := metric("sesame_fido_metadata_status", map[string]string{"state": state}); got != want {
				t.Errorf("status{state=%q} = %v, want %v", state, got, want)
			}
		}

		// A fresh BLOB revokes the model; the check flags the credential.
		pols := env.Server.Console().Policies
		p, err := pols.Current(bg)
		must(t, err)
		p.MDSFile = blob(t, mdstest.Header{No: 2}, "REVOKED")
		_, err = pols.Update(console.WithActor(bg, console.CLIActor()), p)
		must(t, err)
		must(t, env.Server.MetadataSync().CheckCredentials(bg))
		if c, err := env.Store.GetCredential(bg, "cred-model"); err != nil || c.CompromisedStatus != "REVOKED" || c.SuspendedAt != nil {
			t.Fatalf("credential after the check: %+v %v", c, err)
		}
		compromised(1)
		page := getPage(t, browser, env.Issuer+"/console/users", 200)
		if strings.Contains(page, staleWarning) || !strings.Contains(page, compromisedWarning) || !strings.Contains(page, `/console/audit?action=credential.model_compromised`) {
			t.Errorf("console warnings after a revocation:\n%s", page)
		}
		list := getPage(t, browser, env.Issuer+"/console/credentials?finding=compromised_model", 200)
		if !strings.Contains(list, u.Email) || strings.Contains(list, "has not loaded FIDO metadata yet") {
			t.Errorf("the compromised-model list does not name Ada's passkey:\n%s", list)
		}
		if got := metric("sesame_fido_metadata_status", map[string]string{"state": "current"}); got != 1 {
			t.Errorf("status{state=current} = %v", got)
		}
		if got := metric("sesame_fido_metadata_compromised_credentials", map[string]string{"suspended": "false"}); got != 1 {
			t.Errorf("compromised_credentials{suspended=false} = %v, want 1", got)
		}

		// Suspension by policy: the next check suspends the credential.
		p.SuspendCompromisedPasskeys = true
		_, err = pols.Update(console.WithActor(bg, console.CLIActor()), p)
		must(t, err)
		must(t, env.Server.MetadataSync().CheckCredentials(bg))
		if c, err := env.Store.GetCredential(bg, "cred-model"); err != nil || c.SuspendedAt == nil {
			t.Fatalf("not suspended: %+v %v", c, err)
		}
		if page := getPage(t, browser, env.Issuer+"/console", 200); !strings.Contains(page, compromisedWarning+" (1 suspended)") {
			t.Error("the warning does not count the suspension")
		}
		for suspended, want := range map[string]float64{"true": 1, "false": 0} {
			if got := metric("sesame_fido_metadata_compromised_credentials", map[string]string{"suspended": suspended}); got != want {
				t.Errorf("compromised_credentials{suspended=%s} = %v, want %v", suspended, got, want)
			}
		}
	})
}
