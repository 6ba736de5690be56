package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models/store"
)

// TestUserEverydayCommands: the console's everyday user actions on the
// command line, through the same services: edit (a new address is
// unproven), list filters, sign out everywhere, withdraw grants, the
// sign-in history, and the admin role (never the last admin).
func TestUserEverydayCommands(t *testing.T) {
	dir := t.TempDir()
	u := decode[userView](t, mustOK(t, inDir(t, dir, "user", "create", "--email", "ada@example.com", "--name", "Ada", "--verified", "--json")))
	mustOK(t, inDir(t, dir, "user", "create", "--email", "bob@example.com"))

	v := decode[userView](t, mustOK(t, inDir(t, dir, "user", "update", "ada@example.com", "--email", "ada@lovelace.example", "--name", "Ada King", "--json")))
	if v.Email != "ada@lovelace.example" || v.EmailVerified || v.Name != "Ada King" {
		t.Fatalf("updated %+v", v)
	}
	if r := inDir(t, dir, "user", "update", u.ID, "--email", "BOB@example.com"); r.code == 0 || !strings.Contains(r.stderr, "another user has this address") {
		t.Fatalf("taken address: %+v", r)
	}
	if r := inDir(t, dir, "user", "update", u.ID); r.code != exitUsage {
		t.Fatalf("nothing to change: %+v", r)
	}
	mustOK(t, inDir(t, dir, "user", "update", u.ID, "--verified"))

	if l := decode[[]userView](t, mustOK(t, inDir(t, dir, "user", "list", "--unverified", "--json"))); len(l) != 1 || l[0].Email != "bob@example.com" {
		t.Fatalf("unverified users: %+v", l)
	}
	if r := mustOK(t, inDir(t, dir, "user", "list")); !strings.Contains(r.stdout, "LAST SIGN-IN") || !strings.Contains(r.stdout, "never") {
		t.Fatalf("list columns:\n%s", r.stdout)
	}

	if r := mustOK(t, inDir(t, dir, "user", "sign-out", u.ID)); !strings.Contains(r.stdout, "Ended 0 session(s)") {
		t.Fatalf("sign-out:\n%s", r.stdout)
	}
	if r := mustOK(t, inDir(t, dir, "user", "revoke-grants", "ada@lovelace.example")); !strings.Contains(r.stdout, "Withdrew 0 app grant(s)") {
		t.Fatalf("revoke-grants:\n%s", r.stdout)
	}
	if r := mustOK(t, inDir(t, dir, "user", "events", u.ID)); !strings.Contains(r.stdout, "No sign-ins") {
		t.Fatalf("events:\n%s", r.stdout)
	}
	if r := inDir(t, dir, "user", "events", u.ID, "--result", "maybe"); r.code != exitUsage {
		t.Fatalf("bad filter: %+v", r)
	}

	mustOK(t, inDir(t, dir, "admin", "grant", "ada@lovelace.example"))
	if l := decode[[]userView](t, mustOK(t, inDir(t, dir, "user", "list", "--admins", "--json"))); len(l) != 1 || l[0].ID != u.ID {
		t.Fatalf("admins: %+v", l)
	}
	if r := inDir(t, dir, "admin", "revoke", u.ID); r.code == 0 || !strings.Contains(r.stderr, "last admin") {
		t.Fatalf("revoking the last admin: %+v", r)
	}
	mustOK(t, inDir(t, dir, "admin", "grant", "bob@example.com"))
	mustOK(t, inDir(t, dir, "admin", "revoke", u.ID))
}

// TestUserImportExportCommands: import a CSV file (a dry run first, an
// invalid row reported and the exit status 1), import it again (nothing
// changes), export as JSON Lines to a file and import that back.
func TestUserImportExportCommands(t *testing.T) {
	dir := t.TempDir()
	mustOK(t, inDir(t, dir, "group", "create", "staff"))
	csvPath := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(csvPath, []byte("email,name,verified,groups\nada@example.com,Ada,yes,staff\nbad,,,\nbob@example.com,Bob,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := inDir(t, dir, "user", "import", csvPath, "--dry-run")
	if r.code != exitFailure || !strings.Contains(r.stdout, "Dry run, nothing written: 2 created, 0 updated, 0 unchanged, 1 invalid.") {
		t.Fatalf("dry run: %+v", r)
	}
	if l := decode[[]userView](t, mustOK(t, inDir(t, dir, "user", "list", "--json"))); len(l) != 0 {
		t.Fatalf("a dry run wrote: %+v", l)
	}
	if r := inDir(t, dir, "user", "import", csvPath); r.code != exitFailure || !strings.Contains(r.stdout, "2 created") || !strings.Contains(r.stdout, "a bare email address") {
		t.Fatalf("import: %+v", r)
	}
	if r := inDir(t, dir, "user", "import", csvPath); !strings.Contains(r.stdout, "0 created, 0 updated, 2 unchanged, 1 invalid") {
		t.Fatalf("second import: %+v", r)
	}
	out := filepath.Join(dir, "users.jsonl")
	mustOK(t, inDir(t, dir, "user", "export", "-o", out))
	b, err := os.ReadFile(out)
	if err != nil || strings.Count(string(b), "\n") != 2 || !strings.Contains(string(b), `"groups":["staff"]`) {
		t.Fatalf("export: %s %v", b, err)
	}
	if r := mustOK(t, inDir(t, dir, "user", "import", out)); !strings.Contains(r.stdout, "0 created, 0 updated, 2 unchanged, 0 invalid") {
		t.Fatalf("import of the export:\n%s", r.stdout)
	}
	if r := mustOK(t, inDir(t, dir, "user", "export", "--admins")); strings.TrimSpace(r.stdout) != "email,name,verified,groups,attributes,id,username,disabled,admin,created_at" {
		t.Fatalf("export of no admins:\n%s", r.stdout)
	}
	if r := inDir(t, dir, "user", "import", filepath.Join(dir, "people.txt")); r.code != exitUsage {
		t.Fatalf("unknown format: %+v", r)
	}
}

// TestRecoveryCodesCLI: the policy command switches recovery codes (and
// refuses an unknown mode); "user recovery-codes" counts a user's unused
// codes and invalidates them, audited.
func TestRecoveryCodesCLI(t *testing.T) {
	dir := t.TempDir()
	u := decode[userView](t, mustOK(t, inDir(t, dir, "user", "create", "--email", "rc@example.com", "--json")))
	if r := inDir(t, dir, "policy", "recovery-codes", "sometimes"); r.code != exitUsage {
		t.Fatalf("unknown mode: %+v", r)
	}
	if r := mustOK(t, inDir(t, dir, "policy", "recovery-codes", "require")); !strings.Contains(r.stdout, "Recovery codes: require (was off)") {
		t.Fatalf("set policy:\n%s", r.stdout)
	}
	if r := mustOK(t, inDir(t, dir, "policy", "show")); !strings.Contains(r.stdout, `"recovery_codes": "require"`) {
		t.Fatalf("policy show:\n%s", r.stdout)
	}
	st := openTestStore(t, dir)
	if err := st.ReplaceRecoveryCodes(context.Background(), u.ID, []string{"h1", "h2", "h3"}); err != nil {
		t.Fatal(err)
	}
	if r := mustOK(t, inDir(t, dir, "user", "recovery-codes", "rc@example.com")); !strings.Contains(r.stdout, "has 3 unused recovery code(s)") {
		t.Fatalf("count:\n%s", r.stdout)
	}
	if r := mustOK(t, inDir(t, dir, "user", "recovery-codes", u.ID, "--invalidate")); !strings.Contains(r.stdout, "Invalidated 3 unused recovery code(s)") {
		t.Fatalf("invalidate:\n%s", r.stdout)
	}
	if n, _ := st.CountRecoveryCodes(context.Background(), u.ID); n != 0 {
		t.Fatalf("%d codes left after invalidation", n)
	}
	es, err := st.ListAuditEntries(context.Background(), store.AuditFilter{TargetType: "user", TargetID: u.ID}, 10)
	if err != nil || len(es) == 0 || es[0].Action != "user.recovery_codes_invalidated" || es[0].BeforeJSON != `{"unused":3}` {
		t.Fatalf("audit: %+v, %v", es, err)
	}
}
