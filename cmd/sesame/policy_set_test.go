package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestPasskeyAssuranceCommands: on SQLite and PostgreSQL, policy set
// previews a stricter passkey policy with the console's lockout preview
// (--dry-run names who it locks out and saves nothing), refuses it
// without --yes and saves it with; a client's own synced rule and allow
// list are refused the same way; credentials suspend and unsuspend go
// through the console's service (audited as the CLI, refusals named).
func TestPasskeyAssuranceCommands(t *testing.T) {
	const allowed, other = "cb69481e-8ff7-4039-93ec-0a2729a154a8", "ee882879-721c-4913-9775-3dfcce97072a"
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		cred := func(email, id string, synced bool, aaguid string) string {
			t.Helper()
			u := decode[userView](t, mustOK(t, cli("user", "create", "--json", "--email", email)))
			must(t, st.CreateCredential(ctx, &models.WebAuthnCredential{ID: id, UserID: u.ID, Kind: models.CredentialPasskey, Name: "Laptop",
				PublicKey: "pk", BackupEligible: synced, AAGUID: aaguid, AttestationFormat: "packed", CreatedAt: time.Now(), UpdatedAt: time.Now()}))
			return u.ID
		}
		cred("synced@example.com", "cred-synced", true, allowed)
		cred("other-model@example.com", "cred-other", false, other)
		keeperID := cred("keeper@example.com", "cred-keeper", false, allowed)

		current := func() policy.Policy {
			t.Helper()
			return decode[policy.Policy](t, mustOK(t, cli("policy", "show")))
		}

		// --dry-run: who, and nothing saved.
		r := mustOK(t, cli("policy", "set", "--synced-passkeys", "block", "--dry-run"))
		for _, want := range []string{"1 person would be left without a passkey", "synced@example.com", "Dry run: nothing saved."} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("dry run lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "keeper@example.com") {
			t.Errorf("dry run names a user who keeps a device-bound passkey:\n%s", r.stdout)
		}
		l := decode[console.Lockout](t, mustOK(t, cli("policy", "set", "--attestation", "direct", "--aaguid-allow", allowed, "--dry-run", "--json")))
		if l.Count != 1 || len(l.Users) != 1 || l.Users[0].Email != "other-model@example.com" || len(l.Requirement.AllowedAAGUIDs) != 1 {
			t.Errorf("allow-list preview: %+v", l)
		}
		if p := current(); p.SyncedPasskeys == policy.SyncedBlock || len(p.AAGUIDAllow) != 0 {
			t.Fatalf("a dry run saved: %+v", p)
		}

		// Without --yes: refused, naming them; grace warns and locks nobody out.
		r = cli("policy", "set", "--synced-passkeys", "block")
		if r.code != exitFailure || !strings.Contains(r.stderr, "synced@example.com") || !strings.Contains(r.stderr, "--yes") {
			t.Errorf("block without --yes: %+v", r)
		}
		if p := current(); p.SyncedPasskeys == policy.SyncedBlock {
			t.Fatal("refused change saved")
		}
		r = mustOK(t, cli("policy", "set", "--attestation", "direct", "--aaguid-allow", allowed, "--aaguid-allow-mode", "grace"))
		if !strings.Contains(r.stdout, "Policy saved.") {
			t.Errorf("grace: %s", r.stdout)
		}
		if p := current(); p.AAGUIDAllowMode != policy.ModelGrace || len(p.AAGUIDAllow) != 1 || p.AAGUIDAllow[0] != allowed {
			t.Errorf("grace saved %+v", p)
		}
		mustOK(t, cli("policy", "set", "--synced-passkeys", "block", "--yes"))
		if p := current(); p.SyncedPasskeys != policy.SyncedBlock || p.AAGUIDAllowMode != policy.ModelGrace {
			t.Errorf("block --yes saved %+v (other fields must stay)", p)
		}
		mustOK(t, cli("policy", "set", "--synced-passkeys", "allow", "--aaguid-allow="))
		if p := current(); p.SyncedPasskeys != policy.SyncedAllow || len(p.AAGUIDAllow) != 0 {
			t.Errorf("reset saved %+v", p)
		}
		for _, bad := range [][]string{
			{"policy", "set"}, {"policy", "set", "--synced-passkeys", "never"}, {"policy", "set", "--aaguid-allow-mode", "block"},
		} {
			if r := cli(bad...); r.code != exitUsage {
				t.Errorf("%v: exit %d, want usage: %s", bad, r.code, r.stderr)
			}
		}

		// A client's own rules: flags on create and update, the same preview.
		cl := decode[clientView](t, mustOK(t, cli("client", "create", "--json", "--name", "Strict", "--redirect-uri", "https://app.example.com/cb",
			"--aaguid-allow", allowed, "--aaguid-allow-mode", "grace")))
		if len(cl.AAGUIDAllow) != 1 || cl.AAGUIDAllowMode != policy.ModelGrace {
			t.Fatalf("created %+v", cl)
		}
		r = cli("client", "update", cl.ClientID, "--aaguid-allow-mode", "enforce")
		if r.code != exitFailure || !strings.Contains(r.stderr, "other-model@example.com") || strings.Contains(r.stderr, "keeper@example.com") {
			t.Errorf("client allow list without --yes: %+v", r)
		}
		r = cli("client", "update", cl.ClientID, "--synced-passkeys", "block")
		if r.code != exitFailure || !strings.Contains(r.stderr, "synced@example.com") {
			t.Errorf("client synced block without --yes: %+v", r)
		}
		mustOK(t, cli("client", "update", cl.ClientID, "--synced-passkeys", "block", "--aaguid-allow-mode", "enforce", "--yes"))
		if r := mustOK(t, cli("client", "show", cl.ClientID)); !strings.Contains(r.stdout, "aaguid_allow:") || !strings.Contains(r.stdout, allowed+" (enforce)") {
			t.Errorf("show lacks the allow list:\n%s", r.stdout)
		}

		// Suspend and lift through the console's service.
		if r := mustOK(t, cli("credentials", "health", "--user", keeperID)); !strings.Contains(r.stdout, "cred-keeper") {
			t.Errorf("health list lacks the credential id:\n%s", r.stdout)
		}
		mustOK(t, cli("credentials", "suspend", "cred-keeper"))
		c, err := st.GetCredential(ctx, "cred-keeper")
		if err != nil || c.SuspendedAt == nil {
			t.Fatalf("not suspended: %+v %v", c, err)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"credentials", "suspend", "cred-keeper"}, "already suspended"},
			{[]string{"credentials", "unsuspend", "cred-synced"}, "not suspended"},
			{[]string{"credentials", "suspend", "no-such-cred"}, "credential no-such-cred not found"},
		} {
			if r := cli(tc.args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%v: %+v, want %q", tc.args, r, tc.want)
			}
		}
		mustOK(t, cli("credentials", "unsuspend", "cred-keeper"))
		if c, err = st.GetCredential(ctx, "cred-keeper"); err != nil || c.SuspendedAt != nil {
			t.Fatalf("still suspended: %+v %v", c, err)
		}

		entries, err := st.ListAuditEntries(ctx, store.AuditFilter{}, 100)
		must(t, err)
		got := map[string]int{}
		for _, e := range entries {
			if e.ActorKind == models.ActorCLI {
				got[e.Action]++
			}
		}
		if got["user.suspend_credential"] != 1 || got["user.lift_credential_suspension"] != 1 || got["policy.update"] != 3 {
			t.Errorf("audit by the CLI: %v", got)
		}
	})
}
