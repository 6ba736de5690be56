package secret

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
)

func TestPermissionProblem(t *testing.T) {
	tests := []struct {
		mode  fs.FileMode
		uid   int
		known bool
		ok    bool
	}{
		{0o600, 1000, true, true},
		{0o400, 1000, true, true},
		{0o400, 0, false, true},
		// A Kubernetes Secret volume for a non-root pod: root:fsGroup 0440.
		{0o440, 0, true, true},
		{0o640, 0, true, true},
		{0o440, 1000, true, false}, // group-readable and owned by someone else
		{0o440, 0, false, false},   // owner unknown: cannot tell it is root's
		{0o460, 0, true, false},    // group may write
		{0o444, 0, true, false},    // others may read (Kubernetes' default 0644 too)
		{0o644, 0, true, false},
		{0o601, 1000, true, false},
	}
	for _, tt := range tests {
		got := permissionProblem(tt.mode, tt.uid, tt.known)
		if (got == "") != tt.ok {
			t.Errorf("permissionProblem(%04o, uid %d, known %v) = %q, want ok=%v", tt.mode, tt.uid, tt.known, got, tt.ok)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadFiles covers every secret setting's file companion: the value
// comes from the file (trimmed), the file setting is cleared, and a file
// that is missing, empty, too open or doubled by a direct value is an
// error naming the file setting and its environment variable.
func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	dbURL := writeFile(t, dir, "db", "postgres://sesame:pw@db:5432/sesame\n", 0o600)
	smtp := writeFile(t, dir, "smtp", " s3cret pass \n", 0o400)
	sys := writeFile(t, dir, "sys", longSecret+"\n", 0o600)
	empty := writeFile(t, dir, "empty", "\n  \n", 0o600)
	open := writeFile(t, dir, "open", "x", 0o644)
	missing := filepath.Join(dir, "missing")

	t.Run("every secret from its file", func(t *testing.T) {
		c := config.Default()
		c.DatabaseURLFile, c.SMTPPasswordFile, c.SystemSecretFile = dbURL, smtp, sys
		got, err := ReadFiles(c)
		if err != nil {
			t.Fatal(err)
		}
		if got.DatabaseURL != "postgres://sesame:pw@db:5432/sesame" || got.SMTPPassword != "s3cret pass" || got.SystemSecret != longSecret {
			t.Errorf("values: %q %q %q", got.DatabaseURL, got.SMTPPassword, got.SystemSecret)
		}
		if got.DatabaseURLFile != "" || got.SMTPPasswordFile != "" || got.SystemSecretFile != "" {
			t.Error("file settings must be cleared once read")
		}
		// The result has one source per secret, so it validates.
		got.SMTPUsername = "mailer"
		got.SMTPHost = "smtp.example.com"
		if err := got.Validate(); err != nil {
			t.Errorf("resolved configuration does not validate: %v", err)
		}
	})
	t.Run("nothing to read", func(t *testing.T) {
		c := config.Default()
		c.SMTPPassword = "direct"
		got, err := ReadFiles(c)
		if err != nil || got.SMTPPassword != "direct" {
			t.Fatalf("got %q, %v", got.SMTPPassword, err)
		}
	})

	tests := []struct {
		name    string
		set     func(*config.Config)
		wantErr []string
	}{
		{"missing", func(c *config.Config) { c.DatabaseURLFile = missing }, []string{"database-url-file (SESAME_DATABASE_URL_FILE)", "missing"}},
		{"empty", func(c *config.Config) { c.SMTPPasswordFile = empty }, []string{"smtp-password-file (SESAME_SMTP_PASSWORD_FILE)", "is empty"}},
		{"readable by others", func(c *config.Config) { c.SMTPPasswordFile = open }, []string{"smtp-password-file", "accessible by others", "chmod 600 " + open}},
		{"directory", func(c *config.Config) { c.DatabaseURLFile = dir }, []string{"database-url-file", "is a directory"}},
		{"both sources", func(c *config.Config) { c.DatabaseURL, c.DatabaseURLFile = "postgres://x/y", dbURL }, []string{"database-url: set either database-url or database-url-file, not both"}},
		{"every problem at once", func(c *config.Config) { c.DatabaseURLFile, c.SMTPPasswordFile = missing, empty }, []string{"database-url-file", "smtp-password-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.set(&c)
			_, err := ReadFiles(c)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

// TestReadFilesGroupReadableNotRoot: a group-readable file that root does
// not own is refused (only a Kubernetes-style root:fsGroup mount may be
// group-readable).
func TestReadFilesGroupReadableNotRoot(t *testing.T) {
	p := writeFile(t, t.TempDir(), "grp", "value", 0o440)
	if os.Geteuid() == 0 {
		// Hand it to nobody so that root does not own it.
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	c := config.Default()
	c.SMTPPasswordFile = p
	_, err := ReadFiles(c)
	if err == nil || !strings.Contains(err.Error(), "accessible by group") {
		t.Fatalf("err = %v, want the group rule", err)
	}
}
