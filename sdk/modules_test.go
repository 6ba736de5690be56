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
	"strings"
	"testing"
)

// goBin is the go command running these tests: go test puts its GOROOT's
// bin first on the test's PATH. (runtime.GOROOT is empty in a -trimpath
// build, as CI's, so it cannot be the fallback.)
func goBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

func TestNestedModules(t *testing.T) {
	goBin := goBin()
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

// TestExamplesBuildSesameWithItsOwnVersions: the examples module (which
// replaces Sesame with this checkout) selects, for every module Sesame's
// packages are built from, the version Sesame's go.mod selects. Otherwise
// the examples would test a Sesame built from other dependencies than the
// one that ships, and CI would compile Sesame a second time for them
// (a different go-toml under gin changes every package above gin).
func TestExamplesBuildSesameWithItsOwnVersions(t *testing.T) {
	run := func(dir string, args ...string) map[string]string {
		t.Helper()
		cmd := exec.Command(goBin(), args...)
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %v in %s: %v\n%s", args, dir, err, stderr.String())
		}
		// One "path version" per line; the version is empty for the
		// main module and replaced ones.
		pairs := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if path, version, ok := strings.Cut(line, " "); ok && version != "" {
				pairs[path] = version
			}
		}
		return pairs
	}
	// The module and version of every package Sesame's own packages (not
	// their tests) are built from.
	used := run("..", "list", "-deps", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}", "./...")
	if len(used) < 20 {
		t.Fatalf("go list found %d modules under Sesame's packages, want its dependencies", len(used))
	}
	for path, got := range run("../examples", "list", "-m", "-f", "{{.Path}} {{.Version}}", "all") {
		if want, ok := used[path]; ok && got != want {
			t.Errorf("examples/go.mod selects %s %s, Sesame's go.mod %s: align them (go get the newer one in the module that is behind)", path, got, want)
		}
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
