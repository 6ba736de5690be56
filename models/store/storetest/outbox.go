package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// newMail is a pending mail due now (at the store clock).
func newMail() *models.OutboxMail {
	return &models.OutboxMail{
		ID:            newID("mail"),
		Kind:          "passlink",
		ToAddress:     newID("to") + "@example.test",
		Subject:       "Your sign-in link",
		TextBody:      "Open https://id.example.test/login/link/" + randHex(32),
		HTMLBody:      "<p><a href=\"https://id.example.test/login/link/x\">Sign in</a></p>",
		Status:        models.MailPending,
		NextAttemptAt: at(-time.Second),
		CreatedAt:     at(-time.Second),
	}
}

func enqueueMail(t *testing.T, s *store.Store) *models.OutboxMail {
	t.Helper()
	m := newMail()
	must(t, s.EnqueueMail(t.Context(), m))
	return m
}

func getMail(t *testing.T, s *store.Store, id string) *models.OutboxMail {
	t.Helper()
	m, err := s.GetMail(t.Context(), id)
	must(t, err)
	return m
}

// dueIDs lists which of the given mails DueMails returns at now.
func dueIDs(t *testing.T, s *store.Store, now time.Time, ms ...*models.OutboxMail) map[string]bool {
	t.Helper()
	due, err := s.DueMails(t.Context(), now, 1000)
	must(t, err)
	ours := map[string]bool{}
	for _, m := range ms {
		ours[m.ID] = true
	}
	out := map[string]bool{}
	for _, d := range due {
		if ours[d.ID] {
			out[d.ID] = true
		}
	}
	return out
}

var outboxTests = []subtest{
	{"EnqueueGet", func(t *testing.T, s *store.Store) {
		m := enqueueMail(t, s)
		sameRow(t, m, getMail(t, s, m.ID))
		wantErr(t, "enqueue duplicate id", s.EnqueueMail(t.Context(), m), models.ErrAlreadyExists)
		_, err := s.GetMail(t.Context(), newID("missing"))
		wantErr(t, "get missing mail", err, models.ErrNotFound)
	}},
	{"EnqueueJoinsTransaction", func(t *testing.T, s *store.Store) {
		// "Request a passlink" and "enqueue its mail" commit together.
		u, m := newUser(), newMail()
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.CreateUser(ctx, u))
			must(t, s.EnqueueMail(ctx, m))
			return errBoom
		})
		wantErr(t, "WithTx", err, errBoom)
		_, err = s.GetMail(t.Context(), m.ID)
		wantErr(t, "mail enqueued in a rolled back transaction", err, models.ErrNotFound)

		must(t, s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.CreateUser(ctx, u))
			return s.EnqueueMail(ctx, m)
		}))
		getMail(t, s, m.ID)
	}},
	{"DueOnlyPendingUnleasedAndDue", func(t *testing.T, s *store.Store) {
		now := at(0)
		due := enqueueMail(t, s)
		later := newMail()
		later.NextAttemptAt = now.Add(time.Minute)
		must(t, s.EnqueueMail(t.Context(), later))
		leased := enqueueMail(t, s)
		must(t, s.ClaimMail(t.Context(), leased.ID, now, now.Add(2*time.Minute)))
		sent := enqueueMail(t, s)
		must(t, s.ClaimMail(t.Context(), sent.ID, now, now.Add(2*time.Minute)))
		must(t, s.MarkMailSent(t.Context(), sent.ID, now.Add(2*time.Minute), now))

		got := dueIDs(t, s, now, due, later, leased, sent)
		if !got[due.ID] || got[later.ID] || got[leased.ID] || got[sent.ID] || len(got) != 1 {
			t.Errorf("due now = %v, want only %s", got, due.ID)
		}
		// Three minutes on: the later one is due and the lease has expired.
		got = dueIDs(t, s, now.Add(3*time.Minute), due, later, leased, sent)
		if !got[due.ID] || !got[later.ID] || !got[leased.ID] || got[sent.ID] {
			t.Errorf("due in 3 minutes = %v, want %s, %s and %s", got, due.ID, later.ID, leased.ID)
		}
	}},
	{"ClaimRaceEachMailOnce", func(t *testing.T, s *store.Store) {
		// Workers on several replicas poll at once: every mail is claimed
		// by exactly one of them.
		const mails, workers = 24, 8
		now := at(0)
		ours := map[string]bool{}
		for range mails {
			ours[enqueueMail(t, s).ID] = true
		}
		due := func() ([]string, error) {
			ms, err := s.DueMails(t.Context(), now, 1000)
			ids := make([]string, len(ms))
			for i, m := range ms {
				ids[i] = m.ID
			}
			return ids, err
		}
		claimEachOnce(t, workers, ours, due, func(id string) error {
			return s.ClaimMail(t.Context(), id, now, now.Add(2*time.Minute))
		})
		// A claimed mail cannot be claimed again while the lease lives.
		for id := range ours {
			wantErr(t, "claim leased mail", s.ClaimMail(t.Context(), id, now.Add(time.Minute), now.Add(3*time.Minute)), models.ErrConsumed)
			break
		}
	}},
	{"ClaimSingleMailRace", func(t *testing.T, s *store.Store) {
		m := enqueueMail(t, s)
		now := at(0)
		errs := race(racers, func() error { return s.ClaimMail(t.Context(), m.ID, now, now.Add(time.Minute)) })
		exactlyOneWins(t, errs, models.ErrConsumed)
	}},
	{"ClaimRefusesNotDueAndFinished", func(t *testing.T, s *store.Store) {
		now := at(0)
		later := newMail()
		later.NextAttemptAt = now.Add(time.Minute)
		must(t, s.EnqueueMail(t.Context(), later))
		wantErr(t, "claim mail not yet due", s.ClaimMail(t.Context(), later.ID, now, now.Add(time.Minute)), models.ErrConsumed)
		wantErr(t, "claim unknown mail", s.ClaimMail(t.Context(), newID("missing"), now, now.Add(time.Minute)), models.ErrConsumed)

		m := enqueueMail(t, s)
		lease := now.Add(time.Minute)
		must(t, s.ClaimMail(t.Context(), m.ID, now, lease))
		must(t, s.RetryMail(t.Context(), m.ID, lease, now, "550 no such user", true))
		wantErr(t, "claim failed mail", s.ClaimMail(t.Context(), m.ID, now.Add(time.Hour), now.Add(2*time.Hour)), models.ErrConsumed)
	}},
	{"MarkSent", func(t *testing.T, s *store.Store) {
		m := enqueueMail(t, s)
		now, lease := at(0), at(2*time.Minute)
		must(t, s.ClaimMail(t.Context(), m.ID, now, lease))
		must(t, s.MarkMailSent(t.Context(), m.ID, lease, now.Add(time.Second)))
		got := getMail(t, s, m.ID)
		if got.Status != models.MailSent || got.Attempts != 1 || got.LockedUntil != nil || got.SentAt == nil {
			t.Fatalf("after MarkMailSent: status %q attempts %d lease %v sent %v", got.Status, got.Attempts, got.LockedUntil, got.SentAt)
		}
		sameTime(t, "SentAt", now.Add(time.Second), *got.SentAt)
		// The bodies may hold a live sign-in link: gone once sent.
		if got.TextBody != "" || got.HTMLBody != "" {
			t.Errorf("bodies kept after sending: %q / %q", got.TextBody, got.HTMLBody)
		}
		if got.ToAddress != m.ToAddress || got.Subject != m.Subject || got.Kind != m.Kind {
			t.Errorf("envelope changed: %+v", got)
		}
		// Marking twice is a lost lease, not a second delivery.
		wantErr(t, "mark sent twice", s.MarkMailSent(t.Context(), m.ID, lease, now), models.ErrConsumed)
	}},
	{"LeaseIsFencingToken", func(t *testing.T, s *store.Store) {
		// Worker A overran its lease; B claimed the mail. A may no longer
		// mark it (sent or retry); B may.
		m := enqueueMail(t, s)
		now := at(0)
		leaseA := now.Add(time.Minute)
		must(t, s.ClaimMail(t.Context(), m.ID, now, leaseA))
		nowB := now.Add(2 * time.Minute)
		leaseB := nowB.Add(time.Minute)
		must(t, s.ClaimMail(t.Context(), m.ID, nowB, leaseB))
		wantErr(t, "A marks sent", s.MarkMailSent(t.Context(), m.ID, leaseA, nowB), models.ErrConsumed)
		wantErr(t, "A schedules retry", s.RetryMail(t.Context(), m.ID, leaseA, nowB, "x", false), models.ErrConsumed)
		must(t, s.MarkMailSent(t.Context(), m.ID, leaseB, nowB))
		if got := getMail(t, s, m.ID); got.Attempts != 1 {
			t.Errorf("attempts = %d, want 1 (A's marks must not count)", got.Attempts)
		}
	}},
	{"RetryScheduling", func(t *testing.T, s *store.Store) {
		m := enqueueMail(t, s)
		now := at(0)
		lease := now.Add(2 * time.Minute)
		must(t, s.ClaimMail(t.Context(), m.ID, now, lease))
		next := now.Add(10 * time.Second)
		must(t, s.RetryMail(t.Context(), m.ID, lease, next, "dial tcp: connection refused", false))
		got := getMail(t, s, m.ID)
		if got.Status != models.MailPending || got.Attempts != 1 || got.LockedUntil != nil || got.LastError != "dial tcp: connection refused" {
			t.Fatalf("after RetryMail: %+v", got)
		}
		sameTime(t, "NextAttemptAt", next, got.NextAttemptAt)
		if got.TextBody != m.TextBody {
			t.Error("a mail waiting for a retry lost its body")
		}
		// Not due before the next attempt; due (and claimable) after it.
		if dueIDs(t, s, now.Add(5*time.Second), m)[m.ID] {
			t.Error("mail due before its next attempt")
		}
		wantErr(t, "claim before next attempt", s.ClaimMail(t.Context(), m.ID, now.Add(5*time.Second), now.Add(time.Minute)), models.ErrConsumed)
		lease2 := next.Add(2 * time.Minute)
		must(t, s.ClaimMail(t.Context(), m.ID, next, lease2))
		must(t, s.RetryMail(t.Context(), m.ID, lease2, next, strings.Repeat("e", 100), true))
		got = getMail(t, s, m.ID)
		if got.Status != models.MailFailed || got.Attempts != 2 || got.TextBody != "" || got.HTMLBody != "" {
			t.Errorf("after the last attempt: status %q attempts %d bodies %q/%q", got.Status, got.Attempts, got.TextBody, got.HTMLBody)
		}
		if dueIDs(t, s, now.Add(time.Hour), m)[m.ID] {
			t.Error("failed mail still due")
		}
	}},
	{"CountMails", func(t *testing.T, s *store.Store) {
		before, err := s.CountMails(t.Context(), models.MailPending)
		must(t, err)
		enqueueMail(t, s)
		enqueueMail(t, s)
		after, err := s.CountMails(t.Context(), models.MailPending)
		must(t, err)
		if after != before+2 {
			t.Errorf("pending count %d → %d, want +2", before, after)
		}
	}},
	{"Sweep", func(t *testing.T, s *store.Store) {
		// Finished mails older than the retention go; pending ones and
		// recent finished ones stay.
		old := -store.MailRetention - time.Hour
		mk := func(created time.Duration, status string) *models.OutboxMail {
			m := newMail()
			m.CreatedAt = at(created)
			m.NextAttemptAt = m.CreatedAt
			must(t, s.EnqueueMail(t.Context(), m))
			if status == models.MailPending {
				return m
			}
			now, lease := at(0), at(time.Minute)
			must(t, s.ClaimMail(t.Context(), m.ID, now, lease))
			if status == models.MailSent {
				must(t, s.MarkMailSent(t.Context(), m.ID, lease, now))
			} else {
				must(t, s.RetryMail(t.Context(), m.ID, lease, now, "550", true))
			}
			return m
		}
		oldSent, oldFailed, oldPending := mk(old, models.MailSent), mk(old, models.MailFailed), mk(old, models.MailPending)
		newSent, newFailed := mk(-time.Hour, models.MailSent), mk(-time.Hour, models.MailFailed)

		n, err := s.SweepExpired(t.Context(), 0)
		must(t, err)
		if n < 2 {
			t.Errorf("swept %d rows, want at least 2", n)
		}
		for _, m := range []*models.OutboxMail{oldSent, oldFailed} {
			_, err := s.GetMail(t.Context(), m.ID)
			wantErr(t, "old finished mail", err, models.ErrNotFound)
		}
		for _, m := range []*models.OutboxMail{oldPending, newSent, newFailed} {
			_, err := s.GetMail(t.Context(), m.ID)
			wantErr(t, "pending or recent mail", err, nil)
		}
	}},
}

// claimEachOnce races workers that each list the due rows and claim every
// one of ours, and checks that each of ours was claimed exactly once (the
// lease protocol of every outbox table).
func claimEachOnce(t *testing.T, workers int, ours map[string]bool, due func() ([]string, error), claim func(id string) error) {
	t.Helper()
	var mu sync.Mutex
	claims := map[string]int{}
	errs := race(workers, func() error {
		ids, err := due()
		if err != nil {
			return err
		}
		for _, id := range ids {
			if !ours[id] {
				continue
			}
			switch err := claim(id); {
			case err == nil:
				mu.Lock()
				claims[id]++
				mu.Unlock()
			case !errors.Is(err, models.ErrConsumed):
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		must(t, err)
	}
	for id := range ours {
		if claims[id] != 1 {
			t.Errorf("row %s claimed %d times, want 1", id, claims[id])
		}
	}
}
