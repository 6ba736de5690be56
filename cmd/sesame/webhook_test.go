package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// TestWebhookCommands: endpoints from the CLI on SQLite and PostgreSQL,
// through the console's service (audited as the CLI): the secret printed
// once, bad input refused with every problem named, a CLI-made change
// queued for a subscriber, disable/enable, rotation, redelivery, delete.
func TestWebhookCommands(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		if r := mustOK(t, cli("webhook", "list")); !strings.Contains(r.stdout, "No webhook endpoints yet") {
			t.Errorf("empty list: %s", r.stdout)
		}
		if r := mustOK(t, cli("webhook", "events")); !strings.Contains(r.stdout, models.WebhookSigninFailed) {
			t.Errorf("events: %s", r.stdout)
		}
		w := decode[console.WebhookCreated](t, mustOK(t, cli("webhook", "create", "https://crm.example.com/hooks", "--event", "user.created,user.deleted", "--json")))
		if !strings.HasPrefix(w.Secret, "whsec_") || len(w.EventTypes) != 2 || !w.Enabled {
			t.Fatalf("created %+v", w)
		}
		r := cli("webhook", "create", "http://10.0.0.5/x", "--event", "user.nope")
		if r.code != 2 || !strings.Contains(r.stderr, "url:") || !strings.Contains(r.stderr, "event_types:") {
			t.Errorf("bad create: exit %d %s", r.code, r.stderr)
		}
		mustOK(t, cli("user", "create", "--email", "hooked@example.com"))
		ds, err := st.ListWebhookDeliveries(ctx, w.ID, "", 10)
		if err != nil || len(ds) != 1 || ds[0].EventType != models.WebhookUserCreated {
			t.Fatalf("deliveries after a CLI user create: %+v %v", ds, err)
		}
		mustOK(t, cli("webhook", "update", w.ID, "--description", "CRM"))
		mustOK(t, cli("webhook", "disable", w.ID))
		if r := mustOK(t, cli("webhook", "list")); !strings.Contains(r.stdout, "disabled") {
			t.Errorf("list after disable: %s", r.stdout)
		}
		mustOK(t, cli("webhook", "enable", w.ID))
		if r := mustOK(t, cli("webhook", "rotate-secret", w.ID)); !strings.Contains(r.stdout, "whsec_") || strings.Contains(r.stdout, w.Secret) {
			t.Errorf("rotate: %s", r.stdout)
		}
		if r := cli("webhook", "redeliver", w.ID, ds[0].ID); r.code == 0 || !strings.Contains(r.stderr, "waiting for its next attempt") {
			t.Errorf("redeliver of a pending message: exit %d %s", r.code, r.stderr)
		}
		if r := mustOK(t, cli("webhook", "deliveries", w.ID)); !strings.Contains(r.stdout, ds[0].ID) {
			t.Errorf("deliveries: %s", r.stdout)
		}
		mustOK(t, cli("webhook", "delete", w.ID))
		if r := cli("webhook", "show", w.ID); r.code == 0 || !strings.Contains(r.stderr, "not found") {
			t.Errorf("show after delete: exit %d %s", r.code, r.stderr)
		}
		entries, err := st.ListAuditEntries(ctx, store.AuditFilter{TargetType: "webhook", TargetID: w.ID}, 20)
		if err != nil || len(entries) < 5 || entries[0].ActorKind != models.ActorCLI {
			t.Errorf("audit: %d entries, %v", len(entries), err)
		}
	})
}
