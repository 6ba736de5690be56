// Package buildinfo tells which build of Sesame is running: the release
// version and commit stamped in by the release build's -ldflags, or, for a
// plain "go build"/"go run", what the Go toolchain recorded in the binary
// (debug.ReadBuildInfo). A leaf: "sesame version", logs and metrics read it.
package buildinfo
