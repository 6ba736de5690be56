package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
)

// Webhooks. The two places Sesame records what happened — CreateAuditEntry
// (admin and system changes) and RecordAuthEvent (what people do on the
// hosted pages) — ask models.WebhookTypesFor… which event types the fact
// emits, and queue one delivery per enabled endpoint subscribed to each,
// in the transaction that records the fact: a delivery exists exactly when
// its fact does. internal/webhook delivers them (the outbox lease protocol
// of mail_outbox and logout_outbox).
//
// Which endpoints subscribe to what is cached in memory (a few rows), so
// a fact nobody subscribes to costs a map lookup and no statement: a
// sign-in pays nothing for webhooks until an endpoint wants its event.
// Endpoint writes announce themselves on the change feed (ChangeWebhook),
// which drops the cache on every replica; after a feed gap (ChangeResync)
// it is dropped too. webhookSubsTTL is the safety net, refreshed in the
// background so no fact waits for it.

// WebhookRetention is how long delivered and failed webhook messages stay
// (the console's delivery log, manual redelivery) before the janitor
// deletes them.
const WebhookRetention = 7 * 24 * time.Hour

// webhookSubsTTL bounds how stale the subscription cache may get if a
// change announcement were lost.
const webhookSubsTTL = 5 * time.Minute

// webhookSubs is a Store's cache of the enabled endpoints' subscriptions.
type webhookSubs struct {
	once sync.Once
	// gen counts invalidations; a snapshot of an older gen is reloaded
	// before use.
	gen        atomic.Int64
	snap       atomic.Pointer[subsSnapshot]
	refreshing atomic.Bool
}

type subsSnapshot struct {
	gen    int64
	at     time.Time
	byType map[string][]string // event type → endpoint ids
}

// invalidateWebhooks drops this replica's subscription cache (others hear
// of it through the change feed).
func (s *Store) invalidateWebhooks() { s.hooks.gen.Add(1) }

// webhookTargets returns the enabled endpoints subscribed to each of
// types. Nothing is read when the cache is current.
func (s *Store) webhookTargets(ctx context.Context, types []string) (map[string][]string, error) {
	h := &s.hooks
	h.once.Do(func() {
		s.feed.Subscribe(func(c Change) {
			if c.Kind == ChangeWebhook || c.Kind == ChangeResync {
				h.gen.Add(1)
			}
		})
	})
	snap := h.snap.Load()
	if snap == nil || snap.gen != h.gen.Load() {
		var err error
		if snap, err = s.loadWebhookSubs(ctx); err != nil {
			return nil, err
		}
	} else if time.Since(snap.at) > webhookSubsTTL && h.refreshing.CompareAndSwap(false, true) {
		go func() {
			defer h.refreshing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = s.loadWebhookSubs(ctx) // a failure keeps the old snapshot; the next fact retries
		}()
	}
	var out map[string][]string
	for _, t := range types {
		if ids := snap.byType[t]; len(ids) > 0 {
			if out == nil {
				out = map[string][]string{}
			}
			out[t] = ids
		}
	}
	return out, nil
}

// loadWebhookSubs reads the enabled endpoints' subscriptions (through the
// caller's transaction, if any: never a second pooled connection).
func (s *Store) loadWebhookSubs(ctx context.Context) (*subsSnapshot, error) {
	gen := s.hooks.gen.Load()
	var rows []struct {
		ID         string
		EventTypes string
	}
	err := s.conn(ctx).Model(&models.WebhookEndpoint{}).Select("id, event_types").Where("enabled").Order("id").Scan(&rows).Error
	if err != nil {
		return nil, mapErr("load webhook subscriptions", err)
	}
	snap := &subsSnapshot{gen: gen, at: time.Now(), byType: map[string][]string{}}
	for _, r := range rows {
		for _, t := range strings.Fields(r.EventTypes) {
			snap.byType[t] = append(snap.byType[t], r.ID)
		}
	}
	s.hooks.snap.Store(snap)
	return snap, nil
}

// webhookMessage is the JSON body of every webhook: the event's id (the
// same for every endpoint), its type, when it happened and what.
type webhookMessage struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// queueWebhooks queues, in ctx's transaction, one delivery per endpoint
// in targets (event type → endpoint ids) of the fact that happened at at.
func (s *Store) queueWebhooks(ctx context.Context, targets map[string][]string, at time.Time, data any) error {
	var rows []models.WebhookDelivery
	now := Now()
	for _, t := range models.WebhookCatalogue { // a fixed order of types
		ids := targets[t.Type]
		if len(ids) == 0 {
			continue
		}
		msg := webhookMessage{ID: "evt_" + randomHex(16), Type: t.Type, Timestamp: dbTime(at), Data: data}
		body, err := json.Marshal(msg)
		if err != nil {
			return fmt.Errorf("queue webhooks: %w", err)
		}
		for _, id := range ids {
			rows = append(rows, models.WebhookDelivery{ID: "msg_" + randomHex(16), EndpointID: id, EventID: msg.ID, EventType: t.Type,
				Payload: string(body), Status: models.MailPending, NextAttemptAt: now, CreatedAt: now})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return mapErr("queue webhooks", s.conn(ctx).Create(&rows).Error)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// auditWebhookData is what a webhook of an audit entry carries: who did
// it, to what, and the target before and after (the audit's own views,
// which never hold secrets).
func auditWebhookData(e *models.AuditEntry) any {
	type actor struct {
		Kind  string `json:"kind"`
		ID    string `json:"id,omitempty"`
		Label string `json:"label,omitempty"`
	}
	type object struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	raw := func(s string) json.RawMessage {
		if s == "" || !json.Valid([]byte(s)) {
			return nil
		}
		return json.RawMessage(s)
	}
	return struct {
		Action string          `json:"action"`
		Actor  actor           `json:"actor"`
		Object object          `json:"object"`
		Before json.RawMessage `json:"before,omitempty"`
		After  json.RawMessage `json:"after,omitempty"`
	}{e.Action, actor{e.ActorKind, e.ActorID, e.ActorLabel}, object{e.TargetType, e.TargetID}, raw(e.BeforeJSON), raw(e.AfterJSON)}
}

// authEventWebhookData is what a webhook of an auth event carries.
func authEventWebhookData(e *models.AuthEvent) any {
	return struct {
		UserID    string `json:"user_id,omitempty"`
		ClientID  string `json:"client_id,omitempty"`
		Method    string `json:"method"`
		Event     string `json:"event"`
		Result    string `json:"result"`
		Reason    string `json:"reason,omitempty"`
		AAGUID    string `json:"aaguid,omitempty"`
		IP        string `json:"ip,omitempty"`
		UserAgent string `json:"user_agent,omitempty"`
	}{e.UserID, e.ClientID, e.Method, e.Event, e.Result, e.Reason, e.AAGUID, e.IP, e.UserAgent}
}

// --- endpoints ---

// CreateWebhookEndpoint inserts an endpoint.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, ep *models.WebhookEndpoint) error {
	now := Now()
	ep.CreatedAt, ep.UpdatedAt = now, now
	return s.webhookWrite(ctx, ep.ID, func(ctx context.Context) error {
		return mapErr("create webhook endpoint", s.conn(ctx).Create(ep).Error)
	})
}

// webhookWrite runs fn in a transaction that announces the change of
// endpoint id, then drops this replica's subscription cache at once.
func (s *Store) webhookWrite(ctx context.Context, id string, fn func(ctx context.Context) error) error {
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := fn(ctx); err != nil {
			return err
		}
		return s.notify(ctx, ChangeWebhook, id)
	})
	s.invalidateWebhooks()
	return err
}

// GetWebhookEndpoint loads an endpoint.
func (s *Store) GetWebhookEndpoint(ctx context.Context, id string) (*models.WebhookEndpoint, error) {
	var ep models.WebhookEndpoint
	if err := s.conn(ctx).Where("id = ?", id).Take(&ep).Error; err != nil {
		return nil, mapErr("get webhook endpoint", err)
	}
	return &ep, nil
}

// ListWebhookEndpoints returns every endpoint, oldest first (they are few).
func (s *Store) ListWebhookEndpoints(ctx context.Context) ([]models.WebhookEndpoint, error) {
	var out []models.WebhookEndpoint
	err := s.conn(ctx).Order("created_at, id").Find(&out).Error
	return out, mapErr("list webhook endpoints", err)
}

// WebhookEndpointUpdate is the settable part of an endpoint.
type WebhookEndpointUpdate struct {
	URL         string
	Description string
	EventTypes  string
	Enabled     bool
}

// UpdateWebhookEndpoint changes an endpoint. Enabling one clears its
// disabled reason and failure streak (the admin vouches it works again).
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, id string, u WebhookEndpointUpdate) error {
	return s.webhookWrite(ctx, id, func(ctx context.Context) error {
		var cur models.WebhookEndpoint
		if err := s.conn(ctx).Where("id = ?", id).Take(&cur).Error; err != nil {
			return mapErr("update webhook endpoint", err)
		}
		now := Now()
		set := map[string]any{"url": u.URL, "description": u.Description, "event_types": u.EventTypes, "enabled": u.Enabled, "updated_at": now}
		switch {
		case u.Enabled && !cur.Enabled:
			set["disabled_reason"], set["disabled_at"], set["failing_since"] = "", nil, nil
		case !u.Enabled && cur.Enabled:
			set["disabled_reason"], set["disabled_at"] = models.WebhookDisabledByAdmin, now
		}
		return affected("update webhook endpoint", s.conn(ctx).Model(&models.WebhookEndpoint{}).Where("id = ?", id).Updates(set))
	})
}

// SetWebhookSecret replaces an endpoint's sealed secret.
func (s *Store) SetWebhookSecret(ctx context.Context, id, sealed string) error {
	return s.webhookWrite(ctx, id, func(ctx context.Context) error {
		return affected("set webhook secret", s.conn(ctx).Model(&models.WebhookEndpoint{}).Where("id = ?", id).
			Updates(map[string]any{"secret_sealed": sealed, "updated_at": Now()}))
	})
}

// DeleteWebhookEndpoint removes an endpoint and its deliveries.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return s.webhookWrite(ctx, id, func(ctx context.Context) error {
		// The foreign key cascades; deleting first keeps SQLite databases
		// opened without foreign_keys from leaving orphans.
		if err := s.conn(ctx).Where("endpoint_id = ?", id).Delete(&models.WebhookDelivery{}).Error; err != nil {
			return mapErr("delete webhook deliveries", err)
		}
		return affected("delete webhook endpoint", s.conn(ctx).Where("id = ?", id).Delete(&models.WebhookEndpoint{}))
	})
}

// --- deliveries ---

// GetWebhookDelivery loads a delivery.
func (s *Store) GetWebhookDelivery(ctx context.Context, id string) (*models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	if err := s.conn(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return nil, mapErr("get webhook delivery", err)
	}
	return &d, nil
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first,
// at most limit, optionally only those in status.
func (s *Store) ListWebhookDeliveries(ctx context.Context, endpointID, status string, limit int) ([]models.WebhookDelivery, error) {
	tx := s.conn(ctx).Where("endpoint_id = ?", endpointID)
	if status != "" {
		tx = tx.Where("status = ?", status)
	}
	var out []models.WebhookDelivery
	err := tx.Order("created_at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, mapErr("list webhook deliveries", err)
}

// DueWebhookDeliveries returns up to limit pending deliveries due at now
// that no worker holds a live lease on (the lease protocol of DueMails).
func (s *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]models.WebhookDelivery, error) {
	var out []models.WebhookDelivery
	err := s.dueRows(ctx, "list due webhook deliveries", &out, now, limit)
	return out, err
}

// ClaimWebhookDelivery takes a lease on a due delivery (see ClaimMail).
func (s *Store) ClaimWebhookDelivery(ctx context.Context, id string, now, lease time.Time) error {
	return s.claimRow(ctx, "claim webhook delivery", &models.WebhookDelivery{}, id, now, lease)
}

// attemptSet adds what attempt a saw to set.
func attemptSet(a models.WebhookAttempt, set map[string]any) map[string]any {
	set["response_code"] = a.ResponseCode
	set["latency_ms"] = a.Latency.Milliseconds()
	set["last_attempt_at"] = dbTime(a.At)
	return set
}

// endpointOf selects the endpoint of delivery id (a subquery).
const endpointOf = "id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = ?)"

// MarkWebhookDeliverySent records a delivery by the holder of lease (see
// MarkMailSent) and ends its endpoint's failure streak.
func (s *Store) MarkWebhookDeliverySent(ctx context.Context, id string, lease time.Time, a models.WebhookAttempt) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.finishRow(ctx, "mark webhook delivery sent", &models.WebhookDelivery{}, id, lease, attemptSet(a, sentSet(a.At, nil))); err != nil {
			return err
		}
		err := s.conn(ctx).Model(&models.WebhookEndpoint{}).Where(endpointOf, id).
			Updates(map[string]any{"failing_since": nil, "last_success_at": dbTime(a.At)}).Error
		return mapErr("mark webhook endpoint healthy", err)
	})
}

// RetryWebhookDelivery records a failed attempt by the holder of lease
// (see RetryMail), starts its endpoint's failure streak if none is
// running, and disables the endpoint when the streak began at least
// disableAfter before this attempt (0: never). disabled reports that this
// call disabled it; the audit log then has a system entry saying why.
func (s *Store) RetryWebhookDelivery(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool, a models.WebhookAttempt, disableAfter time.Duration) (disabled bool, err error) {
	err = s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.finishRow(ctx, "retry webhook delivery", &models.WebhookDelivery{}, id, lease, attemptSet(a, retrySet(next, lastErr, failed, nil))); err != nil {
			return err
		}
		at := dbTime(a.At)
		db := s.conn(ctx)
		if err := db.Model(&models.WebhookEndpoint{}).Where(endpointOf+" AND failing_since IS NULL", id).
			Update("failing_since", at).Error; err != nil {
			return mapErr("note webhook endpoint failure", err)
		}
		if disableAfter <= 0 {
			return nil
		}
		var ep models.WebhookEndpoint
		if err := db.Where(endpointOf, id).Take(&ep).Error; err != nil {
			return mapErr("note webhook endpoint failure", err)
		}
		if !ep.Enabled || ep.FailingSince == nil || at.Sub(*ep.FailingSince) < disableAfter {
			return nil
		}
		reason := fmt.Sprintf(models.WebhookAutoDisabledFormat, ep.FailingSince.UTC().Format(time.RFC3339), disableAfter, lastErr)
		res := db.Model(&models.WebhookEndpoint{}).Where("id = ? AND enabled", ep.ID).
			Updates(map[string]any{"enabled": false, "disabled_reason": truncateText(reason, 500), "disabled_at": at, "updated_at": at})
		if res.Error != nil || res.RowsAffected != 1 {
			return mapErr("disable webhook endpoint", res.Error)
		}
		disabled = true
		if err := s.CreateAuditEntry(ctx, &models.AuditEntry{ID: uuid.NewString(), At: at, ActorKind: models.ActorSystem, ActorLabel: "webhook delivery",
			Action: "webhook.auto_disable", TargetType: "webhook", TargetID: ep.ID,
			BeforeJSON: `{"enabled":true}`, AfterJSON: jsonString(map[string]any{"enabled": false, "disabled_reason": reason})}); err != nil {
			return err
		}
		return s.notify(ctx, ChangeWebhook, ep.ID)
	})
	if disabled && err == nil {
		s.invalidateWebhooks()
	}
	return disabled, err
}

func jsonString(v any) string {
	b, _ := json.Marshal(v) // maps of strings and bools always marshal
	return string(b)
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// RedeliverWebhook queues a sent or failed delivery of endpoint again,
// due now, with a fresh attempt budget and the same message id (a
// receiver that kept it knows it). ErrNotFound: no such delivery of that
// endpoint; ErrConsumed: it is still pending (already queued).
func (s *Store) RedeliverWebhook(ctx context.Context, endpointID, id string) error {
	res := s.conn(ctx).Model(&models.WebhookDelivery{}).
		Where("id = ? AND endpoint_id = ? AND status <> ?", id, endpointID, models.MailPending).
		Updates(map[string]any{"status": models.MailPending, "attempts": 0, "next_attempt_at": Now(),
			"locked_until": nil, "last_error": "", "sent_at": nil})
	if res.Error != nil {
		return mapErr("redeliver webhook", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var n int64
	if err := s.conn(ctx).Model(&models.WebhookDelivery{}).Where("id = ? AND endpoint_id = ?", id, endpointID).Count(&n).Error; err != nil {
		return mapErr("redeliver webhook", err)
	}
	if n == 0 {
		return fmt.Errorf("redeliver webhook: %w", models.ErrNotFound)
	}
	return fmt.Errorf("redeliver webhook: already queued: %w", models.ErrConsumed)
}
