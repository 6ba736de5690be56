package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/sesame-idp/sesame/authn/password"
)

// TestPasswordDefaults: the configured defaults are authn/password's
// (OWASP's argon2id minimum, NIST's length) and a security key is
// required after a password.
func TestPasswordDefaults(t *testing.T) {
	c := Default()
	if got := c.PasswordParams(); got != password.DefaultParams {
		t.Fatalf("PasswordParams() = %+v, want password.DefaultParams %+v", got, password.DefaultParams)
	}
	if c.PasswordMinLength != password.DefaultMinLength || !c.RequireSecurityKey {
		t.Fatalf("min length %d, require key %v", c.PasswordMinLength, c.RequireSecurityKey)
	}
}

func TestPasswordSettingsValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" means valid
	}{
		{"stronger hashing", func(c *Config) { c.PasswordMemory, c.PasswordIterations, c.PasswordParallelism = 64*1024, 3, 2 }, ""},
		{"zero memory", func(c *Config) { c.PasswordMemory = 0 }, "password-argon2-*: argon2id memory 0 KiB"},
		{"memory over 1 GiB", func(c *Config) { c.PasswordMemory = password.MaxMemory + 1 }, "password-argon2-*: memory must be between"},
		{"memory that wraps uint32", func(c *Config) { c.PasswordMemory = 1 << 40 }, "password-argon2-*: memory must be between"},
		{"negative memory", func(c *Config) { c.PasswordMemory = -1 }, "password-argon2-*: memory must be between"},
		{"memory under 8 KiB per lane", func(c *Config) { c.PasswordMemory, c.PasswordParallelism = 15, 2 }, "password-argon2-*: argon2id memory 15 KiB"},
		{"zero iterations", func(c *Config) { c.PasswordIterations = 0 }, "password-argon2-*: iterations must be between 1 and 16"},
		{"too many iterations", func(c *Config) { c.PasswordIterations = 17 }, "password-argon2-*: iterations must be between 1 and 16"},
		{"zero parallelism", func(c *Config) { c.PasswordParallelism = 0 }, "password-argon2-*: parallelism must be between 1 and 255"},
		{"parallelism over 255", func(c *Config) { c.PasswordParallelism = 256 }, "password-argon2-*: parallelism must be between 1 and 255"},
		{"min length 7", func(c *Config) { c.PasswordMinLength = 7 }, "password-min-length: must be between 8 and 64 (got 7)"},
		{"min length 65", func(c *Config) { c.PasswordMinLength = 65 }, "password-min-length: must be between 8 and 64 (got 65)"},
		{"min length 64", func(c *Config) { c.PasswordMinLength = 64 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Dev = true
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			case tt.want != "" && strings.Count(err.Error(), "\n") != 0:
				t.Fatalf("Validate() reports more than the password setting:\n%v", err)
			}
		})
	}
}

// TestPasswordSettingsLoad: the settings come from the environment and
// flags like every other.
func TestPasswordSettingsLoad(t *testing.T) {
	fs := pflag.NewFlagSet("sesame", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--password-min-length=12", "--require-security-key=false"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(fs, env(map[string]string{
		"SESAME_PASSWORD_ARGON2_MEMORY": "65536", "SESAME_PASSWORD_ARGON2_ITERATIONS": "3", "SESAME_PASSWORD_ARGON2_PARALLELISM": "4",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := password.DefaultParams
	want.Memory, want.Iterations, want.Parallelism = 65536, 3, 4
	if got := c.PasswordParams(); got != want || c.PasswordMinLength != 12 || c.RequireSecurityKey {
		t.Fatalf("loaded %+v, min %d, require %v", got, c.PasswordMinLength, c.RequireSecurityKey)
	}
}
