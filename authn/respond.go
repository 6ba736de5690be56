package authn

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/templates"
)

// One responder for every route. Handlers return an error; page routes
// (wrapped by page) answer it with the HTML error page, JSON routes
// (wrapped by api) with {"error": code, "message": text}. That JSON shape
// is not problem+json on purpose: the page scripts (static/webauthn.js,
// passlink.js, password.js) read data.error, data.message and
// data.unknownCredentialId, and the tests hold the API to it. An
// unexpected error is logged once, here, and shown as a plain message.

// handlerFunc is a route that answers its own success and returns its
// failure.
type handlerFunc func(c *gin.Context) error

// page wraps a page route: an error becomes the HTML error page (or,
// for seeOther, a redirect).
func (h *Handler) page(fn handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := fn(c)
		h.recordRefusal(c, err)
		var to seeOther
		switch {
		case err == nil:
		case errors.As(err, &to):
			c.Redirect(http.StatusSeeOther, string(to))
		default:
			h.fail(c, err)
		}
	}
}

// seeOther ends a page route with a redirect instead of the page: a form
// posted by a browser that is no longer signed in goes to /account.
type seeOther string

func (s seeOther) Error() string { return "see " + string(s) }

// api wraps a JSON route: an error becomes a JSON refusal.
func (h *Handler) api(fn handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			h.recordRefusal(c, err)
			h.failJSON(c, err)
		}
	}
}

// refusalEvent is a refusal whose auth event is recorded once the
// handler has answered: a refusal inside inTx rolls back what the
// sign-in wrote, and an event recorded there would go with it.
type refusalEvent struct {
	*pageError
	ev authEvent
}

func (e *refusalEvent) Unwrap() error { return e.pageError }

func (h *Handler) recordRefusal(c *gin.Context, err error) {
	if re, ok := errors.AsType[*refusalEvent](err); ok {
		h.record(c, re.ev)
	}
}

// pageError is an error with a message fit for people: key names its
// title, message and (optional) hint in the catalogue (KEY.title, KEY.msg,
// KEY.hint), filled from args; fail shows them in the page's language.
type pageError struct {
	status int
	key    string
	args   []any
	cause  error
}

// errPage is a pageError with the messages under key.
func errPage(status int, key string, args ...any) *pageError {
	return &pageError{status: status, key: key, args: args}
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return e.key + ": " + e.cause.Error()
	}
	return e.key
}

// msgKey is a pageError argument that is itself a catalogue key (a
// level's words), translated with the rest.
type msgKey string

// texts are e's title, message and hint in t's language.
func (e *pageError) texts(t tr) (title, msg, hint string) {
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if k, ok := a.(msgKey); ok {
			a = t.T(string(k))
		}
		args[i] = a
	}
	title, msg = t.T(e.key+".title", args...), t.T(e.key+".msg", args...)
	if t.pages.Catalog().Has(t.lang, e.key+".hint") {
		hint = t.T(e.key+".hint", args...)
	}
	return title, msg, hint
}

func (e *pageError) Unwrap() error { return e.cause }

// apiError is a refusal of the JSON API, as the page scripts read it.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
	// UnknownCredentialID lets the page tell the passkey manager to forget
	// a credential this server no longer knows (signalUnknownCredential).
	UnknownCredentialID string `json:"unknownCredentialId,omitempty"`
	RPID                string `json:"rpId,omitempty"`
	// key and args are the message in the catalogue; failJSON fills
	// Message in the request's language.
	key  string
	args []any
}

func (e *apiError) Error() string { return e.Code + ": " + e.key }

// refuse is a JSON refusal with status, code and the catalogue key (and
// placeholder name/value pairs) of a message for people.
func refuse(status int, code, key string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, key: key, args: args}
}

var errInteractionGone = errPage(http.StatusBadRequest, "errors.interaction_gone")

var errBadForm = errPage(http.StatusForbidden, "errors.bad_form")

// fail renders err as a page; unexpected errors are logged once here and
// shown as a generic message.
func (h *Handler) fail(c *gin.Context, err error) {
	var pe *pageError
	if httpx.Outage(c, err) {
		h.log.WarnContext(c.Request.Context(), "hosted page: database unavailable", "path", httpx.RoutePath(c), "err", err)
		pe = errPage(http.StatusServiceUnavailable, "errors.outage")
	} else if !errors.As(err, &pe) {
		h.logFailure(c, "hosted page", err)
		pe = errPage(http.StatusInternalServerError, "errors.internal")
	} else if pe.cause != nil && pe.status >= 500 {
		h.logFailure(c, "hosted page", pe.cause)
	}
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	title, msg, hint := pe.texts(t)
	if rerr := h.pages.Error(c.Writer, pe.status, t.page(title, "", ""), templates.ErrorView{
		Message:   msg,
		Hint:      hint,
		RequestID: httpx.RequestIDFrom(c.Request.Context()),
	}); rerr != nil {
		h.log.ErrorContext(c.Request.Context(), "render error page", "err", rerr)
	}
	c.Abort()
}

// failJSON answers err as a JSON refusal: an apiError as it is, a
// pageError (the interaction is gone, the method not allowed) as code
// "interaction", a database outage as a 503 "unavailable", anything else
// as a logged 500.
func (h *Handler) failJSON(c *gin.Context, err error) {
	var ae *apiError
	var pe *pageError
	switch {
	case httpx.Outage(c, err):
		h.log.WarnContext(c.Request.Context(), "hosted api: database unavailable", "path", httpx.RoutePath(c), "err", err)
		ae = refuse(http.StatusServiceUnavailable, "unavailable", "api.outage")
	case errors.As(err, &ae):
	case errors.As(err, &pe):
		_, msg, hint := pe.texts(h.tr(c))
		ae = &apiError{Status: pe.status, Code: "interaction", Message: strings.TrimSpace(msg + " " + hint)}
	default:
		h.logFailure(c, "hosted api", err)
		ae = refuse(http.StatusInternalServerError, "server_error", "api.internal")
	}
	if ae.key != "" {
		// A copy: the refusal may be a shared value.
		cp := *ae
		cp.Message = h.tr(c).T(ae.key, ae.args...)
		ae = &cp
	}
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(ae.Status, ae)
}

func (h *Handler) logFailure(c *gin.Context, what string, err error) {
	h.log.LogAttrs(c.Request.Context(), slog.LevelError, what, slog.String("path", httpx.RoutePath(c)), slog.Any("err", err))
}

// noStoreJSON answers v as JSON that no cache keeps.
func noStoreJSON(c *gin.Context, status int, v any) error {
	c.Header("Cache-Control", "no-store")
	c.JSON(status, v)
	return nil
}
