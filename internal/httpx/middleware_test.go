package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.TestMode) }

// serve runs req through an engine with the given middlewares and handler on
// every method/path.
func serve(t *testing.T, req *http.Request, handler gin.HandlerFunc, mws ...gin.HandlerFunc) *httptest.ResponseRecorder {
	t.Helper()
	r := gin.New()
	r.Use(mws...)
	r.NoRoute(handler)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func ok(c *gin.Context) { c.String(http.StatusOK, "ok") }

func TestRequestID(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	tests := []struct {
		name     string
		incoming string // "" = header absent
		wantSame bool
	}{
		{"generated when absent", "", false},
		{"propagated when valid", "abc-DEF_123.xyz", true},
		{"propagated at 64 chars", strings.Repeat("a", 64), true},
		{"rejected when too long", strings.Repeat("a", 65), false},
		{"rejected with space", "abc def", false},
		{"rejected with punctuation", "abc:y", false},
		{"rejected with non-ascii", "idé", false},
		{"rejected with slash", "a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.incoming != "" {
				req.Header.Set("X-Request-Id", tt.incoming)
			}
			var fromGin, fromCtx, fromKey string
			w := serve(t, req, func(c *gin.Context) {
				fromGin = RequestIDFrom(c)
				fromCtx = RequestIDFrom(c.Request.Context())
				fromKey = c.GetString(RequestIDKey)
				c.Status(http.StatusNoContent)
			}, RequestID())
			got := w.Header().Get("X-Request-Id")
			if tt.wantSame {
				if got != tt.incoming {
					t.Fatalf("header = %q, want %q", got, tt.incoming)
				}
			} else if !hex32.MatchString(got) {
				t.Fatalf("header = %q, want 32 hex chars", got)
			}
			for name, v := range map[string]string{"gin": fromGin, "ctx": fromCtx, "key": fromKey} {
				if v != got {
					t.Errorf("%s id = %q, want %q", name, v, got)
				}
			}
		})
	}

	if id := RequestIDFrom(context.Background()); id != "" {
		t.Errorf("RequestIDFrom(empty ctx) = %q", id)
	}
	if id := RequestIDFrom(nil); id != "" { //nolint:staticcheck // nil ctx tolerated on purpose
		t.Errorf("RequestIDFrom(nil) = %q", id)
	}

	// Two generated ids differ.
	a := serve(t, httptest.NewRequest(http.MethodGet, "/", nil), ok, RequestID()).Header().Get("X-Request-Id")
	b := serve(t, httptest.NewRequest(http.MethodGet, "/", nil), ok, RequestID()).Header().Get("X-Request-Id")
	if a == b {
		t.Errorf("generated ids collide: %q", a)
	}
}

func TestLogger(t *testing.T) {
	tests := []struct {
		name      string
		level     slog.Level
		route     string // the route pattern; "" = the target's path, "-" = none
		target    string
		handler   gin.HandlerFunc
		wantLine  bool
		wantLevel string
		wantPath  string
		wantCode  int
		wantErr   bool
	}{
		{
			name: "info without query", level: slog.LevelInfo,
			target:   "/oauth2/auth?code=SECRETCODE&state=xyz",
			handler:  ok,
			wantLine: true, wantLevel: "INFO", wantPath: "/oauth2/auth", wantCode: 200,
		},
		{
			name: "warn on 4xx with gin error", level: slog.LevelInfo,
			target: "/login?token=SECRETCODE",
			handler: func(c *gin.Context) {
				_ = c.Error(errors.New("bad credentials"))
				c.String(http.StatusUnauthorized, "no")
			},
			wantLine: true, wantLevel: "WARN", wantPath: "/login", wantCode: 401, wantErr: true,
		},
		{
			name: "error on 5xx", level: slog.LevelInfo,
			target:   "/x",
			handler:  func(c *gin.Context) { c.Status(http.StatusBadGateway) },
			wantLine: true, wantLevel: "ERROR", wantPath: "/x", wantCode: 502,
		},
		{
			name: "healthz hidden at info", level: slog.LevelInfo,
			target: "/healthz", handler: ok, wantLine: false,
		},
		{
			name: "readyz at debug", level: slog.LevelDebug,
			target: "/readyz", handler: ok,
			wantLine: true, wantLevel: "DEBUG", wantPath: "/readyz", wantCode: 200,
		},
		{
			name: "route pattern, not the secret in the path", level: slog.LevelInfo,
			route: "/passlink/:token", target: "/passlink/SECRETCODE", handler: ok,
			wantLine: true, wantLevel: "INFO", wantPath: "/passlink/:token", wantCode: 200,
		},
		{
			name: "unmatched path not read", level: slog.LevelInfo,
			route: "-", target: "/console/setup/SECRETCODE", handler: func(c *gin.Context) { c.Status(http.StatusNotFound) },
			wantLine: true, wantLevel: "WARN", wantPath: "(unmatched)", wantCode: 404,
		},
		{
			name: "failing healthz still logged", level: slog.LevelInfo,
			target:   "/healthz",
			handler:  func(c *gin.Context) { c.Status(http.StatusServiceUnavailable) },
			wantLine: true, wantLevel: "ERROR", wantPath: "/healthz", wantCode: 503,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tt.level}))
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			req.Header.Set("X-Request-Id", "req-1")
			r := gin.New()
			r.Use(RequestID(), Logger(log))
			switch tt.route {
			case "-":
				r.NoRoute(tt.handler)
			case "":
				r.GET(req.URL.Path, tt.handler)
			default:
				r.GET(tt.route, tt.handler)
			}
			r.ServeHTTP(httptest.NewRecorder(), req)
			if !tt.wantLine {
				if buf.Len() != 0 {
					t.Fatalf("unexpected log: %s", buf.String())
				}
				return
			}
			if strings.Contains(buf.String(), "SECRETCODE") || strings.Contains(buf.String(), "?") {
				t.Fatalf("log leaks query string: %s", buf.String())
			}
			if n := strings.Count(buf.String(), "\n"); n != 1 {
				t.Fatalf("want exactly one line, got %d: %s", n, buf.String())
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not JSON: %v: %s", err, buf.String())
			}
			checks := map[string]any{
				"level": tt.wantLevel, "method": "GET", "path": tt.wantPath,
				"status": float64(tt.wantCode), "request_id": "req-1", "client_ip": "192.0.2.1",
			}
			for k, want := range checks {
				if rec[k] != want {
					t.Errorf("%s = %v, want %v", k, rec[k], want)
				}
			}
			for _, k := range []string{"duration_ms", "bytes"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("missing %s", k)
				}
			}
			_, hasErr := rec["errors"]
			if hasErr != tt.wantErr {
				t.Errorf("errors present = %v, want %v (%s)", hasErr, tt.wantErr, buf.String())
			}
		})
	}
}

func TestRecovery(t *testing.T) {
	const secret = "db password is hunter2"
	panicking := func(c *gin.Context) { panic(secret) }
	tests := []struct {
		name       string
		path       string
		accept     string
		handler    gin.HandlerFunc
		wantStatus int
		wantCT     string
		wantBody   string
	}{
		{"oauth2 json", "/oauth2/token", "", panicking, 500, "application/json; charset=utf-8",
			`{"error":"server_error","error_description":"internal error"}`},
		{"api problem", "/api/clients", "application/json", panicking, 500, "application/problem+json",
			`{"type":"about:blank","title":"Internal Server Error","status":500}`},
		{"accept json", "/login", "application/json, text/plain;q=0.5", panicking, 500, "application/json; charset=utf-8",
			`{"error":"server_error","error_description":"internal error"}`},
		{"browser gets text", "/login", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", panicking, 500,
			"text/plain; charset=utf-8", "Internal Server Error\n"},
		{"json only at lower q", "/login", "application/json;q=0.1, text/html", panicking, 500,
			"text/plain; charset=utf-8", "Internal Server Error\n"},
		{"no accept gets text", "/", "", panicking, 500, "text/plain; charset=utf-8", "Internal Server Error\n"},
		{"error value panic", "/oauth2/auth", "", func(c *gin.Context) { panic(errors.New(secret)) }, 500,
			"application/json; charset=utf-8", `{"error":"server_error","error_description":"internal error"}`},
		{"already written just aborts", "/oauth2/token", "", func(c *gin.Context) {
			c.String(http.StatusOK, "partial")
			panic(secret)
		}, 200, "text/plain; charset=utf-8", "partial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			req.Header.Set("X-Request-Id", "rid-42")
			w := serve(t, req, tt.handler, RequestID(), Recovery(log))
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("content-type = %q, want %q", ct, tt.wantCT)
			}
			if w.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.wantBody)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("body leaks panic text")
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("log not one JSON line: %v: %s", err, buf.String())
			}
			if rec["level"] != "ERROR" || rec["request_id"] != "rid-42" {
				t.Errorf("log = %v", rec)
			}
			if !strings.Contains(rec["panic"].(string), "hunter2") {
				t.Errorf("panic value not logged: %v", rec["panic"])
			}
			if s, _ := rec["stack"].(string); !strings.Contains(s, "goroutine") {
				t.Errorf("stack not logged")
			}
		})
	}

	t.Run("logger sees 500", func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, nil))
		serve(t, httptest.NewRequest(http.MethodGet, "/boom", nil), panicking, RequestID(), Logger(log), Recovery(log))
		if !strings.Contains(buf.String(), `"msg":"http request"`) || !strings.Contains(buf.String(), `"status":500`) {
			t.Errorf("access log missing 500: %s", buf.String())
		}
	})

	t.Run("ErrAbortHandler re-panics", func(t *testing.T) {
		defer func() {
			if rec := recover(); rec != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", rec)
			}
		}()
		log := slog.New(slog.NewJSONHandler(io.Discard, nil))
		serve(t, httptest.NewRequest(http.MethodGet, "/", nil), func(c *gin.Context) { panic(http.ErrAbortHandler) }, Recovery(log))
	})
}

func TestSecurityHeaders(t *testing.T) {
	const baseCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	common := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "same-origin",
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Permissions-Policy":         "camera=(), microphone=(), geolocation=()",
	}
	tests := []struct {
		name     string
		hsts     bool
		handler  gin.HandlerFunc
		wantCSP  string
		wantHSTS string
	}{
		{"defaults", false, ok, baseCSP, ""},
		{"hsts", true, ok, baseCSP, "max-age=31536000"},
		{"404 still protected", false, func(c *gin.Context) { c.Status(http.StatusNotFound) }, baseCSP, ""},
		{"form_post origin", false, func(c *gin.Context) {
			AllowFormAction(c, "https://Client.Example.com:443/cb?x=1")
			c.String(http.StatusOK, "<form>")
		}, strings.Replace(baseCSP, "form-action 'self'", "form-action 'self' https://client.example.com", 1), ""},
		{"two origins, duplicate ignored", false, func(c *gin.Context) {
			AllowFormAction(c, "https://a.example")
			AllowFormAction(c, "http://localhost:8080/callback")
			AllowFormAction(c, "https://a.example/other")
			c.String(http.StatusOK, "<form>")
		}, strings.Replace(baseCSP, "form-action 'self'", "form-action 'self' https://a.example http://localhost:8080", 1), ""},
		{"front-channel frames beside a form origin", false, func(c *gin.Context) {
			AllowFrameSrc(c, "https://App.example:443/fc-logout?iss=x&sid=y")
			AllowFormAction(c, "https://app.example/bye")
			AllowFrameSrc(c, "http://127.0.0.1:9000/fc")
			AllowFrameSrc(c, "https://app.example/other")
			AllowFrameSrc(c, "https://evil.example; script-src *")
			AllowFrameSrc(c, "javascript:alert(1)")
			c.String(http.StatusOK, "<iframe>")
		}, strings.Replace(baseCSP, "form-action 'self'", "form-action 'self' https://app.example; frame-src 'self' https://app.example http://127.0.0.1:9000", 1), ""},
		{"injection ignored", false, func(c *gin.Context) {
			AllowFormAction(c, "https://evil.example; script-src *")
			AllowFormAction(c, "https://evil.example'")
			AllowFormAction(c, "javascript:alert(1)")
			AllowFormAction(c, "com.example.app:/cb")
			AllowFormAction(c, "")
			c.String(http.StatusOK, "<form>")
		}, baseCSP, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, httptest.NewRequest(http.MethodGet, "/p", nil), tt.handler, SecurityHeaders(tt.hsts))
			if got := w.Header().Get("Content-Security-Policy"); got != tt.wantCSP {
				t.Errorf("CSP =\n %q\nwant\n %q", got, tt.wantCSP)
			}
			if got := w.Header().Get("Strict-Transport-Security"); got != tt.wantHSTS {
				t.Errorf("HSTS = %q, want %q", got, tt.wantHSTS)
			}
			for k, v := range common {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestNoStore(t *testing.T) {
	w := serve(t, httptest.NewRequest(http.MethodPost, "/oauth2/token", nil), ok, NoStore())
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := w.Header().Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q", got)
	}
}

// streamed hides the length so httptest leaves ContentLength at -1.
func streamed(s string) io.Reader { return io.MultiReader(strings.NewReader(s)) }

func TestBodyLimit(t *testing.T) {
	const limit = 16
	big := "a=" + strings.Repeat("x", 100)
	readAll := func(c *gin.Context) {
		b, err := io.ReadAll(c.Request.Body)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			c.String(http.StatusRequestEntityTooLarge, "read error")
			return
		}
		c.String(http.StatusOK, "read %d", len(b))
	}
	parseForm := func(c *gin.Context) {
		if err := c.Request.ParseForm(); err != nil {
			c.String(http.StatusRequestEntityTooLarge, "form error")
			return
		}
		c.String(http.StatusOK, "a=%d", len(c.Request.PostForm.Get("a")))
	}
	tests := []struct {
		name     string
		path     string
		body     io.Reader
		handler  gin.HandlerFunc
		wantCode int
		wantCT   string
		wantBody string
	}{
		{"content-length too large oauth2", "/oauth2/token", strings.NewReader(big), readAll, 413,
			"application/json; charset=utf-8", `{"error":"invalid_request","error_description":"request body too large"}`},
		{"content-length too large page", "/login", strings.NewReader(big), readAll, 413,
			"text/plain; charset=utf-8", "Request Entity Too Large\n"},
		{"streamed too large ReadAll", "/login", streamed(big), readAll, 413, "text/plain; charset=utf-8", "read error"},
		{"streamed too large ParseForm", "/login", streamed(big), parseForm, 413, "text/plain; charset=utf-8", "form error"},
		{"small known length", "/login", strings.NewReader("a=xyz"), parseForm, 200, "text/plain; charset=utf-8", "a=3"},
		{"exactly at limit streamed", "/login", streamed(strings.Repeat("y", limit)), readAll, 200, "text/plain; charset=utf-8", "read 16"},
		{"no body", "/login", nil, readAll, 200, "text/plain; charset=utf-8", "read 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, tt.body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			called := false
			h := func(c *gin.Context) { called = true; tt.handler(c) }
			w := serve(t, req, h, BodyLimit(limit))
			if w.Code != tt.wantCode {
				t.Errorf("status = %d, want %d", w.Code, tt.wantCode)
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("content-type = %q, want %q", ct, tt.wantCT)
			}
			if w.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.wantBody)
			}
			if strings.HasPrefix(tt.name, "content-length too large") && called {
				t.Errorf("handler ran despite oversized Content-Length")
			}
		})
	}
}

func TestSameOriginForms(t *testing.T) {
	tests := []struct {
		name    string
		allowed string
		method  string
		headers map[string]string
		want    int
	}{
		{"GET cross-site allowed", "https://idp.example", http.MethodGet,
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200},
		{"HEAD cross-site allowed", "https://idp.example", http.MethodHead,
			map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"POST same-origin allowed", "https://idp.example", http.MethodPost,
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://idp.example"}, 200},
		{"POST Sec-Fetch-Site none allowed", "https://idp.example", http.MethodPost,
			map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"POST cross-site Sec-Fetch-Site rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"POST same-site Sec-Fetch-Site rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"POST unknown Sec-Fetch-Site rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Sec-Fetch-Site": "bogus"}, 403},
		{"POST Origin mismatch rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Origin": "https://evil.example"}, 403},
		{"POST Origin scheme mismatch rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Origin": "http://idp.example"}, 403},
		{"POST Origin port mismatch rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Origin": "https://idp.example:8443"}, 403},
		{"POST Origin null rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Origin": "null"}, 403},
		{"POST Origin garbage rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Origin": "idp.example"}, 403},
		{"POST same-origin fetch but Origin mismatch rejected", "https://idp.example", http.MethodPost,
			map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"}, 403},
		{"PUT cross-site rejected", "https://idp.example", http.MethodPut,
			map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"DELETE Origin mismatch rejected", "https://idp.example", http.MethodDelete,
			map[string]string{"Origin": "https://evil.example"}, 403},
		{"POST without headers allowed", "https://idp.example", http.MethodPost, nil, 200},
		{"default port equivalence http", "http://localhost:80", http.MethodPost,
			map[string]string{"Origin": "http://localhost"}, 200},
		{"default port equivalence reversed", "http://localhost", http.MethodPost,
			map[string]string{"Origin": "http://localhost:80"}, 200},
		{"default port equivalence https", "https://idp.example", http.MethodPost,
			map[string]string{"Origin": "https://idp.example:443"}, 200},
		{"case-insensitive", "https://IDP.Example", http.MethodPost,
			map[string]string{"Origin": "HTTPS://idp.EXAMPLE"}, 200},
		{"issuer with path as allowed", "https://idp.example/tenant/", http.MethodPost,
			map[string]string{"Origin": "https://idp.example"}, 200},
		{"ipv6 and port", "http://[::1]:8080", http.MethodPost,
			map[string]string{"Origin": "http://[::1]:8080"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/login", strings.NewReader("user=a"))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			w := serve(t, req, ok, SameOriginForms(tt.allowed))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.want, w.Body.String())
			}
			if tt.want == 403 && !strings.Contains(w.Body.String(), "submitted from another site") {
				t.Errorf("403 body = %q", w.Body.String())
			}
			// The exported helper applies the same header rule (for unsafe methods).
			if tt.method != http.MethodGet && tt.method != http.MethodHead {
				if got := SameOrigin(req, tt.allowed); got != (tt.want == 200) {
					t.Errorf("SameOrigin = %v, want %v", got, tt.want == 200)
				}
			}
		})
	}

	t.Run("invalid allowed origin panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("want panic")
			}
		}()
		SameOriginForms("not a url")
	})
	t.Run("SameOrigin with invalid allowed rejects any Origin", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set("Origin", "https://idp.example")
		if SameOrigin(req, "") {
			t.Error("want false")
		}
	})
}
