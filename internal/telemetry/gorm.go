package telemetry

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// spanKey is where a statement's span waits for its after-callback.
const spanKey = "sesame:otel_span"

// GormPlugin makes a client span of every SQL statement the store runs,
// as a child of the span in the statement's context (the request's). It
// records the operation, table and SQL text with placeholders, never the
// bound values (hashes of tokens, addresses).
func (t *Tracing) GormPlugin(system string) gorm.Plugin {
	return gormTracing{tracer: t.Tracer(), system: system}
}

type gormTracing struct {
	tracer trace.Tracer
	system string
}

func (gormTracing) Name() string { return "sesame:tracing" }

func (g gormTracing) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	hooks := []struct {
		op     string
		before func(string) error
		after  func(string) error
	}{
		{"insert", func(n string) error { return cb.Create().Before("gorm:create").Register(n, g.start("insert")) },
			func(n string) error { return cb.Create().After("gorm:create").Register(n, g.end) }},
		{"select", func(n string) error { return cb.Query().Before("gorm:query").Register(n, g.start("select")) },
			func(n string) error { return cb.Query().After("gorm:query").Register(n, g.end) }},
		{"update", func(n string) error { return cb.Update().Before("gorm:update").Register(n, g.start("update")) },
			func(n string) error { return cb.Update().After("gorm:update").Register(n, g.end) }},
		{"delete", func(n string) error { return cb.Delete().Before("gorm:delete").Register(n, g.start("delete")) },
			func(n string) error { return cb.Delete().After("gorm:delete").Register(n, g.end) }},
		{"row", func(n string) error { return cb.Row().Before("gorm:row").Register(n, g.start("row")) },
			func(n string) error { return cb.Row().After("gorm:row").Register(n, g.end) }},
		{"raw", func(n string) error { return cb.Raw().Before("gorm:raw").Register(n, g.start("raw")) },
			func(n string) error { return cb.Raw().After("gorm:raw").Register(n, g.end) }},
	}
	for _, h := range hooks {
		if err := h.before("sesame:otel_before_" + h.op); err != nil {
			return err
		}
		if err := h.after("sesame:otel_after_" + h.op); err != nil {
			return err
		}
	}
	return nil
}

func (g gormTracing) start(op string) func(*gorm.DB) {
	return func(db *gorm.DB) {
		st := db.Statement
		if st.Context == nil {
			return
		}
		ctx, span := g.tracer.Start(st.Context, "store "+op+" "+st.Table, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system.name", g.system), attribute.String("db.operation.name", op)))
		st.Context = ctx
		db.InstanceSet(spanKey, span)
	}
}

func (g gormTracing) end(db *gorm.DB) {
	v, ok := db.InstanceGet(spanKey)
	if !ok {
		return
	}
	span, ok := v.(trace.Span)
	if !ok {
		return
	}
	defer span.End()
	st := db.Statement
	span.SetAttributes(attribute.String("db.collection.name", st.Table), attribute.String("db.query.text", st.SQL.String()),
		attribute.Int64("db.response.rows", db.RowsAffected))
	if db.Error != nil && !errors.Is(db.Error, gorm.ErrRecordNotFound) {
		span.RecordError(db.Error)
		span.SetStatus(codes.Error, "database error")
	}
}
