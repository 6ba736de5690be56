package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader is the header carrying the request id, both ways.
const RequestIDHeader = "X-Request-Id"

// RequestIDKey is the gin context key under which RequestID stores the id.
const RequestIDKey = "sesame.request_id"

// maxRequestIDLen bounds accepted incoming ids so callers cannot bloat logs.
const maxRequestIDLen = 64

type requestIDCtxKey struct{}

// RequestID assigns every request an id (reusing a well-formed incoming
// X-Request-Id) so log lines, errors and upstream proxies can be correlated.
//
// The id is echoed in the X-Request-Id response header, stored in the gin
// context under RequestIDKey and in the request's context.Context, where
// RequestIDFrom finds it.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Header(RequestIDHeader, id)
		c.Set(RequestIDKey, id)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDCtxKey{}, id))
		c.Next()
	}
}

// RequestIDFrom returns the request id stored by RequestID, or "" if none.
// It accepts a request's context.Context as well as a *gin.Context.
func RequestIDFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if c, ok := ctx.(*gin.Context); ok {
		if id := c.GetString(RequestIDKey); id != "" {
			return id
		}
		if c.Request == nil {
			return ""
		}
		ctx = c.Request.Context()
	}
	id, _ := ctx.Value(requestIDCtxKey{}).(string)
	return id
}

// validRequestID reports whether id is 1..64 characters of [A-Za-z0-9._-];
// anything else is replaced so ids are safe to log and echo.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9',
			b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 16 random bytes, hex encoded (32 characters).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+).
	return hex.EncodeToString(b[:])
}
