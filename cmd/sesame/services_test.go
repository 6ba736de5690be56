package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// TestCLIGoesThroughConsoleServices: the client and user commands change
// nothing around the console's services: every change is in the audit log
// as "cli:<os user>", and the console's rules hold (the last admin cannot
// be disabled).
func TestCLIGoesThroughConsoleServices(t *testing.T) {
	dir := t.TempDir()
	cl := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json", "--name", "Audited",
		"--redirect-uri", "https://app.example.com/cb")))
	mustOK(t, withSecret(t, dir, "client", "update", cl.ClientID, "--skip-consent"))
	mustOK(t, withSecret(t, dir, "client", "update", cl.ClientID, "--rotate-secret"))
	u := decode[userView](t, mustOK(t, inDir(t, dir, "user", "create", "--json", "--email", "audit@example.com")))
	mustOK(t, inDir(t, dir, "user", "disable", u.ID))
	mustOK(t, inDir(t, dir, "user", "disable", u.ID, "--enable"))
	mustOK(t, withSecret(t, dir, "client", "delete", cl.ClientID, "--yes"))

	st := openTestStore(t, dir)
	ctx := context.Background()
	entries, err := st.ListAuditEntries(ctx, store.AuditFilter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Action] = true
		if e.ActorKind != models.ActorCLI || !strings.HasPrefix(e.ActorLabel, "cli:") || e.ActorLabel == "cli:" {
			t.Errorf("audit entry %s by %s %q, want the CLI as cli:<os user>", e.Action, e.ActorKind, e.ActorLabel)
		}
	}
	for _, want := range []string{"client.create", "client.update", "client.rotate_secret", "client.delete", "user.create", "user.disable", "user.enable"} {
		if !got[want] {
			t.Errorf("no audit entry %s (have %v)", want, got)
		}
	}

	// The last admin stays enabled, as in the console.
	admin, err := st.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetUserRole(ctx, admin.ID, models.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if r := inDir(t, dir, "user", "disable", u.ID); r.code == 0 || !strings.Contains(r.stderr, "last admin") {
		t.Fatalf("disabling the last admin: %+v", r)
	}
}

// TestClientSettingsFlags: the console's client settings are CLI flags.
func TestClientSettingsFlags(t *testing.T) {
	dir := t.TempDir()
	cl := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json", "--name", "Settings",
		"--redirect-uri", "https://app.example.com/cb", "--logo-uri", "https://app.example.com/logo.svg",
		"--access-token-ttl", "10m", "--refresh-token-ttl", "48h", "--id-token-ttl", "5m",
		"--min-acr", models.ACRPhishingResistant, "--user-verification", "required")))
	if cl.LogoURI != "https://app.example.com/logo.svg" || cl.AccessTokenTTL != 600 || cl.RefreshTokenTTL != 48*3600 ||
		cl.IDTokenTTL != 300 || cl.MinACR != models.ACRPhishingResistant || cl.UserVerification != "required" || cl.Disabled {
		t.Fatalf("created %+v", cl)
	}
	mustOK(t, withSecret(t, dir, "client", "update", cl.ClientID, "--disabled"))
	r := mustOK(t, withSecret(t, dir, "client", "show", cl.ClientID))
	for _, want := range []string{"disabled:", "yes", "access_token_ttl:", "10m0s", "min_acr:", "user_verification:", "logo_uri:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	if v := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "update", cl.ClientID, "--disabled=false", "--json"))); v.Disabled {
		t.Fatal("--disabled=false did not enable the client")
	}
	for _, bad := range [][]string{
		{"--access-token-ttl", "10s"}, {"--refresh-token-ttl", "1m"}, {"--logo-uri", "http://app.example.com/l.png"},
		{"--min-acr", "gold"}, {"--user-verification", "always"}, {"--id-token-ttl", "1500ms"},
	} {
		if r := inDir(t, dir, append([]string{"client", "update", cl.ClientID}, bad...)...); r.code == 0 {
			t.Errorf("update %v accepted", bad)
		}
	}
}
