package authn

import (
	"context"
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
)

// EventRecorder stores the auth events the statistics count; *store.Store
// implements it. Every method's events go through it, from here: the
// method services only authenticate.
type EventRecorder interface {
	RecordAuthEvent(ctx context.Context, e *models.AuthEvent) error
}

// EventCounter is an EventRecorder that also counts (in metrics) the
// events written without it: a sign-in's event is written with its login
// session (websession.Login.Event), in the store the sessions use.
type EventCounter interface {
	CountAuthEvent(e *models.AuthEvent)
}

// authEvent is an auth event about to be recorded.
type authEvent struct {
	// method is the models.Method* of the event.
	method string
	userID string
	// interactionID names the interaction the event belongs to; its
	// client is taken from the interaction already loaded in this request
	// (requestInteraction), unless clientID is given.
	interactionID string
	clientID      string
	// name is the event ("login", "register", "request", …).
	name   string
	result string
	reason string
	aaguid string
}

// Bounds of the free text of an event.
const (
	maxEventReason    = 200
	maxEventUserAgent = 500
	// maxPasskeyUserAgent is what passkey events have always kept.
	maxPasskeyUserAgent = 300
)

// record stores e with this request's IP and User-Agent; failures to
// record are logged, not fatal.
func (h *Handler) record(c *gin.Context, e authEvent) {
	ev := h.event(c, e)
	if ev == nil {
		return
	}
	ctx := c.Request.Context()
	if err := h.events.RecordAuthEvent(ctx, ev); err != nil {
		h.log.WarnContext(ctx, "record auth event", "method", e.method, "err", err)
	}
}

// event is e as stored, with this request's IP and User-Agent; nil when
// events are not recorded.
func (h *Handler) event(c *gin.Context, e authEvent) *models.AuthEvent {
	if h.events == nil {
		return nil
	}
	if e.clientID == "" && e.interactionID != "" {
		if ri := h.requestInteraction(c, e.interactionID); ri.in != nil && (ri.err == nil || errors.Is(ri.err, models.ErrConsumed)) {
			e.clientID = ri.in.ClientID
		}
	}
	if e.result == "" {
		e.result = models.ResultSuccess
	}
	maxUA := maxEventUserAgent
	if e.method == models.MethodPasskey {
		maxUA = maxPasskeyUserAgent
	}
	return &models.AuthEvent{
		ID: websession.RandomToken(16), At: clock.Now().UTC(), UserID: e.userID, ClientID: e.clientID,
		Method: e.method, Event: e.name, Result: e.result, Reason: truncate(e.reason, maxEventReason), AAGUID: e.aaguid,
		IP: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), maxUA),
	}
}

// counted tells the EventRecorder, when it counts events (EventCounter),
// of ev, which was written with a session's start rather than through it.
func (h *Handler) counted(ev *models.AuthEvent) {
	if ec, ok := h.events.(EventCounter); ok && ev != nil {
		ec.CountAuthEvent(ev)
	}
}

// truncate cuts s to at most n bytes, dropping a character cut in two.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
