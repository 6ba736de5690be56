package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzConfigFile: any YAML file either fails with an error or loads a
// configuration that validation judges without panicking; a valid one
// survives a round trip through WriteYAML (what `sesame config` prints
// loads back to the same settings).
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{"issuer: https://id.example.com\nlisten: :9000\n", "access_token_ttl: 15m\nsignup_open: false\n",
		"aaguid_allow: [\"11111111-2222-3333-4444-555555555555\"]\n", "a: &x 1\nb: *x\n", "---\n---\n", "issuer: [1, 2]\n",
		"access_token_ttl: 5\n", "trusted_proxies:\n  - 10.0.0.0/8\n", "password_argon2_memory: 99999999999999999999\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := Default()
		if loadFile(&cfg, path) != nil {
			return
		}
		if cfg.Validate() != nil {
			return
		}
		var out bytes.Buffer
		if err := cfg.WriteYAML(&out); err != nil {
			t.Fatalf("WriteYAML: %v", err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		again := Default()
		if err := loadFile(&again, path); err != nil {
			t.Fatalf("printed config does not load: %v\n%s", err, out.String())
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", cfg, again)
		}
	})
}
