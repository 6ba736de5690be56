package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLabelsStayBounded: whatever a client sends — any method, any path,
// any grant type, any error text, rate-limit keys naming addresses and
// IPs — the label values come from fixed sets or route patterns, so the
// number of series cannot grow with requests and no secret lands in one.
func TestLabelsStayBounded(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	m := NewMetrics()
	r := gin.New()
	r.Use(m.Middleware())
	r.GET("/passlink/:token", func(c *gin.Context) { c.Status(http.StatusOK) })
	for _, req := range []struct{ method, path string }{
		{"GET", "/passlink/SECRET-ONE"}, {"GET", "/passlink/SECRET-TWO"}, {"GET", "/nothing/SECRET-THREE"},
		{"BREW", "/passlink/SECRET-FOUR"}, {"PROPFIND", "/SECRET-FIVE"},
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	for _, g := range []string{"authorization_code", "urn:evil:SECRET-SIX", ""} {
		m.TokenIssued(g, "client-a")
		m.TokenRefused(g, "invalid_grant")
	}
	m.TokenRefused("refresh_token", "Some Free Text SECRET-SEVEN")
	for _, k := range []string{"passlink:email:someone@example.com", "passlink:ip:2001:db8::1", "password:account-ip:user:1\x00::1", "odd"} {
		m.RateLimited(k)
	}
	m.AuthEvent("passkey", "login", "failure", "")

	body := scrape(t, m)
	if strings.Contains(body, "SECRET") || strings.Contains(body, "example.com") || strings.Contains(body, "2001:db8") {
		t.Fatalf("a secret reached a label:\n%s", body)
	}
	for _, c := range []struct {
		metric string
		series int
	}{
		{"sesame_http_requests_total", 3},           // GET on the pattern, GET and other unmatched
		{"sesame_tokens_issued_total", 3},           // authorization_code, other, none
		{"sesame_token_errors_total", 4},            // three grants + other error
		{"sesame_rate_limit_hits_total", 4},         // passlink:email, passlink:ip, password:account-ip, other
		{"sesame_sign_ins_total", 1},                // login only
		{"sesame_auth_events_total", 1},             //
		{"sesame_http_request_duration_seconds", 3}, // histogram series by method and route
	} {
		if n := testutil.CollectAndCount(m.reg, c.metric); n != c.series {
			t.Errorf("%s: %d series, want %d", c.metric, n, c.series)
		}
	}
	for _, want := range []string{
		`sesame_http_requests_total{code="200",method="GET",route="/passlink/:token"} 2`,
		`sesame_http_requests_total{code="404",method="GET",route="(unmatched)"} 1`,
		`sesame_http_requests_total{code="404",method="other",route="(unmatched)"} 2`,
		`sesame_tokens_issued_total{client="client-a",grant_type="other"} 1`,
		`sesame_token_errors_total{error="other",grant_type="refresh_token"} 1`,
		`sesame_rate_limit_hits_total{limit="passlink:ip"} 1`,
		`sesame_rate_limit_hits_total{limit="other"} 1`,
		`sesame_sign_ins_total{client="",method="passkey",result="failure"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler("").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

// TestHandlerToken: with a token, /metrics answers 401 to anything but
// exactly "Bearer <token>".
func TestHandlerToken(t *testing.T) {
	h := NewMetrics().Handler("0123456789abcdef")
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer 0123456789abcdeF", 401}, {"bearer 0123456789abcdef", 401}, {"Bearer 0123456789abcdef ", 401}, {"Bearer 0123456789abcdef", 200}} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, rec.Code, c.want)
		}
	}
}

// TestClientGoneCountedApart: a 500 answered to a request whose client
// hung up is counted as 499, out of the 5xx an alert watches; a 500 with
// the client still there stays a 500.
func TestClientGoneCountedApart(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	m := NewMetrics()
	r := gin.New()
	r.Use(m.Middleware())
	r.GET("/token", func(c *gin.Context) { c.Status(http.StatusInternalServerError) })
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/token", nil).WithContext(gone))
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/token", nil))
	body := scrape(t, m)
	for _, want := range []string{
		`sesame_http_requests_total{code="499",method="GET",route="/token"} 1`,
		`sesame_http_requests_total{code="500",method="GET",route="/token"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
