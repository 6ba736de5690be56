package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkRequestMiddleware is the cost the instrumentation adds to a
// request: a bare gin route, the same with the metrics middleware (RED
// counters and histogram), and with tracing too (a sampled server span,
// exported to a no-op exporter).
func BenchmarkRequestMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	tr, err := NewTracing(context.Background(), TracingOptions{Exporter: tracetest.NewNoopExporter()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	for _, bc := range []struct {
		name string
		mw   []gin.HandlerFunc
	}{
		{"bare", nil},
		{"metrics", []gin.HandlerFunc{NewMetrics().Middleware()}},
		{"metrics+tracing", []gin.HandlerFunc{tr.Middleware(), NewMetrics().Middleware()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := gin.New()
			r.Use(bc.mw...)
			r.POST("/oauth2/token", func(c *gin.Context) { c.Status(http.StatusOK) })
			req := httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
