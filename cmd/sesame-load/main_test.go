package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
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
		{"-op", "jwt", "-client-id", "a", "-client-secret", "b"}, // no -resource
	} {
		if err := run(args, &strings.Builder{}); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// TestEveryOperationAgainstAServer: each operation runs against a real
// server on both dialects without an error, and with -pid and -pg (the
// test process is the server's) reports CPU per operation and peak RSS.
func TestEveryOperationAgainstAServer(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails())...)
		id, secret := env.CreateClient(clients.Spec{
			Name: "Load", RedirectURIs: []string{"http://127.0.0.1:9/cb"}, SkipConsent: true,
			GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials", clients.GrantDeviceCode},
			Scopes:     []string{"openid", "profile", "email", "offline_access"},
		})
		const api = "https://orders.example.com/"
		now := time.Now().UTC()
		if err := env.Store.CreateResource(t.Context(), &models.Resource{Name: "orders", Audience: api, Scopes: models.StringList{},
			AccessTokenFormat: models.TokenFormatJWT, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		args := []string{"-op", "all", "-resource", api, "-issuer", env.Issuer, "-client-id", id, "-client-secret", secret,
			"-c", "2", "-d", "400ms", "-n", "20", "-pid", strconv.Itoa(os.Getpid())}
		if env.Store.Dialect() == "postgres" {
			args = append(args, "-pg", env.DatabaseURL())
		}
		var out strings.Builder
		if err := run(args, &out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		got := out.String()
		for _, op := range ops {
			i := strings.Index(got, op+", 2 workers")
			if i < 0 {
				t.Fatalf("no run of %s in:\n%s", op, got)
			}
			block := got[i:]
			if j := strings.Index(block[1:], " workers, "); j >= 0 {
				if k := strings.LastIndex(block[:j+1], "\n"); k > 0 {
					block = block[:k]
				}
			}
			if !regexp.MustCompile(`ops: [1-9]\d* \(`).MatchString(block) || !strings.Contains(block, "errors: 0") {
				t.Errorf("%s did not run cleanly:\n%s", op, block)
			}
			if !regexp.MustCompile(`server: +cpu \d+\.\d\d ms/op, peak rss [1-9]\d* MB`).MatchString(block) {
				t.Errorf("%s reports no server CPU and peak RSS:\n%s", op, block)
			}
			if env.Store.Dialect() == "postgres" && !regexp.MustCompile(`database: cpu \d+\.\d\d ms/op`).MatchString(block) {
				t.Errorf("%s reports no database CPU:\n%s", op, block)
			}
		}
		t.Logf("\n%s", got)
	})
}

// TestDatabaseMustBeLoopback: -pg is refused unless it is on loopback.
func TestDatabaseMustBeLoopback(t *testing.T) {
	err := run([]string{"-op", "signin", "-issuer", "http://127.0.0.1:1", "-pg", "postgres://u@10.1.2.3:5432/db"}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("a non-loopback database was accepted: %v", err)
	}
}
