package authn

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
)

// The passkey offer continues only to the account page or to exactly the
// resume URL the provider handed over, for a well-formed interaction id
// (CWE-601: no open redirect).
func TestSafeNextAcceptsOnlyTheInjectedResumeURL(t *testing.T) {
	h := New(Deps{ResumeURL: func(id string) string { return "/p/resume?interaction=" + url.QueryEscape(id) }})
	for _, tc := range []struct{ in, want string }{
		{"/account", "/account"},
		{"/p/resume?interaction=abc_DEF-123", "/p/resume?interaction=abc_DEF-123"},
		{"", "/account"},
		{"/account?x=1", "/account"},
		{"/oauth2/authorize/resume?interaction=abc", "/account"},
		{"/p/resume?interaction=abc&x=1", "/account"},
		{"/p/resume?interaction=a%2Fb", "/account"},
		{"/p/resume?interaction=" + strings.Repeat("a", 65), "/account"},
		{"//evil.example/p/resume?interaction=abc", "/account"},
		{"https://evil.example/p/resume?interaction=abc", "/account"},
		{"/p/resume?other=abc", "/account"},
	} {
		if got := h.safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A form whose POST can end at the client allows the interaction's stored
// redirect URI in CSP form-action, and only it; an interaction parked
// without one allows the client's registered ones.
func TestAllowRedirectUsesTheStoredRedirectURI(t *testing.T) {
	client := &models.Client{RedirectURIs: models.StringList{"https://a.example/cb", "https://b.example/cb"}}
	for _, tc := range []struct {
		name, stored string
		want, not    []string
	}{
		{"stored", "https://b.example/cb", []string{"https://b.example"}, []string{"https://a.example"}},
		{"none stored", "", []string{"https://a.example", "https://b.example"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			allowRedirect(c, &models.Interaction{RedirectURI: tc.stored}, client)
			csp := c.Writer.Header().Get("Content-Security-Policy")
			for _, w := range tc.want {
				if !strings.Contains(csp, w) {
					t.Errorf("CSP %q lacks %s", csp, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(csp, n) {
					t.Errorf("CSP %q allows %s", csp, n)
				}
			}
		})
	}
}
