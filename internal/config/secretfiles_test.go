package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestEverySecretHasAFileCompanion: each secret-tagged setting X can also
// come from a file, through XFile with yaml x_file, env SESAME_X_FILE and
// flag --x-file (a future secret setting fails here until it has one).
func TestEverySecretHasAFileCompanion(t *testing.T) {
	secrets := 0
	for _, s := range settings() {
		if s.secret == "" {
			continue
		}
		secrets++
		i := fileCompanion(s)
		if i < 0 {
			t.Errorf("secret setting %s has no %sFile companion field (string)", s.field, s.field)
			continue
		}
		f := settingAt(i)
		if f.secret != "" {
			t.Errorf("%s: a file path is not itself secret", f.field)
		}
		if s.yaml != "" && f.yaml != s.yaml+"_file" {
			t.Errorf("%s: yaml %q, want %q", f.field, f.yaml, s.yaml+"_file")
		}
		if f.flag != s.flag+"-file" {
			t.Errorf("%s: flag %q, want %q", f.field, f.flag, s.flag+"-file")
		}
		if len(f.envs) != 1 || f.envs[0] != s.envs[0]+"_FILE" {
			t.Errorf("%s: env %v, want [%s_FILE]", f.field, f.envs, s.envs[0])
		}
	}
	if secrets < 3 {
		t.Fatalf("found %d secret settings, want at least database-url, smtp-password and system-secret", secrets)
	}
}

func TestSecretFilesAndWithSecret(t *testing.T) {
	c := Default()
	c.DatabaseURLFile = "/run/secrets/db"
	c.SMTPPassword, c.SMTPPasswordFile = "also", "/run/secrets/smtp"
	got := c.SecretFiles()
	want := []SecretFile{
		{Setting: "database-url", FileSetting: "database-url-file", Env: "SESAME_DATABASE_URL_FILE", Path: "/run/secrets/db"},
		{Setting: "smtp-password", FileSetting: "smtp-password-file", Env: "SESAME_SMTP_PASSWORD_FILE", Path: "/run/secrets/smtp", AlsoSet: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SecretFiles = %+v, want %+v", got, want)
	}
	// Both sources of one secret is a configuration error, named.
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "smtp-password: set either smtp-password or smtp-password-file, not both") {
		t.Errorf("Validate = %v", err)
	}
	r, err := c.WithSecret("database-url", "postgres://h/db")
	if err != nil || r.DatabaseURL != "postgres://h/db" || r.DatabaseURLFile != "" {
		t.Errorf("WithSecret: %q %q %v", r.DatabaseURL, r.DatabaseURLFile, err)
	}
	if _, err := c.WithSecret("issuer", "x"); err == nil {
		t.Error("WithSecret accepted a setting that is not secret")
	}
}

// TestSecretFileFromEnvironment: SESAME_X_FILE is read (it used to be
// silently ignored for the SMTP password).
func TestSecretFileFromEnvironment(t *testing.T) {
	env := map[string]string{"SESAME_SMTP_PASSWORD_FILE": "/run/secrets/smtp", "SESAME_DATABASE_URL_FILE": "/run/secrets/db"}
	c, err := Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPPasswordFile != "/run/secrets/smtp" || c.DatabaseURLFile != "/run/secrets/db" {
		t.Errorf("got %q %q", c.SMTPPasswordFile, c.DatabaseURLFile)
	}
}
