package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
)

// result is one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// sesame runs the CLI in-process with an empty environment (so a
// developer's SESAME_* or DATABASE_URL cannot leak in) and the given
// SESAME_* overrides.
func sesame(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return result{out.String(), errOut.String(), code}
}

// inDir runs a command against the data directory dir.
func inDir(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return sesame(t, nil, append(args, "--data-dir", dir)...)
}

func mustOK(t *testing.T, r result) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("decode %q: %v", r.stdout, err)
	}
	return v
}

func openTestStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, "sesame.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// withSecret runs the CLI in dir with the system secret configured (client
// secrets are hashed under a key derived from it).
func withSecret(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return sesame(t, map[string]string{"SESAME_SYSTEM_SECRET": testSecret}, append(args, "--data-dir", dir)...)
}

// testClientSecrets verifies client secrets as a server with testSecret.
func testClientSecrets(t *testing.T) *clients.Secrets {
	t.Helper()
	s, err := server.ClientSecrets([]byte(testSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
