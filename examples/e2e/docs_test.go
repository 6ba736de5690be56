package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var goFence = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestDocsGoSnippetsCompile: every Go block in docs/ is a whole program
// and compiles (go vet) against this checkout of the SDK. Each is written
// to a package of its own under a temporary _docsnippets directory inside
// this module (a leading underscore keeps it out of ./...).
func TestDocsGoSnippetsCompile(t *testing.T) {
	var pages []string
	for _, pattern := range []string{"../../docs/*.md", "../../docs/integrations/*.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, m...)
	}
	dir, err := os.MkdirTemp("..", "_docsnippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var pkgs []string
	for _, page := range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range goFence.FindAllStringSubmatch(string(raw), -1) {
			name := fmt.Sprintf("%s_%d", strings.TrimSuffix(filepath.Base(page), ".md"), i+1)
			if !strings.HasPrefix(m[1], "package ") {
				t.Errorf("%s: Go block %d is not a whole file (package …)", page, i+1)
				continue
			}
			pkg := filepath.Join(dir, strings.NewReplacer("-", "_").Replace(name))
			if err := os.MkdirAll(pkg, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(m[1]), 0o644); err != nil {
				t.Fatal(err)
			}
			pkgs = append(pkgs, "./"+filepath.ToSlash(filepath.Join(filepath.Base(dir), filepath.Base(pkg))))
		}
	}
	if len(pkgs) < 3 {
		t.Fatalf("only %d Go blocks in docs/", len(pkgs))
	}
	cmd := exec.Command("go", append([]string{"vet"}, pkgs...)...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the docs' Go blocks: %v\n%s", err, out)
	}
	t.Logf("%d Go blocks compile: %s", len(pkgs), strings.Join(pkgs, " "))
}
