package e2e

import (
	"os"
	"os/exec"
	"testing"

	"github.com/sesame-idp/sesame/internal/browsertest"
)

// TestBrowserSDKUnitTests runs the browser SDK's own tests (`npm test` in
// sdk/js: node's test runner against a fake provider, then tsc --strict
// over a program using the type declarations). Without Node.js they skip,
// unless SESAME_REQUIRE_BROWSER is set (CI), which also requires them.
func TestBrowserSDKUnitTests(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		if os.Getenv(browsertest.EnvRequire) != "" {
			t.Fatalf("%s is set but npm was not found (install Node.js 20+)", browsertest.EnvRequire)
		}
		t.Skip("\n*** BROWSER SDK TESTS SKIPPED: no npm found. Install Node.js 20+ to run them. ***")
	}
	cmd := exec.Command(npm, "test")
	cmd.Dir = sdkDir(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm test in %s: %v\n%s", cmd.Dir, err, out)
	}
	t.Logf("npm test:\n%s", out)
}
