package authn_test

import (
	"net/http"
	"net/url"
	"testing"
)

// /login?return=… brings a passkey sign-in without an app back to a path
// under /console or /account; any other return value is ignored and the
// sign-in ends on /account (CWE-601).
func TestLoginReturnPath(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ ret, want string }{
		{"/console/users/abc?page=2", "/console/users/abc?page=2"},
		{"/account", "/account"},
		{"//evil.example", "/account"},
		{"/\\evil.example", "/account"},
		{"https://evil.example/console", "/account"},
		{"/console@evil.example", "/account"},
		{"/%2F%2Fevil.example", "/account"},
		{"%2F%2Fevil.example", "/account"},
		{"/console%2F..%2F..%2F%2Fevil.example", "/account"},
		{"/console/../../evil", "/account"},
	} {
		t.Run(tc.ret, func(t *testing.T) {
			b := newBrowser(t, f.env)
			resp, _ := b.page("/login?return=" + url.QueryEscape(tc.ret))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login page: %d", resp.StatusCode)
			}
			if got := b.signIn("", "", f.ada); got != tc.want {
				t.Errorf("return=%q: redirect %q, want %q", tc.ret, got, tc.want)
			}
		})
	}
	// Used once: the next sign-in in the same browser goes to /account.
	b := newBrowser(t, f.env)
	b.page("/login?return=/console")
	if got := b.signIn("", "", f.ada); got != "/console" {
		t.Fatalf("first sign-in: %q", got)
	}
	b.page("/login")
	if got := b.signIn("", "", f.ada); got != "/account" {
		t.Errorf("second sign-in: %q, want /account", got)
	}
}
