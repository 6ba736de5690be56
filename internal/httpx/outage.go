package httpx

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
)

// OutageRetryAfter is the Retry-After (seconds) of a 503 for a database
// outage: long enough not to hammer a database coming back, short enough
// for a failover or a restart to be bridged by one retry.
const OutageRetryAfter = "3"

// What a page (hosted or console) says while the database is away.
const (
	OutageTitle   = "Temporarily unavailable"
	OutageMessage = "We can't complete this right now: part of our service is briefly unavailable."
	OutageHint    = "Please try again in a few seconds."
)

// Outage reports whether err means the database did not answer — the
// store's models.ErrUnavailable (through any wrapping, fosite's included),
// or this request's own deadline (RequestTimeout) having run out — and if
// so sets Retry-After on the response: every surface answers it with 503
// in its own shape (OAuth error, page, JSON, problem), never a 500 or an
// answer that pretends the work was done (RFC 9110 §15.6.4). Another
// deadline (a client's jwks_uri that did not answer) is not an outage.
func Outage(c *gin.Context, err error) bool {
	if err == nil {
		return false
	}
	deadline := errors.Is(err, context.DeadlineExceeded) && errors.Is(c.Request.Context().Err(), context.DeadlineExceeded)
	if !deadline && !errors.Is(err, models.ErrUnavailable) {
		return false
	}
	c.Header("Retry-After", OutageRetryAfter)
	return true
}

// OutageProblem is the admin API's answer to an outage (problem+json 503);
// cause is logged, never sent.
func OutageProblem(cause error) *Problem {
	p := NewProblem(http.StatusServiceUnavailable, "unavailable", OutageTitle, "The database is not answering. Retry in a few seconds.")
	p.Cause = cause
	return p
}

// RequestTimeout gives each request a deadline of d on its context, so a
// database that hangs or a pool held by slow queries ends in a 503
// (Outage) instead of piling up requests. Routes listed in exempt (gin's
// full route paths, e.g. a server-sent event stream) run without one; so
// does every route when d is 0.
func RequestTimeout(d time.Duration, exempt ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if d <= 0 || slices.Contains(exempt, c.FullPath()) {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
