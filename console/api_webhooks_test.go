package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/outbox"
	"github.com/sesame-idp/sesame/internal/webhook"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server"
	"github.com/sesame-idp/sesame/server/servertest"
)

// exerciseWebhooksAPI walks every webhook route against the OpenAPI
// document (no receiver: the endpoint is a public name never reached).
func exerciseWebhooksAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	p := console.APIPrefix
	api.call(s, "GET", p+"/webhooks/event-types", nil, 200)
	var created console.WebhookCreated
	b := api.call(s, "POST", p+"/webhooks", map[string]any{"url": "https://hooks.example.test/sesame", "description": "CRM sync",
		"event_types": []string{models.WebhookUserCreated, models.WebhookUserDeleted}}, 201)
	if err := json.Unmarshal(b, &created); err != nil || created.ID == "" || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("create: %s", b)
	}
	// Every problem at once; internal addresses refused at registration.
	b = api.call(s, "POST", p+"/webhooks", map[string]any{"url": "http://169.254.169.254/latest", "description": "x\ny",
		"event_types": []string{"user.nope"}}, 422)
	for _, f := range []string{`"url"`, `"description"`, `"event_types"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("422 does not name %s: %s", f, b)
		}
	}
	api.call(s, "POST", p+"/webhooks", map[string]any{"url": "http://127.0.0.1:9/x", "event_types": []string{models.WebhookUserCreated}}, 422)
	api.call(s, "POST", p+"/webhooks", map[string]any{"url": "https://hooks.example.test/", "event_types": []string{}, "typo": 1}, 400)
	api.call(s, "GET", p+"/webhooks", nil, 200)
	b = api.call(s, "GET", p+"/webhooks/"+created.ID, nil, 200)
	if strings.Contains(string(b), created.Secret) {
		t.Error("an endpoint's secret is shown after creation")
	}
	api.call(s, "GET", p+"/webhooks/nope", nil, 404)
	api.call(s, "PUT", p+"/webhooks/"+created.ID, map[string]any{"url": "https://hooks.example.test/v2",
		"event_types": []string{models.WebhookUserCreated}}, 200)
	api.call(s, "PUT", p+"/webhooks/"+created.ID, map[string]any{"url": "ftp://x", "event_types": []string{models.WebhookUserCreated}}, 422)
	b = api.call(s, "POST", p+"/webhooks/"+created.ID+"/rotate-secret", nil, 200)
	if !strings.Contains(string(b), "whsec_") || strings.Contains(string(b), created.Secret) {
		t.Errorf("rotate: %s", b)
	}
	// A fact queues a delivery; disabled, the endpoint's queued message
	// fails; then it can be redelivered.
	api.call(s, "POST", p+"/users", map[string]any{"email": "hooked@example.test", "send_link": false}, 201)
	var list struct {
		Items []console.WebhookDeliveryView `json:"items"`
	}
	_ = json.Unmarshal(api.call(s, "GET", p+"/webhooks/"+created.ID+"/deliveries", nil, 200), &list)
	if len(list.Items) != 1 || list.Items[0].EventType != models.WebhookUserCreated || list.Items[0].Status != models.MailPending {
		t.Fatalf("deliveries after a user was added: %+v", list.Items)
	}
	d := list.Items[0].ID
	api.call(s, "GET", p+"/webhooks/"+created.ID+"/deliveries?status=bogus", nil, 422)
	api.call(s, "POST", p+"/webhooks/"+created.ID+"/deliveries/"+d+"/redeliver", nil, 409)
	api.call(s, "POST", p+"/webhooks/"+created.ID+"/disable", nil, 200)
	if _, err := env.Server.Webhooks().DeliverDue(context.Background()); err == nil {
		t.Error("a message to a disabled endpoint was delivered")
	}
	b = api.call(s, "GET", p+"/webhooks/"+created.ID+"/deliveries/"+d, nil, 200)
	if !strings.Contains(string(b), `"status":"failed"`) || !strings.Contains(string(b), "hooked@example.test") {
		t.Errorf("delivery after disable: %s", b)
	}
	api.call(s, "GET", p+"/webhooks/"+created.ID+"/deliveries/nope", nil, 404)
	api.call(s, "POST", p+"/webhooks/"+created.ID+"/enable", nil, 200)
	api.call(s, "POST", p+"/webhooks/"+created.ID+"/deliveries/"+d+"/redeliver", nil, 202)
	api.call(s, "POST", p+"/webhooks/"+created.ID+"/deliveries/nope/redeliver", nil, 404)
	api.call(s, "DELETE", p+"/webhooks/"+created.ID, nil, 204)
	api.call(s, "DELETE", p+"/webhooks/"+created.ID, nil, 404)
}

// receiver is a real HTTP endpoint that verifies every message's
// signature with the endpoint's secret, and fails its first failFirst
// requests with a 503.
type receiver struct {
	srv       *httptest.Server
	mu        sync.Mutex
	secret    string
	failFirst int
	got       []received
}

type received struct {
	ID, Type string
	Body     map[string]any
	VerifyOK error
	Status   int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		var msg map[string]any
		_ = json.Unmarshal(body, &msg)
		rc := received{ID: req.Header.Get(webhook.HeaderID), Body: msg, Status: http.StatusNoContent,
			VerifyOK: webhook.Verify(r.secret, req.Header, body, time.Now(), webhook.DefaultTolerance)}
		rc.Type, _ = msg["type"].(string)
		if len(r.got) < r.failFirst {
			rc.Status = http.StatusServiceUnavailable
		}
		r.got = append(r.got, rc)
		w.WriteHeader(rc.Status)
		_, _ = io.WriteString(w, "busy")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// TestWebhooksReachARealReceiverSigned: a registered endpoint receives
// each subscribed event, signed per Standard Webhooks with its secret; a
// receiver failing at first gets the same message (same webhook-id) again
// with back-off until it answers; the delivery log records attempts,
// status code and latency; a manual redelivery sends the message again.
func TestWebhooksReachARealReceiverSigned(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.AllowOutbound("127.0.0.0/8"))...)
		api := &caller{t: t, env: env, bearer: adminToken(t, env)}
		p := console.APIPrefix
		rcv := newReceiver(t, 2)
		resp, b, _ := api.do("POST", p+"/webhooks", map[string]any{"url": rcv.srv.URL + "/hook",
			"event_types": []string{models.WebhookUserCreated, models.WebhookSigninFailed}})
		var ep console.WebhookCreated
		if resp.StatusCode != 201 || json.Unmarshal(b, &ep) != nil {
			t.Fatalf("create: %d %s", resp.StatusCode, b)
		}
		rcv.secret = ep.Secret

		// An admin adds a user (audit path) and someone fails to sign in
		// (auth event path, as the hosted pages record it).
		api.do("POST", p+"/users", map[string]any{"email": "new@example.test", "send_link": false})
		if err := env.Store.RecordAuthEvent(t.Context(), &models.AuthEvent{ID: "ev-fail", Method: models.MethodPasswordKey,
			Event: models.EventLogin, Result: models.ResultFailure, Reason: "wrong_password"}); err != nil {
			t.Fatal(err)
		}

		box, err := server.WebhookBox(env.Secret)
		if err != nil {
			t.Fatal(err)
		}
		d := fast(env, box)
		deadline := time.Now().Add(20 * time.Second)
		for ok := 0; ok < 2; {
			if time.Now().After(deadline) {
				t.Fatalf("not delivered: %+v", rcv.messages())
			}
			_, _ = d.DeliverDue(t.Context())
			ok = 0
			for _, m := range rcv.messages() {
				if m.Status == http.StatusNoContent {
					ok++
				}
			}
			time.Sleep(25 * time.Millisecond)
		}
		msgs := rcv.messages()
		ids := map[string]int{}
		types := map[string]bool{}
		for _, m := range msgs {
			if m.VerifyOK != nil {
				t.Errorf("message %s: signature does not verify: %v", m.ID, m.VerifyOK)
			}
			ids[m.ID]++
			types[m.Type] = true
		}
		if len(msgs) != 4 || len(ids) != 2 || !types[models.WebhookUserCreated] || !types[models.WebhookSigninFailed] {
			t.Fatalf("received %+v", msgs)
		}
		var list struct {
			Items []console.WebhookDeliveryView `json:"items"`
		}
		_, b, _ = api.do("GET", p+"/webhooks/"+ep.ID+"/deliveries", nil)
		_ = json.Unmarshal(b, &list)
		attempts := 0
		for _, it := range list.Items {
			if it.Status != models.MailSent || it.ResponseCode != 204 || it.LastAttemptAt == nil {
				t.Errorf("log line %+v", it)
			}
			attempts += it.Attempts
		}
		if attempts != 4 {
			t.Errorf("attempts in the log: %d, want 4 (two failures, two successes)", attempts)
		}
		// Manual redelivery: the same webhook-id once more.
		first := list.Items[0].ID
		if resp, b, _ := api.do("POST", p+"/webhooks/"+ep.ID+"/deliveries/"+first+"/redeliver", nil); resp.StatusCode != 202 {
			t.Fatalf("redeliver: %d %s", resp.StatusCode, b)
		}
		if _, err := env.Server.Webhooks().DeliverDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		msgs = rcv.messages()
		if last := msgs[len(msgs)-1]; len(msgs) != 5 || last.ID != first || last.VerifyOK != nil {
			t.Errorf("redelivery: %+v", msgs)
		}
	})
}

// fast is a deliverer over env's webhook outbox with a short back-off,
// through the guarded client env's configuration gives.
func fast(env *servertest.Env, box *webhook.Box) *webhook.Deliverer {
	hc := httpx.OutboundClient(httpx.OutboundOptions{Allow: env.Config.OutboundAllowPrefixes()})
	return webhook.NewDeliverer(env.Store, box, hc, webhook.Options{
		Pump: outbox.Options{BaseBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}})
}

// TestWebhooksNeverReachInternalAddresses: an endpoint whose address is
// internal — here one stored directly, as a name that resolved to a public
// address at registration and to loopback later would be — is refused at
// connect time by the guarded client, and the message fails at once
// (no retry can mend it); the receiver hears nothing.
func TestWebhooksNeverReachInternalAddresses(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		rcv := newReceiver(t, 0)
		box, err := server.WebhookBox(env.Secret)
		if err != nil {
			t.Fatal(err)
		}
		ep := &models.WebhookEndpoint{ID: "wh_internal", URL: rcv.srv.URL, EventTypes: models.WebhookSigninFailed, Enabled: true}
		ep.SecretSealed = box.Seal(ep.ID, webhook.NewSecret())
		if err := env.Store.CreateWebhookEndpoint(t.Context(), ep); err != nil {
			t.Fatal(err)
		}
		if err := env.Store.RecordAuthEvent(t.Context(), &models.AuthEvent{ID: "ev-ssrf", Method: models.MethodPasskey,
			Event: models.EventLogin, Result: models.ResultFailure}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Server.Webhooks().DeliverDue(t.Context()); err == nil {
			t.Fatal("delivered to an internal address")
		}
		ds, err := env.Store.ListWebhookDeliveries(t.Context(), ep.ID, "", 10)
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries %v %v", ds, err)
		}
		if ds[0].Status != models.MailFailed || ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, "internal address") {
			t.Errorf("delivery %+v", ds[0])
		}
		if n := len(rcv.messages()); n != 0 {
			t.Errorf("the internal receiver got %d requests", n)
		}
	})
}

// TestDeleteWebhookNeedsStepUp: a console session deletes a webhook
// endpoint (and its delivery log) only after a fresh passkey
// confirmation, like the other destructive actions; the endpoint stays
// until then.
func TestDeleteWebhookNeedsStepUp(t *testing.T) {
	env := servertest.New(t)
	admin := browser(t, env)
	_, ls := admin.signIn(models.RoleAdmin, models.ACRPhishingResistant)
	resp, b, _ := admin.do("POST", console.APIPrefix+"/webhooks", map[string]any{"url": "https://hooks.example.test/sesame",
		"event_types": []string{models.WebhookUserCreated}})
	var created console.WebhookCreated
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &created) != nil {
		t.Fatalf("create from the console: %d %s", resp.StatusCode, b)
	}
	path := console.APIPrefix + "/webhooks/" + created.ID
	resp, b, _ = admin.do("DELETE", path, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "step-up-required") {
		t.Fatalf("delete without step-up: %d %s", resp.StatusCode, b)
	}
	if _, err := env.Store.GetWebhookEndpoint(context.Background(), created.ID); err != nil {
		t.Fatalf("the endpoint went without a step-up: %v", err)
	}
	if err := env.Store.SetLoginSessionSteppedUp(context.Background(), ls.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, b, _ = admin.do("DELETE", path, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete after step-up: %d %s", resp.StatusCode, b)
	}
}
