package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
)

// TestConsoleWebhooksInChromium: an admin adds an endpoint (a refusal
// names each bad field), sees its secret once, sees a delivery in its log,
// disables it (the notice says so), redelivers a failed message and
// deletes the endpoint after the confirmation, in Chromium; each page
// passes checkConsolePage (axe-core, CSP, one h1, labelled fields, no
// sideways scrolling, visible focus) at 1280×800 and 390×844, light and
// dark. SESAME_SCREENSHOTS=DIR saves a PNG of each view.
func TestConsoleWebhooksInChromium(t *testing.T) {
	env, httpBrowser, admin := uiAdmin(t)
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	open := func(path, waitFor string) {
		t.Helper()
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(waitFor))
	}
	open("/console/webhooks", "#add-webhook")
	browsertest.WaitText(t, ctx, "main", "No endpoints yet")
	checkConsolePage(t, ctx, "console-webhooks-empty")

	browsertest.Do(t, ctx, "add a bad one", chromedp.SendKeys("#webhook_url", "https://10.1.2.3/hook"),
		chromedp.Click(`form.webhook-form button[type=submit]`), chromedp.WaitVisible("#webhook_url-error"))
	browsertest.WaitText(t, ctx, "#webhook_url-error", "internal address")
	browsertest.WaitText(t, ctx, "#event_types-error", "at least one")
	checkConsolePage(t, ctx, "console-webhooks-error")

	browsertest.Do(t, ctx, "add a good one", chromedp.SetValue("#webhook_url", "https://crm.example.test/hooks/sesame"),
		chromedp.SendKeys("#webhook_description", "CRM sync"),
		chromedp.Click(`input[value="user.created"]`), chromedp.Click(`input[value="signin.failed"]`),
		chromedp.Click(`form.webhook-form button[type=submit]`), chromedp.WaitVisible("#webhook-secret"))
	checkConsolePage(t, ctx, "console-webhook-secret")
	eps, err := env.Store.ListWebhookEndpoints(context.Background())
	if err != nil || len(eps) != 1 {
		t.Fatalf("endpoints %v %v", eps, err)
	}
	id := eps[0].ID

	// A fact, then the endpoint disabled: its queued message fails.
	env.CreateUser("someone@example.test")
	if err := env.Store.RecordAuthEvent(context.Background(), &models.AuthEvent{ID: "ev-ui", Method: models.MethodPasskey,
		Event: models.EventLogin, Result: models.ResultFailure, Reason: "unknown_credential"}); err != nil {
		t.Fatal(err)
	}
	open("/console/webhooks/"+id, "#toggle-webhook")
	browsertest.WaitText(t, ctx, "section[aria-labelledby=deliveries-h]", "signin.failed")
	browsertest.Do(t, ctx, "disable", chromedp.Click("#toggle-webhook"))
	browsertest.WaitText(t, ctx, "main", "Disabled.")
	if _, err := env.Server.Webhooks().DeliverDue(context.Background()); err == nil {
		t.Fatal("delivered to a disabled endpoint")
	}
	open("/console/webhooks/"+id, "#toggle-webhook")
	browsertest.WaitText(t, ctx, "section[aria-labelledby=deliveries-h]", "the endpoint is disabled")
	browsertest.Do(t, ctx, "open the danger zone", chromedp.Click("details.danger-zone summary"))
	checkConsolePage(t, ctx, "console-webhook")
	browsertest.Do(t, ctx, "enable", chromedp.Click("#toggle-webhook"))
	browsertest.WaitText(t, ctx, "main", "Endpoint enabled")
	browsertest.Do(t, ctx, "redeliver", chromedp.Click(`button[aria-label^="Redeliver signin.failed"]`))
	browsertest.WaitText(t, ctx, "main", "Delivery queued again")
	ds, _ := env.Store.ListWebhookDeliveries(context.Background(), id, models.MailPending, 10)
	if len(ds) != 1 || ds[0].EventType != models.WebhookSigninFailed {
		t.Errorf("pending after redelivery: %+v", ds)
	}

	open("/console/webhooks", "table")
	browsertest.WaitText(t, ctx, "table", "crm.example.test")
	checkConsolePage(t, ctx, "console-webhooks")
	// Deleting asks for a fresh passkey confirmation (the client deletion
	// test walks that dialog); this admin confirmed a moment ago.
	sessions, err := env.Store.ListUserLoginSessions(context.Background(), admin.ID)
	if err != nil || len(sessions) == 0 {
		t.Fatalf("admin sessions: %v %v", sessions, err)
	}
	if err := env.Store.SetLoginSessionSteppedUp(context.Background(), sessions[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	open("/console/webhooks/"+id, "#toggle-webhook")
	browsertest.Do(t, ctx, "open the danger zone", chromedp.Click("details.danger-zone summary"), chromedp.Click("#delete-webhook"))
	acceptConfirmation(t, ctx)
	browsertest.WaitText(t, ctx, "main", "Endpoint deleted")
	if eps, _ := env.Store.ListWebhookEndpoints(context.Background()); len(eps) != 0 {
		t.Errorf("endpoints after delete: %v", eps)
	}
}
