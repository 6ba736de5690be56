package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// WriteProblem answers RFC 9457 problem details (section 3:
// application/problem+json with type, title, status) that no cache keeps,
// with the request id, and never the cause of an unexpected error (moved
// from the console's abort).
func TestWriteProblem(t *testing.T) {
	for _, tc := range []struct {
		name       string
		p          *Problem
		wantStatus int
		wantType   string
	}{
		{"client error", NewProblem(http.StatusForbidden, "csrf", "Missing or invalid CSRF token", "Send it."), 403, ProblemTypeBase + "csrf"},
		{"field errors", &Problem{Type: ProblemTypeBase + "invalid", Title: "Invalid request", Status: 422,
			Errors: []FieldError{{Field: "name", Message: "is required"}}}, 422, ProblemTypeBase + "invalid"},
		{"server error with a cause", &Problem{Type: ProblemTypeBase + "internal", Title: "Something went wrong", Status: 500,
			Cause: errors.New("db password is hunter2")}, 500, ProblemTypeBase + "internal"},
		{"no status", &Problem{Type: "about:blank", Title: "x"}, 500, "about:blank"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			g, _ := gin.CreateTestContext(w)
			g.Request = httptest.NewRequest(http.MethodGet, "/api/admin/v1/x", nil)
			g.Request = g.Request.WithContext(context.WithValue(g.Request.Context(), requestIDCtxKey{}, "req-1"))
			WriteProblem(g, tc.p)
			if !g.IsAborted() {
				t.Error("the chain goes on after the problem")
			}
			if w.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if ct := w.Header().Get("Content-Type"); ct != ProblemContentType {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("the cause leaked: %s", w.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got["type"] != tc.wantType || got["title"] == "" || got["status"] != float64(tc.wantStatus) || got["request_id"] != "req-1" {
				t.Errorf("body %s", w.Body)
			}
		})
	}
}

// Error names the title and the cause (for logs); errors.Is reaches the cause.
func TestProblemError(t *testing.T) {
	cause := errors.New("boom")
	p := &Problem{Title: "Something went wrong", Cause: cause, Errors: []FieldError{{Field: "a", Message: "b"}}}
	if got := p.Error(); got != "Something went wrong: boom; a: b" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(p, cause) {
		t.Error("errors.Is does not reach the cause")
	}
	if got := NewProblem(404, "not-found", "Not found", "No such client").Error(); got != "Not found: No such client" {
		t.Errorf("Error() = %q", got)
	}
}
