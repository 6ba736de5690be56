package main

import (
	"strings"
	"testing"
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
