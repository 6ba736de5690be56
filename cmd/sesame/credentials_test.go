package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestCredentialsHealthCommand: the counts of every finding, a finding's
// (empty) list, and an unknown finding refused as bad usage.
func TestCredentialsHealthCommand(t *testing.T) {
	dir := t.TempDir()
	mustOK(t, inDir(t, dir, "user", "create", "--email", "ada@example.com"))
	r := mustOK(t, inDir(t, dir, "credentials", "health"))
	for _, want := range []string{"FINDING", "clone_warning", "compromised_model  not checked", "denied_model", "never_used", "stale", "total"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if sum := decode[struct {
		Items []struct{ Finding string } `json:"items"`
	}](t, mustOK(t, inDir(t, dir, "credentials", "health", "--json"))); len(sum.Items) != 7 {
		t.Errorf("JSON summary: %+v", sum)
	}
	if r := mustOK(t, inDir(t, dir, "credentials", "health", "--finding", "stale")); !strings.Contains(r.stdout, "No credential matches.") {
		t.Errorf("empty list:\n%s", r.stdout)
	}
	if r := inDir(t, dir, "credentials", "health", "--finding", "lost"); r.code != exitUsage || !strings.Contains(r.stderr, "finding") {
		t.Errorf("unknown finding: %+v", r)
	}
}

// tabbed lays rows out as every list command's table does (tabwriter,
// two spaces between columns): the expected text of a list, written
// independently of the command.
func tabbed(rows ...string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	_ = tw.Flush()
	return b.String()
}

// TestCredentialsAndMembersListsPrintExactly: the credentials of a finding
// and a group's members print exactly the tables (and the JSON) they
// always have, on SQLite and PostgreSQL.
func TestCredentialsAndMembersListsPrintExactly(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		ada := decode[userView](t, mustOK(t, cli("user", "create", "--json", "--email", "ada@example.com", "--name", "Ada Lovelace")))
		bob := decode[userView](t, mustOK(t, cli("user", "create", "--json", "--email", "bob@example.com")))
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		must(t, st.CreateCredential(ctx, &models.WebAuthnCredential{ID: "cred-ada", UserID: ada.ID, Kind: models.CredentialPasskey, Name: "Work laptop",
			PublicKey: "pk", AttestationFormat: "none", CreatedAt: at, UpdatedAt: at}))

		r := mustOK(t, cli("credentials", "health", "--finding", "never_used"))
		if want := tabbed("USER\tCREDENTIAL\tMODEL\tLAST USED\tFINDINGS\tID", "ada@example.com\tWork laptop\t-\tnever\t[never_used stale device_bound]\tcred-ada"); r.stdout != want {
			t.Errorf("credentials list:\n%q\nwant\n%q", r.stdout, want)
		}
		rows := decode[[]console.CredentialHealthView](t, mustOK(t, cli("credentials", "health", "--finding", "never_used", "--json")))
		if len(rows) != 1 || rows[0].ID != "cred-ada" || rows[0].Email != "ada@example.com" {
			t.Errorf("credentials list JSON: %+v", rows)
		}
		if r := mustOK(t, cli("credentials", "health", "--finding", "clone_warning")); r.stdout != "No credential matches.\n" {
			t.Errorf("empty credentials list: %q", r.stdout)
		}
		if r := mustOK(t, cli("credentials", "health", "--finding", "clone_warning", "--json")); strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("empty credentials list JSON: %q", r.stdout)
		}

		mustOK(t, cli("group", "create", "staff", "--description", "Payroll"))
		if r := mustOK(t, cli("group", "show", "staff")); r.stdout != "name:         staff\ndescription:  Payroll\nmembers:      0\n" {
			t.Errorf("group without members: %q", r.stdout)
		}
		mustOK(t, cli("group", "add-member", "staff", "ada@example.com", "bob@example.com"))
		want := "name:         staff\ndescription:  Payroll\nmembers:      2\n\n" +
			tabbed("ID\tEMAIL\tNAME", ada.ID+"\tada@example.com\tAda Lovelace", bob.ID+"\tbob@example.com\t-")
		if r := mustOK(t, cli("group", "show", "staff")); r.stdout != want {
			t.Errorf("group members:\n%q\nwant\n%q", r.stdout, want)
		}
	})
}
