package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
)

// TestScopeLifecycle: define a custom scope, let a client ask for it,
// refuse definitions that shadow registered claims or built-in scopes
// (exit 2, nothing written), and refuse deleting a scope a client
// registers.
func TestScopeLifecycle(t *testing.T) {
	dir := t.TempDir()
	v := decode[console.ScopeView](t, mustOK(t, withSecret(t, dir, "scope", "create", "roles", "--json",
		"--description", "Your roles", "--claim", "roles=attribute:roles", "--claim", "teams=groups")))
	if v.Name != "roles" || len(v.Claims) != 2 || v.Claims[0].Attribute != "roles" || v.Claims[1].Source != "groups" {
		t.Fatalf("create: %+v", v)
	}

	for name, args := range map[string][]string{
		"shadows email":   {"scope", "create", "mail2", "--claim", "email=attribute:mail"},
		"built-in name":   {"scope", "create", "profile", "--claim", "nick=attribute:nick"},
		"claim twice":     {"scope", "create", "roles2", "--claim", "roles=attribute:r"},
		"bad claim flag":  {"scope", "create", "odd", "--claim", "odd"},
		"unknown source":  {"scope", "create", "odd", "--claim", "odd=ldap:x"},
		"taken":           {"scope", "create", "roles", "--claim", "x=groups"},
		"client, unknown": {"client", "create", "--name", "X", "--redirect-uri", "https://x.example/cb", "--scope", "openid,nosuchscope"},
	} {
		r := withSecret(t, dir, args...)
		if r.code == 0 || r.stderr == "" {
			t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
	if r := withSecret(t, dir, "scope", "create", "mail2", "--claim", "email=attribute:mail"); r.code != 2 || !strings.Contains(r.stderr, "registered or standard claim") {
		t.Errorf("shadowing: exit %d, stderr %q", r.code, r.stderr)
	}
	list := decode[[]console.ScopeView](t, mustOK(t, withSecret(t, dir, "scope", "list", "--json")))
	if len(list) != 1 || list[0].Name != "roles" {
		t.Fatalf("after refusals the list is %+v", list)
	}

	created := decode[clientView](t, mustOK(t, withSecret(t, dir, "client", "create", "--json", "--name", "HR",
		"--redirect-uri", "https://hr.example/cb", "--scope", "openid,profile,roles")))
	if !slices.Contains(created.Scopes, "roles") {
		t.Fatalf("client scopes %v", created.Scopes)
	}
	r := mustOK(t, withSecret(t, dir, "scope", "show", "roles"))
	if !strings.Contains(r.stdout, created.ClientID) || !strings.Contains(r.stdout, "roles=attribute:roles teams=groups") {
		t.Fatalf("show:\n%s", r.stdout)
	}
	if r := withSecret(t, dir, "scope", "delete", "roles"); r.code == 0 || !strings.Contains(r.stderr, created.ClientID) {
		t.Fatalf("delete of a registered scope: exit %d %q", r.code, r.stderr)
	}

	v = decode[console.ScopeView](t, mustOK(t, withSecret(t, dir, "scope", "update", "roles", "--json", "--claim", "roles=attribute:job_roles")))
	if v.Description != "Your roles" || len(v.Claims) != 1 || v.Claims[0].Attribute != "job_roles" {
		t.Fatalf("update: %+v", v)
	}
	mustOK(t, withSecret(t, dir, "client", "update", created.ClientID, "--scope", "openid"))
	mustOK(t, withSecret(t, dir, "scope", "delete", "roles"))
	if r := withSecret(t, dir, "scope", "show", "roles"); r.code == 0 || !strings.Contains(r.stderr, "scope roles not found") {
		t.Fatalf("show after delete: exit %d %q", r.code, r.stderr)
	}
	if r := mustOK(t, withSecret(t, dir, "scope", "list")); !strings.Contains(r.stdout, "No custom scopes yet") {
		t.Fatalf("empty list: %q", r.stdout)
	}
}
