package httpx

import (
	"net/url"
	"path"
	"strings"
)

// SafeReturn is the one return-path guard of Sesame ("/login?return=…",
// a console page sending someone to sign in): it returns p, normalised,
// when p is a same-origin absolute path inside one of roots (the root
// itself or below it), and "" otherwise, so a return parameter can never
// send anyone to another site (CWE-601, OWASP unvalidated redirects).
//
// Refused, whatever the spelling: a scheme, host or user info; a
// scheme-relative "//" (also "/\" or with encoded slashes, %2F, %5C);
// backslashes; control characters and spaces; a fragment; ".." that
// climbs out of the root; a path that only starts like a root
// ("/consolex", "/console.evil"). Without roots nothing is safe.
func SafeReturn(p string, roots ...string) string {
	if p == "" || len(p) > 1000 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return ""
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return ""
	}
	// An encoded slash or backslash (%2F, %5C) would mean something else
	// to the next reader of the path: refuse rather than interpret.
	if u.RawPath != "" || strings.ContainsAny(u.Path, "\\") {
		return ""
	}
	clean := path.Clean(u.Path)
	ok := false
	for _, root := range roots {
		if root != "" && root != "/" && (clean == root || strings.HasPrefix(clean, root+"/")) {
			ok = true
		}
	}
	if !ok {
		return ""
	}
	out := &url.URL{Path: clean, RawQuery: u.RawQuery}
	return out.RequestURI()
}
