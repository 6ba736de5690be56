package server_test

import (
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/server"
)

// TestValidateConfigNamesPasswordSettings: the argon2id costs, checked by
// the password method, are reported with the setting's name beside the
// configuration's own problems, each once, so an operator fixes all in
// one pass.
func TestValidateConfigNamesPasswordSettings(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*config.Config)
		want []string // nil means valid
	}{
		{"defaults", func(*config.Config) {}, nil},
		{"stronger hashing", func(c *config.Config) { c.PasswordMemory, c.PasswordIterations, c.PasswordParallelism = 64*1024, 3, 2 }, nil},
		{"zero memory", func(c *config.Config) { c.PasswordMemory = 0 }, []string{"password-argon2-*: argon2id memory 0 KiB"}},
		{"memory over 1 GiB", func(c *config.Config) { c.PasswordMemory = 1<<20 + 1 }, []string{"password-argon2-*: memory must be between"}},
		{"too many iterations", func(c *config.Config) { c.PasswordIterations = 17 }, []string{"password-argon2-*: iterations must be between 1 and 16"}},
		{"parallelism over 255", func(c *config.Config) { c.PasswordParallelism = 256 }, []string{"password-argon2-*: parallelism must be between 1 and 255"}},
		{"with a configuration problem", func(c *config.Config) { c.PasswordIterations, c.PasswordMinLength = 0, 7 },
			[]string{"password-min-length: must be between 8 and 64 (got 7)", "password-argon2-*: iterations must be between 1 and 16 (got 0)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.Dev = true
			tt.mod(&c)
			err := server.ValidateConfig(c)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidateConfig() = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateConfig() = nil, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("ValidateConfig() reports %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("ValidateConfig() = %v, want %q", err, w)
				}
			}
		})
	}
}
