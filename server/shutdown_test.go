package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestShutdownDrainsThenCloses: on shutdown a probed server fails /readyz
// first and keeps serving for the drain delay (so a load balancer moves
// traffic away before connections are refused), and an open console live
// feed ends at once instead of holding shutdown for its whole timeout.
func TestShutdownDrainsThenCloses(t *testing.T) {
	const drain = 600 * time.Millisecond
	env := servertest.New(t, servertest.With(func(c *config.Config) {
		c.ShutdownDrainDelay = drain
		c.ShutdownTimeout = 30 * time.Second
	}))
	ctx := context.Background()
	admin := env.CreateUser("admin@example.com")
	if err := env.Store.SetUserRole(ctx, admin.ID, models.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	b := env.Browser()
	env.Login(b, admin.ID, []string{"pop", "user", "mfa"}, models.ACRPhishingResistant, time.Now())

	// The same server on a second listener, run by Serve as `sesame serve`
	// does (cookies are per host, so the session works on either port).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	run, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- env.Server.Serve(run, ln) }()

	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status("/readyz"); s != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %d", s)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/console/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	stream, err := b.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK || stream.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("open the live feed: %v %v", err, stream)
	}
	defer stream.Body.Close()
	if line, _ := bufio.NewReader(stream.Body).ReadString('\n'); !strings.HasPrefix(line, "retry:") {
		t.Fatalf("live feed began with %q", line)
	}

	begun := time.Now()
	stop()
	// While draining, /readyz fails but the listener still answers.
	sawDraining := false
	for time.Since(begun) < drain/2 {
		if s := status("/readyz"); s == http.StatusServiceUnavailable {
			sawDraining = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawDraining {
		t.Fatal("/readyz did not fail at the start of the drain")
	}
	if s := status("/healthz"); s != http.StatusOK {
		t.Fatalf("/healthz during the drain: %d, want the server still serving", s)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown held by the open live feed")
	}
	if took := time.Since(begun); took < drain {
		t.Fatalf("stopped after %s, before the drain delay %s", took, drain)
	}
	if _, err := io.ReadAll(stream.Body); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Logf("live feed ended with %v", err)
	}
	if s := status("/healthz"); s != -1 {
		t.Fatalf("after shutdown the listener still answers: %d", s)
	}
}
