package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the release build (.goreleaser.yaml), e.g.
//
//	-X github.com/sesame-idp/sesame/internal/buildinfo.version=1.2.3
//	-X github.com/sesame-idp/sesame/internal/buildinfo.commit=0123abc
//	-X github.com/sesame-idp/sesame/internal/buildinfo.date=2026-01-02T03:04:05Z
//
// Variables, not constants: -X can only set package-level string variables.
var (
	version string
	commit  string
	date    string
)

// Info describes one build.
type Info struct {
	Version   string `json:"version"`    // "1.2.3", a module pseudo-version, or "devel"
	Commit    string `json:"commit"`     // VCS revision, "" when unknown
	Date      string `json:"date"`       // build or commit time (RFC 3339), "" when unknown
	Modified  bool   `json:"modified"`   // built from a work tree with uncommitted changes
	GoVersion string `json:"go_version"` // toolchain
	Platform  string `json:"platform"`   // GOOS/GOARCH
}

// Get returns the running binary's build information. Values stamped by
// -ldflags win; the rest comes from debug.ReadBuildInfo, which records the
// module version (for "go install …@v1.2.3") and, when built inside a Git
// checkout, the revision.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return from(version, commit, date, bi)
}

// from is Get with its inputs explicit, for the tests.
func from(ver, rev, when string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   strings.TrimPrefix(ver, "v"),
		Commit:    rev,
		Date:      when,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = strings.TrimPrefix(bi.Main.Version, "v")
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				// Only meaningful for the revision the toolchain found.
				info.Modified = s.Value == "true" && rev == ""
			}
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
}

// String is the one-line form "sesame version" prints, e.g.
// "sesame 1.2.3 (commit 0123abc, 2026-01-02T03:04:05Z, go1.26.8 linux/amd64)".
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += "+dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if i.Date != "" {
		parts = append(parts, i.Date)
	}
	parts = append(parts, i.GoVersion+" "+i.Platform)
	return "sesame " + i.Version + " (" + strings.Join(parts, ", ") + ")"
}
