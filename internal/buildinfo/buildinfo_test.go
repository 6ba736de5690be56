package buildinfo

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/sesame-idp/sesame", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abcdef0123456789abcdef0123456789abcdef01"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name              string
		ver, rev, when    string
		bi                *debug.BuildInfo
		want              Info
		wantStringContain []string
	}{
		{
			name: "ldflags win over the toolchain's record",
			ver:  "v1.2.3", rev: "0123abc", when: "2026-05-06T07:08:09Z", bi: vcs,
			want:              Info{Version: "1.2.3", Commit: "0123abc", Date: "2026-05-06T07:08:09Z", GoVersion: "go1.26.8"},
			wantStringContain: []string{"sesame 1.2.3 (commit 0123abc, 2026-05-06T07:08:09Z, go1.26.8 "},
		},
		{
			name: "go build in a checkout: revision and dirty flag from VCS stamping",
			bi:   vcs,
			want: Info{Version: "devel", Commit: vcs.Settings[0].Value, Date: "2026-01-02T03:04:05Z", Modified: true, GoVersion: "go1.26.8"},
			// Shortened to 12 characters and marked dirty.
			wantStringContain: []string{"sesame devel (commit abcdef012345+dirty, "},
		},
		{
			name:              "go install module@version",
			bi:                &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.9.0"}},
			want:              Info{Version: "0.9.0", GoVersion: "go1.26.8"},
			wantStringContain: []string{"sesame 0.9.0 (go1.26.8 "},
		},
		{
			name:              "nothing known",
			want:              Info{Version: "devel"},
			wantStringContain: []string{"sesame devel ("},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := from(tt.ver, tt.rev, tt.when, tt.bi)
			if tt.want.GoVersion == "" {
				tt.want.GoVersion = got.GoVersion // the test binary's own toolchain
			}
			tt.want.Platform = got.Platform
			if got != tt.want {
				t.Errorf("from() = %+v, want %+v", got, tt.want)
			}
			if got.Platform == "" || !strings.Contains(got.Platform, "/") {
				t.Errorf("platform %q is not GOOS/GOARCH", got.Platform)
			}
			for _, w := range tt.wantStringContain {
				if !strings.Contains(got.String(), w) {
					t.Errorf("String() = %q, lacks %q", got.String(), w)
				}
			}
		})
	}
}

// TestReleaseConfigStampsThisPackage: the release build's -X flags name
// this package's variables (a rename would silently leave "devel").
func TestReleaseConfigStampsThisPackage(t *testing.T) {
	raw, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"version", "commit", "date"} {
		want := "-X github.com/sesame-idp/sesame/internal/buildinfo." + v + "="
		if !strings.Contains(string(raw), want) {
			t.Errorf(".goreleaser.yaml lacks %s", want)
		}
	}
	for _, w := range []string{"goos: [linux, darwin, windows]", "goarch: [amd64, arm64]", "sboms:", "checksum:", "dockerfile: Dockerfile.release", "linux/arm64"} {
		if !strings.Contains(string(raw), w) {
			t.Errorf(".goreleaser.yaml lacks %q", w)
		}
	}
}
