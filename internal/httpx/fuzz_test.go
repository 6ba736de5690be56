package httpx

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturn: whatever comes in, what goes out is "" or a path on
// this origin under one of the roots — never a scheme, a host, a
// protocol-relative "//", a backslash or a control character — and
// guarding it again changes nothing.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/console", "/console/users?q=a", "//evil.example/", "/console/../account", "/%2F%2Fevil",
		"/console\\@evil", "https://evil.example/console", "/console#x", "/console/\x00", "/account?next=//x", "/console;/x"} {
		f.Add(s)
	}
	roots := []string{"/console", "/account"}
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeReturn(in, roots...)
		if out == "" {
			return
		}
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\#") {
			t.Fatalf("SafeReturn(%q) = %q: not a plain local path", in, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] < 0x21 || out[i] == 0x7f {
				t.Fatalf("SafeReturn(%q) = %q: control character", in, out)
			}
		}
		u, err := url.Parse(out)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("SafeReturn(%q) = %q parses as %+v (%v)", in, out, u, err)
		}
		if u.Path != "/console" && u.Path != "/account" && !strings.HasPrefix(u.Path, "/console/") && !strings.HasPrefix(u.Path, "/account/") {
			t.Fatalf("SafeReturn(%q) = %q: outside the roots", in, out)
		}
		if again := SafeReturn(out, roots...); again != out {
			t.Fatalf("SafeReturn is not stable: %q → %q → %q", in, out, again)
		}
	})
}
