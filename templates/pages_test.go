package templates

import (
	"html/template"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// examplePages renders every page through its typed method with an
// example view that takes the templates' branches (non-empty lists, set
// flags), so a field a template names but its view lacks fails here:
// html/template reports a missing field only when it executes it.
func examplePages() []struct {
	name   string
	render func(*Renderer, http.ResponseWriter) error
} {
	p := Page{Title: "Example", AppName: "Acme", AppLogo: "https://acme.example/logo.png"}
	shell := ConsoleShell{Nav: "clients", Admin: "admin@example.test", CSRF: "csrf-token", Flash: "Client saved."}
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	opts := []Option{{Value: "a", Label: "A", Hint: "first", Checked: true}, {Value: "b", Label: "B"}}
	pager := Pager{Page: 2, Prev: "/console/x", Next: "/console/x?page=3"}
	cred := CredentialView{ID: "cred1", Name: "MacBook", Kind: "Passkey", Created: "1 Mar 2025", LastUsed: "Never used", Sync: "Synced", Flagged: true}
	form := ClientForm{Action: "/console/clients", Submit: "Register client", New: true,
		Spec:      ClientSpec{Name: "Acme", LogoURI: "https://acme.example/l.png", JWKSURI: "https://acme.example/jwks", AccessTokenTTL: "1h", RefreshTokenTTL: "2h", IDTokenTTL: "10m", SkipConsent: true, Disabled: true},
		Redirects: "https://acme.example/cb", PostLogouts: "https://acme.example/", Confidential: true,
		AuthMethods: opts, Grants: opts, Scopes: opts, Methods: opts, Algs: opts, ACRs: opts, UVs: opts, Groups: opts,
		Errors: map[string]string{"client_name": "Enter a name.", "redirect_uris": "No fragments."}, Problem: "Check the fields marked below."}
	client := ClientSummary{ID: "c1", Name: "Acme", Disabled: true, HasSecret: true, CreatedAt: at}
	chart := Chart{Title: "Sign-ins", SVG: template.HTML(`<svg></svg>`), Legend: []LegendItem{{Class: "s0", Name: "Passkey", Total: "3"}}, EmptyText: "None yet."}
	bars := []Bar{{Name: "x", Total: "1", Width: "w20"}}
	type page = struct {
		name   string
		render func(*Renderer, http.ResponseWriter) error
	}
	return []page{
		{"login", func(r *Renderer, w http.ResponseWriter) error {
			return r.Login(w, 200, p, LoginView{Interaction: "i1", LoginHint: "a@example.test", CSRF: "t", Passkey: true, Passlink: true, Password: true, SignupOpen: true, RPID: "localhost", StrongOnly: true})
		}},
		{"login_none", func(r *Renderer, w http.ResponseWriter) error { return r.Login(w, 200, p, LoginView{StrongOnly: true}) }},
		{"signup", func(r *Renderer, w http.ResponseWriter) error {
			return r.Signup(w, 200, p, LoginView{Interaction: "i1", LoginHint: "a@example.test", CSRF: "t", Passkey: true, SignupOpen: true, RPID: "localhost"})
		}},
		{"account", func(r *Renderer, w http.ResponseWriter) error {
			return r.Account(w, 200, Page{Title: "Your account"}, AccountView{User: AccountUser{Email: "a@example.test", DisplayName: "Ann"}, UserHandle: "dTE", RPID: "localhost",
				Passkeys: []CredentialView{cred}, Keys: []CredentialView{cred}, Password: AccountPassword{On: true, HasPassword: true, Recent: true, RequireKey: true, MinLength: 12, Error: "Too short."},
				Accepted: `["cred1"]`, Apps: []AppView{{ClientID: "c1", Name: "Acme", Scopes: []string{"openid"}, Since: "1 Mar 2025"}},
				Sessions: []SessionView{{ID: "s1", Device: "Firefox on Linux", Since: "1 Mar", LastSeen: "2 Mar", Current: true}, {ID: "s2"}}, CSRF: "t", Notice: "password_set", Fresh: true, Recovery: AccountRecovery{On: true, Has: true, Left: 2, Count: 10}})
		}},
		{"account_empty", func(r *Renderer, w http.ResponseWriter) error {
			return r.Account(w, 200, Page{Title: "Your account"}, AccountView{Password: AccountPassword{On: true}, Notice: "reauth", Recovery: AccountRecovery{On: true, Count: 10}})
		}},
		{"signed_out", func(r *Renderer, w http.ResponseWriter) error {
			return r.SignedOut(w, 200, Page{Title: "Your account"})
		}},
		{"error", func(r *Renderer, w http.ResponseWriter) error {
			return r.Error(w, 400, p, ErrorView{Message: "Broken.", Hint: "Try again.", RequestID: "req1"})
		}},
		{"consent", func(r *Renderer, w http.ResponseWriter) error {
			return r.Consent(w, 200, p, ConsentView{Interaction: "i1", CSRF: "t", UserEmail: "a@example.test", Scopes: []ScopeView{{"Sign you in", "Know it is you."}},
				Resources: []ScopeView{{"Orders API", "https://api.example.com/orders"}}})
		}},
		{"form_post", func(r *Renderer, w http.ResponseWriter) error {
			return r.FormPost(w, 200, p, FormPostView{Action: "https://acme.example/cb", Values: url.Values{"code": {"abc"}, "state": {"s"}}})
		}},
		{"logout", func(r *Renderer, w http.ResponseWriter) error {
			return r.Logout(w, 200, p, LogoutView{Params: map[string]string{"client_id": "c1", "state": "s"}, CSRF: "t"})
		}},
		{"logged_out", func(r *Renderer, w http.ResponseWriter) error {
			return r.LoggedOut(w, 200, Page{Title: "Signed out"}, LoggedOutView{})
		}},
		{"logged_out", func(r *Renderer, w http.ResponseWriter) error {
			return r.LoggedOut(w, 200, Page{Title: "Signed out", AppName: "Acme"}, LoggedOutView{
				Frames: []LogoutFrame{{URL: "https://app.example/fc?iss=x&sid=y", Name: "Acme"}}, Continue: "https://app.example/bye?state=s"})
		}},
		{"passlink_request", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkRequest(w, 200, p, PasslinkRequestView{Interaction: "i1", Email: "a@example.test", CSRF: "t", Error: "Enter an address."})
		}},
		{"passlink_sent", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkSent(w, 200, p, PasslinkSentView{RequestID: "r1", Code: "123", CodeSpoken: "1 2 3", MaskedEmail: "a…@example.test", Expiry: "10 minutes", ExpiresMS: 1, CSRF: "t", NewLink: "/passlink/new"})
		}},
		{"passlink_confirm", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t", SameBrowser: true, Signup: true, MaskedEmail: "a…@example.test", Device: "Firefox", Requested: "now", Error: "Expired.", Name: "Ann", Admin: true})
		}},
		{"passlink_confirm_other", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkConfirm(w, 200, p, PasslinkConfirmView{Token: "tok", CSRF: "t"})
		}},
		{"passlink_passkey", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkPasskey(w, 200, Page{Title: "Add a passkey"}, PasslinkPasskeyView{CSRF: "t", Next: "/account", Email: "a@example.test", RPID: "localhost", AddressProven: true, Recovery: true, CodesLeft: 3})
		}},
		{"login_recovery", func(r *Renderer, w http.ResponseWriter) error {
			return r.RecoveryLogin(w, 200, p, RecoveryLoginView{Interaction: "i1", Identifier: "a@example.test", CSRF: "t", Error: "That didn't work."})
		}},
		{"recovery_codes", func(r *Renderer, w http.ResponseWriter) error {
			return r.RecoveryCodes(w, 200, Page{Title: "Your recovery codes"}, RecoveryCodesView{Codes: []string{"abcd-efgh-jkmn-pqrs"}, Text: "abcd-efgh-jkmn-pqrs",
				Download: "data:text/plain,abcd", FileName: "codes.txt", Replaced: true, Count: 10, CSRF: "t", Next: "/account"})
		}},
		{"recovery_codes_offer", func(r *Renderer, w http.ResponseWriter) error {
			return r.RecoveryCodes(w, 200, Page{Title: "Create recovery codes"}, RecoveryCodesView{Required: true, Fresh: true, Count: 10, CSRF: "t", Next: "/account"})
		}},
		{"passlink_result", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasslinkResult(w, 200, p, PasslinkResultView{OK: true, Message: "Done.", Hint: "Close this tab.", ButtonLabel: "Go", ButtonHref: "/", SecondLabel: "Other", SecondHref: "/login"})
		}},
		{"account_link", func(r *Renderer, w http.ResponseWriter) error {
			return r.AccountLink(w, 200, p, AccountLinkView{Message: "Use this address.", Hint: "Once.", Button: "Confirm", Action: "/account/link/tok", CSRF: "t"})
		}},
		{"password_login", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasswordLogin(w, 200, p, PasswordLoginView{Interaction: "i1", Email: "a@example.test", CSRF: "t", RPID: "localhost", Notice: "key_ready", Other: true, Forgot: true, Passlink: true})
		}},
		{"password_forgot", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasswordForgot(w, 200, p, PasswordForgotView{Interaction: "i1", Email: "a@example.test", CSRF: "t", Error: "Enter an address."})
		}},
		{"password_reset", func(r *Renderer, w http.ResponseWriter) error {
			return r.PasswordReset(w, 200, Page{Title: "Choose a new password"}, PasswordResetView{Token: "tok", CSRF: "t", Email: "a@example.test", MinLength: 12, Error: "Too short."})
		}},
		{"admin_setup", func(r *Renderer, w http.ResponseWriter) error {
			return r.AdminSetup(w, 200, Page{Title: "Become a Sesame admin", AppName: "Sesame console"}, AdminSetupView{CSRF: "t", Token: "tok", Message: "Create a passkey.", Action: "Create a passkey"})
		}},
		{"admin_refused", func(r *Renderer, w http.ResponseWriter) error {
			return r.AdminRefused(w, 403, Page{Title: "Not an admin", AppName: "Sesame console"}, AdminRefusedView{Email: "a@example.test", Login: "/login?return=%2Fconsole"})
		}},
		{"console_error", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleError(w, 404, Page{Title: "Not found"}, shell, ConsoleErrorView{Message: "There is nothing here."})
		}},
		{"console_dashboard", func(r *Renderer, w http.ResponseWriter) error {
			rl := RangeLink{Name: "24h", Label: "Last 24 hours", Current: true}
			return r.ConsoleDashboard(w, 200, Page{Title: "Dashboard"}, shell, ConsoleDashboardView{Range: rl, Ranges: []RangeLink{rl, {Name: "7d", Label: "7d"}},
				SignIns: "1", Failures: "2", Active: "3", ActiveMonth: "4", PasskeyShare: "50%", PasskeyUsers: "60%",
				ByMethod: chart, ByClient: Chart{Title: "By app", Empty: true, EmptyText: "None."}, NewAccounts: chart, FailureBars: bars,
				SignInShare: "1%", UserShare: "2%", Fallbacks: "3", FallbackToKey: "1", FallbackShare: "33%", Synced: "2", DeviceBound: "1", SyncedBar: "w13",
				Models: bars, Feed: []FeedRow{{Time: "05:06:07", User: "a@example.test", Method: "Passkey", Client: "Acme", Event: "Signed in", OK: true}, {Event: "Sign-in failed", Reason: "cancelled"}}})
		}},
		{"console_dashboard_empty", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleDashboard(w, 200, Page{Title: "Dashboard"}, ConsoleShell{}, ConsoleDashboardView{})
		}},
		{"console_clients", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClients(w, 200, Page{Title: "Clients"}, shell, ConsoleClientsView{Query: "ac", Sort: "name", Rows: []ClientRow{{ID: "c1", Name: "Acme", Type: "Public", Grants: "authorization_code", Created: "2025-03-04 05:06", Disabled: true}},
				Pager: pager, Total: 1, Sorts: opts})
		}},
		{"console_clients_empty", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClients(w, 200, Page{Title: "Clients"}, shell, ConsoleClientsView{Query: "zz"})
		}},
		{"console_client_form", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClientForm(w, 422, Page{Title: "Register a client"}, shell, form)
		}},
		{"console_client", func(r *Renderer, w http.ResponseWriter) error {
			f := form
			f.New = false
			return r.ConsoleClient(w, 200, Page{Title: "Acme"}, shell, ConsoleClientView{Client: client, Form: f, Type: "Confidential"})
		}},
		{"console_client_secret", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleClientSecret(w, 200, Page{Title: "Client registered"}, shell, ConsoleClientSecretView{Client: client, Secret: "s3cret", New: true})
		}},
		{"console_users", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUsers(w, 200, Page{Title: "Users"}, shell, ConsoleUsersView{Query: "a", Rows: []UserRow{{ID: "u1", Email: "a@example.test", Name: "Ann", Created: "2025-03-04", Disabled: true, Admin: true}}, Pager: pager})
		}},
		{"console_user_new", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUserNew(w, 422, Page{Title: "Add a user"}, shell, UserForm{Email: "x", Passlinks: true, SendLink: true, Errors: map[string]string{"email": "bad"}, Problem: "Check"})
		}},
		{"console_admin_invite", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleAdminInvite(w, 200, Page{Title: "Invite an admin"}, shell, AdminInviteView{Email: "a@example.test", Link: "https://id.example/console/setup/x", Expires: "2026-01-02 15:04"})
		}},
		{"console_user", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleUser(w, 200, Page{Title: "a@example.test"}, shell, ConsoleUserView{RecoveryCodes: 4,
				User:      UserSummary{ID: "u1", Email: "a@example.test", EmailVerified: true, DisplayName: "Ann", Disabled: true, Admin: true, CreatedAt: at},
				Passlinks: true,
				Creds:     []CredRow{{ID: "cr1", Name: "Key", Kind: "Security key", Model: "YubiKey", Storage: "Device-bound", Created: "2025", LastUsed: "never", AAGUID: "00", Flagged: true}},
				Sessions:  []SessionRow{{Started: "a", LastSeen: "b", Expires: "c", Methods: "pop", IP: "127.0.0.1", Device: "Firefox"}},
				Events:    []EventRow{{At: "a", Event: "Signed in", Method: "Passkey", Client: "Acme", Reason: "", IP: "127.0.0.1", OK: true}, {Event: "Sign-in failed", Reason: "x"}},
				Profile:   ProfileForm{Username: "ann", Locale: "en", Attributes: "{}", Errors: map[string]string{"username": "taken", "attributes": "too big"}, Problem: "Nothing was saved."},
				Groups:    UserGroups{Names: []string{"staff"}, Join: opts, Error: "gone"}})
		}},
		{"console_groups", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroups(w, 200, Page{Title: "Groups"}, shell, ConsoleGroupsView{Query: "st", Rows: []GroupRow{{Name: "staff", Description: "Payroll", Members: 3, Created: "2025-03-04"}}, Pager: pager})
		}},
		{"console_groups_empty", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroups(w, 200, Page{Title: "Groups"}, shell, ConsoleGroupsView{})
		}},
		{"console_group_form", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroupForm(w, 422, Page{Title: "Create a group"}, shell, GroupForm{Action: "/console/groups", Submit: "Create group", New: true,
				Name: "a b", Errors: map[string]string{"name": "only letters", "description": "too long"}, Problem: "Nothing was saved."})
		}},
		{"console_group", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleGroup(w, 200, Page{Title: "staff"}, shell, ConsoleGroupView{Group: GroupSummary{Name: "staff", Members: 1, CreatedAt: at},
				Form: GroupForm{Description: "Payroll", Errors: map[string]string{}}, Members: []MemberRow{{ID: "u1", Email: "a@example.test", Name: "Ann"}},
				Pager: pager, Clients: []string{"Wiki"}, AddValue: "nobody@example.test", AddError: "There is no user."})
		}},
		{"console_webhooks", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhooks(w, 422, Page{Title: "Webhooks"}, shell, ConsoleWebhooksView{Rows: []WebhookRow{{ID: "wh_1", URL: "https://crm.example/h", Description: "CRM", Events: "user.created", State: "Disabled", Warn: true}},
				Events: opts, URL: "x", Errors: map[string]string{"url": "bad", "description": "long", "event_types": "none"}, Problem: "Nothing was saved."})
		}},
		{"console_user_import", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleImport(w, 200, Page{Title: "Import users"}, shell, ConsoleImportView{Format: "csv", Content: "email\na@example.test", Report: true,
				Created: 1, Invalid: 1, Rows: []ImportRowView{{Row: 2, Email: "a@example.test", Action: "created"}, {Row: 3, Email: "x", Invalid: true, Errors: "email: not an address"}}, Error: "bad"})
		}},
		{"console_user_import_done", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleImport(w, 200, Page{Title: "Import users"}, shell, ConsoleImportView{Report: true, Done: true, Created: 1})
		}},
		{"console_webhooks_empty", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhooks(w, 200, Page{Title: "Webhooks"}, shell, ConsoleWebhooksView{Events: opts, Errors: map[string]string{}})
		}},
		{"console_webhook", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhook(w, 201, Page{Title: "Webhook endpoint"}, shell, ConsoleWebhookView{ID: "wh_1", URL: "https://crm.example/h", Description: "CRM",
				Events: "user.created", Enabled: true, FailingSince: "2025-03-04", LastSuccess: "never", Created: "2025-03-04", Secret: "whsec_x",
				Deliveries: []DeliveryRow{{ID: "msg_1", Event: "user.created", Status: "failed", Attempts: 10, Code: "HTTP 500", Latency: "12 ms", Error: "busy", Redeliver: true}}})
		}},
		{"console_webhook_disabled", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleWebhook(w, 200, Page{Title: "Webhook endpoint"}, shell, ConsoleWebhookView{ID: "wh_1", URL: "https://crm.example/h", DisabledReason: "Disabled automatically."})
		}},
		{"console_policies", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsolePolicies(w, 422, Page{Title: "Policies"}, shell, ConsolePoliciesView{P: PolicyFields{SignupOpen: true, PasslinkRateEmail: 5, PasslinkRateIP: 20, MDSFile: "/mds"},
				Methods: opts, UV: opts, Attestation: opts, Allow: "a", Deny: "b", Durations: []DurationField{{Name: "passlink_ttl", Label: "Link expiry", Value: "10m", Hint: "e.g. 10m"}},
				Errors: map[string]string{"passlink_ttl": "Enter a duration.", "_": "x"}, Problem: "Not saved."})
		}},
		{"console_keys", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleKeys(w, 200, Page{Title: "Signing keys"}, shell, []KeyRow{{KID: "k1", Alg: "RS256", State: "current", StateClass: "ok", Created: "a", Activated: "b", Retired: "—", Expires: "—"}})
		}},
		{"console_scopes", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleScopes(w, 422, Page{Title: "Custom scopes"}, shell, ConsoleScopesView{Rows: []ScopeRow{{Name: "roles", Claims: "roles, teams", Clients: 2, Description: "Your roles"}},
				Form: ScopeForm{New: true, Action: "/console/scopes", Submit: "Define scope", Name: "x", Claims: "email = attribute:mail", Errors: map[string]string{"claims": "Claim \"email\" is registered."}, Problem: "Not saved."}})
		}},
		{"console_scope", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleScope(w, 200, Page{Title: "Scope roles"}, shell, ConsoleScopeView{Name: "roles", Clients: []ClientSummary{{ID: "c1", Name: "Acme"}},
				Form: ScopeForm{Action: "/console/scopes/roles", Submit: "Save changes", Name: "roles", Claims: "roles = attribute:roles", Errors: map[string]string{}}})
		}},
		{"console_resources", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleResources(w, 422, Page{Title: "Resources"}, shell, ConsoleResourcesView{Rows: []ResourceRow{{Name: "orders", Audience: "https://api.example.com/orders", Format: "JWT", Scopes: "orders:read"}},
				Form: ResourceForm{New: true, Action: "/console/resources", Submit: "Register resource", Name: "x", Audience: "/x", Scopes: opts, Formats: opts,
					Errors: map[string]string{"audience": "Must be an absolute URI."}, Problem: "Not saved."}})
		}},
		{"console_resource", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleResource(w, 200, Page{Title: "Resource orders"}, shell, ConsoleResourceView{Name: "orders",
				Form: ResourceForm{Action: "/console/resources/orders", Submit: "Save changes", Name: "orders", Audience: "https://api.example.com/orders", Scopes: opts, Formats: opts, Errors: map[string]string{}}})
		}},
		{"console_audit", func(r *Renderer, w http.ResponseWriter) error {
			return r.ConsoleAudit(w, 200, Page{Title: "Audit log"}, shell, ConsoleAuditView{Action: "client.create", Filtered: true, Next: "/console/audit?cursor=x",
				Rows: []AuditRow{{At: "a", Actor: "admin", ActorKind: "user", Action: "client.create", TargetType: "client", TargetID: "c1", IP: "127.0.0.1", Before: "{}", After: `{"a":1}`}}})
		}},
	}
}

// TestEveryPageRenders renders each page with an example view, one
// renderer for all (its buffers reused from page to page): each answer is
// what a renderer of its own writes, with its length.
func TestEveryPageRenders(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range examplePages() {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := tc.render(r, w); err != nil {
				t.Fatal(err)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" || w.Body.Len() == 0 {
				t.Errorf("content type %q, %d bytes", ct, w.Body.Len())
			}
			if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %q for %d bytes", cl, w.Body.Len())
			}
			own, err := New()
			if err != nil {
				t.Fatal(err)
			}
			alone := httptest.NewRecorder()
			if err := tc.render(own, alone); err != nil {
				t.Fatal(err)
			}
			if alone.Body.String() != w.Body.String() {
				t.Errorf("the page differs from its render by a renderer of its own (%d against %d bytes)", w.Body.Len(), alone.Body.Len())
			}
		})
	}
}

// TestNewNamesMissingPage: a page a typed method renders is checked at
// start-up, not at its first request.
func TestNewNamesMissingPage(t *testing.T) {
	for _, missing := range []string{"hosted/consent.html", "console/users.html", "hosted/layout.html", "console/layout.html"} {
		fsys := copyFiles(t)
		delete(fsys, missing)
		if _, err := newFrom(fsys); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: New = %v, want an error naming it", missing, err)
		}
	}
	if _, err := newFrom(files); err != nil {
		t.Fatalf("all pages: %v", err)
	}
}

// copyFiles is the embedded page files as a map a test can change.
func copyFiles(t *testing.T) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestNewNamesBrokenPage: a page that does not parse fails New, naming
// its file, though pages are kept only once rendered.
func TestNewNamesBrokenPage(t *testing.T) {
	fsys := copyFiles(t)
	fsys["console/keys.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if .Data}}unclosed{{end}`)}
	if _, err := newFrom(fsys); err == nil || !strings.Contains(err.Error(), "console/keys.html") {
		t.Fatalf("broken page: New = %v, want an error naming console/keys.html", err)
	}
}

// TestPagesParsedOnFirstUse: New keeps no parsed page; rendering a page in
// a language parses and keeps that one (pages nobody renders, such as the
// console's in a replica serving sign-ins, hold no memory), the same
// template serves every later render, and concurrent first renders agree.
func TestPagesParsedOnFirstUse(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cached := func() (keys []string) {
		r.pages.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
		slices.Sort(keys)
		return keys
	}
	if got := cached(); len(got) != 0 {
		t.Fatalf("after New: %q parsed, want none", got)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			w := httptest.NewRecorder()
			if err := r.Render(w, http.StatusOK, "signed_out", Page{Lang: "de", Title: "Konto"}); err != nil {
				t.Error(err)
			}
			if !strings.Contains(w.Body.String(), `lang="de"`) {
				t.Errorf("not German: %.200s", w.Body.String())
			}
		})
	}
	wg.Wait()
	first, _ := r.pages.Load("de\x00signed_out")
	w := httptest.NewRecorder()
	if err := r.Render(w, http.StatusOK, "signed_out", Page{Lang: "xx", Title: "Account"}); err != nil {
		t.Fatal(err)
	}
	if got, want := cached(), []string{"de\x00signed_out", "en\x00signed_out"}; !slices.Equal(got, want) {
		t.Fatalf("parsed %q, want %q (an unknown language renders the default)", got, want)
	}
	if again, _ := r.pages.Load("de\x00signed_out"); again != first {
		t.Fatal("a page was parsed again after its first render")
	}
	if err := r.Render(httptest.NewRecorder(), http.StatusOK, "no_such_page", Page{Lang: "en"}); err == nil {
		t.Fatal("an unknown page rendered")
	}
}

// TestPasslinkConfirmNamesTheApp: the page opened on another device says
// "create an account for Acme Notes" / "sign in to Acme Notes" — not
// "create an account to …".
func TestPasslinkConfirmNamesTheApp(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		signup    bool
		want, not string
	}{
		{true, "create an account for Acme Notes as", "account to"},
		{false, "sign in to Acme Notes as", "account"},
	} {
		w := httptest.NewRecorder()
		if err := r.PasslinkConfirm(w, 200, Page{Title: "Confirm", AppName: "Acme Notes"}, PasslinkConfirmView{Token: "t", CSRF: "c", Signup: tc.signup, MaskedEmail: "a…@example.test"}); err != nil {
			t.Fatal(err)
		}
		body := w.Body.String()
		i := strings.Index(body, "Someone asked to ")
		if i < 0 {
			t.Fatalf("signup %v: no request sentence", tc.signup)
		}
		line := body[i : i+strings.Index(body[i:], "</p>")]
		if !strings.Contains(line, tc.want) || strings.Contains(line, tc.not) {
			t.Errorf("signup %v: %q, want %q", tc.signup, line, tc.want)
		}
	}
}

// TestLangURL: the language switcher's link is this page with lang set:
// its query kept, encoded afresh (nothing reflected as it came), never
// another site.
func TestLangURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"path", "/login", "/login?lang=de"},
		{"query kept", "/oauth2/logout?client_id=c1&state=s%20t", "/oauth2/logout?client_id=c1&lang=de&state=s+t"},
		{"lang replaced", "/x?lang=en&a=1", "/x?a=1&lang=de"},
		{"markup encoded", `/nope?q=<script>alert(1)</script>&"x"='y'`, "/nope?%22x%22=%27y%27&lang=de&q=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"},
		{"javascript value", "/x?next=javascript:alert(1)", "/x?lang=de&next=javascript%3Aalert%281%29"},
		{"bad escape dropped", "/x?a=%zz&b=2", "/x?b=2&lang=de"},
		{"off-site", "https://evil.example/x?a=1", "/?lang=de"},
		{"scheme-relative", "//evil.example/x", "/?lang=de"},
		{"empty", "", "/?lang=de"},
		{"too long", "/x?a=" + strings.Repeat("b", maxLangQuery), "/x?lang=de"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := langURL(tc.in, "de"); got != tc.want {
				t.Errorf("langURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
