package console

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The console's webhook pages (webhooks.go): the endpoints with an "add"
// form, and each endpoint's page with its state, delivery log and
// redelivery. Forms post here.

func (u *UI) mountWebhooks(r gin.IRouter) {
	r.GET("/console/webhooks", u.handle(u.webhookList))
	r.POST("/console/webhooks", u.handle(u.webhookCreate))
	r.GET("/console/webhooks/:id", u.handle(u.webhookShow))
	r.POST("/console/webhooks/:id", u.handle(u.webhookUpdate))
	r.POST("/console/webhooks/:id/enabled", u.handle(u.webhookSetEnabled))
	r.POST("/console/webhooks/:id/rotate-secret", u.handle(u.webhookRotate))
	r.POST("/console/webhooks/:id/deliveries/:delivery/redeliver", u.handle(u.webhookRedeliver))
}

func webhookPath(id string) string { return "/console/webhooks/" + id }

func (u *UI) renderWebhooks(c *gin.Context, status int, v templates.ConsoleWebhooksView, checked []string) error {
	list, err := u.c.Webhooks.List(c.Request.Context())
	if err != nil {
		return err
	}
	for _, w := range list {
		row := templates.WebhookRow{ID: w.ID, URL: w.URL, Description: w.Description, Events: strings.Join(w.EventTypes, ", "), State: u.T(c, "console.client.enabled")}
		switch {
		case !w.Enabled:
			row.State, row.Warn = u.T(c, "console.users.disabled"), true
		case w.FailingSince != nil:
			row.State, row.Warn = u.T(c, "console.webhook.failing_since", "when", u.when(c, *w.FailingSince)), true
		}
		v.Rows = append(v.Rows, row)
	}
	v.Events = u.webhookEventOptions(c, checked)
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
	return u.pages.ConsoleWebhooks(c.Writer, status, u.page(c, "console.webhooks.title"), u.shell(c, "webhooks"), v)
}

func (u *UI) webhookList(c *gin.Context) error {
	return u.renderWebhooks(c, http.StatusOK, templates.ConsoleWebhooksView{}, nil)
}

func (u *UI) webhookCreate(c *gin.Context) error {
	spec := WebhookSpec{URL: c.PostForm("url"), Description: c.PostForm("description"), EventTypes: c.PostFormArray("event_types")}
	w, err := u.c.Webhooks.Create(c.Request.Context(), spec)
	if err != nil {
		v := templates.ConsoleWebhooksView{URL: spec.URL, Description: spec.Description, Errors: map[string]string{}}
		if u.fieldErrors(c, err, v.Errors, &v.Problem) {
			return u.renderWebhooks(c, http.StatusUnprocessableEntity, v, spec.EventTypes)
		}
		return err
	}
	// The secret is shown in this answer only (no redirect carries it).
	return u.renderWebhook(c, http.StatusCreated, w.ID, w.Secret)
}

func (u *UI) webhookShow(c *gin.Context) error {
	return u.renderWebhook(c, http.StatusOK, c.Param("id"), "")
}

// webhookUpdate saves the edit form: URL, description, event types and
// the enabled box, every bad field reported at once.
func (u *UI) webhookUpdate(c *gin.Context) error {
	enabled := c.PostForm("enabled") == "on"
	spec := WebhookSpec{URL: c.PostForm("url"), Description: c.PostForm("description"), EventTypes: c.PostFormArray("event_types"), Enabled: &enabled}
	if _, err := u.c.Webhooks.Update(c.Request.Context(), c.Param("id"), spec); err != nil {
		f := templates.WebhookEditForm{URL: spec.URL, Description: spec.Description, Enabled: enabled, Events: u.webhookEventOptions(c, spec.EventTypes), Errors: map[string]string{}}
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			return u.renderWebhookPage(c, http.StatusUnprocessableEntity, c.Param("id"), "", &f)
		}
		return err
	}
	redirectDone(c, webhookPath(c.Param("id")), "webhook_saved")
	return nil
}

// webhookEventOptions is the catalogue as checkboxes, checked ones ticked.
func (u *UI) webhookEventOptions(c *gin.Context, checked []string) []templates.Option {
	var out []templates.Option
	for _, e := range models.WebhookCatalogue {
		out = append(out, templates.Option{Value: e.Type, Label: e.Type, Hint: u.word(c, "console.webhook_event.", e.Type, e.Description), Checked: slices.Contains(checked, e.Type)})
	}
	return out
}

func (u *UI) renderWebhook(c *gin.Context, status int, id, secret string) error {
	return u.renderWebhookPage(c, status, id, secret, nil)
}

// renderWebhookPage shows an endpoint; edit, when set, is a refused edit.
func (u *UI) renderWebhookPage(c *gin.Context, status int, id, secret string, edit *templates.WebhookEditForm) error {
	ctx := c.Request.Context()
	w, err := u.c.Webhooks.Get(ctx, id)
	if err != nil {
		return err
	}
	ds, err := u.c.Webhooks.Deliveries(ctx, id, "", 50)
	if err != nil {
		return err
	}
	v := templates.ConsoleWebhookView{ID: w.ID, URL: w.URL, Description: w.Description, Events: strings.Join(w.EventTypes, ", "),
		Enabled: w.Enabled, DisabledReason: w.DisabledReason, LastSuccess: u.whenPtr(c, w.LastSuccessAt), Created: u.when(c, w.CreatedAt), Secret: secret}
	v.DisabledReason = u.disabledReason(c, w.DisabledReason)
	if w.FailingSince != nil {
		v.FailingSince = u.when(c, *w.FailingSince)
	}
	for _, d := range ds {
		row := templates.DeliveryRow{ID: d.ID, Event: d.EventType, Status: u.word(c, "console.webhook.status_", d.Status, d.Status), Attempts: d.Attempts, Created: u.when(c, d.CreatedAt),
			Error: d.LastError, Redeliver: d.Status != models.MailPending}
		if d.ResponseCode != 0 {
			row.Code = fmt.Sprintf("HTTP %d", d.ResponseCode)
		}
		if d.LastAttemptAt != nil {
			row.Latency = fmt.Sprintf("%d ms", d.LatencyMS)
		}
		v.Deliveries = append(v.Deliveries, row)
	}
	if edit == nil {
		edit = &templates.WebhookEditForm{URL: w.URL, Description: w.Description, Enabled: w.Enabled, Events: u.webhookEventOptions(c, w.EventTypes)}
	}
	v.Edit = *edit
	return u.pages.ConsoleWebhook(c.Writer, status, u.page(c, "console.webhook.title"), u.shell(c, "webhooks"), v)
}

func (u *UI) webhookSetEnabled(c *gin.Context) error {
	enabled := c.PostForm("enabled") == "true"
	if _, err := u.c.Webhooks.SetEnabled(c.Request.Context(), c.Param("id"), enabled); err != nil {
		return err
	}
	code := "webhook_disabled"
	if enabled {
		code = "webhook_enabled"
	}
	redirectDone(c, webhookPath(c.Param("id")), code)
	return nil
}

func (u *UI) webhookRotate(c *gin.Context) error {
	secret, err := u.c.Webhooks.RotateSecret(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return u.renderWebhook(c, http.StatusOK, c.Param("id"), secret)
}

func (u *UI) webhookRedeliver(c *gin.Context) error {
	if _, err := u.c.Webhooks.Redeliver(c.Request.Context(), c.Param("id"), c.Param("delivery")); err != nil {
		return err
	}
	redirectDone(c, webhookPath(c.Param("id")), "webhook_redelivered")
	return nil
}

// webhookAlerts is the console-wide notice of endpoints the delivery
// worker disabled on its own (a day of failures): nothing reaches them
// until an admin enables them again, and nobody may be watching their
// page. Endpoints an admin disabled are not news.
func (u *UI) webhookAlerts(c *gin.Context) []templates.Alert {
	ctx := c.Request.Context()
	list, err := u.c.Webhooks.List(ctx)
	if err != nil {
		u.log.WarnContext(ctx, "console: list webhook endpoints", "err", err)
		return nil
	}
	var auto []WebhookView
	for _, w := range list {
		if !w.Enabled && w.DisabledReason != "" && w.DisabledReason != models.WebhookDisabledByAdmin {
			auto = append(auto, w)
		}
	}
	switch len(auto) {
	case 0:
		return nil
	case 1:
		return []templates.Alert{{Text: u.T(c, "console.webhook.auto_disabled_one", "url", auto[0].URL),
			Link: webhookPath(auto[0].ID), LinkText: u.T(c, "console.webhook.review_one")}}
	}
	return []templates.Alert{{Text: u.T(c, "console.webhook.auto_disabled", "count", len(auto)),
		Link: "/console/webhooks", LinkText: u.T(c, "console.webhook.review")}}
}

// autoDisabledRe reads back a reason models.WebhookAutoDisabledFormat
// made: since (RFC 3339), the window (a Go duration), the last error.
var autoDisabledRe = regexp.MustCompile(`(?s)^` + strings.NewReplacer(`%s`, `(.*?)`).Replace(regexp.QuoteMeta(models.WebhookAutoDisabledFormat)) + `$`)

// disabledReason is why an endpoint is off, in the admin's language: the
// stored reasons are English (the API's), so the admin's and the
// automatic rule's are said from the catalogue; the last error, the
// receiver's or the network's words, stays as it came.
func (u *UI) disabledReason(c *gin.Context, reason string) string {
	if reason == models.WebhookDisabledByAdmin {
		return u.T(c, "console.webhook.disabled_by_admin")
	}
	m := autoDisabledRe.FindStringSubmatch(reason)
	if m == nil {
		return reason
	}
	since, err1 := time.Parse(time.RFC3339, m[1])
	window, err2 := time.ParseDuration(m[2])
	if err1 != nil || err2 != nil {
		return reason
	}
	return u.T(c, "console.webhook.disabled_auto", "since", u.when(c, since), "window", u.pages.Catalog().Duration(u.lang(c), window), "error", m[3])
}
