package httpx

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

var (
	oauthServerErrorBody = []byte(`{"error":"server_error","error_description":"internal error"}`)
	problemServerErrBody = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	plainServerErrorBody = []byte("Internal Server Error\n")
)

// Recovery turns a panicking handler into a generic 500 so one bad request
// cannot crash the server or leak internals (the panic text is only logged).
//
// The body matches the caller: OAuth-style JSON for /oauth2/ paths,
// application/problem+json for /api/ paths, OAuth-style JSON for other
// requests whose Accept header prefers JSON, and plain text otherwise. If the
// response was already started it only aborts the chain. A panic with
// http.ErrAbortHandler is re-raised so net/http aborts the connection as
// intended.
func Recovery(log *slog.Logger) gin.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(rec)
			}
			log.LogAttrs(c.Request.Context(), slog.LevelError, "panic recovered",
				slog.Any("panic", rec),
				slog.String("stack", string(debug.Stack())),
				slog.String("method", c.Request.Method),
				slog.String("path", RoutePath(c)),
				slog.String("request_id", RequestIDFrom(c)),
			)
			c.Error(errors.New("panic recovered")) //nolint:errcheck // recorded for Logger only
			if c.Writer.Written() {
				c.Abort()
				return
			}
			writeServerError(c)
		}()
		c.Next()
	}
}

// writeServerError answers 500 with the body flavour the client expects.
func writeServerError(c *gin.Context) {
	h := c.Writer.Header()
	// Drop representation headers a handler may have set before panicking.
	for _, k := range []string{"Content-Length", "Content-Encoding", "Content-Disposition", "ETag", "Last-Modified"} {
		h.Del(k)
	}
	h.Set("Cache-Control", "no-store")
	path := c.Request.URL.Path
	switch {
	case strings.HasPrefix(path, "/oauth2/"):
		c.Data(http.StatusInternalServerError, "application/json; charset=utf-8", oauthServerErrorBody)
	case strings.HasPrefix(path, "/api/"):
		c.Data(http.StatusInternalServerError, "application/problem+json", problemServerErrBody)
	case prefersJSON(c.GetHeader("Accept")):
		c.Data(http.StatusInternalServerError, "application/json; charset=utf-8", oauthServerErrorBody)
	default:
		writeError(c, http.StatusInternalServerError, "Something went wrong",
			"Something went wrong on our side. Try again in a moment.", plainServerErrorBody)
	}
	c.Abort()
}

// prefersJSON reports whether the highest-weighted media range in an Accept
// header is JSON (application/json or any +json type). Ties go to the first
// listed range, as browsers list text/html first.
func prefersJSON(accept string) bool {
	bestQ := -1.0
	best := ""
	for _, part := range strings.Split(accept, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(qs, 64); err == nil {
				q = v
			}
		}
		if q <= 0 || q <= bestQ {
			continue
		}
		bestQ, best = q, mt
	}
	return best == "application/json" || (strings.HasPrefix(best, "application/") && strings.HasSuffix(best, "+json"))
}
