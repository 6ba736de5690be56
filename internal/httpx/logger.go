package httpx

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
)

// Logger writes one structured line per finished request so operators get an
// access log that never contains a bearer secret: it logs the route pattern
// (/passlink/:token, not the token), never the raw path or query string.
//
// Level is Error for 5xx, Warn for 4xx and Info otherwise (a 5xx whose
// client went away is logged as 499 at Info: StatusClientClosed); successful
// /healthz and /readyz probes are logged at Debug to keep the log quiet.
// Place it after RequestID and before Recovery so recovered panics are logged
// with their final 500 status.
func Logger(log *slog.Logger) gin.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(c *gin.Context) {
		start := time.Now()
		method := c.Request.Method
		// The request's own context: later middleware (RequestTimeout)
		// replaces c.Request's with one it cancels when it returns.
		ctx := c.Request.Context()

		c.Next()

		status := c.Writer.Status()
		path := RoutePath(c)
		level := slog.LevelInfo
		switch {
		case status >= 500 && ClientGone(ctx):
			status = StatusClientClosed
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelWarn
		case path == "/healthz" || path == "/readyz":
			level = slog.LevelDebug
		}
		if !log.Enabled(ctx, level) {
			return
		}
		size := c.Writer.Size()
		if size < 0 {
			size = 0
		}
		attrs := []slog.Attr{
			slog.String("method", method),
			slog.String("path", path),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", size),
			slog.String("client_ip", c.ClientIP()),
			slog.String("request_id", RequestIDFrom(c)),
		}
		if len(c.Errors) > 0 {
			attrs = append(attrs, slog.Any("errors", c.Errors.Errors()))
		}
		log.LogAttrs(ctx, level, "http request", attrs...)
	}
}

// RoutePath is the request's route pattern for logs ("/passlink/:token"):
// raw paths carry bearer secrets (sign-in links, setup links) and queries
// carry codes. Probes keep their literal path; a request that matched no
// route is logged as "(unmatched)", its path unread.
func RoutePath(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return "(unmatched)"
}
