package httpx

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// ErrorPage writes a people-facing error page in the hosted pages' look
// (the server's templates.Renderer.Error): status, a title and one
// sentence saying what happened.
type ErrorPage func(c *gin.Context, status int, title, message string)

const errorPageKey = "httpx.error_page"

// ErrorPages makes page the error page of every request after it: the
// answers this package writes without a handler (no route, wrong method,
// a panic, a cross-site form, a body too large) use it for browsers, so
// no person ever gets a bare line of plain text. It is set per request
// (no package state), first in the chain.
func ErrorPages(page ErrorPage) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(errorPageKey, page)
		c.Next()
	}
}

// wantsPage reports whether the request is a browser's asking for a
// page: GET or a form post whose Accept lists text/html.
func wantsPage(c *gin.Context) bool {
	return strings.Contains(c.GetHeader("Accept"), "text/html") && !prefersJSON(c.GetHeader("Accept"))
}

// WriteError answers with the error page when the request wants one and
// an ErrorPages middleware is in the chain, and with plain text (body)
// otherwise; the admin API's paths get problem+json. It aborts the chain.
func WriteError(c *gin.Context, status int, title, message string) {
	writeError(c, status, title, message, []byte(message+"\n"))
}

// writeError is WriteError with its own plain-text body.
func writeError(c *gin.Context, status int, title, message string, plain []byte) {
	defer c.Abort()
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		WriteProblem(c, NewProblem(status, strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "-")), title, message))
		return
	}
	if p, ok := c.Get(errorPageKey); ok && wantsPage(c) {
		if page, ok := p.(ErrorPage); ok && page != nil {
			page(c, status, title, message)
			return
		}
	}
	c.Data(status, "text/plain; charset=utf-8", plain)
}

// NotFound answers a path no route serves.
func NotFound(c *gin.Context) {
	WriteError(c, http.StatusNotFound, "Page not found", "There is nothing at this address. Check the link, or start again from the beginning.")
}

// MethodNotAllowed answers a method the path does not take.
func MethodNotAllowed(c *gin.Context) {
	WriteError(c, http.StatusMethodNotAllowed, "Not allowed here", "This address does not take that kind of request. Go back and try again.")
}
