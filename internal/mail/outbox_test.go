package mail_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// mailsIn counts the outbox mails in a status.
func mailsIn(t *testing.T, st *store.Store, status string) int64 {
	t.Helper()
	n, err := st.CountMails(t.Context(), status)
	must(t, err)
	return n
}

// soleMail returns the one mail still due (looking a day ahead).
func soleMail(t *testing.T, st *store.Store) *models.OutboxMail {
	t.Helper()
	due, err := st.DueMails(t.Context(), time.Now().Add(24*time.Hour), 10)
	must(t, err)
	if len(due) != 1 {
		t.Fatalf("%d due mails, want 1", len(due))
	}
	return &due[0]
}

// TestOutboxSMTPDownThenUpExactlyOnce: the SMTP server is down when the
// passlink is requested; the mail waits in the outbox and arrives exactly
// once when the server is back.
func TestOutboxSMTPDownThenUpExactlyOnce(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		srv := mailtest.Start(t)
		srv.Stop()
		clk := storetest.NewClock()
		ob := mail.NewOutbox(st, mail.NewSMTPSender(srv.SMTPConfig(from)), mail.OutboxOptions{Now: clk.Now})

		must(t, ob.Enqueue(t.Context(), passlinkMessage("zoe@example.test")))
		sent, err := ob.DeliverDue(t.Context())
		if sent != 0 || err == nil {
			t.Fatalf("DeliverDue with SMTP down = %d, %v; want 0 and an error", sent, err)
		}
		m := soleMail(t, st)
		if m.Status != models.MailPending || m.Attempts != 1 || m.LastError == "" || m.LockedUntil != nil {
			t.Fatalf("after the failed attempt: status %q attempts %d last error %q lease %v", m.Status, m.Attempts, m.LastError, m.LockedUntil)
		}
		if d := m.NextAttemptAt.Sub(clk.Now()); d < 5*time.Second || d > 10*time.Second {
			t.Errorf("retry scheduled in %s, want 5s…10s (10s back-off with jitter)", d)
		}

		// Not due yet: nothing happens, even with the server back.
		srv.Start()
		sent, err = ob.DeliverDue(t.Context())
		if sent != 0 || err != nil {
			t.Fatalf("DeliverDue before the retry is due = %d, %v", sent, err)
		}

		clk.Advance(11 * time.Second)
		sent, err = ob.DeliverDue(t.Context())
		must(t, err)
		if sent != 1 {
			t.Fatalf("DeliverDue after the back-off sent %d, want 1", sent)
		}
		msgs := srv.WaitFor(t, 1, 5*time.Second)
		if links := msgs[0].Links(); len(links) != 1 || links[0] != longLink {
			t.Errorf("delivered links %q", links)
		}

		// Later passes send nothing more.
		for range 3 {
			clk.Advance(time.Hour)
			sent, err = ob.DeliverDue(t.Context())
			if sent != 0 || err != nil {
				t.Fatalf("later DeliverDue = %d, %v; want 0, nil", sent, err)
			}
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("%d mails received, want exactly 1", n)
		}
		if n := mailsIn(t, st, models.MailSent); n != 1 {
			t.Errorf("%d mails marked sent, want 1", n)
		}
	})
}

// TestOutboxWorkersDeliverEachMailOnce: two replicas' workers polling the
// same database at once deliver every mail exactly once.
func TestOutboxWorkersDeliverEachMailOnce(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		const mails = 30
		srv := mailtest.Start(t)
		sender := mail.NewSMTPSender(srv.SMTPConfig(from))
		opts := mail.OutboxOptions{BatchSize: 7} // several batches per pass
		a, b := mail.NewOutbox(st, sender, opts), mail.NewOutbox(st, sender, opts)
		for i := range mails {
			must(t, a.Enqueue(t.Context(), passlinkMessage(fmt.Sprintf("user%d@example.test", i))))
		}

		var total atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, ob := range []*mail.Outbox{a, b, a, b} {
			wg.Go(func() {
				<-start
				n, err := ob.DeliverDue(t.Context())
				if err != nil {
					t.Errorf("DeliverDue: %v", err)
				}
				total.Add(int64(n))
			})
		}
		close(start)
		wg.Wait()

		if total.Load() != mails {
			t.Errorf("workers report %d sent, want %d", total.Load(), mails)
		}
		msgs := srv.WaitFor(t, mails, 10*time.Second)
		time.Sleep(100 * time.Millisecond) // a duplicate would arrive now
		msgs = srv.Messages()
		seen := map[string]int{}
		for _, m := range msgs {
			seen[m.Header.Get("Message-Id")]++
		}
		if len(msgs) != mails || len(seen) != mails {
			t.Errorf("received %d mails with %d distinct Message-IDs, want %d each once", len(msgs), len(seen), mails)
		}
		if n := mailsIn(t, st, models.MailSent); n != mails {
			t.Errorf("%d mails marked sent, want %d", n, mails)
		}
	})
}

// TestOutboxCrashAfterClaimRetriesAfterLease: a worker that claimed a mail
// and died (before or after handing it to SMTP) blocks it only until its
// lease expires; then another worker sends it. This is the documented
// at-least-once edge: had the dead worker's send gone through, this is the
// second copy (with the same Message-ID).
func TestOutboxCrashAfterClaimRetriesAfterLease(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		srv := mailtest.Start(t)
		clk := storetest.NewClock()
		ob := mail.NewOutbox(st, mail.NewSMTPSender(srv.SMTPConfig(from)), mail.OutboxOptions{Now: clk.Now, Lease: 2 * time.Minute})
		must(t, ob.Enqueue(t.Context(), passlinkMessage("zoe@example.test")))
		m := soleMail(t, st)
		// The worker that "crashed" claimed it.
		must(t, st.ClaimMail(t.Context(), m.ID, clk.Now(), clk.Now().Add(2*time.Minute)))

		if sent, err := ob.DeliverDue(t.Context()); sent != 0 || err != nil {
			t.Fatalf("DeliverDue during the lease = %d, %v; want 0", sent, err)
		}
		clk.Advance(time.Minute)
		if sent, err := ob.DeliverDue(t.Context()); sent != 0 || err != nil {
			t.Fatalf("DeliverDue a minute into the lease = %d, %v; want 0", sent, err)
		}
		clk.Advance(61 * time.Second)
		sent, err := ob.DeliverDue(t.Context())
		must(t, err)
		if sent != 1 {
			t.Fatalf("DeliverDue after the lease = %d, want 1", sent)
		}
		got := srv.WaitFor(t, 1, 5*time.Second)[0]
		if id := got.Header.Get("Message-Id"); id != "<"+m.ID+"@localhost>" {
			t.Errorf("Message-ID %q, want the outbox id", id)
		}
		if sent, _ := ob.DeliverDue(t.Context()); sent != 0 {
			t.Errorf("sent again: %d", sent)
		}
	})
}

// flakySender fails the first n sends (temporarily), then delegates.
type flakySender struct {
	mu    sync.Mutex
	fails int
	err   error
	calls int
	next  mail.Sender
}

func (f *flakySender) Send(ctx context.Context, m mail.Message) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.fails
	f.mu.Unlock()
	if fail {
		return f.err
	}
	if f.next == nil {
		return nil
	}
	return f.next.Send(ctx, m)
}

func TestOutboxBackoffThenGiveUp(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		clk := storetest.NewClock()
		sender := &flakySender{fails: 1000, err: errors.New("421 service not available")}
		ob := mail.NewOutbox(st, sender, mail.OutboxOptions{
			Now: clk.Now, MaxAttempts: 5, BaseBackoff: 10 * time.Second, MaxBackoff: 60 * time.Second,
		})
		must(t, ob.Enqueue(t.Context(), passlinkMessage("zoe@example.test")))
		id := soleMail(t, st).ID

		// Back-off doubles from 10s, capped at 60s, each drawn from [d/2, d].
		for attempt, d := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 60 * time.Second} {
			if _, err := ob.DeliverDue(t.Context()); err == nil {
				t.Fatalf("attempt %d: DeliverDue reported no error", attempt+1)
			}
			m, err := st.GetMail(t.Context(), id)
			must(t, err)
			if m.Status != models.MailPending || m.Attempts != attempt+1 || m.LastError != "421 service not available" {
				t.Fatalf("after attempt %d: status %q attempts %d error %q", attempt+1, m.Status, m.Attempts, m.LastError)
			}
			wait := m.NextAttemptAt.Sub(clk.Now())
			if wait < d/2 || wait > d {
				t.Errorf("after attempt %d: next attempt in %s, want %s…%s", attempt+1, wait, d/2, d)
			}
			clk.Advance(wait)
		}
		// The fifth attempt is the last.
		if _, err := ob.DeliverDue(t.Context()); err == nil {
			t.Fatal("last attempt: no error")
		}
		m, err := st.GetMail(t.Context(), id)
		must(t, err)
		if m.Status != models.MailFailed || m.Attempts != 5 || m.TextBody != "" || m.HTMLBody != "" {
			t.Errorf("after the last attempt: status %q attempts %d bodies %q/%q", m.Status, m.Attempts, m.TextBody, m.HTMLBody)
		}
		clk.Advance(time.Hour)
		if sent, err := ob.DeliverDue(t.Context()); sent != 0 || err != nil {
			t.Errorf("DeliverDue after giving up = %d, %v", sent, err)
		}
		if sender.calls != 5 {
			t.Errorf("sender called %d times, want 5", sender.calls)
		}
	})
}

// TestOutboxPermanentFailureGivesUpAtOnce: 550 "no such user" is not
// retried, and does not hold up the other mails of the pass.
func TestOutboxPermanentFailureGivesUpAtOnce(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		srv := mailtest.Start(t, mailtest.WithRcptCheck(func(to string) error {
			if to == "nobody@example.test" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}
			return nil
		}))
		clk := storetest.NewClock()
		ob := mail.NewOutbox(st, mail.NewSMTPSender(srv.SMTPConfig(from)), mail.OutboxOptions{Now: clk.Now})
		must(t, ob.Enqueue(t.Context(), passlinkMessage("nobody@example.test")))
		clk.Advance(time.Millisecond) // due first
		must(t, ob.Enqueue(t.Context(), passlinkMessage("zoe@example.test")))

		sent, err := ob.DeliverDue(t.Context())
		if sent != 1 || err == nil {
			t.Fatalf("DeliverDue = %d, %v; want 1 sent and the 550 reported", sent, err)
		}
		if n := mailsIn(t, st, models.MailFailed); n != 1 {
			t.Errorf("%d failed mails, want 1", n)
		}
		if n := mailsIn(t, st, models.MailPending); n != 0 {
			t.Errorf("%d pending mails, want 0", n)
		}
		if got := srv.WaitFor(t, 1, 5*time.Second); got[0].To[0] != "zoe@example.test" {
			t.Errorf("delivered to %q", got[0].To)
		}
	})
}

// TestOutboxEnqueueCommitsWithTheCaller: a mail enqueued in a transaction
// that rolls back is never sent; one that commits is.
func TestOutboxEnqueueCommitsWithTheCaller(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		srv := mailtest.Start(t)
		ob := mail.NewOutbox(st, mail.NewSMTPSender(srv.SMTPConfig(from)), mail.OutboxOptions{})
		boom := errors.New("boom")
		err := st.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, ob.Enqueue(ctx, passlinkMessage("rolled-back@example.test")))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx = %v", err)
		}
		must(t, st.WithTx(t.Context(), func(ctx context.Context) error {
			return ob.Enqueue(ctx, passlinkMessage("committed@example.test"))
		}))
		sent, err := ob.DeliverDue(t.Context())
		must(t, err)
		if sent != 1 {
			t.Fatalf("sent %d, want 1", sent)
		}
		if got := srv.WaitFor(t, 1, 5*time.Second); len(got) != 1 || got[0].To[0] != "committed@example.test" {
			t.Errorf("delivered %d mails, first to %q", len(got), got[0].To)
		}
	})
}

// TestOutboxRunDeliversOnStartAndKick: Run sends what was due before it
// started (a restart) at once, and a new mail as soon as it is kicked, not
// at the next poll; each exactly once.
func TestOutboxRunDeliversOnStartAndKick(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		srv := mailtest.Start(t)
		sender := mail.NewSMTPSender(srv.SMTPConfig(from))
		before := mail.NewOutbox(st, sender, mail.OutboxOptions{})
		must(t, before.Enqueue(t.Context(), passlinkMessage("before-restart@example.test")))

		ob := mail.NewOutbox(st, sender, mail.OutboxOptions{PollInterval: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			ob.Run(ctx)
		}()
		srv.WaitFor(t, 1, 5*time.Second)

		must(t, ob.Enqueue(t.Context(), passlinkMessage("after-start@example.test")))
		ob.Kick()
		ob.Kick() // kicks coalesce and never block
		got := srv.WaitFor(t, 2, 5*time.Second)
		if got[0].To[0] != "before-restart@example.test" || got[1].To[0] != "after-start@example.test" {
			t.Errorf("delivered to %q then %q", got[0].To, got[1].To)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		if n := len(srv.Messages()); n != 2 {
			t.Errorf("%d mails received, want 2", n)
		}
	})
}

// TestOutboxCancelledAfterSendStillMarksSent: a shutdown that cancels the
// context while a mail is being sent must not lose the "sent" mark (that
// would mean a duplicate after the lease).
func TestOutboxCancelledAfterSendStillMarksSent(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithCancel(t.Context())
		sender := senderFunc(func(context.Context, mail.Message) error {
			cancel() // shutdown arrives right as the server accepts the mail
			return nil
		})
		ob := mail.NewOutbox(st, sender, mail.OutboxOptions{})
		must(t, ob.Enqueue(t.Context(), passlinkMessage("zoe@example.test")))
		sent, _ := ob.DeliverDue(ctx)
		if sent != 1 {
			t.Fatalf("sent %d, want 1", sent)
		}
		if n := mailsIn(t, st, models.MailSent); n != 1 {
			t.Errorf("%d mails marked sent, want 1", n)
		}
	})
}

type senderFunc func(context.Context, mail.Message) error

func (f senderFunc) Send(ctx context.Context, m mail.Message) error { return f(ctx, m) }
