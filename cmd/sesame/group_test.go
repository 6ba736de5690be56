package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// dialectCLI runs the CLI against a fresh database of d: a data
// directory's SQLite file, or a fresh PostgreSQL schema (--database-url).
// It returns the runner and a store on the same database.
func dialectCLI(t *testing.T, d storetest.Dialect) (func(args ...string) result, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	extra := []string{"--data-dir", dir}
	var st *store.Store
	if d.Name == storetest.Postgres.Name {
		var dbURL string
		st, dbURL = storetest.OpenPostgresURL(t)
		extra = append(extra, "--database-url", dbURL)
	}
	run := func(args ...string) result {
		t.Helper()
		return sesame(t, map[string]string{"SESAME_SYSTEM_SECRET": testSecret}, append(args, extra...)...)
	}
	if st == nil {
		mustOK(t, run("migrate", "up"))
		st = openTestStore(t, dir)
	}
	return run, st
}

// TestGroupCommands: groups, members and clients' allowed groups from the
// CLI, on SQLite and PostgreSQL, through the console's services (audited
// as the CLI); unknown groups and users are refused with a message that
// names them, and nothing is written.
func TestGroupCommands(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		ada := decode[userView](t, mustOK(t, cli("user", "create", "--json", "--email", "ada@example.com", "--name", "Ada")))
		mustOK(t, cli("user", "create", "--email", "bob@example.com"))

		if r := mustOK(t, cli("group", "list")); !strings.Contains(r.stdout, "No groups yet") {
			t.Errorf("empty list: %s", r.stdout)
		}
		g := decode[console.GroupView](t, mustOK(t, cli("group", "create", "staff", "--description", "Everyone on the payroll", "--json")))
		if g.Name != "staff" || g.Description != "Everyone on the payroll" {
			t.Errorf("created %+v", g)
		}
		mustOK(t, cli("groups", "create", "ops"))
		for _, tc := range []struct {
			args     []string
			code     int
			contains string
		}{
			{[]string{"group", "create", "staff"}, exitFailure, "name: another group has this name"},
			{[]string{"group", "create", "has space"}, exitUsage, "name: only letters, digits"},
			{[]string{"group", "add-member", "ghosts", "ada@example.com"}, exitFailure, "group ghosts not found"},
			{[]string{"group", "add-member", "staff", "nobody@example.com"}, exitUsage, "no user nobody@example.com"},
			{[]string{"group", "remove-member", "staff", "bob@example.com"}, exitFailure, "not a member"},
			{[]string{"group", "update", "staff"}, exitUsage, "--description is required"},
			{[]string{"group", "show", "ghosts"}, exitFailure, "group ghosts not found"},
		} {
			if r := cli(tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.contains) {
				t.Errorf("%v: exit %d %q, want %d with %q", tc.args, r.code, r.stderr, tc.code, tc.contains)
			}
		}

		mustOK(t, cli("group", "add-member", "staff", "ada@example.com", "bob@example.com"))
		mustOK(t, cli("group", "add-member", "ops", ada.ID))
		if r := cli("group", "add-member", "staff", "ada@example.com"); r.code == 0 || !strings.Contains(r.stderr, "already a member") {
			t.Errorf("add twice: %+v", r)
		}
		shown := decode[groupDetail](t, mustOK(t, cli("group", "show", "staff", "--json")))
		if shown.MemberCount != 2 || len(shown.Members) != 2 || shown.Members[0].Email != "ada@example.com" {
			t.Errorf("show: %+v", shown)
		}
		if r := mustOK(t, cli("group", "list")); !strings.Contains(r.stdout, "staff") || !strings.Contains(r.stdout, "Everyone on the payroll") {
			t.Errorf("list:\n%s", r.stdout)
		}
		if got := decode[[]string](t, mustOK(t, cli("user", "groups", "ada@example.com", "--json"))); !slices.Equal(got, []string{"ops", "staff"}) {
			t.Errorf("user groups = %v", got)
		}
		mustOK(t, cli("group", "update", "staff", "--description", "Payroll"))
		mustOK(t, cli("group", "remove-member", "staff", "bob@example.com"))
		if names, _ := st.UserGroups(ctx, decode[userView](t, mustOK(t, cli("user", "show", "bob@example.com", "--json"))).ID); len(names) != 0 {
			t.Errorf("bob still in %v", names)
		}

		// Clients: --allowed-group must name existing groups.
		r := cli("client", "create", "--name", "Wiki", "--redirect-uri", "https://wiki.example/cb", "--allowed-group", "staff", "--allowed-group", "ghosts")
		if r.code != exitUsage || !strings.Contains(r.stderr, `allowed_groups: unknown group "ghosts"`) {
			t.Errorf("client with an unknown group: %+v", r)
		}
		if list := mustOK(t, cli("client", "list")); strings.Contains(list.stdout, "Wiki") {
			t.Error("the refused client was stored")
		}
		cl := decode[clientView](t, mustOK(t, cli("client", "create", "--json", "--name", "Wiki", "--redirect-uri", "https://wiki.example/cb", "--allowed-group", "staff")))
		if !slices.Equal(cl.AllowedGroups, []string{"staff"}) {
			t.Errorf("allowed groups = %v", cl.AllowedGroups)
		}
		if r := mustOK(t, cli("client", "show", cl.ClientID)); !strings.Contains(r.stdout, "allowed_groups:") || !strings.Contains(r.stdout, "staff") {
			t.Errorf("show:\n%s", r.stdout)
		}
		// Deleting a group a client allows names the client first.
		if r := cli("group", "delete", "staff"); r.code != exitUsage || !strings.Contains(r.stderr, "--yes") {
			t.Errorf("delete without confirmation: %+v", r)
		}
		mustOK(t, cli("group", "delete", "staff", "--yes"))
		if _, err := st.GetGroup(ctx, "staff"); err == nil {
			t.Error("group still there")
		}
		upd := decode[clientView](t, mustOK(t, cli("client", "update", cl.ClientID, "--allowed-group=", "--json")))
		if len(upd.AllowedGroups) != 0 {
			t.Errorf("--allowed-group= left %v", upd.AllowedGroups)
		}

		entries, err := st.ListAuditEntries(ctx, store.AuditFilter{TargetType: "group"}, 100)
		must(t, err)
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			if !strings.HasPrefix(e.ActorLabel, "cli:") {
				t.Errorf("%s by %q, want the CLI", e.Action, e.ActorLabel)
			}
		}
		for _, want := range []string{"group.create", "group.update", "group.add_member", "group.remove_member", "group.delete"} {
			if !slices.Contains(actions, want) {
				t.Errorf("no %s in the audit log (%v)", want, actions)
			}
		}
	})
}

// TestUserProfileCommand: the profile setters change only what they name,
// attributes are set one by one (JSON values kept as JSON), and bad input
// is refused (exit 2) with the field named and nothing written.
func TestUserProfileCommand(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		u := decode[userView](t, mustOK(t, cli("user", "create", "--json", "--email", "ada@example.com")))
		mustOK(t, cli("user", "create", "--email", "eve@example.com"))

		mustOK(t, cli("user", "profile", "ada@example.com", "--username", "Ada", "--given-name", "Ada", "--family-name", "Lovelace", "--locale", "en-GB"))
		p := decode[console.ProfileSpec](t, mustOK(t, cli("user", "profile", u.ID, "--attribute", "department=R&D", "--attribute", `roles=["editor","admin"]`,
			"--attribute", "level=3", "--picture", "https://example.com/ada.png", "--json")))
		if p.Username != "ada" || p.GivenName != "Ada" || p.FamilyName != "Lovelace" || p.Locale != "en-GB" || p.Picture != "https://example.com/ada.png" ||
			compact(t, p.Attributes) != `{"department":"R\u0026D","level":3,"roles":["editor","admin"]}` {
			t.Errorf("profile %+v attributes %s", p, p.Attributes)
		}
		p = decode[console.ProfileSpec](t, mustOK(t, cli("user", "profile", u.ID, "--unset-attribute", "level", "--json")))
		if strings.Contains(string(p.Attributes), "level") || p.Username != "ada" {
			t.Errorf("after unset: %+v %s", p, p.Attributes)
		}
		if r := mustOK(t, cli("user", "show", "ada@example.com")); !strings.Contains(r.stdout, "username:") || !strings.Contains(r.stdout, "ada") {
			t.Errorf("show:\n%s", r.stdout)
		}
		r := mustOK(t, cli("user", "profile", "ada@example.com"))
		for _, want := range []string{"username:", "ada", "locale:", "en-GB", `"roles":["editor","admin"]`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("profile lacks %q:\n%s", want, r.stdout)
			}
		}

		before, err := st.GetUser(ctx, u.ID)
		must(t, err)
		for _, tc := range []struct {
			args     []string
			code     int
			contains string
		}{
			{[]string{"--attribute", "sub=someone"}, exitUsage, `attributes: key "sub" is a registered claim`},
			{[]string{"--attribute", "email_verified=true"}, exitUsage, "registered claim"},
			{[]string{"--attribute", "notes=" + strings.Repeat("x", 5000)}, exitUsage, "at most 4096"},
			{[]string{"--attributes", "[1,2]"}, exitUsage, "JSON object"},
			{[]string{"--attribute", "novalue"}, exitUsage, "KEY=VALUE"},
			{[]string{"--locale", "English"}, exitUsage, "locale: a BCP 47"},
			{[]string{"--picture", "http://example.com/a.png"}, exitUsage, "picture: an https URL"},
			{[]string{"--username", "ada smith", "--given-name", "Changed"}, exitUsage, "username: only lower-case"},
		} {
			r := cli(append([]string{"user", "profile", "ada@example.com"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.contains) {
				t.Errorf("%v: exit %d %q, want %d with %q", tc.args, r.code, r.stderr, tc.code, tc.contains)
			}
		}
		if r := cli("user", "profile", "eve@example.com", "--username", "ada"); r.code != exitFailure || !strings.Contains(r.stderr, "username: another user has this username") {
			t.Errorf("taken username: %+v", r)
		}
		after, err := st.GetUser(ctx, u.ID)
		must(t, err)
		if after.GivenName != before.GivenName || !after.UpdatedAt.Equal(before.UpdatedAt) || len(after.Attributes) != len(before.Attributes) {
			t.Errorf("a refused change was written: %+v", after)
		}
		if r := cli("user", "profile", "ada@example.com", "--username", ""); r.code != 0 {
			t.Errorf("clear the username: %+v", r)
		} else if got, _ := st.GetUser(ctx, u.ID); got.Username != nil {
			t.Errorf("username not cleared: %v", *got.Username)
		}
	})
}

func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	must(t, json.Compact(&b, raw))
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
