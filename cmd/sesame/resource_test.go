package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestResourceLifecycle: register a resource (RFC 8707) with a permission
// scope, refuse malformed audiences, unknown scopes and taken names or
// audiences (nothing written), update only the flags given, delete. On
// SQLite and PostgreSQL.
func TestResourceLifecycle(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		run, _ := dialectCLI(t, d)
		mustOK(t, run("scope", "create", "orders:read", "--description", "Read your orders"))
		v := decode[console.ResourceView](t, mustOK(t, run("resource", "create", "orders", "--json",
			"--audience", "https://api.example.com/orders", "--scope", "orders:read", "--description", "Orders API")))
		if v.Name != "orders" || v.Audience != "https://api.example.com/orders" || v.AccessTokenFormat != "jwt" || !slices.Equal(v.Scopes, []string{"orders:read"}) {
			t.Fatalf("create: %+v", v)
		}
		for name, args := range map[string][]string{
			"no audience":    {"resource", "create", "a"},
			"relative":       {"resource", "create", "b", "--audience", "/orders"},
			"fragment":       {"resource", "create", "c", "--audience", "https://api.example.com/c#x"},
			"unknown scope":  {"resource", "create", "d", "--audience", "https://api.example.com/d", "--scope", "nope"},
			"bad format":     {"resource", "create", "e", "--audience", "https://api.example.com/e", "--access-token-format", "paseto"},
			"taken name":     {"resource", "create", "orders", "--audience", "https://api.example.com/other"},
			"taken audience": {"resource", "create", "f", "--audience", "https://api.example.com/orders"},
			"bad name":       {"resource", "create", "Orders API", "--audience", "https://api.example.com/g"},
			"update missing": {"resource", "update", "nope", "--description", "x"},
			"scope in use":   {"scope", "delete", "orders:read"},
			"no args":        {"resource", "create"},
		} {
			if r := run(args...); r.code == 0 || r.stderr == "" {
				t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
			}
		}
		list := decode[[]console.ResourceView](t, mustOK(t, run("resource", "list", "--json")))
		if len(list) != 1 || list[0].Name != "orders" {
			t.Fatalf("after refusals the list is %+v", list)
		}
		v = decode[console.ResourceView](t, mustOK(t, run("resource", "update", "orders", "--json", "--access-token-format", "opaque", "--scope=")))
		if v.AccessTokenFormat != "opaque" || len(v.Scopes) != 0 || v.Description != "Orders API" || v.Audience != "https://api.example.com/orders" {
			t.Fatalf("update: %+v", v)
		}
		if r := mustOK(t, run("resource", "show", "orders")); !strings.Contains(r.stdout, "opaque") || !strings.Contains(r.stdout, "https://api.example.com/orders") {
			t.Fatalf("show:\n%s", r.stdout)
		}
		if r := mustOK(t, run("resource", "list")); !strings.Contains(r.stdout, "orders") {
			t.Fatalf("list:\n%s", r.stdout)
		}
		mustOK(t, run("resource", "delete", "orders"))
		if r := run("resource", "show", "orders"); r.code == 0 || !strings.Contains(r.stderr, "resource orders not found") {
			t.Fatalf("show after delete: exit %d %q", r.code, r.stderr)
		}
		if r := mustOK(t, run("resource", "list")); !strings.Contains(r.stdout, "No resources yet") {
			t.Fatalf("empty list: %q", r.stdout)
		}
		mustOK(t, run("scope", "delete", "orders:read"))
	})
}
