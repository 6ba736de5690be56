package password_test

import (
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/config"
)

// TestConfigDefaultsAreTheMethodDefaults: the configured defaults are this
// package's (OWASP's argon2id minimum, NIST's length) and a security key
// is required after a password.
func TestConfigDefaultsAreTheMethodDefaults(t *testing.T) {
	c := config.Default()
	got, err := password.ParamsFrom(c.PasswordMemory, c.PasswordIterations, c.PasswordParallelism)
	if err != nil || got != password.DefaultParams {
		t.Fatalf("ParamsFrom(defaults) = %+v, %v; want password.DefaultParams %+v", got, err, password.DefaultParams)
	}
	if c.PasswordMinLength != password.DefaultMinLength || !c.RequireSecurityKey {
		t.Fatalf("min length %d, require key %v", c.PasswordMinLength, c.RequireSecurityKey)
	}
}

// TestParamsFromBounds: an operator's argon2id costs are refused outside
// what Verify can run safely (RFC 9106 §3.1: at least 8 KiB per lane),
// with the value named, before any hash is made.
func TestParamsFromBounds(t *testing.T) {
	tests := []struct {
		name                         string
		memory, iterations, parallel int
		want                         string // "" means valid
	}{
		{"defaults", 19 * 1024, 2, 1, ""},
		{"stronger hashing", 64 * 1024, 3, 2, ""},
		{"zero memory", 0, 2, 1, "argon2id memory 0 KiB"},
		{"memory over 1 GiB", password.MaxMemory + 1, 2, 1, "memory must be between"},
		{"memory that wraps uint32", 1 << 40, 2, 1, "memory must be between"},
		{"negative memory", -1, 2, 1, "memory must be between"},
		{"memory under 8 KiB per lane", 15, 2, 2, "argon2id memory 15 KiB"},
		{"zero iterations", 19 * 1024, 0, 1, "iterations must be between 1 and 16"},
		{"too many iterations", 19 * 1024, 17, 1, "iterations must be between 1 and 16"},
		{"zero parallelism", 19 * 1024, 2, 0, "parallelism must be between 1 and 255"},
		{"parallelism over 255", 19 * 1024, 2, 256, "parallelism must be between 1 and 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := password.ParamsFrom(tt.memory, tt.iterations, tt.parallel)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("ParamsFrom() = %v", err)
			case tt.want == "" && (p.Memory != uint32(tt.memory) || p.Iterations != uint32(tt.iterations) || int(p.Parallelism) != tt.parallel):
				t.Fatalf("ParamsFrom() = %+v", p)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("ParamsFrom() = %v, want %q", err, tt.want)
			}
		})
	}
}
