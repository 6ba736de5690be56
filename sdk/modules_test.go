// Package sdk_test runs the Go modules that live beside Sesame's own —
// the Go SDK (sdk/go, a module of its own so apps pull in few
// dependencies) and the examples (examples/, which test the SDK and the
// example apps against a real Sesame) — as part of the repository's
// `go test ./...`, which does not descend into nested modules. Each is
// vetted, then tested; their output goes straight to this test's, so
// their failures and skips read as the outer run's own.
package sdk_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func TestNestedModules(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	test := []string{"test", "-count=1", "-timeout", "20m"}
	if testing.Verbose() {
		test = append(test, "-v")
	}
	for _, dir := range []string{"go", "../examples"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for _, args := range [][]string{
				{"vet", "./..."},
				append(test, "./..."),
			} {
				cmd := exec.Command(goBin, args...)
				cmd.Dir = dir
				cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("go %v in %s: %v", args, dir, err)
				}
			}
		})
	}
}

// TestAdminClientOpenAPIIsCurrent: the Go SDK's admin client is generated
// from a copy of the admin API's OpenAPI document; it must be the document
// Sesame serves.
func TestAdminClientOpenAPIIsCurrent(t *testing.T) {
	served, err := os.ReadFile("../console/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile("go/admin/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, copied) {
		t.Fatal("sdk/go/admin/openapi.json differs from console/openapi.json: cp console/openapi.json sdk/go/admin/ && (cd sdk/go && go generate ./admin)")
	}
}
