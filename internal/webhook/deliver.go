package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/outbox"
	"github.com/sesame-idp/sesame/models"
)

// Delivery limits by default.
const (
	// DefaultMaxAttempts attempts over about three hours with the default
	// back-off (30 s doubling to 1 h, each drawn from [d/2, d]).
	DefaultMaxAttempts = 10
	DefaultBaseBackoff = 30 * time.Second
	DefaultMaxBackoff  = time.Hour
	// DefaultTimeout bounds one exchange (connect, TLS, headers, body).
	DefaultTimeout = 10 * time.Second
	// DefaultDisableAfter: an endpoint with no successful delivery for
	// this long, when another attempt fails, is disabled.
	DefaultDisableAfter = 24 * time.Hour
	// MaxResponseBody bounds what is read of an answer.
	MaxResponseBody = 16 << 10
	// userAgent names Sesame to receivers.
	userAgent = "Sesame-Webhooks/1"
)

// Store is the webhook outbox of models/store.
type Store interface {
	DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]models.WebhookDelivery, error)
	ClaimWebhookDelivery(ctx context.Context, id string, now, lease time.Time) error
	MarkWebhookDeliverySent(ctx context.Context, id string, lease time.Time, a models.WebhookAttempt) error
	RetryWebhookDelivery(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool, a models.WebhookAttempt, disableAfter time.Duration) (bool, error)
	GetWebhookEndpoint(ctx context.Context, id string) (*models.WebhookEndpoint, error)
}

// Options tune a Deliverer; zero values take the defaults.
type Options struct {
	// Pump tunes the outbox (its Name and Permanent are set here; its
	// MaxAttempts and back-off default to the Default… constants).
	Pump outbox.Options
	// DisableAfter is the auto-disable rule (DefaultDisableAfter; a
	// negative value never disables).
	DisableAfter time.Duration
	Logger       *slog.Logger
}

// Deliverer sends the webhook outbox's messages.
type Deliverer struct {
	st           Store
	box          *Box
	hc           *http.Client
	pump         *outbox.Pump[models.WebhookDelivery]
	disableAfter time.Duration
	log          *slog.Logger
	// seen carries each attempt's outcome from deliver to the mark that
	// the pump makes right after it, on the same goroutine (the outbox's
	// Table has no room for a status code).
	seen sync.Map // delivery id → models.WebhookAttempt
}

// errPermanent marks a delivery no retry can mend.
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

// NewDeliverer returns a deliverer of st's webhook messages, opening
// endpoint secrets with box and posting through hc (nil: the guarded
// outbound client with no internal network allowed).
func NewDeliverer(st Store, box *Box, hc *http.Client, opts Options) *Deliverer {
	if hc == nil {
		hc = httpx.OutboundClient(httpx.OutboundOptions{Timeout: DefaultTimeout, MaxBody: MaxResponseBody})
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch {
	case opts.DisableAfter == 0:
		opts.DisableAfter = DefaultDisableAfter
	case opts.DisableAfter < 0:
		opts.DisableAfter = 0
	}
	p := opts.Pump
	p.Name, p.Logger = "webhook", opts.Logger
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = DefaultBaseBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	p.Permanent = func(err error) bool {
		var pe errPermanent
		return errors.As(err, &pe) || errors.Is(err, httpx.ErrOutboundAddress) || errors.Is(err, httpx.ErrOutboundRedirect)
	}
	d := &Deliverer{st: st, box: box, hc: hc, disableAfter: opts.DisableAfter, log: opts.Logger}
	d.pump = outbox.New(outbox.Table[models.WebhookDelivery]{
		Due: st.DueWebhookDeliveries, Claim: st.ClaimWebhookDelivery, MarkSent: d.markSent, Retry: d.retry,
		Key: func(r models.WebhookDelivery) (string, int) { return r.ID, r.Attempts },
	}, d.deliver, p)
	return d
}

// Run delivers due messages until ctx is done (one loop per replica).
func (d *Deliverer) Run(ctx context.Context) { d.pump.Run(ctx) }

// Kick asks for a delivery pass now (after a redelivery was queued).
func (d *Deliverer) Kick() { d.pump.Kick() }

// DeliverDue makes one delivery pass (tests).
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) { return d.pump.DeliverDue(ctx) }

func (d *Deliverer) outcome(id string) models.WebhookAttempt {
	v, ok := d.seen.LoadAndDelete(id)
	if !ok {
		return models.WebhookAttempt{At: d.pump.Now()}
	}
	return v.(models.WebhookAttempt)
}

func (d *Deliverer) markSent(ctx context.Context, id string, lease, _ time.Time) error {
	return d.st.MarkWebhookDeliverySent(ctx, id, lease, d.outcome(id))
}

func (d *Deliverer) retry(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool) error {
	a := d.outcome(id)
	disabled, err := d.st.RetryWebhookDelivery(ctx, id, lease, next, lastErr, failed, a, d.disableAfter)
	if disabled {
		d.log.WarnContext(ctx, "webhook endpoint disabled after failing for long", "delivery", id, "disable_after", d.disableAfter.String())
	}
	return err
}

// deliver signs row's message and POSTs it to its endpoint. Any 2xx is
// success; anything else (an answer, a timeout, a refused connection) is
// retried, except what no retry can change: an endpoint that is gone or
// disabled, an internal address, a redirect.
func (d *Deliverer) deliver(ctx context.Context, row models.WebhookDelivery) error {
	start := d.pump.Now()
	t0 := time.Now() // latency on the real clock, whatever the pump's
	a := models.WebhookAttempt{At: start}
	defer func() { d.seen.Store(row.ID, a) }()
	ep, err := d.st.GetWebhookEndpoint(ctx, row.EndpointID)
	if errors.Is(err, models.ErrNotFound) {
		return errPermanent{errors.New("the endpoint was deleted")}
	}
	if err != nil {
		return err
	}
	if !ep.Enabled {
		return errPermanent{errors.New("the endpoint is disabled")}
	}
	secret, err := d.box.Open(ep.ID, ep.SecretSealed)
	if err != nil {
		return errPermanent{err}
	}
	body := []byte(row.Payload)
	sig, err := Sign(secret, row.ID, start, body)
	if err != nil {
		return errPermanent{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return errPermanent{fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderID, row.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(start.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := d.hc.Do(req)
	a.At, a.Latency = d.pump.Now(), time.Since(t0)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	a.ResponseCode = resp.StatusCode
	// Read what the receiver said (bounded by the client) so the
	// connection can be reused and the log can show it.
	got, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := "the endpoint answered " + resp.Status
	if snippet := printable(got, 200); snippet != "" {
		msg += ": " + snippet
	}
	return errors.New(msg)
}

// printable is up to n bytes of b on one line, without control characters.
func printable(b []byte, n int) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
