package httpx

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

// ProblemContentType is the media type of RFC 9457 problem details.
const ProblemContentType = "application/problem+json"

// ProblemTypeBase prefixes the type URI of Sesame's problems.
const ProblemTypeBase = "https://sesame.dev/problems/"

// Problem is an RFC 9457 problem detail: the one error shape of the admin
// API and of the console's JSON endpoints.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists rejected fields of a request body.
	Errors []FieldError `json:"errors,omitempty"`
	// RequestID helps find the log line of an unexpected error.
	RequestID string `json:"request_id,omitempty"`
	// Cause is the error behind an unexpected problem: logged, never sent.
	Cause error `json:"-"`
}

// FieldError is one rejected field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Format and Args are what Message was made from (fmt.Sprintf), when
	// known: a page can say the message in its own language. Never sent.
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

// NewProblem returns a problem of type ProblemTypeBase+kind.
func NewProblem(status int, kind, title, detail string) *Problem {
	return &Problem{Type: ProblemTypeBase + kind, Title: title, Status: status, Detail: detail}
}

func (p *Problem) Error() string {
	msg := p.Title
	switch {
	case p.Cause != nil:
		msg += ": " + p.Cause.Error()
	case p.Detail != "":
		msg += ": " + p.Detail
	}
	for _, e := range p.Errors {
		msg += "; " + e.Field + ": " + e.Message
	}
	return msg
}

func (p *Problem) Unwrap() error { return p.Cause }

// WriteProblem answers p as application/problem+json (never cached, with
// the request id) and aborts the chain. Logging the cause of a 5xx is the
// caller's: it knows the context.
func WriteProblem(c *gin.Context, p *Problem) {
	out := *p
	if out.Status == 0 {
		out.Status = http.StatusInternalServerError
	}
	out.RequestID = RequestIDFrom(c.Request.Context())
	b, err := json.Marshal(out)
	if err != nil {
		b = problemServerErrBody
		out.Status = http.StatusInternalServerError
	}
	c.Header("Cache-Control", "no-store")
	c.Data(out.Status, ProblemContentType, b)
	c.Abort()
}
