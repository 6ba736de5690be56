// Package outbox delivers rows of an outbox table — things to send that
// were written in the same transaction as what caused them — to the
// outside world, at least once, across replicas: the mail outbox
// (internal/mail) and the back-channel logout outbox (oidc) both run on it.
//
// The lease protocol. A worker lists due rows, claims each with a lease
// (one conditional UPDATE: of several workers on any replica exactly one
// wins), delivers it, and records the outcome under that lease (the lease
// value is its fencing token): sent, or a retry after an exponential
// back-off with jitter, or failed after MaxAttempts or at once on a
// permanent error. A worker that crashes after its claim leaves the row to
// be retried when the lease expires; one that crashes after a delivery but
// before its mark makes the row be delivered again (at least once): the
// receiver must tolerate a repeat, which each row's stable id lets it spot.
// The lease must be far longer than a delivery may take.
//
// The package knows neither the tables nor what is delivered: a Table
// wires the store's four methods, and a delivery function does the work.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// Table is one outbox table's lease protocol, as the store offers it (see
// store.DueMails, ClaimMail, MarkMailSent and RetryMail for the contract).
type Table[R any] struct {
	Due      func(ctx context.Context, now time.Time, limit int) ([]R, error)
	Claim    func(ctx context.Context, id string, now, lease time.Time) error
	MarkSent func(ctx context.Context, id string, lease, at time.Time) error
	Retry    func(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool) error
	// Key returns a row's id and the delivery attempts it has had.
	Key func(R) (id string, attempts int)
}

// Options tune delivery; zero values take the defaults.
type Options struct {
	// Name names the outbox in logs ("mail", "logout").
	Name string
	// MaxAttempts is how many delivery attempts a row gets before it is
	// marked failed (default 8: about 20 minutes of retries with the
	// default back-off).
	MaxAttempts int
	// BaseBackoff is the delay after the first failure (default 10s); it
	// doubles with each further failure up to MaxBackoff (default 10m).
	// The actual delay is drawn from [d/2, d] so that rows failed
	// together do not retry in lockstep.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// PollInterval is how often Run looks for due rows without a Kick
	// (default 2s): rows written on another replica, and retries.
	PollInterval time.Duration
	// Lease is how long a claimed row is reserved for its worker (default
	// 2m). It must be far longer than a delivery may take, or another
	// worker could repeat it; it is also how long a row claimed by a
	// worker that crashed waits before another worker retries it.
	Lease time.Duration
	// BatchSize is how many due rows one query fetches (default 20).
	BatchSize int
	// Permanent reports a delivery error that no retry can cure (the row
	// fails at once); nil treats every error as temporary.
	Permanent func(error) bool
	// StopOnTemporary ends a pass at the first temporary failure: right
	// when every row goes to the same server (SMTP), which is probably
	// down, wrong when each row goes to another (logout URIs).
	StopOnTemporary bool
	Logger          *slog.Logger
	// Now is the clock (default time.Now); tests pass a fake one.
	Now func() time.Time
}

// WithDefaults fills the zero values.
func (o Options) WithDefaults() Options {
	if o.Name == "" {
		o.Name = "outbox"
	}
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
	if o.Permanent == nil {
		o.Permanent = func(error) bool { return false }
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
// worker's context was cancelled right after a delivery, since a lost
// "sent" mark means a repeat.
const markTimeout = 10 * time.Second

// Pump delivers the due rows of one table. It is safe for concurrent use;
// run one Run loop per replica.
type Pump[R any] struct {
	t       Table[R]
	deliver func(context.Context, R) error
	opts    Options
	log     *slog.Logger
	kick    chan struct{}
}

// New returns a pump over t that hands each claimed row to deliver.
func New[R any](t Table[R], deliver func(context.Context, R) error, opts Options) *Pump[R] {
	opts = opts.WithDefaults()
	return &Pump[R]{t: t, deliver: deliver, opts: opts, log: opts.Logger, kick: make(chan struct{}, 1)}
}

// Now is the pump's clock (for stamping new rows).
func (p *Pump[R]) Now() time.Time { return p.opts.Now() }

// Kick wakes Run for an immediate pass. It never blocks; kicks while a
// pass is pending coalesce. Kick after the writing transaction has
// committed: a pass that runs before the commit does not see the row (it
// is then delivered on the next poll).
func (p *Pump[R]) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run delivers due rows until ctx is done: at once (so a restart delivers
// what is due), then on every Kick and every PollInterval.
func (p *Pump[R]) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
		// Each row's outcome and store failures are logged where they
		// happen; the summary is for debugging only.
		if n, err := p.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			p.log.DebugContext(ctx, "outbox pass incomplete", "outbox", p.opts.Name, "sent", n, "err", err)
		}
		t.Reset(p.opts.PollInterval)
	}
}

// DeliverDue makes one pass: it claims each due row with a lease, delivers
// it, and records the outcome. It returns how many rows were delivered and
// the errors met (failed deliveries, which are already scheduled for a
// retry or marked failed, and store errors).
func (p *Pump[R]) DeliverDue(ctx context.Context) (sent int, err error) {
	var errs []error
	for {
		due, err := p.t.Due(ctx, p.opts.Now(), p.opts.BatchSize)
		if err != nil {
			if ctx.Err() == nil {
				p.log.ErrorContext(ctx, "cannot list due rows", "outbox", p.opts.Name, "err", err)
			}
			return sent, errors.Join(append(errs, fmt.Errorf("list due %s rows: %w", p.opts.Name, err))...)
		}
		for _, row := range due {
			if err := ctx.Err(); err != nil {
				return sent, errors.Join(append(errs, err)...)
			}
			ok, stop, err := p.one(ctx, row)
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
		if len(due) < p.opts.BatchSize {
			return sent, errors.Join(errs...)
		}
	}
}

// one claims, delivers and records one row. ok reports a delivery; stop
// asks DeliverDue to end the pass.
func (p *Pump[R]) one(ctx context.Context, row R) (ok, stop bool, err error) {
	id, attempts := p.t.Key(row)
	now := p.opts.Now()
	lease := now.Add(p.opts.Lease)
	if err := p.t.Claim(ctx, id, now, lease); err != nil {
		if errors.Is(err, models.ErrConsumed) {
			return false, false, nil // another worker has it
		}
		if ctx.Err() == nil {
			p.log.ErrorContext(ctx, "cannot claim row", "outbox", p.opts.Name, "id", id, "err", err)
		}
		return false, true, err
	}
	sendErr := p.deliver(ctx, row)
	// Record the outcome even if ctx was just cancelled (shutdown): a row
	// that went out but is not marked would be delivered again.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	attempts++
	log := p.log.With("outbox", p.opts.Name, "id", id, "attempt", attempts)

	if sendErr == nil {
		if err := p.t.MarkSent(mctx, id, lease, p.opts.Now()); err != nil {
			// The at-least-once edge: delivered, but unless this mark
			// lands, it is due again when the lease expires.
			log.ErrorContext(ctx, "delivered but not marked sent; it may be delivered twice", "err", err)
			return true, true, fmt.Errorf("mark %s %s sent: %w", p.opts.Name, id, err)
		}
		log.InfoContext(ctx, "delivered")
		return true, false, nil
	}

	permanent := p.opts.Permanent(sendErr)
	failed := permanent || attempts >= p.opts.MaxAttempts
	next := p.opts.Now().Add(p.backoff(attempts))
	if err := p.t.Retry(mctx, id, lease, next, truncate(sendErr.Error(), maxErrorLen), failed); err != nil {
		log.ErrorContext(ctx, "not delivered, and the failure not recorded", "err", sendErr, "record_err", err)
		return false, true, errors.Join(fmt.Errorf("deliver %s %s: %w", p.opts.Name, id, sendErr), fmt.Errorf("record %s %s failure: %w", p.opts.Name, id, err))
	}
	if failed {
		log.ErrorContext(ctx, "given up", "err", sendErr, "permanent", permanent)
	} else {
		log.WarnContext(ctx, "not delivered, will retry", "err", sendErr, "next_attempt_at", next)
	}
	return false, p.opts.StopOnTemporary && !permanent, fmt.Errorf("deliver %s %s (attempt %d): %w", p.opts.Name, id, attempts, sendErr)
}

// backoff is the delay before the attempt after the given number of failed
// ones: BaseBackoff doubling up to MaxBackoff, drawn from [d/2, d].
func (p *Pump[R]) backoff(attempts int) time.Duration {
	d := p.opts.BaseBackoff
	for i := 1; i < attempts && d < p.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.opts.MaxBackoff)
	return d/2 + mrand.N(d/2+1)
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
