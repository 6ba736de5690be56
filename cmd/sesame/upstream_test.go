package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
)

// TestUpstreamLifecycle: add a provider from a preset with its secret
// read from a file (never a flag, never printed), refuse an invalid one
// (exit 2, every problem named), change its domains keeping the secret,
// and delete it.
func TestUpstreamLifecycle(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "gh.secret")
	if err := os.WriteFile(secretFile, []byte("gh-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v := decode[console.UpstreamView](t, mustOK(t, withSecret(t, dir, "upstream", "add", "--json", "--preset", "github",
		"--client-id", "Iv1.abc", "--client-secret-file", secretFile, "--group", "octo/admins=admins")))
	if v.ID != "github" || v.Kind != "github" || !v.HasSecret || v.GroupMap["octo/admins"] != "admins" {
		t.Fatalf("add: %+v", v)
	}
	r := withSecret(t, dir, "upstream", "add", "--id", "Bad!", "--issuer", "http://sso.example", "--provisioning", "maybe")
	if r.code != 2 || !strings.Contains(r.stderr, "issuer") || !strings.Contains(r.stderr, "client_id") || !strings.Contains(r.stderr, "provisioning") {
		t.Fatalf("invalid add: exit %d, stderr %q", r.code, r.stderr)
	}
	show := mustOK(t, withSecret(t, dir, "upstream", "show", "github"))
	if strings.Contains(show.stdout, "gh-secret-value") || !strings.Contains(show.stdout, "stored (sealed)") {
		t.Fatalf("show:\n%s", show.stdout)
	}
	v = decode[console.UpstreamView](t, mustOK(t, withSecret(t, dir, "upstream", "update", "github", "--json", "--domain", "octo.example", "--local-methods")))
	if !v.HasSecret || len(v.Domains) != 1 || v.Domains[0] != "octo.example" || !v.LocalMethods || v.ClientID != "Iv1.abc" {
		t.Fatalf("update: %+v", v)
	}
	list := mustOK(t, withSecret(t, dir, "upstream", "list"))
	if !strings.Contains(list.stdout, "octo.example") {
		t.Fatalf("list:\n%s", list.stdout)
	}
	mustOK(t, withSecret(t, dir, "upstream", "delete", "github"))
	if r := withSecret(t, dir, "upstream", "show", "github"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("show after delete: exit %d %q", r.code, r.stderr)
	}
}
