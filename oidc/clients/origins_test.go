package clients

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
)

// TestOriginProblem: only what a browser sends in Origin (RFC 6454 §6.1)
// may be registered: an origin with a path, query, fragment, wildcard,
// user info, or "null" is refused with a message naming the problem.
func TestOriginProblem(t *testing.T) {
	for _, tc := range []struct {
		origin, want string // want: "" (valid) or a piece of the message
	}{
		{"https://app.example", ""},
		{"https://app.example:8443", ""},
		{"http://localhost:5173", ""},
		{"http://127.0.0.1:9999", ""},
		{"http://[::1]:3000", ""},
		{"https://app.example/", "without path"},
		{"https://app.example/app", "without path"},
		{"https://app.example?x=1", "without path, query"},
		{"https://app.example#top", "without path, query or fragment"},
		{"https://*.app.example", "wildcards"},
		{"*", "wildcards"},
		{"null", `"null"`},
		{"NULL", `"null"`},
		{"https://user:pw@app.example", "user info"},
		{"http://app.example", "must use https"},
		{"ftp://app.example", "must use https"},
		{"app.example", "must be an origin"},
		{"https://", "must be an origin"},
		{"https://App.Example", "https://app.example"},
		{"https://app.example:443", "https://app.example"},
		{"https://bücher.example", "punycode"},
		{"https://app example", "must be an origin"},
		{"https://" + strings.Repeat("a", 2000) + ".example", "longer than"},
	} {
		got := OriginProblem(tc.origin)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("OriginProblem(%q) = %q, want %q", tc.origin, got, tc.want)
		}
	}
}

// TestWebOrigins: registered origins win; otherwise a public client gets
// the origins of its http(s) redirect URIs and a confidential one none.
func TestWebOrigins(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    models.Client
		want []string
	}{
		{"public, from redirect URIs", models.Client{Public: true, RedirectURIs: models.StringList{"http://localhost:5173/cb", "http://localhost:5173/other",
			"https://App.example:443/cb", "com.example.app:/cb"}}, []string{"http://localhost:5173", "https://app.example"}},
		{"public, registered", models.Client{Public: true, RedirectURIs: models.StringList{"https://a.example/cb"},
			AllowedWebOrigins: models.StringList{"https://b.example"}}, []string{"https://b.example"}},
		{"confidential, none registered", models.Client{RedirectURIs: models.StringList{"https://a.example/cb"}}, nil},
		{"confidential, registered", models.Client{AllowedWebOrigins: models.StringList{"https://rs.example"}}, []string{"https://rs.example"}},
	} {
		if got := WebOrigins(&tc.c); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
