package authn

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/websession"
)

// FuzzReturnPathGuards covers both guards of the sign-in page's return
// path: the one on the way in (/login?return=…, rememberReturn) and the
// one on the way out (the sesame_return cookie read back at the end of a
// sign-in, complete.go — a cookie is input: the browser may send any
// value). Whatever the query or the cookie holds, what a sign-in would
// redirect to is "" or a local path under /console or /account; and a
// path kept on the way in comes back unchanged on the way out.
func FuzzReturnPathGuards(f *testing.F) {
	for _, s := range []string{"/console", "/account/security?tab=keys", "//evil.example/", "/console/../../x", "%2F%2Fevil.example",
		"/console%5C@evil", "https://evil.example/console", "/console%00", "/account?next=%2F%2Fx", "/console/%2e%2e/%2e%2e/x"} {
		f.Add(s, s)
	}
	sessions := websession.New(nil, websession.Config{})
	local := func(t *testing.T, what, in, out string) {
		if out == "" {
			return
		}
		u, err := url.Parse(out)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\x00\r\n") {
			t.Fatalf("%s %q → %q: not a local path", what, in, out)
		}
		if u.Path != "/console" && u.Path != "/account" && !strings.HasPrefix(u.Path, "/console/") && !strings.HasPrefix(u.Path, "/account/") {
			t.Fatalf("%s %q → %q: outside /console and /account", what, in, out)
		}
	}
	f.Fuzz(func(t *testing.T, query, cookie string) {
		// On the way in: ?return= as the browser sent it.
		kept := safeReturn(query)
		local(t, "return", query, kept)
		w := httptest.NewRecorder()
		sessions.SetReturn(w, kept)
		// On the way out, the cookie set above comes back as it was.
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, c := range w.Result().Cookies() {
			if c.MaxAge >= 0 {
				r.AddCookie(c)
			}
		}
		if back := safeReturn(sessions.TakeReturn(httptest.NewRecorder(), r)); back != kept {
			t.Fatalf("return %q kept as %q but came back as %q", query, kept, back)
		}
		// A forged cookie.
		r = httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "sesame_return="+cookie)
		local(t, "cookie", cookie, safeReturn(sessions.TakeReturn(httptest.NewRecorder(), r)))
	})
}
