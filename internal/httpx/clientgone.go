package httpx

import (
	"context"
	"errors"
	"log/slog"
)

// StatusClientClosed is the status logged and counted for a request whose
// client went away before its answer (nginx's 499). The 500 such a request
// gets from an interrupted database call is not a failure of the server,
// and must not page anyone or swell the 5xx rate.
const StatusClientClosed = 499

// ClientGone reports whether ctx, a request's context, was canceled: its
// client closed the connection (a timeout is context.DeadlineExceeded,
// an outage, and stays an error).
func ClientGone(ctx context.Context) bool {
	return ctx != nil && errors.Is(ctx.Err(), context.Canceled)
}

// DemoteClientGone wraps h so that an error logged with a request's
// context after its client went away is logged at Info with
// client_gone=true: the handlers log every failed request at Error, and a
// client that hangs up mid-request (a closed tab, a proxy's timeout, a
// load test's end) fails its database call with context.Canceled.
func DemoteClientGone(h slog.Handler) slog.Handler { return demote{h} }

type demote struct{ h slog.Handler }

func (d demote) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, l) }

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && ClientGone(ctx) {
		if !d.h.Enabled(ctx, slog.LevelInfo) {
			return nil
		}
		r = r.Clone()
		r.Level = slog.LevelInfo
		r.AddAttrs(slog.Bool("client_gone", true))
	}
	return d.h.Handle(ctx, r)
}

func (d demote) WithAttrs(as []slog.Attr) slog.Handler { return demote{d.h.WithAttrs(as)} }
func (d demote) WithGroup(name string) slog.Handler    { return demote{d.h.WithGroup(name)} }
