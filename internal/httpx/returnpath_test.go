package httpx

import "testing"

// The return path never leaves the origin nor the allowed trees (CWE-601,
// OWASP unvalidated redirects): everything else is refused, whatever its
// spelling. Moved from authn (safeReturn) and console (SafeReturn, whose
// looser variant is gone).
func TestSafeReturnRefusesOpenRedirects(t *testing.T) {
	roots := []string{"/console", "/account"}
	for _, tc := range []struct{ in, want string }{
		{"/console", "/console"},
		{"/console/clients?q=a", "/console/clients?q=a"},
		{"/console/users/abc?q=pat%40example.com", "/console/users/abc?q=pat%40example.com"},
		{"/console/clients/x/../y", "/console/clients/y"},
		{"/account", "/account"},
		{"/account/", "/account"},
		{"", ""},
		{"//evil.example", ""},
		{"//evil.example/console", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"/console\\..\\..\\evil", ""},
		{"https://evil.example/console", ""},
		{"http:/console", ""},
		{"javascript:alert(1)", ""},
		{"/console@evil.example", ""},
		{"/console.evil.example", ""},
		{"/consoleevil", ""},
		{"/consolex", ""},
		{"/console/../evil", ""},
		{"/console/../account", "/account"},
		{"/console/../../evil", ""},
		{"/%2F%2Fevil.example", ""},
		{"%2F%2Fevil.example", ""},
		{"/console%2F..%2F..%2Fevil", ""},
		{"/console/%5Cevil", ""},
		{"/%5Cevil.example", ""},
		{"%2Fconsole", ""},
		{"/console/\nLocation: https://evil", ""},
		{"/console\r\nX: y", ""},
		{"/console/\t/x", ""},
		{"/console/\x7f", ""},
		{"/console#frag", ""},
		{"/oauth2/authorize", ""},
		{"/accounts", ""},
		{"/ console", ""},
		{"/console/" + string(make([]byte, 1000)), ""},
	} {
		if got := SafeReturn(tc.in, roots...); got != tc.want {
			t.Errorf("SafeReturn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The allowed trees are the caller's: the console's guard keeps only
// console paths; no roots (or "/") allow nothing.
func TestSafeReturnRoots(t *testing.T) {
	for _, tc := range []struct {
		in    string
		roots []string
		want  string
	}{
		{"/console/users", []string{"/console"}, "/console/users"},
		{"/account", []string{"/console"}, ""},
		{"/console/../account", []string{"/console"}, ""},
		{"/console", nil, ""},
		{"/anything", []string{"/"}, ""},
		{"/anything", []string{""}, ""},
	} {
		if got := SafeReturn(tc.in, tc.roots...); got != tc.want {
			t.Errorf("SafeReturn(%q, %q) = %q, want %q", tc.in, tc.roots, got, tc.want)
		}
	}
}
