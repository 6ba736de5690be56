package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// TestConsoleEverydayGapsInChromium: the Sign-ins page (filters, the
// export links), a user's pending deletion cancelled through the modal
// confirmation, an endpoint edited (every bad field at once, then saved)
// and the console-wide notice once the delivery worker disabled an
// endpoint on its own — each page screenshot at 1280x800 and 390x844,
// light and dark, and checked with axe.
func TestConsoleEverydayGapsInChromium(t *testing.T) {
	env, httpBrowser, admin := uiAdmin(t)
	bg := context.Background()
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	open := func(path, waitFor string) {
		t.Helper()
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(waitFor))
	}

	// Sign-ins.
	ann := env.CreateUser("ann.with.a.rather.long.address@example.test")
	for i, r := range []string{models.ResultSuccess, models.ResultFailure, models.ResultSuccess} {
		must(t, env.Store.RecordAuthEvent(bg, &models.AuthEvent{ID: "gap-ev-" + string(rune('a'+i)), At: time.Now().Add(-time.Duration(i) * time.Hour),
			UserID: ann.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: r, Reason: map[bool]string{true: "", false: "unknown_credential"}[r == models.ResultSuccess],
			IP: "198.51.100.23"}))
	}
	must(t, env.Store.RecordAuthEvent(bg, &models.AuthEvent{ID: "gap-ev-admin", At: time.Now(), UserID: admin.ID, Method: models.MethodPasslink,
		Event: models.EventLogin, Result: models.ResultSuccess}))
	open("/console/sign-ins", "table.signins")
	checkConsolePage(t, ctx, "console-signins")
	browsertest.Do(t, ctx, "filter", chromedp.SendKeys("#s-user", ann.Email), chromedp.SetValue("#s-result", models.ResultFailure),
		chromedp.Click(`form.signin-filter button[type=submit]`))
	// The unfiltered page has the same link and words: wait for the
	// filtered page's address first.
	waitQuery(t, ctx, "result=failure")
	browsertest.Do(t, ctx, "filtered page", chromedp.WaitVisible(`a[href="/console/sign-ins"]`))
	browsertest.WaitText(t, ctx, "table.signins", "Sign-in failed")
	if rows := browsertest.Eval[int](t, ctx, `document.querySelectorAll("table.signins tbody tr").length`); rows != 1 {
		t.Errorf("filtered rows: %d, want 1", rows)
	}
	if href := browsertest.Eval[string](t, ctx, `document.getElementById("export-jsonl").getAttribute("href")`); !strings.Contains(href, "result=failure") || !strings.Contains(href, "format=jsonl") {
		t.Errorf("export link %q lacks the filters", href)
	}
	checkConsolePage(t, ctx, "console-signins-filtered")

	// Cancel a pending deletion.
	must(t, env.Store.ScheduleUserDeletion(bg, ann.ID, time.Now().Add(7*24*time.Hour)))
	open("/console/users/"+ann.ID, "#cancel-deletion")
	checkConsolePage(t, ctx, "console-user-deletion")
	browsertest.Do(t, ctx, "cancel the deletion", chromedp.Click("#cancel-deletion button"))
	acceptConfirmation(t, ctx)
	browsertest.WaitText(t, ctx, "main", "Deletion cancelled")
	if u, _ := env.Store.GetUser(bg, ann.ID); u.DeletionDueAt != nil {
		t.Error("still scheduled for deletion")
	}

	// A webhook endpoint, edited.
	open("/console/webhooks", "#add-webhook")
	browsertest.Do(t, ctx, "add", chromedp.SendKeys("#webhook_url", "https://crm.example.test/hooks/sesame"),
		chromedp.Click(`#add-webhook input[value="user.created"]`), chromedp.Click(`#add-webhook button[type=submit]`), chromedp.WaitVisible("#webhook-secret"))
	eps, err := env.Store.ListWebhookEndpoints(bg)
	if err != nil || len(eps) != 1 {
		t.Fatalf("endpoints %v %v", eps, err)
	}
	id := eps[0].ID
	open("/console/webhooks/"+id, "details.webhook-edit summary")
	browsertest.Do(t, ctx, "a bad edit", chromedp.Click("details.webhook-edit summary"), chromedp.SetValue("#edit_url", "http://crm.example.test/hook"),
		chromedp.Click(`#edit-webhook input[value="user.created"]`), chromedp.Click(`#edit-webhook button[type=submit]`), chromedp.WaitVisible("#edit_url-error"))
	browsertest.WaitText(t, ctx, "#edit_event_types-error", "at least one")
	checkConsolePage(t, ctx, "console-webhook-edit-error")
	browsertest.Do(t, ctx, "a good edit", chromedp.SetValue("#edit_url", "https://crm.example.test/hooks/v2"),
		chromedp.Click(`#edit-webhook input[value="signin.failed"]`), chromedp.Click(`#edit-webhook input[value="user.deleted"]`),
		chromedp.Click(`#edit-webhook button[type=submit]`))
	browsertest.WaitText(t, ctx, "main", "Endpoint saved")
	ep, err := env.Store.GetWebhookEndpoint(bg, id)
	must(t, err)
	if ep.URL != "https://crm.example.test/hooks/v2" || ep.EventTypes != "user.deleted signin.failed" && ep.EventTypes != "signin.failed user.deleted" || !ep.Enabled {
		t.Errorf("after the edit: %+v", ep)
	}
	audit, err := env.Store.ListAuditEntries(bg, storeAuditFilter("webhook.update", id), 5)
	must(t, err)
	if len(audit) != 1 || !strings.Contains(audit[0].BeforeJSON, "hooks/sesame") || !strings.Contains(audit[0].AfterJSON, "hooks/v2") || audit[0].ActorID != admin.ID {
		t.Errorf("audit of the edit: %+v", audit)
	}

	// The worker gives up on it: a notice on every console page.
	env.CreateUser("first@example.test") // no subscriber: nothing queued
	must(t, env.Store.RecordAuthEvent(bg, &models.AuthEvent{ID: "gap-ev-fail", At: time.Now(), Method: models.MethodPasskey,
		Event: models.EventLogin, Result: models.ResultFailure, Reason: "unknown_credential"}))
	ds, err := env.Store.ListWebhookDeliveries(bg, id, models.MailPending, 5)
	if err != nil || len(ds) != 1 {
		t.Fatalf("queued: %v %v", ds, err)
	}
	now := time.Now()
	for i, at := range []time.Time{now, now.Add(25 * time.Hour)} {
		lease := at.Add(time.Minute)
		must(t, env.Store.ClaimWebhookDelivery(bg, ds[0].ID, at, lease))
		disabled, err := env.Store.RetryWebhookDelivery(bg, ds[0].ID, lease, at.Add(time.Second), "connection refused", false, models.WebhookAttempt{At: at}, 24*time.Hour)
		must(t, err)
		if disabled != (i == 1) {
			t.Fatalf("attempt %d: disabled %v", i, disabled)
		}
	}
	open("/console/clients", "p.shell-alert")
	browsertest.WaitText(t, ctx, "p.shell-alert", "https://crm.example.test/hooks/v2 was disabled automatically")
	checkConsolePage(t, ctx, "console-webhook-auto-disabled-notice")
	browsertest.Do(t, ctx, "follow the notice", chromedp.Click("p.shell-alert a"), chromedp.WaitVisible("#toggle-webhook"))
	browsertest.WaitText(t, ctx, "main", "Disabled automatically")
	browsertest.Do(t, ctx, "enable", chromedp.Click("#toggle-webhook"))
	browsertest.WaitText(t, ctx, "main", "Endpoint enabled")
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll("p.shell-alert").length`); n != 0 {
		t.Errorf("%d notices after enabling it again", n)
	}
}

func storeAuditFilter(action, target string) store.AuditFilter {
	return store.AuditFilter{Action: action, TargetID: target}
}

// waitQuery waits (up to 20 s) until the tab's address contains part.
func waitQuery(t *testing.T, ctx context.Context, part string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(browsertest.Location(t, ctx), part) {
			return
		}
	}
	t.Fatalf("the address never held %q: %s", part, browsertest.Location(t, ctx))
}
