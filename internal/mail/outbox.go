package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// OutboxStore is what the outbox needs of models/store (*store.Store
// implements it). Every time is passed in, so a test clock drives it.
type OutboxStore interface {
	EnqueueMail(ctx context.Context, m *models.OutboxMail) error
	DueMails(ctx context.Context, now time.Time, limit int) ([]models.OutboxMail, error)
	ClaimMail(ctx context.Context, id string, now, lease time.Time) error
	MarkMailSent(ctx context.Context, id string, lease, at time.Time) error
	RetryMail(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool) error
}

// OutboxOptions tune delivery; zero values take the defaults.
type OutboxOptions struct {
	// MaxAttempts is how many delivery attempts a mail gets before it is
	// marked failed (default 8: about 20 minutes of retries with the
	// default back-off, longer than a passlink lives).
	MaxAttempts int
	// BaseBackoff is the delay after the first failure (default 10s); it
	// doubles with each further failure up to MaxBackoff (default 10m).
	// The actual delay is drawn from [d/2, d] so that mails failed
	// together do not retry in lockstep.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// PollInterval is how often Run looks for due mails without a Kick
	// (default 2s): mails enqueued on another replica, and retries.
	PollInterval time.Duration
	// Lease is how long a claimed mail is reserved for its worker (default
	// 2m). It must be far longer than a send may take (the SMTP sender's
	// hard timeout, 30s by default): a send that overran it could be
	// repeated by another worker. It is also how long a mail claimed by a
	// worker that crashed waits before another worker retries it.
	Lease time.Duration
	// BatchSize is how many due mails one query fetches (default 20).
	BatchSize int
	Logger    *slog.Logger
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
}

func (o OutboxOptions) withDefaults() OutboxOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.BaseBackoff)
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// maxErrorLen bounds the stored last_error.
const maxErrorLen = 500

// markTimeout bounds recording a delivery's outcome; it runs even when the
// worker's context was cancelled right after a send, since a lost "sent"
// mark means a duplicate mail.
const markTimeout = 10 * time.Second

// Outbox stores mails and delivers them. It is safe for concurrent use;
// run one Run loop per replica.
type Outbox struct {
	st     OutboxStore
	sender Sender
	opts   OutboxOptions
	log    *slog.Logger
	kick   chan struct{}
}

// NewOutbox returns an outbox over st that delivers through sender.
func NewOutbox(st OutboxStore, sender Sender, opts OutboxOptions) *Outbox {
	opts = opts.withDefaults()
	return &Outbox{st: st, sender: sender, opts: opts, log: opts.Logger, kick: make(chan struct{}, 1)}
}

// Enqueue validates m and stores it as a pending mail due now. Pass the
// context of the caller's store transaction (WithTx) so the mail commits
// or rolls back with the rest; then, after the commit, call Kick. An
// invalid message (see Message.Validate) is refused before anything is
// stored.
func (o *Outbox) Enqueue(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	now := o.opts.Now()
	row := &models.OutboxMail{
		ID:            newMailID(),
		Kind:          m.Kind,
		ToAddress:     m.To,
		Subject:       m.Subject,
		TextBody:      m.Text,
		HTMLBody:      m.HTML,
		Status:        models.MailPending,
		NextAttemptAt: now,
		CreatedAt:     now,
	}
	if err := o.st.EnqueueMail(ctx, row); err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

// Kick wakes Run for an immediate delivery pass. It never blocks; kicks
// while a pass is pending coalesce. Kick after the enqueuing transaction
// has committed: a pass that runs before the commit does not see the mail
// (it is then sent on the next poll).
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Run delivers due mails until ctx is done: at once (so a restart sends
// what is due), then on every Kick and every PollInterval.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.kick:
		}
		// Each mail's outcome and store failures are logged where they
		// happen; the summary is for debugging only.
		if n, err := o.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			o.log.DebugContext(ctx, "mail delivery pass incomplete", "sent", n, "err", err)
		}
		t.Reset(o.opts.PollInterval)
	}
}

// DeliverDue makes one delivery pass: it claims each due mail with a
// lease, sends it, and records the outcome. It returns how many mails the
// SMTP server accepted and the errors met (failed sends, which are already
// scheduled for a retry or marked failed, and store errors).
//
// A temporary send failure ends the pass: the server is probably down, and
// the mails still due should not each spend an attempt on it; they are
// tried on the next pass.
func (o *Outbox) DeliverDue(ctx context.Context) (sent int, err error) {
	var errs []error
	for {
		due, err := o.st.DueMails(ctx, o.opts.Now(), o.opts.BatchSize)
		if err != nil {
			if ctx.Err() == nil {
				o.log.ErrorContext(ctx, "cannot list due mails", "err", err)
			}
			return sent, errors.Join(append(errs, fmt.Errorf("list due mails: %w", err))...)
		}
		for _, row := range due {
			if err := ctx.Err(); err != nil {
				return sent, errors.Join(append(errs, err)...)
			}
			ok, stop, err := o.deliver(ctx, row)
			if ok {
				sent++
			}
			if err != nil {
				errs = append(errs, err)
			}
			if stop {
				return sent, errors.Join(errs...)
			}
		}
		// Every row of a full batch is now sent, rescheduled, failed or
		// leased by another worker, so the next query makes progress.
		if len(due) < o.opts.BatchSize {
			return sent, errors.Join(errs...)
		}
	}
}

// deliver claims, sends and records one mail. ok reports the SMTP server
// accepted it; stop asks DeliverDue to end the pass.
func (o *Outbox) deliver(ctx context.Context, row models.OutboxMail) (ok, stop bool, err error) {
	now := o.opts.Now()
	lease := now.Add(o.opts.Lease)
	if err := o.st.ClaimMail(ctx, row.ID, now, lease); err != nil {
		if errors.Is(err, models.ErrConsumed) {
			return false, false, nil // another worker has it
		}
		if ctx.Err() == nil {
			o.log.ErrorContext(ctx, "cannot claim mail", "mail_id", row.ID, "err", err)
		}
		return false, true, err
	}
	sendErr := o.sender.Send(ctx, Message{
		ID: row.ID, To: row.ToAddress, Subject: row.Subject, Text: row.TextBody, HTML: row.HTMLBody, Kind: row.Kind,
	})
	// Record the outcome even if ctx was just cancelled (shutdown): a mail
	// that went out but is not marked would be sent again.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	attempts := row.Attempts + 1
	log := o.log.With("mail_id", row.ID, "kind", row.Kind, "attempt", attempts)

	if sendErr == nil {
		if err := o.st.MarkMailSent(mctx, row.ID, lease, o.opts.Now()); err != nil {
			// The at-least-once edge: the mail went out, but unless this
			// mark lands, it is due again when the lease expires.
			log.ErrorContext(ctx, "mail sent but not marked sent; it may be sent twice", "err", err)
			return true, true, fmt.Errorf("mark mail %s sent: %w", row.ID, err)
		}
		log.InfoContext(ctx, "mail sent")
		return true, false, nil
	}

	permanent := IsPermanent(sendErr)
	failed := permanent || attempts >= o.opts.MaxAttempts
	next := o.opts.Now().Add(o.backoff(attempts))
	if err := o.st.RetryMail(mctx, row.ID, lease, next, truncate(sendErr.Error(), maxErrorLen), failed); err != nil {
		log.ErrorContext(ctx, "mail not sent, and the failure not recorded", "err", sendErr, "record_err", err)
		return false, true, errors.Join(fmt.Errorf("send mail %s: %w", row.ID, sendErr), fmt.Errorf("record mail %s failure: %w", row.ID, err))
	}
	if failed {
		log.ErrorContext(ctx, "mail given up", "err", sendErr, "permanent", permanent)
	} else {
		log.WarnContext(ctx, "mail not sent, will retry", "err", sendErr, "next_attempt_at", next)
	}
	return false, !permanent, fmt.Errorf("send mail %s (attempt %d): %w", row.ID, attempts, sendErr)
}

// backoff is the delay before the attempt after the given number of failed
// ones: BaseBackoff doubling up to MaxBackoff, drawn from [d/2, d].
func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.opts.BaseBackoff
	for i := 1; i < attempts && d < o.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.opts.MaxBackoff)
	return d/2 + mrand.N(d/2+1)
}

func newMailID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
