package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// newEndpoint registers an enabled endpoint for types; it is deleted when
// the test ends, so no other test's facts are queued for it.
func newEndpoint(t *testing.T, s *store.Store, types ...string) *models.WebhookEndpoint {
	t.Helper()
	ep := &models.WebhookEndpoint{ID: newID("wh"), URL: "https://hooks.example.test/" + randHex(4),
		EventTypes: strings.Join(types, " "), SecretSealed: "v1.sealed", Enabled: true}
	must(t, s.CreateWebhookEndpoint(t.Context(), ep))
	t.Cleanup(func() { _ = s.DeleteWebhookEndpoint(context.Background(), ep.ID) })
	return ep
}

func deliveriesOf(t *testing.T, s *store.Store, ep *models.WebhookEndpoint) []models.WebhookDelivery {
	t.Helper()
	ds, err := s.ListWebhookDeliveries(t.Context(), ep.ID, "", 100)
	must(t, err)
	return ds
}

func failedLogin(user string) *models.AuthEvent {
	return &models.AuthEvent{ID: newID("ev"), UserID: user, ClientID: "app", Method: models.MethodPasswordKey,
		Event: models.EventLogin, Result: models.ResultFailure, Reason: "wrong_password", IP: "203.0.113.7"}
}

var webhookTests = []subtest{
	{"an auth event is queued for each subscribed endpoint, in its transaction", func(t *testing.T, s *store.Store) {
		a := newEndpoint(t, s, models.WebhookSigninFailed, models.WebhookUserCreated)
		b := newEndpoint(t, s, models.WebhookSigninFailed)
		other := newEndpoint(t, s, models.WebhookSigninSucceeded)
		user := newID("user")
		must(t, s.RecordAuthEvent(t.Context(), failedLogin(user)))
		da, db := deliveriesOf(t, s, a), deliveriesOf(t, s, b)
		if len(da) != 1 || len(db) != 1 || len(deliveriesOf(t, s, other)) != 0 {
			t.Fatalf("deliveries: %d, %d, %d; want 1, 1, 0", len(da), len(db), len(deliveriesOf(t, s, other)))
		}
		if da[0].ID == db[0].ID || da[0].EventID != db[0].EventID || da[0].Payload != db[0].Payload {
			t.Error("each endpoint gets its own message id for the same event and body")
		}
		var msg struct {
			ID, Type  string
			Timestamp time.Time
			Data      map[string]any
		}
		must(t, json.Unmarshal([]byte(da[0].Payload), &msg))
		if msg.Type != models.WebhookSigninFailed || msg.ID != da[0].EventID || msg.Data["user_id"] != user ||
			msg.Data["reason"] != "wrong_password" || msg.Timestamp.IsZero() || da[0].Status != models.MailPending {
			t.Errorf("payload %s, status %s", da[0].Payload, da[0].Status)
		}
		// A fact that rolls back queues nothing.
		errBoom := errors.New("boom")
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.RecordAuthEvent(ctx, failedLogin(user)))
			return errBoom
		})
		if !errors.Is(err, errBoom) || len(deliveriesOf(t, s, a)) != 1 {
			t.Errorf("a rolled-back event left a delivery (err %v)", err)
		}
	}},
	{"a sign-in's event written with its session is queued too, and only when the session starts", func(t *testing.T, s *store.Store) {
		ep := newEndpoint(t, s, models.WebhookSigninSucceeded)
		u := createUser(t, s)
		cred := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, PublicKey: "AQ", SignCount: 1}
		must(t, s.CreateCredential(t.Context(), cred))
		start := func(prev int64) error {
			return s.StartLoginSession(t.Context(), &models.SessionStart{Session: newLoginSession(u.ID, time.Hour),
				Use:   &models.CredentialUse{CredentialID: cred.ID, PrevCount: prev, SignCount: prev + 1, At: time.Now()},
				Event: &models.AuthEvent{ID: newID("ev"), UserID: u.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}})
		}
		must(t, start(1))
		ds := deliveriesOf(t, s, ep)
		if len(ds) != 1 || !strings.Contains(ds[0].Payload, u.ID) {
			t.Fatalf("deliveries %+v, want the sign-in's", ds)
		}
		// A use that lost its counter value starts nothing and queues nothing.
		wantErr(t, "a lost use", start(1), models.ErrConsumed)
		if n := len(deliveriesOf(t, s, ep)); n != 1 {
			t.Errorf("%d deliveries after a refused start, want 1", n)
		}
	}},
	{"an audit entry emits its types; disabled and deleted endpoints hear nothing", func(t *testing.T, s *store.Store) {
		ep := newEndpoint(t, s, models.WebhookUserUpdated, models.WebhookUserEmailChanged)
		audit := func(action, before, after string) {
			must(t, s.CreateAuditEntry(t.Context(), &models.AuditEntry{ID: newID("audit"), At: at(0), ActorKind: models.ActorCLI, ActorID: "cli:test",
				Action: action, TargetType: "user", TargetID: "u1", BeforeJSON: before, AfterJSON: after}))
		}
		audit("user.update", `{"email":"a@example.test"}`, `{"email":"b@example.test"}`)
		audit("policy.update", "", `{"x":1}`)
		ds := deliveriesOf(t, s, ep)
		types := map[string]bool{}
		for _, d := range ds {
			types[d.EventType] = true
			if !strings.Contains(d.Payload, `"before":{"email":"a@example.test"}`) || !strings.Contains(d.Payload, `"kind":"cli"`) {
				t.Errorf("payload %s lacks before or actor", d.Payload)
			}
		}
		if len(ds) != 2 || !types[models.WebhookUserUpdated] || !types[models.WebhookUserEmailChanged] {
			t.Fatalf("deliveries %v", types)
		}
		must(t, s.UpdateWebhookEndpoint(t.Context(), ep.ID, store.WebhookEndpointUpdate{URL: ep.URL, EventTypes: ep.EventTypes, Enabled: false}))
		audit("user.update", `{"email":"b@example.test"}`, `{"email":"b@example.test"}`)
		if n := len(deliveriesOf(t, s, ep)); n != 2 {
			t.Errorf("a disabled endpoint got a delivery (%d)", n)
		}
		got, err := s.GetWebhookEndpoint(t.Context(), ep.ID)
		must(t, err)
		if got.Enabled || got.DisabledReason == "" || got.DisabledAt == nil {
			t.Errorf("disabled endpoint %+v", got)
		}
		must(t, s.DeleteWebhookEndpoint(t.Context(), ep.ID))
		if _, err := s.GetWebhookEndpoint(t.Context(), ep.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("deleted endpoint: %v", err)
		}
		if n := len(deliveriesOf(t, s, ep)); n != 0 {
			t.Errorf("a deleted endpoint kept %d deliveries", n)
		}
	}},
	{"lease protocol, outcome, failure streak and automatic disable", func(t *testing.T, s *store.Store) {
		ep := newEndpoint(t, s, models.WebhookSigninFailed)
		must(t, s.RecordAuthEvent(t.Context(), failedLogin("u")))
		d := deliveriesOf(t, s, ep)[0]
		now := at(time.Second)
		lease := now.Add(time.Minute)
		must(t, s.ClaimWebhookDelivery(t.Context(), d.ID, now, lease))
		wantErr(t, "second claim", s.ClaimWebhookDelivery(t.Context(), d.ID, now, lease), models.ErrConsumed)
		disabled, err := s.RetryWebhookDelivery(t.Context(), d.ID, lease, now, "the endpoint answered 500", false,
			models.WebhookAttempt{At: now, ResponseCode: 500, Latency: 42 * time.Millisecond}, 24*time.Hour)
		must(t, err)
		got, _ := s.GetWebhookDelivery(t.Context(), d.ID)
		e1, _ := s.GetWebhookEndpoint(t.Context(), ep.ID)
		if disabled || got.Attempts != 1 || got.ResponseCode != 500 || got.LatencyMS != 42 || got.LastAttemptAt == nil ||
			e1.FailingSince == nil || !e1.FailingSince.Equal(now) || !e1.Enabled {
			t.Fatalf("after a failure: delivery %+v, endpoint %+v", got, e1)
		}
		// Success ends the streak.
		lease2 := now.Add(2 * time.Minute)
		must(t, s.ClaimWebhookDelivery(t.Context(), d.ID, now, lease2))
		must(t, s.MarkWebhookDeliverySent(t.Context(), d.ID, lease2, models.WebhookAttempt{At: now, ResponseCode: 204}))
		e2, _ := s.GetWebhookEndpoint(t.Context(), ep.ID)
		got, _ = s.GetWebhookDelivery(t.Context(), d.ID)
		if e2.FailingSince != nil || e2.LastSuccessAt == nil || got.Status != models.MailSent || got.ResponseCode != 204 || got.Attempts != 2 {
			t.Fatalf("after success: delivery %+v, endpoint %+v", got, e2)
		}
		// Redelivery: same id, pending, fresh attempts; twice is refused.
		must(t, s.RedeliverWebhook(t.Context(), ep.ID, d.ID))
		wantErr(t, "redeliver pending", s.RedeliverWebhook(t.Context(), ep.ID, d.ID), models.ErrConsumed)
		wantErr(t, "redeliver of another endpoint", s.RedeliverWebhook(t.Context(), "wh-other", d.ID), models.ErrNotFound)
		got, _ = s.GetWebhookDelivery(t.Context(), d.ID)
		if got.Status != models.MailPending || got.Attempts != 0 || got.SentAt != nil {
			t.Fatalf("redelivered %+v", got)
		}
		// A streak older than the rule disables the endpoint at the next
		// failure, with a system audit entry.
		t0 := at(2 * time.Second)
		l3 := t0.Add(time.Minute)
		must(t, s.ClaimWebhookDelivery(t.Context(), d.ID, t0, l3))
		if dis, err := s.RetryWebhookDelivery(t.Context(), d.ID, l3, t0, "refused", false, models.WebhookAttempt{At: t0}, time.Hour); err != nil || dis {
			t.Fatalf("first failure of a streak disabled it (%v)", err)
		}
		t1 := t0.Add(time.Hour + time.Second)
		l4 := t1.Add(time.Minute)
		must(t, s.ClaimWebhookDelivery(t.Context(), d.ID, t1, l4))
		dis, err := s.RetryWebhookDelivery(t.Context(), d.ID, l4, t1.Add(time.Minute), "refused", false, models.WebhookAttempt{At: t1}, time.Hour)
		must(t, err)
		e3, _ := s.GetWebhookEndpoint(t.Context(), ep.ID)
		if !dis || e3.Enabled || !strings.Contains(e3.DisabledReason, "automatically") {
			t.Fatalf("after an hour of failures: disabled=%v endpoint %+v", dis, e3)
		}
		entries, err := s.ListAuditEntries(t.Context(), store.AuditFilter{Action: "webhook.auto_disable", TargetID: ep.ID}, 5)
		must(t, err)
		if len(entries) != 1 || entries[0].ActorKind != models.ActorSystem {
			t.Errorf("audit entries %+v", entries)
		}
		// Re-enabling clears the streak.
		must(t, s.UpdateWebhookEndpoint(t.Context(), ep.ID, store.WebhookEndpointUpdate{URL: ep.URL, EventTypes: ep.EventTypes, Enabled: true}))
		e4, _ := s.GetWebhookEndpoint(t.Context(), ep.ID)
		if !e4.Enabled || e4.FailingSince != nil || e4.DisabledReason != "" {
			t.Errorf("re-enabled %+v", e4)
		}
	}},
}
