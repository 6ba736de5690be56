package main

import (
	"strings"
	"testing"
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
