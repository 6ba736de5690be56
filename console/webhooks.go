package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/webhook"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Webhooks manages webhook endpoints and shows their delivery log
// (docs/webhooks.md). What is sent, and when, is models/store's and
// internal/webhook's business; this is the admin's side.
type Webhooks struct {
	st    webhookStore
	audit *Audit
	// box seals endpoint secrets (nil: webhooks cannot be created, as in a
	// CLI without the system secret).
	box *webhook.Box
	// allow is outbound_allow_cidrs: internal networks an endpoint may be
	// on all the same.
	allow []netip.Prefix
	// kick wakes this replica's deliverer after a redelivery (nil: it
	// goes at the next poll).
	kick func()
}

// webhookStore backs Webhooks.
type webhookStore interface {
	stepUpStore
	CreateWebhookEndpoint(ctx context.Context, ep *models.WebhookEndpoint) error
	GetWebhookEndpoint(ctx context.Context, id string) (*models.WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context) ([]models.WebhookEndpoint, error)
	UpdateWebhookEndpoint(ctx context.Context, id string, u store.WebhookEndpointUpdate) error
	SetWebhookSecret(ctx context.Context, id, sealed string) error
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	ListWebhookDeliveries(ctx context.Context, endpointID, status string, limit int) ([]models.WebhookDelivery, error)
	GetWebhookDelivery(ctx context.Context, id string) (*models.WebhookDelivery, error)
	RedeliverWebhook(ctx context.Context, endpointID, id string) error
}

// SetWebhookDelivery gives the service the system secret's box and the
// deliverer's kick (server wiring; the CLI passes a box and no kick).
func (s *Webhooks) SetWebhookDelivery(box *webhook.Box, kick func()) { s.box, s.kick = box, kick }

// WebhookSpec is the settable part of an endpoint.
type WebhookSpec struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	// Enabled defaults to true when an endpoint is created.
	Enabled *bool `json:"enabled,omitempty"`
}

// WebhookView is an endpoint as the console and API show it (never its
// secret).
type WebhookView struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	EventTypes     []string   `json:"event_types"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	LastSuccessAt  *time.Time `json:"last_success_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// WebhookCreated is an endpoint with its secret, shown once.
type WebhookCreated struct {
	WebhookView
	Secret string `json:"secret"`
}

func viewWebhook(ep *models.WebhookEndpoint) WebhookView {
	types := strings.Fields(ep.EventTypes)
	if types == nil {
		types = []string{}
	}
	return WebhookView{ID: ep.ID, URL: ep.URL, Description: ep.Description, EventTypes: types, Enabled: ep.Enabled,
		DisabledReason: ep.DisabledReason, DisabledAt: ep.DisabledAt, FailingSince: ep.FailingSince,
		LastSuccessAt: ep.LastSuccessAt, CreatedAt: ep.CreatedAt, UpdatedAt: ep.UpdatedAt}
}

// WebhookDeliveryView is one line of an endpoint's delivery log.
type WebhookDeliveryView struct {
	ID            string          `json:"id"`
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	ResponseCode  int             `json:"response_code,omitempty"`
	LatencyMS     int64           `json:"latency_ms"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	LastAttemptAt *time.Time      `json:"last_attempt_at,omitempty"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	SentAt        *time.Time      `json:"sent_at,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
}

func viewDelivery(d *models.WebhookDelivery, payload bool) WebhookDeliveryView {
	v := WebhookDeliveryView{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
		ResponseCode: d.ResponseCode, LatencyMS: d.LatencyMS, LastError: d.LastError, CreatedAt: d.CreatedAt,
		LastAttemptAt: d.LastAttemptAt, SentAt: d.SentAt}
	if d.Status == models.MailPending {
		next := d.NextAttemptAt
		v.NextAttemptAt = &next
	}
	if payload && json.Valid([]byte(d.Payload)) {
		v.Payload = json.RawMessage(d.Payload)
	}
	return v
}

// Bounds of an endpoint's fields.
const (
	maxWebhookDescription = 200
	maxWebhookURL         = 2000
	// MaxWebhooks bounds how many endpoints exist: each is a POST per
	// event it subscribes to.
	MaxWebhooks = 50
	// maxDeliveryLog bounds a delivery log page.
	maxDeliveryLog = 100
)

var (
	errWebhooksOff = problem(http.StatusServiceUnavailable, "webhooks-off", "Webhooks are not available here",
		"This process has no system secret to seal endpoint secrets with.")
	errTooManyWebhooks = problem(http.StatusConflict, "too-many-webhooks", "Too many webhook endpoints",
		fmt.Sprintf("At most %d endpoints can be registered; delete one first.", MaxWebhooks))
	errAlreadyQueued = problem(http.StatusConflict, "already-queued", "This delivery is already queued",
		"It is waiting for its next attempt.")
)

// validate trims spec and reports every problem at once.
func (s *Webhooks) validate(spec *WebhookSpec) error {
	spec.URL, spec.Description = strings.TrimSpace(spec.URL), strings.TrimSpace(spec.Description)
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &clients.ValidationError{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args})
	}
	switch {
	case spec.URL == "":
		add("url", "required")
	case len(spec.URL) > maxWebhookURL:
		add("url", "at most %d characters", maxWebhookURL)
	default:
		if msg := clients.PushURIProblem(spec.URL); msg != "" {
			add("url", "%s", msg)
		} else if msg := s.addressProblem(spec.URL); msg != "" {
			add("url", "%s", msg)
		}
	}
	if utf8.RuneCountInString(spec.Description) > maxWebhookDescription || strings.IndexFunc(spec.Description, unicode.IsControl) >= 0 {
		add("description", "at most %d characters, on one line", maxWebhookDescription)
	}
	types := make([]string, 0, len(spec.EventTypes))
	for _, t := range spec.EventTypes {
		t = strings.TrimSpace(t)
		switch {
		case !models.IsWebhookType(t):
			add("event_types", "%q is not an event type (see GET /webhooks/event-types)", t)
		case !slices.Contains(types, t):
			types = append(types, t)
		}
	}
	if len(spec.EventTypes) == 0 {
		add("event_types", "choose at least one event type")
	}
	spec.EventTypes = types
	return errors.Join(errs...)
}

// addressProblem refuses an endpoint whose host is written as an internal
// address (or localhost) that outbound_allow_cidrs does not allow: it
// could never be delivered to. Names are checked again, after resolution,
// at every delivery (internal/httpx's dialer guard).
func (s *Webhooks) addressProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a URL"
	}
	host := u.Hostname()
	var addr netip.Addr
	if strings.EqualFold(host, "localhost") {
		addr = netip.MustParseAddr("127.0.0.1")
	} else if addr, err = netip.ParseAddr(host); err != nil {
		return ""
	}
	if !httpx.OutboundAddressAllowed(addr, s.allow) {
		return "is an internal address; Sesame posts only to public addresses unless outbound_allow_cidrs allows the network"
	}
	return ""
}

// Catalogue is the list of event types.
func (s *Webhooks) Catalogue() []models.WebhookEventType { return models.WebhookCatalogue }

// List returns every endpoint, oldest first.
func (s *Webhooks) List(ctx context.Context) ([]WebhookView, error) {
	eps, err := s.st.ListWebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]WebhookView, len(eps))
	for i := range eps {
		out[i] = viewWebhook(&eps[i])
	}
	return out, nil
}

// Get returns one endpoint.
func (s *Webhooks) Get(ctx context.Context, id string) (*WebhookView, error) {
	ep, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	v := viewWebhook(ep)
	return &v, nil
}

func (s *Webhooks) get(ctx context.Context, id string) (*models.WebhookEndpoint, error) {
	if id == "" || len(id) > 64 {
		return nil, errNotFound
	}
	return s.st.GetWebhookEndpoint(ctx, id)
}

// Create registers an endpoint and returns it with its secret (shown
// this once).
func (s *Webhooks) Create(ctx context.Context, spec WebhookSpec) (*WebhookCreated, error) {
	if s.box == nil {
		return nil, errWebhooksOff
	}
	if err := s.validate(&spec); err != nil {
		return nil, err
	}
	existing, err := s.st.ListWebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxWebhooks {
		return nil, errTooManyWebhooks
	}
	ep := &models.WebhookEndpoint{ID: "wh_" + strings.ReplaceAll(uuid.NewString(), "-", ""), URL: spec.URL, Description: spec.Description,
		EventTypes: strings.Join(spec.EventTypes, " "), Enabled: spec.Enabled == nil || *spec.Enabled}
	secret := webhook.NewSecret()
	ep.SecretSealed = s.box.Seal(ep.ID, secret)
	if err := s.st.CreateWebhookEndpoint(ctx, ep); err != nil {
		return nil, err
	}
	v := viewWebhook(ep)
	if err := s.audit.Record(ctx, "webhook.create", "webhook", ep.ID, nil, v); err != nil {
		return nil, err
	}
	return &WebhookCreated{WebhookView: v, Secret: secret}, nil
}

// Update changes an endpoint's URL, description, event types and enabled
// flag (Enabled nil keeps it).
func (s *Webhooks) Update(ctx context.Context, id string, spec WebhookSpec) (*WebhookView, error) {
	ep, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.validate(&spec); err != nil {
		return nil, err
	}
	enabled := ep.Enabled
	if spec.Enabled != nil {
		enabled = *spec.Enabled
	}
	return s.update(ctx, ep, store.WebhookEndpointUpdate{URL: spec.URL, Description: spec.Description,
		EventTypes: strings.Join(spec.EventTypes, " "), Enabled: enabled})
}

// SetEnabled enables or disables an endpoint. Enabling one that was
// disabled automatically starts its failure streak afresh.
func (s *Webhooks) SetEnabled(ctx context.Context, id string, enabled bool) (*WebhookView, error) {
	ep, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, ep, store.WebhookEndpointUpdate{URL: ep.URL, Description: ep.Description, EventTypes: ep.EventTypes, Enabled: enabled})
}

func (s *Webhooks) update(ctx context.Context, ep *models.WebhookEndpoint, u store.WebhookEndpointUpdate) (*WebhookView, error) {
	before := viewWebhook(ep)
	if err := s.st.UpdateWebhookEndpoint(ctx, ep.ID, u); err != nil {
		return nil, err
	}
	cur, err := s.st.GetWebhookEndpoint(ctx, ep.ID)
	if err != nil {
		return nil, err
	}
	after := viewWebhook(cur)
	action := "webhook.update"
	switch {
	case after.Enabled && !before.Enabled:
		action = "webhook.enable"
	case !after.Enabled && before.Enabled:
		action = "webhook.disable"
	}
	if err := s.audit.Record(ctx, action, "webhook", ep.ID, before, after); err != nil {
		return nil, err
	}
	return &after, nil
}

// RotateSecret gives an endpoint a new secret at once and returns it
// (shown this once); messages signed from now on use it.
func (s *Webhooks) RotateSecret(ctx context.Context, id string) (string, error) {
	if s.box == nil {
		return "", errWebhooksOff
	}
	ep, err := s.get(ctx, id)
	if err != nil {
		return "", err
	}
	secret := webhook.NewSecret()
	if err := s.st.SetWebhookSecret(ctx, ep.ID, s.box.Seal(ep.ID, secret)); err != nil {
		return "", err
	}
	if err := s.audit.Record(ctx, "webhook.rotate_secret", "webhook", ep.ID, secretState{Secret: "old"}, secretState{Secret: "replaced"}); err != nil {
		return "", err
	}
	return secret, nil
}

// Delete removes an endpoint with its delivery log. From a console
// session it needs a fresh passkey confirmation like the other destructive
// actions (what goes is the record of every delivery).
func (s *Webhooks) Delete(ctx context.Context, id string) error {
	ep, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return err
	}
	if err := s.st.DeleteWebhookEndpoint(ctx, ep.ID); err != nil {
		return err
	}
	return s.audit.Record(ctx, "webhook.delete", "webhook", ep.ID, viewWebhook(ep), nil)
}

// Deliveries returns an endpoint's delivery log, newest first (status ""
// for all; "pending", "sent" or "failed").
func (s *Webhooks) Deliveries(ctx context.Context, id, status string, limit int) ([]WebhookDeliveryView, error) {
	ep, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch status {
	case "", models.MailPending, models.MailSent, models.MailFailed:
	default:
		return nil, invalid("status", "pending, sent or failed")
	}
	if limit <= 0 || limit > maxDeliveryLog {
		limit = maxDeliveryLog
	}
	rows, err := s.st.ListWebhookDeliveries(ctx, ep.ID, status, limit)
	if err != nil {
		return nil, err
	}
	out := make([]WebhookDeliveryView, len(rows))
	for i := range rows {
		out[i] = viewDelivery(&rows[i], false)
	}
	return out, nil
}

// Delivery returns one delivery of an endpoint, with its payload.
func (s *Webhooks) Delivery(ctx context.Context, id, deliveryID string) (*WebhookDeliveryView, error) {
	d, err := s.st.GetWebhookDelivery(ctx, deliveryID)
	if err != nil {
		return nil, err
	}
	if d.EndpointID != id {
		return nil, errNotFound
	}
	v := viewDelivery(d, true)
	return &v, nil
}

// Redeliver queues a sent or failed delivery again, now.
func (s *Webhooks) Redeliver(ctx context.Context, id, deliveryID string) (*WebhookDeliveryView, error) {
	ep, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.st.RedeliverWebhook(ctx, ep.ID, deliveryID); err != nil {
		if errors.Is(err, models.ErrConsumed) {
			return nil, errAlreadyQueued
		}
		return nil, err
	}
	if s.kick != nil {
		s.kick()
	}
	if err := s.audit.Record(ctx, "webhook.redeliver", "webhook", ep.ID, nil, map[string]string{"delivery_id": deliveryID}); err != nil {
		return nil, err
	}
	return s.Delivery(ctx, ep.ID, deliveryID)
}
