package main

import (
	"strings"
	"testing"
)

// TestLoopbackOnly: the load tool never targets a non-loopback address.
func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		ok     bool
	}{
		{"http://localhost:8080", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"https://93.184.216.34", false},
		{"ftp://localhost", false},
		{"not a url", false},
	} {
		u, err := loopbackTokenURL(tc.issuer)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.issuer, err, tc.ok)
		}
		if tc.ok && !strings.HasSuffix(u, "/oauth2/token") {
			t.Errorf("%s: token URL %s", tc.issuer, u)
		}
	}
}

// TestBoundsRefused: the loop's bounds are enforced before any request.
func TestBoundsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"-client-id", "a", "-client-secret", "b", "-c", "0"},
		{"-client-id", "a", "-client-secret", "b", "-c", "1000"},
		{"-client-id", "a", "-client-secret", "b", "-d", "1h"},
		{"-client-secret", "b"},
	} {
		if err := run(args, &strings.Builder{}); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
