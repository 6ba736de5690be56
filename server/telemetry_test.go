package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/internal/telemetry"
	"github.com/sesame-idp/sesame/internal/telemetry/telemetrytest"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/server/servertest"
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

// TestOutboxMetricsAndSMTPSpan: a mail waiting in the outbox shows as
// pending with its age at the next scrape; once the outbox delivers it
// to a real SMTP server it is counted as sent, nothing is pending, and
// the delivery is an "smtp send" client span.
func TestOutboxMetricsAndSMTPSpan(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		exp := tracetest.NewInMemoryExporter()
		tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Exporter: exp})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
		smtp := mailtest.Start(t)
		const token = "metrics-token-0123456789abcdef"
		env := servertest.NewTraced(t, tr, append(opts, servertest.SMTP(smtp), servertest.With(func(c *config.Config) { c.MetricsToken = token }))...)
		if err := env.Server.Outbox().Enqueue(context.Background(), mail.Message{To: "ops@example.com", Subject: "Hello", Text: "hi", Kind: "test"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // an age above zero
		sc := telemetrytest.Get(t, env.Issuer+"/metrics", token)
		if v, _ := sc.Value("sesame_mail_outbox_mails", map[string]string{"status": "pending"}); v != 1 {
			t.Fatalf("pending mails %v, want 1", v)
		}
		if v, _ := sc.Value("sesame_mail_outbox_oldest_pending_age_seconds", nil); v <= 0 || v > 60 {
			t.Fatalf("oldest pending age %v s, want a few milliseconds", v)
		}
		env.DeliverMail()
		smtp.WaitFor(t, 1, 10*time.Second)
		var pending, sent float64
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			sc = telemetrytest.Get(t, env.Issuer+"/metrics", token)
			pending, _ = sc.Value("sesame_mail_outbox_mails", map[string]string{"status": "pending"})
			sent, _ = sc.Value("sesame_mail_outbox_mails", map[string]string{"status": "sent"})
			if pending == 0 && sent == 1 {
				break
			}
		}
		if pending != 0 || sent != 1 {
			t.Fatalf("after delivery: %v pending, %v sent; want 0 and 1", pending, sent)
		}
		if v, _ := sc.Value("sesame_mail_outbox_oldest_pending_age_seconds", nil); v != 0 {
			t.Fatalf("oldest pending age %v with nothing pending, want 0", v)
		}
		var smtpSpans int
		for _, s := range exp.GetSpans() {
			if s.Name == "smtp send" {
				smtpSpans++
				if s.SpanKind != trace.SpanKindClient || s.Status.Code == codes.Error {
					t.Errorf("smtp span kind %v status %v", s.SpanKind, s.Status)
				}
			}
		}
		if smtpSpans != 1 {
			t.Fatalf("%d smtp send spans, want 1", smtpSpans)
		}
	})
}
