package servertest

import (
	"context"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/outbox"
)

// DeliverLogouts runs the server's back-channel logout delivery loop (as
// Serve does) until the test ends. With opts, it runs a separate worker
// over the same logout outbox instead, with those options (e.g. a short
// back-off), through the guarded outbound client the configuration gives.
func (e *Env) DeliverLogouts(opts ...outbox.Options) {
	e.T.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.T.Cleanup(func() { cancel(); <-done })
	b := e.Server.Provider().BackchannelLogout()
	if len(opts) > 0 {
		o := opts[0]
		if o.Logger == nil {
			o.Logger = e.logger()
		}
		hc := httpx.OutboundClient(httpx.OutboundOptions{Allow: e.Config.OutboundAllowPrefixes()})
		b = e.Server.Provider().NewBackchannelLogout(e.Store, hc, o)
	}
	go func() {
		defer close(done)
		b.Run(ctx)
	}()
}
