package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/secret"
	"github.com/sesame-idp/sesame/oidc/keys"
	"github.com/sesame-idp/sesame/server"
)

const testSecret = "test-system-secret-0123456789abcdef-0123456789"

func TestConfigMasksSecrets(t *testing.T) {
	r := sesame(t, map[string]string{"SESAME_SYSTEM_SECRET": testSecret},
		"config", "--database-url", "postgres://sesame:hunter2-pw@db.internal:5432/sesame?sslmode=disable")
	mustOK(t, r)
	for _, leak := range []string{testSecret, "hunter2-pw"} {
		if strings.Contains(r.stdout, leak) {
			t.Errorf("config prints %q:\n%s", leak, r.stdout)
		}
	}
	for _, want := range []string{"system_secret: '********'", "postgres://sesame:********@db.internal:5432/sesame", "issuer: http://localhost:8080"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config output lacks %q:\n%s", want, r.stdout)
		}
	}

	// A configuration serve would refuse is still printed, with the reason.
	r = sesame(t, nil, "config", "--log-level", "loud")
	if r.code != 0 || !strings.Contains(r.stdout, "log_level: loud") || !strings.Contains(r.stderr, "log-level:") {
		t.Fatalf("config with a bad value: %+v", r)
	}
	// --check is the validating form: non-zero when serve would refuse.
	r = sesame(t, nil, "config", "--check", "--log-level", "loud")
	if r.code != exitUsage || !strings.Contains(r.stderr, "log-level:") {
		t.Fatalf("config --check with a bad value: %+v", r)
	}
	r = sesame(t, map[string]string{"SESAME_SYSTEM_SECRET": testSecret}, "config", "--check")
	if r.code != 0 {
		t.Fatalf("config --check of a good configuration: %+v", r)
	}
	// Secret files are checked too: set but missing names the setting.
	r = sesame(t, map[string]string{"SESAME_SYSTEM_SECRET": testSecret, "SESAME_SMTP_PASSWORD_FILE": "/nonexistent/smtp"}, "config", "--check")
	if r.code != exitUsage || !strings.Contains(r.stderr, "smtp-password-file (SESAME_SMTP_PASSWORD_FILE)") {
		t.Fatalf("config --check with a missing secret file: %+v", r)
	}
}

func TestServeRefusesUnsafeConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no secret outside dev", nil, []string{"serve"}, "system-secret: required outside --dev"},
		{"http issuer off localhost", map[string]string{"SESAME_SYSTEM_SECRET": testSecret}, []string{"serve", "--issuer", "http://idp.example.com"}, "issuer:"},
		{"http issuer off localhost even in dev", nil, []string{"serve", "--dev", "--issuer", "http://idp.example.com"}, "issuer:"},
		{"bad setting named", map[string]string{"SESAME_ACCESS_TOKEN_TTL": "soon"}, []string{"serve", "--dev"}, "SESAME_ACCESS_TOKEN_TTL"},
		{"loose secret file", nil, []string{"serve", "--system-secret-file", looseFile(t)}, "chmod 600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sesame(t, tt.env, append(tt.args, "--data-dir", dir)...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("stderr %q lacks %q", r.stderr, tt.wantErr)
			}
			if strings.Contains(r.stderr, "Usage:") || strings.Contains(r.stdout, "Usage:") {
				t.Errorf("configuration errors must not dump usage: %s", r.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "sesame.db")); err == nil {
		t.Error("a refused serve must not create the database")
	}
}

func looseFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(testSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageErrors(t *testing.T) {
	r := sesame(t, nil, "client", "create", "--no-such-flag")
	if r.code != exitUsage || !strings.Contains(r.stderr, "no-such-flag") {
		t.Fatalf("unknown flag: %+v", r)
	}
	r = sesame(t, nil, "client", "show")
	if r.code != exitUsage || !strings.Contains(r.stderr, "arg") {
		t.Fatalf("missing argument: %+v", r)
	}
	r = sesame(t, nil, "frobnicate")
	if r.code != exitUsage || !strings.Contains(r.stderr, "frobnicate") {
		t.Fatalf("unknown command: %+v", r)
	}
	// Without a subcommand: help, successfully.
	if r = mustOK(t, sesame(t, nil)); !strings.Contains(r.stdout, "serve") {
		t.Fatalf("help: %+v", r)
	}
}

func TestMigrate(t *testing.T) {
	dir := t.TempDir()
	r := mustOK(t, inDir(t, dir, "migrate", "status"))
	if !strings.Contains(r.stdout, "00001_init.sql") || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("status on a fresh database:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "migrate", "up"))
	if !strings.Contains(r.stdout, "applied 00001") {
		t.Fatalf("up:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "migrate", "up"))
	if !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("second up:\n%s", r.stdout)
	}
	r = mustOK(t, inDir(t, dir, "migrate", "status"))
	if !strings.Contains(r.stdout, "VERSION") || !strings.Contains(r.stdout, "00001_init.sql") || !strings.Contains(r.stdout, "applied") || strings.Contains(r.stdout, "pending") {
		t.Fatalf("status after up:\n%s", r.stdout)
	}
}

func TestUsers(t *testing.T) {
	dir := t.TempDir()
	u := decode[userView](t, mustOK(t, inDir(t, dir, "user", "create", "--email", "Ada@Example.com", "--name", "Ada", "--verified", "--json")))
	if len(u.ID) != 36 || u.Email != "Ada@Example.com" || !u.EmailVerified || u.Name != "Ada" || u.Disabled {
		t.Fatalf("created %+v", u)
	}
	if r := inDir(t, dir, "user", "create", "--email", "ada@example.com"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("duplicate address (case-insensitive): %+v", r)
	}
	if r := inDir(t, dir, "user", "create", "--email", "Ada <ada@example.com>"); r.code != exitUsage {
		t.Fatalf("display-name address: %+v", r)
	}
	if r := inDir(t, dir, "user", "create"); r.code != exitUsage || !strings.Contains(r.stderr, "email") {
		t.Fatalf("missing --email: %+v", r)
	}
	mustOK(t, inDir(t, dir, "user", "create", "--email", "bob@example.com"))

	r := mustOK(t, inDir(t, dir, "user", "list"))
	if !strings.Contains(r.stdout, "Ada@Example.com") || !strings.Contains(r.stdout, "bob@example.com") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	if l := decode[[]userView](t, mustOK(t, inDir(t, dir, "user", "list", "--json"))); len(l) != 2 {
		t.Fatalf("list --json = %+v", l)
	}

	byEmail := decode[userView](t, mustOK(t, inDir(t, dir, "user", "show", "ADA@example.com", "--json")))
	byID := decode[userView](t, mustOK(t, inDir(t, dir, "user", "show", u.ID, "--json")))
	if byEmail.ID != u.ID || byID.Email != u.Email {
		t.Fatalf("show by email %+v, by id %+v", byEmail, byID)
	}
	if r := mustOK(t, inDir(t, dir, "user", "show", u.ID)); !strings.Contains(r.stdout, "active") {
		t.Fatalf("show:\n%s", r.stdout)
	}

	mustOK(t, inDir(t, dir, "user", "disable", "ada@example.com"))
	if v := decode[userView](t, mustOK(t, inDir(t, dir, "user", "show", u.ID, "--json"))); !v.Disabled {
		t.Fatal("user not disabled")
	}
	mustOK(t, inDir(t, dir, "user", "disable", u.ID, "--enable"))
	if v := decode[userView](t, mustOK(t, inDir(t, dir, "user", "show", u.ID, "--json"))); v.Disabled {
		t.Fatal("user not enabled again")
	}
	if r := inDir(t, dir, "user", "disable", "nobody@example.com"); r.code != exitFailure || !strings.Contains(r.stderr, "user nobody@example.com not found") {
		t.Fatalf("unknown user: %+v", r)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	// keys needs the system secret: outside dev it must be configured.
	if r := inDir(t, dir, "keys", "list"); r.code != exitUsage || !strings.Contains(r.stderr, "system-secret") {
		t.Fatalf("keys list without a secret: %+v", r)
	}
	if r := inDir(t, dir, "keys", "rotate", "--dev", "--alg", "HS256"); r.code != exitUsage || !strings.Contains(r.stderr, "HS256") {
		t.Fatalf("unsupported alg: %+v", r)
	}
	mustOK(t, inDir(t, dir, "keys", "rotate", "--dev", "--alg", "RS256"))
	if _, err := os.Stat(filepath.Join(dir, "system.secret")); err != nil {
		t.Fatalf("dev mode did not keep the generated secret: %v", err)
	}
	list := decode[[]keys.KeyInfo](t, mustOK(t, inDir(t, dir, "keys", "list", "--dev", "--json")))
	states := map[string]int{}
	for _, k := range list {
		if k.Alg == "RS256" {
			states[k.State]++
		}
	}
	if states["retired"] != 1 || states["current"] != 1 || states["next"] != 1 {
		t.Fatalf("RS256 keys after one rotation: %v (%+v)", states, list)
	}
	r := mustOK(t, inDir(t, dir, "keys", "list", "--dev"))
	if !strings.Contains(r.stdout, "retired") || !strings.Contains(r.stdout, "KID") {
		t.Fatalf("keys list:\n%s", r.stdout)
	}

	// What the CLI encrypted, a manager built the server's way decrypts.
	cfg := config.Default()
	cfg.Dev, cfg.DataDir = true, dir
	sec, err := secret.Resolve(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := keys.NewManager(openTestStore(t, dir), secret.Derive(sec, server.PurposeSigningKeys), keys.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.SigningKey(context.Background(), "RS256"); err != nil {
		t.Fatalf("server-side decryption of a CLI-rotated key: %v", err)
	}
}

func TestBanner(t *testing.T) {
	cfg := config.Default()
	cfg.Dev = true
	cfg.DataDir = "my data"
	var b bytes.Buffer
	printBanner(&b, cfg)
	for _, want := range []string{
		"issuer:    http://localhost:8080",
		"http://localhost:8080/.well-known/openid-configuration",
		`go run ./cmd/sesame client create --data-dir 'my data' --name "My app" --redirect-uri http://localhost:3000/callback`,
		"SQLite ",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, b.String())
		}
	}

	cfg.Dev = false
	cfg.DatabaseURL = "postgres://sesame:hunter2@db.internal:5432/idp?sslmode=require"
	b.Reset()
	printBanner(&b, cfg)
	if !strings.Contains(b.String(), "PostgreSQL db.internal:5432/idp") || strings.Contains(b.String(), "hunter2") || strings.Contains(b.String(), "client create") {
		t.Errorf("production banner:\n%s", b.String())
	}
}

// TestSigningKeysPurpose pins the derivation purpose shared with the
// server: if either side changed it, keys rotated by the CLI could not be
// decrypted by the server.
func TestSigningKeysPurpose(t *testing.T) {
	if server.PurposeSigningKeys != "signing-keys" {
		t.Fatalf("server.PurposeSigningKeys = %q, want signing-keys", server.PurposeSigningKeys)
	}
}

// TestAdminCommandsFindTheDevDataDir: after serve --dev made ./data (its
// generated secret), admin commands use it without --dev, secret included
// (keys list decrypts with it); with a database configured they do not.
func TestAdminCommandsFindTheDevDataDir(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir, cfg.Dev = dir, true
	if _, err := secret.Resolve(cfg, nil); err != nil { // what serve --dev does first
		t.Fatal(err)
	}
	mustOK(t, inDir(t, dir, "keys", "rotate"))
	r := mustOK(t, inDir(t, dir, "keys", "list"))
	if !strings.Contains(r.stderr, "using the dev data directory") {
		t.Errorf("no note that the dev data directory is used: %q", r.stderr)
	}
	if !strings.Contains(r.stdout, "RS256") {
		t.Errorf("keys list: %q", r.stdout)
	}
	// Without the generated secret nothing is guessed.
	r = inDir(t, t.TempDir(), "keys", "list")
	if r.code != exitUsage || !strings.Contains(r.stderr, "system-secret: required") {
		t.Errorf("keys list without a dev data dir: %+v", r)
	}
}

// TestHelpShowsOnlyTheCommandsFlags: server settings appear under serve
// and config only; admin commands show the database and secret flags.
func TestHelpShowsOnlyTheCommandsFlags(t *testing.T) {
	tests := []struct {
		args       []string
		want, lack []string
	}{
		{[]string{"serve"}, []string{"--smtp-host", "--listen", "--data-dir", "--smtp-password-file", "--config"}, nil},
		{[]string{"client", "list"}, []string{"--data-dir", "--database-url-file", "--system-secret-file", "--json"}, []string{"--smtp-host", "--listen", "--passlink-ttl"}},
		{[]string{"client", "create"}, []string{"--access-token-ttl", "--redirect-uri"}, []string{"--smtp-host"}},
		{[]string{"user", "list"}, []string{"--data-dir"}, []string{"--smtp-host", "--system-secret"}},
		{[]string{"healthcheck"}, []string{"--listen"}, []string{"--smtp-host", "--data-dir"}},
		{[]string{"version"}, []string{"--json"}, []string{"--smtp-host", "--data-dir"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := mustOK(t, sesame(t, nil, append(tt.args, "--help")...))
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w+" ") {
					t.Errorf("help lacks %s", w)
				}
			}
			for _, l := range tt.lack {
				if strings.Contains(r.stdout, l+" ") {
					t.Errorf("help shows %s", l)
				}
			}
		})
	}
}

func TestBannerWarnsWhenIssuerPortDiffers(t *testing.T) {
	cfg := config.Default()
	cfg.Listen = ":9000"
	var b bytes.Buffer
	printBanner(&b, cfg)
	if !strings.Contains(b.String(), "WARNING: the issuer is on port 8080 but Sesame listens on port 9000") || !strings.Contains(b.String(), "--issuer http://localhost:9000") {
		t.Errorf("banner:\n%s", b.String())
	}
	for _, c := range []struct{ issuer, listen string }{{"http://localhost:9000", ":9000"}, {"https://login.example.com", ":8080"}, {"http://127.0.0.1", "127.0.0.1:80"}} {
		cfg.Issuer, cfg.Listen = c.issuer, c.listen
		b.Reset()
		printBanner(&b, cfg)
		if strings.Contains(b.String(), "WARNING") {
			t.Errorf("%s on %s: unexpected warning:\n%s", c.issuer, c.listen, b.String())
		}
	}
}
