package authn

import "testing"

// The return path never leaves the origin nor the console and account
// trees (CWE-601, OWASP unvalidated redirects): everything else is
// ignored, whatever its spelling.
func TestSafeReturnRefusesOpenRedirects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/console", "/console"},
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
		{"/console/../evil", ""},
		{"/console/../../evil", ""},
		{"/%2F%2Fevil.example", ""},
		{"%2F%2Fevil.example", ""},
		{"/console%2F..%2F..%2Fevil", ""},
		{"/console/%5Cevil", ""},
		{"/%5Cevil.example", ""},
		{"%2Fconsole", ""},
		{"/console/\nLocation: https://evil", ""},
		{"/console/\t/x", ""},
		{"/console#frag", ""},
		{"/oauth2/authorize", ""},
		{"/accounts", ""},
		{"/ console", ""},
	} {
		if got := safeReturn(tc.in); got != tc.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
