package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// syncBuffer is a log sink the server's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestDemoteClientGone: an error logged with the context of a request
// whose client hung up is logged at Info with client_gone; a timeout, a
// live request and lower levels are logged as they were; a sink at Warn
// drops the demoted record.
func TestDemoteClientGone(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	timedOut, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		sink      slog.Level
		level     slog.Level
		wantLevel string // "" when nothing is written
		wantGone  bool
	}{
		{"client gone", gone, slog.LevelInfo, slog.LevelError, "INFO", true},
		{"client gone, sink at warn", gone, slog.LevelWarn, slog.LevelError, "", false},
		{"timed out", timedOut, slog.LevelInfo, slog.LevelError, "ERROR", false},
		{"live", context.Background(), slog.LevelInfo, slog.LevelError, "ERROR", false},
		{"warning, client gone", gone, slog.LevelInfo, slog.LevelWarn, "WARN", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			log := slog.New(DemoteClientGone(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.sink}))).With("component", "test")
			log.Log(tc.ctx, tc.level, "token", "err", context.Canceled)
			lines := buf.lines(t)
			if tc.wantLevel == "" {
				if len(lines) != 0 {
					t.Fatalf("wrote %v, want nothing", lines)
				}
				return
			}
			if len(lines) != 1 || lines[0]["level"] != tc.wantLevel || (lines[0]["client_gone"] == true) != tc.wantGone || lines[0]["component"] != "test" {
				t.Fatalf("got %v, want level %s client_gone %v", lines, tc.wantLevel, tc.wantGone)
			}
		})
	}
}

// TestLoggerClientGone: over a real connection, a handler whose database
// call fails because its client hung up answers 500 as usual, but the
// access log says 499 at Info and the handler's own error is demoted;
// the same failure with the client still there stays a 500 at Error.
func TestLoggerClientGone(t *testing.T) {
	var buf syncBuffer
	log := slog.New(DemoteClientGone(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	entered := make(chan struct{}, 1)
	done := make(chan struct{}, 2)
	r := gin.New()
	r.Use(Logger(log), RequestTimeout(time.Minute))
	r.GET("/slow", func(c *gin.Context) {
		defer func() { done <- struct{}{} }()
		entered <- struct{}{}
		<-c.Request.Context().Done() // the "database call", cut short
		log.ErrorContext(c.Request.Context(), "token", "err", c.Request.Context().Err())
		c.AbortWithStatus(http.StatusInternalServerError)
	})
	r.GET("/broken", func(c *gin.Context) {
		defer func() { done <- struct{}{} }()
		log.ErrorContext(c.Request.Context(), "token", "err", errors.New("disk full"))
		c.AbortWithStatus(http.StatusInternalServerError)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/slow", nil)
	go func() { <-entered; cancel() }()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the canceled request got an answer")
	}
	<-done
	resp, err := http.Get(base + "/broken")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	<-done
	// The access log line is written after the handler returns.
	deadline := time.Now().Add(5 * time.Second)
	var lines []map[string]any
	for time.Now().Before(deadline) {
		if lines = buf.lines(t); len(lines) >= 4 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := map[string][2]any{} // path → level, status of the access line
	var handler []string
	for _, l := range lines {
		switch l["msg"] {
		case "http request":
			want[l["path"].(string)] = [2]any{l["level"], l["status"]}
		case "token":
			handler = append(handler, l["level"].(string)+map[bool]string{true: " gone", false: ""}[l["client_gone"] == true])
		}
	}
	if got := want["/slow"]; got != [2]any{"INFO", float64(StatusClientClosed)} {
		t.Errorf("access log of the abandoned request: %v, want INFO 499", got)
	}
	if got := want["/broken"]; got != [2]any{"ERROR", float64(500)} {
		t.Errorf("access log of the failed request: %v, want ERROR 500", got)
	}
	if strings.Join(handler, ",") != "INFO gone,ERROR" {
		t.Errorf("handler logs: %v, want the abandoned one demoted and the failure kept", handler)
	}
}
