package templates

import "net/http"

// --- Webhooks (console/webhooks.html, webhook.html) ---

// WebhookRow is a line of the endpoints table.
type WebhookRow struct {
	ID, URL, Description, Events, State string
	Warn                                bool
}

// ConsoleWebhooksView is the endpoints table and the "add" form.
type ConsoleWebhooksView struct {
	Rows []WebhookRow
	// Events are the catalogue's types as checkboxes.
	Events           []Option
	URL, Description string
	Errors           map[string]string
	Problem          string
	CSRF             string
}

// ConsoleWebhooks renders the endpoints page.
func (r *Renderer) ConsoleWebhooks(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleWebhooksView) error {
	v.CSRF = s.CSRF
	return r.console(w, status, "console_webhooks", p, s, v)
}

// DeliveryRow is a line of an endpoint's delivery log.
type DeliveryRow struct {
	ID, Event, Status, Created, LastAttempt, Code, Latency, Error string
	Attempts                                                      int
	Redeliver                                                     bool
}

// ConsoleWebhookView is an endpoint's page: its settings, state, secret
// (only right after it was made) and delivery log.
type ConsoleWebhookView struct {
	ID, URL, Description, Events string
	Enabled                      bool
	DisabledReason, FailingSince string
	LastSuccess, Created         string
	// Secret is set once, on the answer that made it.
	Secret     string
	Deliveries []DeliveryRow
	CSRF       string
	// Edit is the edit form (the endpoint's values, or a refused edit's
	// with its errors, then open).
	Edit WebhookEditForm
}

// WebhookEditForm is the edit form of an endpoint.
type WebhookEditForm struct {
	URL, Description string
	Enabled          bool
	Events           []Option
	Errors           map[string]string
	Problem          string
}

// ConsoleWebhook renders an endpoint's page.
func (r *Renderer) ConsoleWebhook(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleWebhookView) error {
	v.CSRF = s.CSRF
	return r.console(w, status, "console_webhook", p, s, v)
}

// --- Bulk import of users (console/user_import.html) ---

// ImportRowView is a line of an import's report.
type ImportRowView struct {
	Row                   int
	Email, Action, Errors string
	Invalid               bool
}

// ConsoleImportView is the import page: the upload form, then a dry run's
// report with the "apply" form carrying the same file, then the result.
type ConsoleImportView struct {
	Format  string
	Content string // the uploaded file, carried from the preview to the apply
	Error   string
	// Report: Done is set after an import was applied; else a preview.
	Report                               bool
	Done                                 bool
	Created, Updated, Unchanged, Invalid int
	Rows                                 []ImportRowView
	CSRF                                 string
}

// ConsoleImport renders the import page.
func (r *Renderer) ConsoleImport(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleImportView) error {
	v.CSRF = s.CSRF
	return r.console(w, status, "console_user_import", p, s, v)
}
