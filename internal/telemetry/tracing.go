package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sesame-idp/sesame/internal/buildinfo"
)

// scope names Sesame's instrumentation in the spans it makes.
const scope = "github.com/sesame-idp/sesame"

// TracingOptions configure Tracing.
type TracingOptions struct {
	// Endpoint is the OTLP/HTTP traces URL (e.g.
	// http://otel-collector:4318/v1/traces). Empty leaves it to the
	// standard variables OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
	// OTEL_EXPORTER_OTLP_ENDPOINT (and their _HEADERS, _TIMEOUT, …),
	// whose default is http://localhost:4318.
	Endpoint string
	// Exporter replaces the OTLP exporter and exports each span as it ends
	// (tests: sdk/trace/tracetest's in-memory exporter).
	Exporter sdktrace.SpanExporter
}

// Tracing is the server's tracer provider (never the global one) and the
// W3C trace-context propagator. A nil *Tracing traces nothing.
type Tracing struct {
	sdk  *sdktrace.TracerProvider
	prop propagation.TextMapPropagator
}

// NewTracing starts a tracer provider exporting over OTLP/HTTP in
// batches. The sampler follows OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG (default: parent-based, always on), the
// resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (default
// service.name "sesame").
func NewTracing(ctx context.Context, o TracingOptions) (*Tracing, error) {
	bi := buildinfo.Get()
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "sesame"), attribute.String("service.version", bi.Version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if o.Exporter != nil {
		opts = append(opts, sdktrace.WithSyncer(o.Exporter))
	} else {
		var eo []otlptracehttp.Option
		if o.Endpoint != "" {
			eo = append(eo, otlptracehttp.WithEndpointURL(o.Endpoint))
		}
		exp, err := otlptracehttp.New(ctx, eo...)
		if err != nil {
			return nil, fmt.Errorf("tracing exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return &Tracing{sdk: sdktrace.NewTracerProvider(opts...), prop: propagation.TraceContext{}}, nil
}

// Shutdown exports the spans still buffered and stops the provider.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// Provider is the tracer provider; a no-op one for a nil *Tracing.
func (t *Tracing) Provider() trace.TracerProvider {
	if t == nil {
		return noop.NewTracerProvider()
	}
	return t.sdk
}

// Tracer is Sesame's tracer.
func (t *Tracing) Tracer() trace.Tracer { return t.Provider().Tracer(scope) }

// Middleware starts a server span per request, continuing the caller's
// trace (W3C traceparent), named after the route pattern
// ("POST /oauth2/token"). It records the method, route and status, never
// the URL's path or query: they carry sign-in links, codes and tokens.
// Handlers get the span in their request's context, so store calls and
// outbound fetches become its children.
func (t *Tracing) Middleware() gin.HandlerFunc {
	tracer := t.Tracer()
	return func(c *gin.Context) {
		ctx := t.prop.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		method, route := methodLabel(c.Request.Method), routeLabel(c)
		ctx, span := tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route)))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
	}
}

// Transport traces outbound requests through rt as client spans, and
// sends the trace context along.
func (t *Tracing) Transport(rt http.RoundTripper) http.RoundTripper {
	if t == nil {
		return rt
	}
	return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(t.sdk), otelhttp.WithPropagators(t.prop),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "HTTP " + r.Method + " " + r.URL.Host }))
}
