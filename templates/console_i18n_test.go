package templates

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The console in every language: each console page rendered in a
// language other than English shows no English of its own. Views carry
// neutral data (names, addresses, codes): what a handler says comes from
// the catalogue too, and console/ui_lang_test.go checks those words on
// the served pages.

// codeRe is code and identifiers (<code>openid</code>, a client ID):
// names, not the page's words.
var codeRe = regexp.MustCompile(`(?s)<code[^>]*>.*?</code>`)

// consolePages is every console page in lang, with views that take the
// templates' branches.
func consolePages(lang string) []localizedPage {
	shell := ConsoleShell{Lang: lang, Path: "/console/users?q=x", Nav: "users", Admin: "admin@example.test", CSRF: "csrf", Flash: "Gespeichert."}
	p := Page{Title: "Titel"}
	chart := Chart{Title: "Titel", SVG: template.HTML(`<svg></svg>`), Legend: []LegendItem{{Class: "s0", Name: "Passkey", Total: "3"}}, EmptyText: "—"}
	bars := []Bar{{Name: "x", Total: "1", Width: "w20"}}
	pager := Pager{Page: 2, Prev: "/console/x", Next: "/console/x?page=3"}
	at := time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC)
	opts := []Option{{Value: "a", Label: "A", Hint: "—", Checked: true}, {Value: "b", Label: "B"}}
	client := ClientSummary{ID: "c1", Name: "Acme", HasSecret: true, CreatedAt: at, Dynamic: true, RegisteredWith: "—", ClientURI: "https://acme.example",
		PolicyURI: "https://acme.example/p", TOSURI: "https://acme.example/t", Contacts: []string{"a@example.test"}}
	form := ClientForm{Action: "/console/clients", Submit: "—", New: true,
		Spec:      ClientSpec{Name: "Acme", LogoURI: "https://acme.example/l.png", AccessTokenTTL: "1h", SkipConsent: true},
		Redirects: "https://acme.example/cb", Confidential: true,
		AuthMethods: opts, Grants: opts, Scopes: opts, Methods: opts, Algs: opts, ACRs: opts, UVs: opts, Groups: opts, Synced: opts, AllowModes: opts,
		SubjectTypes: opts, TokenFormats: opts, AllowNames: opts,
		Errors: map[string]string{"client_name": "—", "redirect_uris": "—"}, Problem: "—"}
	return []localizedPage{
		{"error", "console_error", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleError(w, 404, p, shell, ConsoleErrorView{Message: "—"})
		}},
		{"dashboard", "console_dashboard", func(r *Renderer, w http.ResponseWriter) error {
			rl := RangeLink{Name: "24h", Label: "24", Current: true}
			return r.ConsoleDashboard(w, 200, p, shell, ConsoleDashboardView{Range: rl, Ranges: []RangeLink{rl, {Name: "7d", Label: "7"}},
				SignIns: "1", Failures: "2", Active: "3", ActiveMonth: "4", PasskeyShare: "50 %", PasskeyUsers: "60 %",
				ByMethod: chart, ByClient: Chart{Title: "Titel", Empty: true, EmptyText: "—"}, NewAccounts: chart, FailureBars: bars,
				SignInShare: "1 %", UserShare: "2 %", Fallbacks: "3", FallbackToKey: "1", FallbackShare: "33 %", Synced: "2", DeviceBound: "1", SyncedBar: "w13",
				Models: bars, Feed: []FeedRow{{Time: "05:06:07", User: "a@example.test", Method: "Passkey", Client: "Acme", Event: "—", OK: true}, {Event: "—", Reason: "—"}},
				Health: []HealthItem{{Finding: "stale", Title: "—", Credentials: "2", Users: "1", Link: "/console/credentials"}, {Title: "—", Users: "3", Zero: true}, {Title: "—", Unchecked: true}},
				Funnel: []FunnelBar{{Name: "—", Users: "4", First: true}, {Name: "—", Users: "2", OfSignedUp: "50 %", OfPrevious: "60 %"}}})
		}},
		{"dashboard_empty", "console_dashboard", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleDashboard(w, 200, p, shell, ConsoleDashboardView{})
		}},
		{"users", "console_users", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUsers(w, 200, p, shell, ConsoleUsersView{Query: "a", Filtered: true, Rows: []UserRow{{ID: "u1", Email: "a@example.test", Name: "Ann", Created: "4.3.2025", Disabled: true, Admin: true},
				{ID: "u2", Email: "b@example.test", Verified: true}}, Pager: pager, ExportCSV: "/x.csv", ExportJSONL: "/x.jsonl"})
		}},
		{"users_none", "console_users", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUsers(w, 200, p, shell, ConsoleUsersView{Query: "a", Filtered: true})
		}},
		{"users_empty", "console_users", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUsers(w, 200, p, shell, ConsoleUsersView{})
		}},
		{"user", "console_user", func(r *Renderer, w http.ResponseWriter) error {
			due := at
			return r.ConsoleUser(w, 200, p, shell, ConsoleUserView{RecoveryCodes: 4, Grants: 2,
				User:      UserSummary{ID: "u1", Email: "a@example.test", EmailVerified: true, DisplayName: "Ann", Admin: true, CreatedAt: at, DeletionDueAt: &due},
				Passlinks: true,
				Identity:  UserForm{Email: "a@example.test", Errors: map[string]string{"email": "—"}, Problem: "—"},
				Creds: []CredRow{{ID: "cr1", Name: "YubiKey", Kind: "—", Model: "YubiKey 5", Storage: "—", Created: "4.3.2025", LastUsed: "—", AAGUID: "00", Flagged: true, Compromised: "REVOKED", Suspended: true,
					Badges: []Badge{{Text: "—", Class: "bad"}}}, {ID: "cr2", Name: "iPhone", Model: "iCloud"}},
				Sessions: []SessionRow{{Started: "a", LastSeen: "b", Expires: "c", Methods: "pop", IP: "127.0.0.1", Device: "Firefox"}},
				Events:   []EventRow{{At: "a", Event: "—", Method: "Passkey", Client: "Acme", IP: "127.0.0.1", OK: true}, {Event: "—", Reason: "—"}},
				History:  HistoryFilter{Results: opts, Methods: opts, Clients: opts, Older: "/x"},
				Profile:  ProfileForm{Username: "ann", Locale: "de", Attributes: "{}", Errors: map[string]string{"username": "—"}, Problem: "—"},
				Groups:   UserGroups{Names: []string{"staff"}, Join: opts, Error: "—"}, ExportCSV: "/x", ExportJSONL: "/y"})
		}},
		{"user_disabled", "console_user", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUser(w, 200, p, shell, ConsoleUserView{User: UserSummary{ID: "u1", Email: "a@example.test", Disabled: true, CreatedAt: at},
				Identity: UserForm{Errors: map[string]string{}}, Profile: ProfileForm{Errors: map[string]string{}}, History: HistoryFilter{Filtered: true}})
		}},
		{"user_empty", "console_user", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUser(w, 200, p, shell, ConsoleUserView{User: UserSummary{ID: "u1", Email: "a@example.test", CreatedAt: at}, Self: true,
				Identity: UserForm{Errors: map[string]string{}}, Profile: ProfileForm{Errors: map[string]string{}}})
		}},
		{"user_new", "console_user_new", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUserNew(w, 422, p, shell, UserForm{Email: "x", Passlinks: true, SendLink: true, Errors: map[string]string{"email": "—"}, Problem: "—"})
		}},
		{"user_new_nomail", "console_user_new", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUserNew(w, 200, p, shell, UserForm{Errors: map[string]string{}})
		}},
		{"admin_invite", "console_admin_invite", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleAdminInvite(w, 422, p, shell, AdminInviteView{Email: "a@example.test", Error: "—"})
		}},
		{"admin_invite_link", "console_admin_invite", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleAdminInvite(w, 200, p, shell, AdminInviteView{Email: "a@example.test", Link: "https://id.example/console/setup/x", Expires: "2.1.2026, 15:04"})
		}},
		{"user_import", "console_user_import", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleImport(w, 200, p, shell, ConsoleImportView{Format: "csv", Content: "email", Report: true,
				Created: 1, Invalid: 1, Rows: []ImportRowView{{Row: 2, Email: "a@example.test", Action: "—"}, {Row: 3, Email: "x", Invalid: true, Errors: "—"}}, Error: "—"})
		}},
		{"user_import_done", "console_user_import", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleImport(w, 200, p, shell, ConsoleImportView{Report: true, Done: true, Created: 1})
		}},
		{"clients", "console_clients", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClients(w, 200, p, shell, ConsoleClientsView{Query: "ac", Sort: "name", Rows: []ClientRow{{ID: "c1", Name: "Acme", Type: "—", Created: "4.3.2025", LastUsed: "—", ActiveUsers: "1", Disabled: true, Dynamic: true}},
				Pager: pager, Total: 1, Sorts: opts, Registered: opts})
		}},
		{"clients_none", "console_clients", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClients(w, 200, p, shell, ConsoleClientsView{Query: "zz", Filtered: "—"})
		}},
		{"clients_empty", "console_clients", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClients(w, 200, p, shell, ConsoleClientsView{})
		}},
		{"client_form", "console_client_form", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClientForm(w, 422, p, shell, form)
		}},
		{"client", "console_client", func(r *Renderer, w http.ResponseWriter) error {
			f := form
			f.New, f.Groups = false, nil
			f.Lockout = &Lockout{Count: 3, Emails: []string{"a@example.test"}, More: 2, Needs: "—"}
			return r.ConsoleClient(w, 200, p, shell, ConsoleClientView{Client: client, Form: f, Type: "—"})
		}},
		{"client_disabled", "console_client", func(r *Renderer, w http.ResponseWriter) error {
			c := client
			c.Disabled, c.HasSecret = true, false
			return r.ConsoleClient(w, 200, p, shell, ConsoleClientView{Client: c, Form: form, Type: "—"})
		}},
		{"client_secret", "console_client_secret", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClientSecret(w, 200, p, shell, ConsoleClientSecretView{Client: client, Secret: "s3cret", New: true,
				Setup: ClientSetup{Issuer: "https://id.example", Discovery: "https://id.example/.well-known/openid-configuration", RedirectURIs: []string{"https://acme.example/cb"},
					WebOrigins: []string{"https://acme.example"}, OriginsDefault: true, Library: "oauth4webapi", LibraryURL: "https://example.test", Snippet: "x"}})
		}},
		{"client_secret_public", "console_client_secret", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClientSecret(w, 200, p, shell, ConsoleClientSecretView{Client: client, Setup: ClientSetup{Public: true}})
		}},
		{"client_secret_jwt", "console_client_secret", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClientSecret(w, 200, p, shell, ConsoleClientSecretView{Client: client, Setup: ClientSetup{}})
		}},
		{"policies", "console_policies", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsolePolicies(w, 422, p, shell, ConsolePoliciesView{P: PolicyFields{SignupOpen: true, PasslinkRateEmail: 5, PasslinkRateIP: 20, MDSFile: "/mds"},
				Methods: opts, UV: opts, Attestation: opts, Synced: opts, Recovery: opts, AllowModes: opts, RegModes: opts, RegGrants: opts, RegSchemes: opts,
				Allow: "a", Deny: "b", AllowNames: opts, DenyNames: opts, Lockout: &Lockout{Count: 1, Emails: []string{"a@example.test"}},
				Metadata:  MetadataView{State: "—", StateClass: "ok", Source: "/mds", NextUpdate: "1.1.2026", Checked: "—", LastError: "—", Serial: 7},
				Durations: []DurationField{{Name: "passlink_ttl", Label: "—", Value: "10m", Hint: "—"}},
				Errors:    map[string]string{"passlink_ttl": "—", "_": "—"}, Problem: "—"})
		}},
		{"keys", "console_keys", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleKeys(w, 200, p, shell, []KeyRow{{KID: "k1", Alg: "RS256", State: "—", StateClass: "ok", Created: "a", Activated: "b", Retired: "—", Expires: "—"}})
		}},
		{"keys_empty", "console_keys", func(r *Renderer, w http.ResponseWriter) error { return r.ConsoleKeys(w, 200, p, shell, nil) }},
		{"audit", "console_audit", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleAudit(w, 200, p, shell, ConsoleAuditView{Action: "client.create", Filtered: true, Next: "/console/audit?cursor=x",
				Rows: []AuditRow{{At: "a", Actor: "admin", ActorKind: "user", Action: "client.create", TargetType: "client", TargetID: "c1", IP: "127.0.0.1", Before: "{}", After: `{"a":1}`}}})
		}},
		{"audit_none", "console_audit", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleAudit(w, 200, p, shell, ConsoleAuditView{Filtered: true})
		}},
		{"audit_empty", "console_audit", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleAudit(w, 200, p, shell, ConsoleAuditView{})
		}},
		{"signins", "console_signins", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleSignIns(w, 200, p, shell, ConsoleSignInsView{User: "a", Filter: HistoryFilter{Results: opts, Methods: opts, Clients: opts, Filtered: true, Older: "/x"},
				Rows: []SignInRow{{EventRow: EventRow{At: "a", Event: "—", OK: true}, Email: "a@example.test", UserLink: "/u"}, {EventRow: EventRow{Event: "—", Reason: "—"}}}})
		}},
		{"signins_none", "console_signins", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleSignIns(w, 200, p, shell, ConsoleSignInsView{Filter: HistoryFilter{Filtered: true}})
		}},
		{"signins_empty", "console_signins", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleSignIns(w, 200, p, shell, ConsoleSignInsView{})
		}},
		{"credentials", "console_credentials", func(r *Renderer, w http.ResponseWriter) error {
			it := HealthItem{Finding: "stale", Title: "—", Description: "—", Credentials: "2", Users: "1", Link: "/x", Problem: true, Current: true}
			return r.ConsoleCredentials(w, 200, p, shell, ConsoleCredentialsView{Credentials: "5", Users: "3", SyncedShare: "40 %", OnlySynced: "—",
				Items: []HealthItem{it, {Title: "—", Users: "3"}, {Title: "—", Unchecked: true}}, Current: it, Next: "/x",
				Rows: []HealthCredRow{{ID: "c1", UserID: "u1", Email: "a@example.test", Name: "Key", Model: "YubiKey", Kind: "—", Storage: "—", Badges: []Badge{{Text: "—"}}}}})
		}},
		{"credentials_unchecked", "console_credentials", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleCredentials(w, 200, p, shell, ConsoleCredentialsView{Current: HealthItem{Title: "—", Unchecked: true}})
		}},
		{"credentials_none", "console_credentials", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleCredentials(w, 200, p, shell, ConsoleCredentialsView{Current: HealthItem{Title: "—"}})
		}},
		{"stats", "console_stats", func(r *Renderer, w http.ResponseWriter) error {
			rl := RangeLink{Name: "24h", Label: "—", Current: true}
			return r.ConsoleStats(w, 200, p, shell, ConsoleStatsView{Title: "—", Range: rl, Ranges: []RangeLink{rl}, SignIns: "1", Failures: "2", FailureRate: "50 %",
				Chart: chart, Reasons: bars, SplitTitle: "—", Split: bars, ExportCSV: "/x", ExportJSONL: "/y"})
		}},
		{"stats_empty", "console_stats", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleStats(w, 200, p, shell, ConsoleStatsView{Title: "—", Failures: "0"})
		}},
		{"groups", "console_groups", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroups(w, 200, p, shell, ConsoleGroupsView{Query: "st", Rows: []GroupRow{{Name: "staff", Members: 3, Created: "4.3.2025"}}, Pager: pager})
		}},
		{"groups_none", "console_groups", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroups(w, 200, p, shell, ConsoleGroupsView{Query: "zz"})
		}},
		{"groups_empty", "console_groups", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroups(w, 200, p, shell, ConsoleGroupsView{})
		}},
		{"group_form", "console_group_form", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroupForm(w, 422, p, shell, GroupForm{Action: "/console/groups", Submit: "—", New: true,
				Name: "a b", Errors: map[string]string{"name": "—", "description": "—"}, Problem: "—"})
		}},
		{"group", "console_group", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroup(w, 200, p, shell, ConsoleGroupView{Group: GroupSummary{Name: "staff", Members: 2, CreatedAt: at},
				Form: GroupForm{Description: "—", Errors: map[string]string{}}, Members: []MemberRow{{ID: "u1", Email: "a@example.test", Name: "Ann"}},
				Pager: pager, Clients: []string{"Wiki"}, AddValue: "x", AddError: "—"})
		}},
		{"group_empty", "console_group", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroup(w, 200, p, shell, ConsoleGroupView{Group: GroupSummary{Name: "staff", CreatedAt: at}, Form: GroupForm{Errors: map[string]string{}}})
		}},
		{"scopes", "console_scopes", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleScopes(w, 422, p, shell, ConsoleScopesView{Rows: []ScopeRow{{Name: "roles", Claims: "roles", Clients: 2}},
				Form: ScopeForm{New: true, Action: "/console/scopes", Submit: "—", Name: "x", Errors: map[string]string{"claims": "—"}, Problem: "—"}})
		}},
		{"upstreams", "console_upstreams", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUpstreams(w, 422, p, shell, ConsoleUpstreamsView{Rows: []UpstreamRow{{ID: "acme", Name: "Acme", Kind: "oidc", Issuer: "https://sso.acme.example", Domains: "acme.example"}, {ID: "gh", Name: "GitHub", Kind: "github", Disabled: true}},
				Callback: "https://id.example/login/upstream/callback",
				Form: UpstreamForm{New: true, Presets: []Option{{Value: "", Label: "OIDC"}, {Value: "google", Label: "Google"}}, Provisioning: "create",
					Errors: map[string]string{"issuer": "Fehler.", "client_secret": "Fehler.", "claims": "Fehler.", "provisioning": "Fehler.", "domains": "Fehler.", "id": "Fehler.", "name": "Fehler.", "icon": "Fehler.", "scopes": "Fehler.", "client_id": "Fehler."}, Problem: "Fehler."}})
		}},
		{"upstream", "console_upstream", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUpstream(w, 200, p, shell, ConsoleUpstreamView{ID: "acme", Name: "Acme", Callback: "https://id.example/login/upstream/callback",
				Form: UpstreamForm{ID: "acme", Name: "Acme", Kind: "oidc", HasSecret: true, Provisioning: "link", LocalMethods: true, Errors: map[string]string{}}})
		}},
		{"scopes_empty", "console_scopes", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleScopes(w, 200, p, shell, ConsoleScopesView{Form: ScopeForm{New: true, Errors: map[string]string{}}})
		}},
		{"scope", "console_scope", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleScope(w, 200, p, shell, ConsoleScopeView{Name: "roles", Clients: []ClientSummary{{ID: "c1", Name: "Acme"}},
				Form: ScopeForm{Action: "/console/scopes/roles", Submit: "—", Name: "roles", Errors: map[string]string{}}})
		}},
		{"scope_unused", "console_scope", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleScope(w, 200, p, shell, ConsoleScopeView{Name: "roles", Form: ScopeForm{Errors: map[string]string{}}})
		}},
		{"resources", "console_resources", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleResources(w, 422, p, shell, ConsoleResourcesView{Rows: []ResourceRow{{Name: "orders", Audience: "https://api.example.com/orders", Format: "JWT"}},
				Form: ResourceForm{New: true, Action: "/console/resources", Submit: "—", Name: "x", Audience: "/x", Formats: opts, Errors: map[string]string{"audience": "—"}, Problem: "—"}})
		}},
		{"resources_empty", "console_resources", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleResources(w, 200, p, shell, ConsoleResourcesView{Form: ResourceForm{New: true, Scopes: opts, Errors: map[string]string{}}})
		}},
		{"resource", "console_resource", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleResource(w, 200, p, shell, ConsoleResourceView{Name: "orders",
				Form: ResourceForm{Action: "/console/resources/orders", Submit: "—", Name: "orders", Audience: "https://api.example.com/orders", Scopes: opts, Formats: opts, Errors: map[string]string{}}})
		}},
		{"webhooks", "console_webhooks", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhooks(w, 422, p, shell, ConsoleWebhooksView{Rows: []WebhookRow{{ID: "wh_1", URL: "https://crm.example/h", Description: "CRM", Events: "user.created", State: "—", Warn: true}},
				Events: opts, URL: "x", Errors: map[string]string{"url": "—", "description": "—", "event_types": "—"}, Problem: "—"})
		}},
		{"webhooks_empty", "console_webhooks", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhooks(w, 200, p, shell, ConsoleWebhooksView{Events: opts, Errors: map[string]string{}})
		}},
		{"webhook", "console_webhook", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhook(w, 201, p, shell, ConsoleWebhookView{ID: "wh_1", URL: "https://crm.example/h", Description: "CRM",
				Events: "user.created", Enabled: true, FailingSince: "4.3.2025", LastSuccess: "—", Created: "4.3.2025", Secret: "whsec_x",
				Edit:       WebhookEditForm{URL: "x", Events: opts, Errors: map[string]string{"url": "—"}, Problem: "—"},
				Deliveries: []DeliveryRow{{ID: "msg_1", Event: "user.created", Status: "—", Attempts: 10, Code: "HTTP 500", Latency: "12 ms", Error: "—", Redeliver: true}}})
		}},
		{"webhook_disabled", "console_webhook", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhook(w, 200, p, shell, ConsoleWebhookView{ID: "wh_1", URL: "https://crm.example/h", DisabledReason: "—", Edit: WebhookEditForm{Errors: map[string]string{}}})
		}},
		{"branding", "console_branding", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleBranding(w, 422, p, shell, ConsoleBrandingView{Form: BrandingForm{ProductName: "Acme", Errors: map[string]string{"product_name": "—"}, Problem: "—"},
				LogoURL: "/branding/logo", LogoInfo: "image/png, 1.0 KiB", LogoError: "—", Warnings: []string{"—"}, MaxLogoKiB: 256})
		}},
		{"branding_nologo", "console_branding", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleBranding(w, 200, p, shell, ConsoleBrandingView{Form: BrandingForm{Errors: map[string]string{}}, MaxLogoKiB: 256})
		}},
		{"registration", "console_registration", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleRegistration(w, 201, p, shell, ConsoleRegistrationView{Mode: "protected", ModeName: "—", ModeText: "—",
				Rows:   []InitialTokenRow{{ID: "t1", Label: "Partner", CreatedBy: "admin", Uses: 1, MaxUses: 3, UsesLeft: 2, State: "—", Revocable: true}},
				Minted: &MintedToken{ID: "t1", Label: "Partner", Token: "iat_x", Expires: "—", MaxUses: 3}, Errors: map[string]string{"label": "—"}, Problem: "—"})
		}},
		{"registration_empty", "console_registration", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleRegistration(w, 200, p, shell, ConsoleRegistrationView{Mode: "off", Errors: map[string]string{}})
		}},
	}
}

// TestConsolePagesLocalized renders every console page in every language
// but the default and looks for English in what people see, as
// TestHostedPagesLocalized does for the hosted pages.
func TestConsolePagesLocalized(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, lang := range r.Catalog().Languages()[1:] {
		for _, tc := range consolePages(lang) {
			covered[tc.page] = true
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				w := httptest.NewRecorder()
				if err := tc.render(r, w); err != nil {
					t.Fatal(err)
				}
				body := w.Body.String()
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("no <html lang=%q>", lang)
				}
				// The shell: the navigation and the language switch.
				for _, k := range []string{"console.nav.users", "console.layout.sign_out", "console.layout.language"} {
					if !strings.Contains(body, template.HTMLEscapeString(r.T(lang, k))) {
						t.Errorf("the shell lacks %s in %s", k, lang)
					}
				}
				text := visibleText(codeRe.ReplaceAllString(body, " "))
				if left := englishLeftovers(r, lang, text); len(left) > 0 {
					t.Errorf("English sentences on the %s page: %v\n%s", lang, left, text)
				}
				if lang == "de" {
					if en := englishIn(text); len(en) > 0 {
						t.Errorf("English words on the German page: %v\n%s", en, text)
					}
				}
			})
		}
	}
	for _, f := range folders {
		if f.dir != "console" {
			continue
		}
		for _, name := range f.pages {
			if !covered[f.prefix+name] {
				t.Errorf("console page %s is not in consolePages", name)
			}
		}
	}
}

// TestConsoleEnglishIsEnglish: the same pages in English trip the
// checks, so they are not vacuous.
func TestConsoleEnglishIsEnglish(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range consolePages("en") {
		w := httptest.NewRecorder()
		if err := tc.render(r, w); err != nil {
			t.Fatal(err)
		}
		text := visibleText(codeRe.ReplaceAllString(w.Body.String(), " "))
		if len(englishLeftovers(r, "de", text)) == 0 {
			t.Errorf("%s: the English page is not seen as English", tc.name)
		}
	}
}
