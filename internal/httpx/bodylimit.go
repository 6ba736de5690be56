package httpx

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

var (
	oauthTooLargeBody = []byte(`{"error":"invalid_request","error_description":"request body too large"}`)
	apiTooLargeBody   = []byte(`{"error":"too_large","message":"The request is too large."}`)
)

// BodyLimit caps request bodies at n bytes so a client cannot exhaust memory
// through form parsing or JSON decoding.
//
// A declared Content-Length above n is refused with 413 before the handler
// runs (OAuth JSON error for /oauth2/ paths, the pages' JSON error for
// /webauthn/, plain text otherwise). Bodies
// without a trustworthy length are wrapped in http.MaxBytesReader, so reads
// past n (io.ReadAll, ParseForm, ShouldBind...) fail with *http.MaxBytesError
// and the handler should answer 413.
func BodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			c.Error(errors.New("request body too large")) //nolint:errcheck // recorded for Logger only
			switch p := c.Request.URL.Path; {
			case strings.HasPrefix(p, "/oauth2/"):
				c.Header("Cache-Control", "no-store")
				c.Data(http.StatusRequestEntityTooLarge, "application/json; charset=utf-8", oauthTooLargeBody)
			case strings.HasPrefix(p, "/webauthn/"):
				// The pages' JSON API answers {error, message} like its handlers.
				c.Header("Cache-Control", "no-store")
				c.Data(http.StatusRequestEntityTooLarge, "application/json; charset=utf-8", apiTooLargeBody)
			default:
				writeError(c, http.StatusRequestEntityTooLarge, "Too large", "What was sent is too large to accept.", []byte("Request Entity Too Large\n"))
			}
			c.Abort()
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
