package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sesame-idp/sesame/internal/outbox"
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

// OutboxOptions tune delivery (internal/outbox's Options, whose Name,
// Permanent and StopOnTemporary the mail outbox sets itself); zero values
// take the defaults. MaxAttempts' default, 8, gives about 20 minutes of
// retries, longer than a passlink lives; the lease (2 minutes) must be far
// longer than the SMTP sender's hard timeout (30 s).
type OutboxOptions = outbox.Options

// Outbox stores mails and delivers them. It is safe for concurrent use;
// run one Run loop per replica.
type Outbox struct {
	st     OutboxStore
	sender Sender
	pump   *outbox.Pump[models.OutboxMail]
}

// NewOutbox returns an outbox over st that delivers through sender. An
// SMTP answer marked permanent (5xx) fails a mail at once; a temporary
// failure ends the pass, since the server is probably down and the mails
// still due should not each spend an attempt on it.
func NewOutbox(st OutboxStore, sender Sender, opts OutboxOptions) *Outbox {
	opts.Name, opts.Permanent, opts.StopOnTemporary = "mail", IsPermanent, true
	o := &Outbox{st: st, sender: sender}
	o.pump = outbox.New(outbox.Table[models.OutboxMail]{
		Due: st.DueMails, Claim: st.ClaimMail, MarkSent: st.MarkMailSent, Retry: st.RetryMail,
		Key: func(m models.OutboxMail) (string, int) { return m.ID, m.Attempts },
	}, o.send, opts)
	return o
}

func (o *Outbox) send(ctx context.Context, row models.OutboxMail) error {
	return o.sender.Send(ctx, Message{
		ID: row.ID, To: row.ToAddress, Subject: row.Subject, Text: row.TextBody, HTML: row.HTMLBody, Kind: row.Kind,
	})
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
	now := o.pump.Now()
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

// Kick wakes Run for an immediate delivery pass (see outbox.Pump.Kick).
func (o *Outbox) Kick() { o.pump.Kick() }

// Run delivers due mails until ctx is done: at once (so a restart sends
// what is due), then on every Kick and every PollInterval.
func (o *Outbox) Run(ctx context.Context) { o.pump.Run(ctx) }

// DeliverDue makes one delivery pass (see outbox.Pump.DeliverDue): it
// returns how many mails the SMTP server accepted and the errors met.
func (o *Outbox) DeliverDue(ctx context.Context) (sent int, err error) { return o.pump.DeliverDue(ctx) }

func newMailID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
