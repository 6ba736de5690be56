package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestEventsAndCancelDeletionCommands: "sesame events list|export" search
// every user's sign-in events with the console's filters (user by
// address, client, result, dates; bad filters are usage errors), and
// "sesame user cancel-deletion" withdraws a user's own deletion request
// (audited as the CLI; nothing pending is refused) — on SQLite and
// PostgreSQL.
func TestEventsAndCancelDeletionCommands(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		run, st := dialectCLI(t, d)
		ctx := context.Background()
		mustOK(t, run("user", "create", "--email", "ev-ann@example.com"))
		ann, err := st.GetUserByEmail(ctx, "ev-ann@example.com")
		must(t, err)
		day := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
		for i, r := range []string{models.ResultSuccess, models.ResultFailure, models.ResultSuccess} {
			must(t, st.RecordAuthEvent(ctx, &models.AuthEvent{ID: "cli-ev-" + string(rune('a'+i)), At: day.Add(time.Duration(i) * 24 * time.Hour),
				UserID: ann.ID, ClientID: "cli-app", Method: models.MethodPasskey, Event: models.EventLogin, Result: r, IP: "203.0.113.9"}))
		}
		r := mustOK(t, run("events", "list", "--user", "ev-ann@example.com", "--result", "failure"))
		if !strings.Contains(r.stdout, "2026-11-04 09:00:00  ev-ann@example.com") || strings.Count(r.stdout, "\n") != 2 {
			t.Fatalf("events list:\n%s", r.stdout)
		}
		if r := mustOK(t, run("events", "list", "--client", "cli-app", "--since", "2026-11-04", "--until", "2026-11-04")); strings.Count(r.stdout, "\n") != 2 {
			t.Fatalf("one day of events:\n%s", r.stdout)
		}
		if r := mustOK(t, run("events", "list", "--user", "nobody@example.com")); !strings.Contains(r.stdout, "No sign-in events match.") {
			t.Fatalf("unknown address:\n%s", r.stdout)
		}
		if r := mustOK(t, run("events", "list", "--client", "cli-app", "--limit", "1")); !strings.Contains(r.stdout, "More events are older") {
			t.Fatalf("a limited list does not say more follow:\n%s", r.stdout)
		}
		for _, bad := range [][]string{{"--result", "maybe"}, {"--since", "yesterday"}} {
			if r := run(append([]string{"events", "list"}, bad...)...); r.code != exitUsage {
				t.Errorf("events list %v: %+v", bad, r)
			}
		}
		out := filepath.Join(t.TempDir(), "ann.jsonl")
		mustOK(t, run("events", "export", "--user", ann.ID, "--output", out))
		b, err := os.ReadFile(out)
		must(t, err)
		if strings.Count(string(b), "\n") != 3 || !strings.Contains(string(b), `"email":"ev-ann@example.com"`) {
			t.Fatalf("JSON Lines export:\n%s", b)
		}
		if r := mustOK(t, run("events", "export", "--client", "cli-app", "--result", "success")); !strings.HasPrefix(r.stdout, "at,event,result") || strings.Count(r.stdout, "\n") != 3 {
			t.Fatalf("CSV export:\n%s", r.stdout)
		}

		must(t, st.ScheduleUserDeletion(ctx, ann.ID, time.Now().Add(7*24*time.Hour)))
		if r := mustOK(t, run("user", "cancel-deletion", "ev-ann@example.com")); !strings.Contains(r.stdout, "is cancelled; the account stays") {
			t.Fatalf("cancel-deletion:\n%s", r.stdout)
		}
		if u, _ := st.GetUser(ctx, ann.ID); u.DeletionDueAt != nil {
			t.Fatal("the deletion is still scheduled")
		}
		if r := run("user", "cancel-deletion", ann.ID); r.code == 0 || !strings.Contains(r.stderr, "No deletion is scheduled") {
			t.Fatalf("nothing pending: %+v", r)
		}
		rows, err := st.ListAuditEntries(ctx, store.AuditFilter{Action: "user.deletion_cancelled", TargetID: ann.ID}, 5)
		must(t, err)
		if len(rows) != 1 || rows[0].ActorKind != models.ActorCLI || rows[0].BeforeJSON == "" || rows[0].AfterJSON != `{"deletion_due_at":null}` {
			t.Fatalf("audit: %+v", rows)
		}
	})
}
