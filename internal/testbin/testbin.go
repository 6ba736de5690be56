// Package testbin gives tests the outside programs they run against Sesame
// (oauth2-proxy, MinIO, …) from CI's cache, so every such test finds its
// tool the same way and .ci/run can build them once ahead of the tests.
package testbin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Dir is where .ci/run installs the tools: ~/.cache/sesame-ci/bin.
func Dir(t testing.TB) string {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(home, ".cache", "sesame-ci", "bin")
}

// Tool returns the program name from CI's cache, building module
// (path@version) there when it is missing. A failed build fails the test:
// it never skips, because a skipped integration test in CI is a failure.
func Tool(t testing.TB, name, module string) string {
	t.Helper()
	dir := Dir(t)
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	t.Logf("building %s into %s (once; .ci/run does it ahead)", module, dir)
	// A cold MinIO build takes several CPU-minutes on a 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", module)
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}
