package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// retentionTests: rows without an expiry of their own (raw auth events,
// the audit log) are kept as long as the operator's retention says, and
// swept in bounded batches.
var retentionTests = []subtest{
	{"OldAuthEventsGoRollupsStay", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		client := newID("client")
		const keep = 90 * 24 * time.Hour
		ages := map[string]time.Duration{"old": 120 * 24 * time.Hour, "just-old": keep + time.Hour,
			"just-kept": keep - time.Hour, "recent": time.Minute}
		for name, age := range ages {
			recordEvent(t, s, models.AuthEvent{ID: newID(name), At: at(-age), UserID: u.ID, ClientID: client,
				Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		}
		n, err := s.SweepRetained(t.Context(), store.Retention{AuthEvents: keep})
		must(t, err)
		if n < 2 {
			t.Errorf("swept %d rows, want at least 2", n)
		}
		got := eventAges(t, s, u.ID)
		if len(got) != 2 || got[0] != "recent" || got[1] != "just-kept" {
			t.Errorf("events left %q, want [recent just-kept]", got)
		}
		// The statistics keep counting the swept events: per-day rollups
		// are not touched by the raw events' retention.
		if total := dayTotal(t, s, client, at(-200*24*time.Hour)); total != 4 {
			t.Errorf("per-day rollups count %d events after the sweep, want 4", total)
		}
	}},
	{"OldAuditEntriesGoRecentStay", func(t *testing.T, s *store.Store) {
		target := newID("client")
		old := createAudit(t, s, target, at(-400*24*time.Hour))
		recent := createAudit(t, s, target, at(-10*24*time.Hour))
		_, err := s.SweepRetained(t.Context(), store.Retention{Audit: 365 * 24 * time.Hour})
		must(t, err)
		got := auditIDs(t, s, target)
		if len(got) != 1 || got[0] != recent.ID {
			t.Errorf("audit entries left %q, want only the recent %s (old %s)", got, recent.ID, old.ID)
		}
	}},
	{"ZeroRetentionKeepsEverything", func(t *testing.T, s *store.Store) {
		// Keeping the audit log forever is the default.
		target := newID("client")
		ancient := createAudit(t, s, target, at(-10*365*24*time.Hour))
		u := createUser(t, s)
		recordEvent(t, s, models.AuthEvent{ID: newID("old"), At: at(-5 * 365 * 24 * time.Hour), UserID: u.ID,
			ClientID: target, Method: models.MethodPasslink, Event: models.EventLogin, Result: models.ResultFailure})
		_, err := s.SweepRetained(t.Context(), store.Retention{})
		must(t, err)
		_, err = s.SweepExpiredOnce(t.Context(), 0, store.Retention{AuthEvents: 10 * 365 * 24 * time.Hour})
		must(t, err)
		if got := auditIDs(t, s, target); len(got) != 1 || got[0] != ancient.ID {
			t.Errorf("audit entries left %q, want %s kept", got, ancient.ID)
		}
		if got := eventAges(t, s, u.ID); len(got) != 1 {
			t.Errorf("auth events left %q, want the one kept", got)
		}
	}},
	{"BacklogLargerThanABatch", func(t *testing.T, s *store.Store) {
		// More than two full batches at the default batch size, and a
		// small batch size for the auth events, whose recording is dearer.
		target := newID("client")
		backlog := 2*store.SweepBatch + 5
		must(t, s.WithTx(t.Context(), func(ctx context.Context) error {
			for i := range backlog {
				e := &models.AuditEntry{ID: newID("aud"), At: at(-time.Duration(400+i%7) * 24 * time.Hour),
					ActorKind: models.ActorUser, Action: "client.update", TargetType: "client", TargetID: target}
				if err := s.CreateAuditEntry(ctx, e); err != nil {
					return err
				}
			}
			return nil
		}))
		recent := createAudit(t, s, target, at(-time.Hour))
		n, err := s.SweepRetained(t.Context(), store.Retention{Audit: 30 * 24 * time.Hour})
		must(t, err)
		if n < int64(backlog) {
			t.Errorf("swept %d rows, want at least %d", n, backlog)
		}
		if got := auditIDs(t, s, target); len(got) != 1 || got[0] != recent.ID {
			t.Errorf("%d audit entries left, want only the recent one", len(got))
		}

		u := createUser(t, s)
		for i := range 23 {
			recordEvent(t, s, models.AuthEvent{ID: newID("old"), At: at(-time.Duration(100+i) * 24 * time.Hour),
				UserID: u.ID, ClientID: target, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		}
		recordEvent(t, s, models.AuthEvent{ID: newID("recent"), At: at(-time.Minute), UserID: u.ID, ClientID: target,
			Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess})
		_, err = s.SweepExpiredOnce(t.Context(), 0, store.Retention{AuthEvents: 90 * 24 * time.Hour, Batch: 5})
		must(t, err)
		if got := eventAges(t, s, u.ID); len(got) != 1 || got[0] != "recent" {
			t.Errorf("auth events left %q, want only the recent one", got)
		}
	}},
}

func createAudit(t *testing.T, s *store.Store, target string, when time.Time) *models.AuditEntry {
	t.Helper()
	e := &models.AuditEntry{ID: newID("aud"), At: when, ActorID: "admin-1", ActorKind: models.ActorUser,
		Action: "client.update", TargetType: "client", TargetID: target}
	must(t, s.CreateAuditEntry(t.Context(), e))
	return e
}

// auditIDs lists a target's audit entries, newest first.
func auditIDs(t *testing.T, s *store.Store, target string) []string {
	t.Helper()
	list, err := s.ListAuditEntries(t.Context(), store.AuditFilter{TargetID: target}, 10*store.SweepBatch)
	must(t, err)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

// eventAges lists the name prefix of a user's auth events, newest first.
func eventAges(t *testing.T, s *store.Store, userID string) []string {
	t.Helper()
	list, err := s.ListAuthEvents(t.Context(), userID, 1000)
	must(t, err)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, e.ID[:len(e.ID)-len("-")-16])
	}
	return out
}

// dayTotal sums a client's per-day rollups since from.
func dayTotal(t *testing.T, s *store.Store, client string, from time.Time) int64 {
	t.Helper()
	rows, err := s.CountAuthEvents(t.Context(), store.CountQuery{Grain: 24 * time.Hour, From: from,
		To: at(24 * time.Hour), By: []string{"client_id"}})
	must(t, err)
	var n int64
	for _, r := range rows {
		if r.ClientID == client {
			n += r.Total
		}
	}
	return n
}
