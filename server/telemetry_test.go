package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/telemetry/telemetrytest"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/server"
)

// TestMetricsListen: metrics_listen serves /metrics alone (no other
// route), without a token unless metrics_token is set; the main listener
// has no /metrics without metrics_token (404), and with it requires the
// bearer token.
func TestMetricsListen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token string
	}{{"NoToken", ""}, {"Token", "metrics-token-0123456789abcdef"}} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := storetest.OpenSQLiteURL(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			cfg.Dev, cfg.DataDir, cfg.Listen = true, t.TempDir(), ln.Addr().String()
			cfg.Issuer = "http://localhost:" + portOf(t, ln.Addr().String())
			cfg.MetricsListen, cfg.MetricsToken = "127.0.0.1:0", tc.token
			s, err := server.New(context.Background(), server.Deps{Config: cfg, Store: st, Secret: []byte("test-system-secret-0123456789-abcdefghijklmnopqrstuvwxyz"),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx, ln) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			})
			var addr string
			for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				addr = s.MetricsAddr()
			}
			if addr == "" {
				t.Fatal("metrics_listen never opened")
			}
			main := "http://" + ln.Addr().String()
			wantMain := http.StatusNotFound
			if tc.token != "" {
				wantMain = http.StatusUnauthorized
			}
			for _, c := range []struct {
				url  string
				want int
			}{
				{main + "/metrics", wantMain},
				{"http://" + addr + "/healthz", http.StatusNotFound},
				{"http://" + addr + "/oauth2/jwks", http.StatusNotFound},
			} {
				if got := status(t, c.url); got != c.want {
					t.Errorf("GET %s: %d, want %d", c.url, got, c.want)
				}
			}
			if tc.token != "" {
				if got := status(t, "http://"+addr+"/metrics"); got != http.StatusUnauthorized {
					t.Errorf("metrics_listen without the token: %d, want 401", got)
				}
				sc := telemetrytest.Get(t, main+"/metrics", tc.token)
				if v, ok := sc.Value("sesame_build_info", nil); !ok || v != 1 {
					t.Errorf("main listener's /metrics with the token: no build info")
				}
			}
			sc := telemetrytest.Get(t, "http://"+addr+"/metrics", tc.token)
			for _, name := range []string{"sesame_build_info", "sesame_change_feed_listening", "go_sql_open_connections", "process_start_time_seconds"} {
				if _, ok := sc.Value(name, nil); !ok {
					t.Errorf("metrics_listen's scrape lacks %s", name)
				}
			}
		})
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
