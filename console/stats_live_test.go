package console_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestLiveFeedDeliversNewEvent reads /console/events as a browser's
// EventSource would and records a sign-in through the store (as any
// replica would): the stream carries it within seconds, found by the
// safety-net poll alone, or at once when woken (the server calls Wake on
// the store's change feed) with no poll in the test's lifetime.
func TestLiveFeedDeliversNewEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll time.Duration
		wake bool
	}{
		{"poll", 200 * time.Millisecond, false},
		{"wake", time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) { liveFeedDelivers(t, tc.poll, tc.wake) })
	}
}

func liveFeedDelivers(t *testing.T, poll time.Duration, wake bool) {
	st := storetest.OpenSQLite(t)
	svc := console.NewStatsService(st, console.StatsOptions{PollInterval: poll})
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/console/events", svc.ServeEvents)
	srv := httptest.NewServer(r)
	defer srv.Close()
	must(t, st.CreateUser(t.Context(), &models.User{ID: "u1", Email: "live@example.test"}))
	// An event before the page opened is not news.
	must(t, st.RecordAuthEvent(t.Context(), &models.AuthEvent{ID: "old", At: time.Now().Add(-time.Second), UserID: "u1",
		Method: models.MethodPasskey, Event: "login", Result: "success"}))

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/console/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer func() { _ = res.Body.Close() }()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(prefix string, within time.Duration) string {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended before %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q line within %v", prefix, within)
			}
		}
	}
	waitLine(": connected", 5*time.Second)

	start := time.Now()
	must(t, st.RecordAuthEvent(t.Context(), &models.AuthEvent{ID: "new", At: time.Now(), UserID: "u1",
		Method: models.MethodPasskey, Event: "login", Result: "success"}))
	if wake {
		svc.Wake()
	}
	waitLine("event: signin", 5*time.Second)
	data := strings.TrimPrefix(waitLine("data: ", time.Second), "data: ")
	var items []console.FeedItem
	must(t, json.Unmarshal([]byte(data), &items))
	if len(items) != 1 || items[0].ID != "new" || items[0].User != "live@example.test" || items[0].Event != "Signed in" {
		t.Fatalf("pushed %+v, want only the new sign-in of live@example.test", items)
	}
	t.Logf("sign-in on the stream %v after it was recorded", time.Since(start).Round(time.Millisecond))
}
