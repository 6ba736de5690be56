package oidc

import (
	"context"

	"github.com/ory/fosite"
)

// fosite's token endpoint asks every handler to populate every response
// (Fosite.NewAccessResponse), and each handler that does not apply answers
// errorsx.WithStack(ErrUnknownRequest): a stack trace captured and thrown
// away per handler per request, measured at ~8 % of a client_credentials
// request. askFirst asks the handler's own CanHandleTokenEndpointRequest
// before it does, and answers the bare sentinel, which fosite skips the
// same way (errors.Is(err, ErrUnknownRequest)) — no behaviour changes, no
// stack is captured. The order of the handlers is fosite's.

// askFirst wraps a token endpoint handler.
type askFirst struct{ fosite.TokenEndpointHandler }

// PopulateTokenEndpointResponse skips a handler that cannot handle the
// request.
func (h askFirst) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	return h.TokenEndpointHandler.PopulateTokenEndpointResponse(ctx, r, resp)
}

// askHandlersFirst wraps every token endpoint handler of cfg in askFirst.
func askHandlersFirst(cfg *fosite.Config) {
	for i, h := range cfg.TokenEndpointHandlers {
		if _, ok := h.(askFirst); !ok {
			cfg.TokenEndpointHandlers[i] = askFirst{h}
		}
	}
}
