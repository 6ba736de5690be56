package authn

import (
	"net/url"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// /login?return=/console/… brings a person back where they were (the
// console's "sign in again") after a passkey or password + security key
// sign-in that no app asked for. Only a same-origin path under /console
// or /account is kept; anything else is ignored, so the parameter can
// never send anyone to another site (CWE-601).

// returnRoots are the trees a return path may lead into.
var returnRoots = []string{"/console", "/account"}

// safeReturn returns p, normalised, when it is a same-origin relative
// path under /console or /account, and "" otherwise: no scheme, host,
// user info or scheme-relative "//" (also spelt "/\" or with encoded
// slashes), no control characters, no ".." that climbs out of the tree.
func safeReturn(p string) string {
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
	for _, root := range returnRoots {
		if clean == root || strings.HasPrefix(clean, root+"/") {
			ok = true
		}
	}
	if !ok {
		return ""
	}
	out := &url.URL{Path: clean, RawQuery: u.RawQuery}
	return out.RequestURI()
}

// rememberReturn keeps the page's ?return for the sign-in that follows
// (or forgets an old one).
func (h *Handler) rememberReturn(c *gin.Context) {
	h.sessions.SetReturn(c.Writer, safeReturn(c.Query("return")))
}

// afterStrongLogin is afterLogin for the passkey and password + security
// key sign-ins: without an interaction, the remembered return path (if
// any, and still safe) instead of the account page.
func (h *Handler) afterStrongLogin(c *gin.Context, interactionID, sessionID string) string {
	if interactionID == "" {
		if r := safeReturn(h.sessions.TakeReturn(c.Writer, c.Request)); r != "" {
			return r
		}
	}
	return h.afterLogin(c, interactionID, sessionID)
}
