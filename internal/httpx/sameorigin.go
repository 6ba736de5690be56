package httpx

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

const crossSiteFormBody = "This form was submitted from another site and was refused.\n"

// SameOriginForms refuses state-changing requests sent from other sites,
// the first line of CSRF defence for hosted pages.
//
// GET, HEAD and OPTIONS always pass. Other methods are refused with 403 unless
// SameOrigin(r, allowedOrigin) holds. Requests carrying neither Sec-Fetch-Site
// nor Origin (old clients, curl) are allowed, which is why hosted page forms
// also carry a per-session CSRF token that handlers verify; this middleware
// does not replace that check.
//
// allowedOrigin is the public scheme://host[:port] of the hosted pages (an
// issuer URL with a path is accepted; only its origin is used). It panics if
// allowedOrigin is not an absolute URL, as that is a configuration error.
func SameOriginForms(allowedOrigin string) gin.HandlerFunc {
	allowed, ok := parseOrigin(allowedOrigin, false)
	if !ok {
		panic("middleware: SameOriginForms: invalid allowed origin " + `"` + allowedOrigin + `"`)
	}
	return func(c *gin.Context) {
		if isSafeMethod(c.Request.Method) || sameOrigin(c.Request, allowed) {
			c.Next()
			return
		}
		c.Error(errors.New("cross-site form submission refused")) //nolint:errcheck // recorded for Logger only
		c.Header("Cache-Control", "no-store")
		writeError(c, http.StatusForbidden, "Form refused", "This form was submitted from another site and was refused. Go back to the page and try again.", []byte(crossSiteFormBody))
	}
}

// SameOrigin reports whether r's fetch-metadata and Origin headers are
// consistent with a request from allowedOrigin; it ignores the method, which
// SameOriginForms checks itself.
//
// It is false when Sec-Fetch-Site is present and not "same-origin" or "none",
// or when Origin is present and is "null", malformed, or differs from
// allowedOrigin (compared case-insensitively, default ports ignored). It is
// true when neither header is present.
func SameOrigin(r *http.Request, allowedOrigin string) bool {
	allowed, ok := parseOrigin(allowedOrigin, false)
	if !ok {
		allowed = "" // no Origin header can match
	}
	return sameOrigin(r, allowed)
}

// sameOrigin is SameOrigin with an already normalised allowed origin.
func sameOrigin(r *http.Request, allowed string) bool {
	if v := r.Header.Values("Sec-Fetch-Site"); len(v) > 0 {
		if len(v) != 1 {
			return false
		}
		switch strings.ToLower(strings.TrimSpace(v[0])) {
		case "same-origin", "none":
		default: // cross-site, same-site, or anything unexpected
			return false
		}
	}
	if v := r.Header.Values("Origin"); len(v) > 0 {
		if len(v) != 1 {
			return false
		}
		o, ok := parseOrigin(strings.TrimSpace(v[0]), true) // "null" fails to parse
		if !ok || allowed == "" || o != allowed {
			return false
		}
	}
	return true
}
