package httpx

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// formActionKey and frameSrcKey are the gin context keys holding extra
// form-action and frame-src sources.
const (
	formActionKey = "sesame.csp_form_action"
	frameSrcKey   = "sesame.csp_frame_src"
)

// img-src allows https: for the clients' logos (clients.Spec logo_uri);
// images cannot run script.
const (
	cspBeforeFormAction = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; form-action 'self'"
	cspAfterFormAction  = "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

// SecurityHeaders sets a strict CSP and the usual hardening headers on every
// response so hosted pages resist XSS, clickjacking, sniffing and referrer leaks.
//
// form-action is 'self' only; a response_mode=form_post handler must call
// AllowFormAction with the client's redirect URI before writing its page.
// Strict-Transport-Security is sent only when hsts is true (set it when the
// server is reached over HTTPS, directly or via a TLS-terminating proxy).
func SecurityHeaders(hsts bool) gin.HandlerFunc {
	csp := buildCSP(nil, nil)
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: under no-referrer browsers send
		// "Origin: null" on our own form posts, which SameOriginForms
		// must refuse; same-origin still leaks nothing to other sites.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}

// AllowFormAction adds origin to the CSP form-action directive of this
// response, for form_post pages that auto-submit to a client redirect URI.
//
// origin may be an origin or a full URL; only its scheme://host[:port] is
// used. Values that are not absolute http(s) URLs are ignored, so a hostile
// redirect URI can never inject CSP directives. It must be called before the
// response is written; calls accumulate.
func AllowFormAction(c *gin.Context, origin string) { allowSource(c, formActionKey, origin) }

// AllowFrameSrc adds origin to the CSP frame-src directive of this
// response (otherwise default-src 'self' applies to frames), for the
// logout page that loads the apps' front-channel logout URLs in iframes.
// The same rules as AllowFormAction: only an absolute http(s) URL's
// scheme://host[:port] is used, anything else ignored; calls accumulate.
func AllowFrameSrc(c *gin.Context, origin string) { allowSource(c, frameSrcKey, origin) }

func allowSource(c *gin.Context, key, origin string) {
	o, ok := parseOrigin(origin, false)
	if !ok || (!strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://")) {
		return
	}
	extra := sources(c, key)
	if slices.Contains(extra, o) {
		return
	}
	c.Set(key, append(slices.Clip(extra), o))
	c.Writer.Header().Set("Content-Security-Policy", buildCSP(sources(c, formActionKey), sources(c, frameSrcKey)))
}

func sources(c *gin.Context, key string) []string {
	v, _ := c.Get(key)
	s, _ := v.([]string)
	return s
}

// buildCSP renders the policy with extra form-action sources and, when
// there are any, a frame-src directive of 'self' and those.
func buildCSP(formAction, frameSrc []string) string {
	var b strings.Builder
	b.WriteString(cspBeforeFormAction)
	for _, s := range formAction {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	if len(frameSrc) > 0 {
		b.WriteString("; frame-src 'self'")
		for _, s := range frameSrc {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	b.WriteString(cspAfterFormAction)
	return b.String()
}

// NoStore forbids caching of responses that carry secrets (token, userinfo,
// hosted pages with CSRF tokens), as RFC 6749 §5.1 requires for tokens.
func NoStore() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		c.Next()
	}
}

// parseOrigin normalises s to a lower-case scheme://host[:port] without a
// default port. With strict (for Origin header values) a path, query,
// fragment or userinfo makes it invalid; otherwise they are dropped.
func parseOrigin(s string, strict bool) (string, bool) {
	if s == "" || strings.ContainsAny(s, " \t\r\n;,'\"") {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	if strict && (u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery) {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if !validHost(host) {
		return "", false
	}
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// validHost accepts ASCII DNS names and IP literals (browsers send Origin
// hosts in punycode), keeping anything exotic out of CSP and comparisons.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch b := h[i]; {
		case b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '.', b == '-', b == '_', b == ':':
		default:
			return false
		}
	}
	return true
}

// isSafeMethod reports whether m is a method that must not change state.
func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
