package authn

import (
	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
)

// /login?return=/console/… brings a person back where they were (the
// console's "sign in again") after a passkey or password + security key
// sign-in that no app asked for. Only a same-origin path under /console
// or /account is kept; anything else is ignored, so the parameter can
// never send anyone to another site (CWE-601).

// returnRoots are the trees a return path may lead into.
var returnRoots = []string{"/console", "/account"}

// safeReturn is httpx.SafeReturn (the one strict guard) for returnRoots.
func safeReturn(p string) string { return httpx.SafeReturn(p, returnRoots...) }

// rememberReturn keeps the page's ?return for the sign-in that follows
// (or forgets an old one) and returns what it kept.
func (h *Handler) rememberReturn(c *gin.Context) string {
	ret := safeReturn(c.Query("return"))
	h.sessions.SetReturn(c.Writer, ret)
	return ret
}
