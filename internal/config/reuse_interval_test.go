package config

import (
	"strings"
	"testing"
	"time"
)

// TestRefreshTokenReuseInterval: 10 s by default; set from YAML, the
// environment or the flag; 0 (off) to 60 s, and a bad value is reported
// under the setting's name.
func TestRefreshTokenReuseInterval(t *testing.T) {
	if d := Default().RefreshTokenReuseInterval; d != 10*time.Second {
		t.Fatalf("default = %s, want 10s", d)
	}
	file := writeFile(t, "refresh_token_reuse_interval: 20s\n")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want time.Duration
	}{
		{"yaml", map[string]string{"SESAME_CONFIG": file}, nil, 20 * time.Second},
		{"env", map[string]string{"SESAME_CONFIG": file, "SESAME_REFRESH_TOKEN_REUSE_INTERVAL": "5s"}, nil, 5 * time.Second},
		{"flag", map[string]string{"SESAME_REFRESH_TOKEN_REUSE_INTERVAL": "5s"}, []string{"--refresh-token-reuse-interval=0"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(flags(t, tc.args...), env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.RefreshTokenReuseInterval != tc.want {
				t.Fatalf("got %s, want %s", c.RefreshTokenReuseInterval, tc.want)
			}
		})
	}
	for _, d := range []time.Duration{0, time.Second, time.Minute} {
		c := Default()
		c.Dev = true
		c.RefreshTokenReuseInterval = d
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-time.Second, time.Minute + time.Second, time.Hour} {
		c := Default()
		c.Dev = true
		c.RefreshTokenReuseInterval = d
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "refresh-token-reuse-interval: must be between 0s and 1m") {
			t.Errorf("%s: %v, want an error naming refresh-token-reuse-interval", d, err)
		}
	}
}
