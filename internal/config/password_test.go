package config

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestPasswordMinLengthValidate: the minimum length is NIST's range
// (SP 800-63B: at least 8, and 64 must be accepted). The argon2id costs
// are the password method's to check (authn/password.ParamsFrom, run by
// server.ValidateConfig); Validate leaves them alone.
func TestPasswordMinLengthValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" means valid
	}{
		{"min length 7", func(c *Config) { c.PasswordMinLength = 7 }, "password-min-length: must be between 8 and 64 (got 7)"},
		{"min length 65", func(c *Config) { c.PasswordMinLength = 65 }, "password-min-length: must be between 8 and 64 (got 65)"},
		{"min length 64", func(c *Config) { c.PasswordMinLength = 64 }, ""},
		{"argon2id costs not config's to judge", func(c *Config) { c.PasswordMemory, c.PasswordIterations = 0, 0 }, ""},
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
	if c.PasswordMemory != 65536 || c.PasswordIterations != 3 || c.PasswordParallelism != 4 || c.PasswordMinLength != 12 || c.RequireSecurityKey {
		t.Fatalf("loaded memory %d, iterations %d, parallelism %d, min %d, require %v",
			c.PasswordMemory, c.PasswordIterations, c.PasswordParallelism, c.PasswordMinLength, c.RequireSecurityKey)
	}
}
