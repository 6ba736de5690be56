package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/authn"
	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/telemetry"
	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/keys"
)

// Metrics and traces (internal/telemetry). Every server has its own
// Prometheus registry (tests run several servers in one process).
// /metrics is served on metrics_listen, and on the main listener only
// behind metrics_token: the metrics name clients and show sign-in rates.

// newTracing returns the tracing the server uses: the one deps carry
// (tests: an in-memory exporter), else OTLP when the tracing setting is
// on, else nil (no spans). owned says whether the server must shut it
// down.
func newTracing(ctx context.Context, deps Deps) (t *telemetry.Tracing, owned bool, err error) {
	if deps.Tracing != nil {
		return deps.Tracing, false, nil
	}
	if !deps.Config.Tracing {
		return nil, false, nil
	}
	t, err = telemetry.NewTracing(ctx, telemetry.TracingOptions{Endpoint: deps.Config.TracingEndpoint})
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// traceStore makes a span of every statement of st (one plugin per store:
// a second server on the same store keeps the first one's).
func traceStore(st *store.Store, t *telemetry.Tracing) error {
	if t == nil {
		return nil
	}
	if err := st.Use(t.GormPlugin(dbSystem(st.Dialect()))); err != nil && !errors.Is(err, gorm.ErrRegistered) {
		return fmt.Errorf("tracing: %w", err)
	}
	return nil
}

// dbSystem is OpenTelemetry's name of the dialect.
func dbSystem(dialect string) string {
	if dialect == migrations.Postgres {
		return "postgresql"
	}
	return "sqlite"
}

// collect registers what the server's components know with m.
func collect(m *telemetry.Metrics, st *store.Store, provider *oidc.Provider, live *policy.Live, km *keys.Manager) error {
	db, err := st.SQLDB()
	if err != nil {
		return err
	}
	m.AddDB(db)
	m.AddDBQueue(func() (int64, uint64, time.Duration) {
		q := st.PoolQueue()
		return q.Waiting, q.Waits, q.Waited
	})
	m.AddCaches(map[string]telemetry.CacheStats{
		"client": provider.ClientCacheStats,
		"policy": live.CacheStats,
		"keys":   km.CacheStats,
	})
	m.AddOutbox(st.OutboxStats, time.Now)
	m.AddSigningKeys(func(ctx context.Context) ([]telemetry.KeyAge, error) {
		list, err := km.List(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]telemetry.KeyAge, len(list))
		for i, k := range list {
			out[i] = telemetry.KeyAge{Alg: k.Alg, State: k.State, Created: k.CreatedAt}
		}
		return out, nil
	}, time.Now)
	feed := st.Changes()
	sqlite := st.Dialect() != migrations.Postgres
	m.AddChangeFeed(func() bool { return sqlite || feed.ListenerPID() != 0 }, feed.Resyncs)
	return nil
}

// countedEvents counts each auth event as it is recorded.
type countedEvents struct {
	next authn.EventRecorder
	m    *telemetry.Metrics
}

func (e countedEvents) RecordAuthEvent(ctx context.Context, ev *models.AuthEvent) error {
	e.m.AuthEvent(ev.Method, ev.Event, ev.Result, ev.ClientID)
	return e.next.RecordAuthEvent(ctx, ev)
}

// CountAuthEvent counts an event written with a login session's start
// (authn.EventCounter).
func (e countedEvents) CountAuthEvent(ev *models.AuthEvent) {
	e.m.AuthEvent(ev.Method, ev.Event, ev.Result, ev.ClientID)
}

// tracedSender makes a client span of each SMTP delivery.
type tracedSender struct {
	next   mail.Sender
	tracer trace.Tracer
}

func (s tracedSender) Send(ctx context.Context, m mail.Message) error {
	ctx, span := s.tracer.Start(ctx, "smtp send", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("messaging.system", "smtp")))
	defer span.End()
	err := s.next.Send(ctx, m)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "send failed")
	}
	return err
}

// Metrics exposes the server's metrics (tests scrape its handler).
func (s *Server) Metrics() *telemetry.Metrics { return s.metrics }

// MetricsAddr is the address metrics_listen was opened on ("" before, or
// without one).
func (s *Server) MetricsAddr() string {
	if a := s.metricsAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// serveMetrics serves /metrics alone on the metrics_listen address until
// ctx ends; it returns once listening (or failing to).
func (s *Server) serveMetrics(ctx context.Context) error {
	if s.cfg.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics-listen on %s: %w", s.cfg.MetricsListen, err)
	}
	addr := ln.Addr().String()
	s.metricsAddr.Store(&addr)
	mux := http.NewServeMux()
	mux.Handle("GET "+telemetry.PathMetrics, s.metrics.Handler(s.cfg.MetricsToken))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("metrics listening", "addr", addr, "path", telemetry.PathMetrics)
	return nil
}
