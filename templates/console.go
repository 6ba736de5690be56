package templates

import (
	"html/template"
	"net/http"
	"time"
)

// The console's pages (templates/console/*.html, in console/layout.html
// with the left navigation): one view type and one render method per
// page. Every method takes the shell (navigation, who is signed in, CSRF
// token, flash) and the page's own view, and sets p.Data to both.

// ConsoleShell is what the console layout shows around every page.
type ConsoleShell struct {
	// Lang is the admin's language (console/ui_lang.go) and Path this
	// request's URI, which the language switch returns to; they become
	// the page's Lang and Path.
	Lang, Path string
	Nav        string // the section in the left navigation
	Admin      string // who is signed in
	CSRF       string
	// Flash is a one-line confirmation of the last change ("Client saved").
	Flash string
	// Alerts are warnings every console page shows (stale FIDO metadata,
	// credentials of a compromised model), each with a link.
	Alerts []Alert
}

// Alert is a warning of the console's shell.
type Alert struct{ Text, Link, LinkText string }

// consoleData is the Data of every console page: the shell's fields and
// the page's view in Body.
type consoleData struct {
	ConsoleShell
	Body any
}

func (r *Renderer) console(w http.ResponseWriter, status int, name string, p Page, s ConsoleShell, body any) error {
	if p.Lang == "" {
		p.Lang = s.Lang
	}
	if p.Path == "" {
		p.Path = s.Path
	}
	return r.render(w, status, name, p, consoleData{ConsoleShell: s, Body: body})
}

// Option is a checkbox, radio button or select option.
type Option struct {
	Value, Label, Hint string
	Checked            bool
}

// Pager is the pagination row under a table.
type Pager struct {
	Page       int
	Prev, Next string // URLs, "" when there is none
}

// ConsoleErrorView is the data of the console's error page.
type ConsoleErrorView struct{ Message string }

// ConsoleError renders a problem inside the console's shell.
func (r *Renderer) ConsoleError(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleErrorView) error {
	return r.console(w, status, "console_error", p, s, v)
}

// --- Dashboard ---

// ConsoleDashboardView is the data of the dashboard.
type ConsoleDashboardView struct {
	Range         RangeLink // the range shown (its Label heads the page)
	Ranges        []RangeLink
	SignIns       string
	Failures      string
	Active        string
	ActiveMonth   string
	PasskeyShare  string
	PasskeyUsers  string
	ByMethod      Chart
	ByClient      Chart
	NewAccounts   Chart
	FailureBars   []Bar
	SignInShare   string
	UserShare     string
	Fallbacks     string
	FallbackToKey string
	FallbackShare string
	Synced        string
	DeviceBound   string
	SyncedBar     string
	// SyncedShare is Synced as a share of all credentials ("67%");
	// OnlySynced counts the people whose every passkey syncs (whom
	// blocking synced passkeys would lock out); "" when none.
	SyncedShare string
	OnlySynced  string
	Models      []Bar
	Feed        []FeedRow
	// Health are the credential findings that ask for action; Funnel the
	// adoption stages.
	Health []HealthItem
	Funnel []FunnelBar
}

// RangeLink is a time range the dashboard offers.
type RangeLink struct {
	Name, Label string
	Current     bool
}

// Chart is a time-series chart drawn on the server as inline SVG.
type Chart struct {
	Title  string
	SVG    template.HTML
	Legend []LegendItem
	Empty  bool
	// EmptyText says what an empty chart means.
	EmptyText string
}

// LegendItem is a chart's series and its total.
type LegendItem struct {
	Class, Name, Total string
	// Link is the series' drill-down page, "" for none.
	Link string
}

// Bar is a horizontal bar.
type Bar struct {
	Name, Total string
	// Width is a CSS class w0 … w20 (5% steps): the CSP forbids inline style.
	Width string
}

// FeedRow is an entry of the live feed of sign-ins.
type FeedRow struct {
	Time   string // "15:04:05" UTC
	User   string
	Method string
	Client string
	Event  string
	OK     bool
	Reason string
}

// ConsoleDashboard renders the dashboard.
func (r *Renderer) ConsoleDashboard(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleDashboardView) error {
	return r.console(w, status, "console_dashboard", p, s, v)
}

// --- Clients ---

// ClientRow is a line of the clients table.
type ClientRow struct {
	ID, Name, Type, Grants, Created string
	// LastUsed is the last sign-in within the activity window ("not in
	// 30 days" otherwise); ActiveUsers the distinct users then.
	LastUsed, ActiveUsers string
	Disabled              bool
	// Dynamic: the app registered itself (RFC 7591).
	Dynamic bool
}

// ConsoleClientsView is the data of the clients table.
type ConsoleClientsView struct {
	Query string
	Sort  string
	Rows  []ClientRow
	Pager Pager
	Total int
	Sorts []Option
	// Registered is the filter by who registered the clients (anyone,
	// the app itself through RFC 7591, an admin); Filtered names the
	// clients the chosen one keeps, for the empty list's message ("" for
	// anyone).
	Registered []Option
	Filtered   string
}

// ConsoleClients renders the clients table.
func (r *Renderer) ConsoleClients(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleClientsView) error {
	return r.console(w, status, "console_clients", p, s, v)
}

// ClientForm is the form that registers or edits a client (the layout's
// "console_client_fields"). Its CSRF is the shell's, set by the render
// methods.
type ClientForm struct {
	Action      string // where the form posts
	Submit      string // the button's label
	New         bool
	Spec        ClientSpec
	Redirects   string // one per line
	PostLogouts string
	Origins     string // allowed web origins, one per line
	// ExchangeTo and ExchangeFrom are the token exchange targets and
	// subject audiences, one per line.
	ExchangeTo   string
	ExchangeFrom string
	Confidential bool
	AuthMethods  []Option
	Grants       []Option
	Scopes       []Option
	Methods      []Option
	Algs         []Option
	ACRs         []Option
	UVs          []Option
	SubjectTypes []Option
	// Synced are the synced-passkey policies, the client's checked.
	Synced []Option
	// Allow is the client's own AAGUID allow list, one per line;
	// AllowNames name its models; AllowModes are the list's modes.
	Allow      string
	AllowNames []Option
	AllowModes []Option
	// Lockout, when set, lists who a stricter passkey rule would lock
	// out: the form is shown again and saves only with confirm_lockout.
	Lockout *Lockout
	// TokenFormats are the access token formats, the client's checked.
	TokenFormats []Option
	// Groups are every group, those the client allows checked.
	Groups  []Option
	Errors  map[string]string // field → message
	CSRF    string
	Problem string
}

// clientEssentials are the fields the client form shows before its
// "Advanced settings" fold.
var clientEssentials = map[string]bool{"client_name": true, "public": true, "redirect_uris": true, "post_logout_redirect_uris": true,
	"allowed_groups": true, "logo_uri": true, "primary_color": true, "accent_color": true}

// AdvancedOpen reports whether a field in the "Advanced settings" fold
// has an error or the synced-passkey lockout warning, so the fold opens
// with it in view.
func (f ClientForm) AdvancedOpen() bool {
	if f.Lockout != nil {
		return true
	}
	for field := range f.Errors {
		if !clientEssentials[field] {
			return true
		}
	}
	return false
}

// ClientSpec is the part of a client's settings the form shows as plain
// fields (the rest are Options).
type ClientSpec struct {
	Name, LogoURI, JWKSURI string
	// PrimaryColor and AccentColor are the app's own colours ("" for
	// the global branding's).
	PrimaryColor, AccentColor string
	// Lifetimes as durations people type ("10m", "720h"), like the
	// policies page; "" is the global setting.
	AccessTokenTTL, RefreshTokenTTL, IDTokenTTL string
	SkipConsent, Disabled                       bool
	BackchannelLogoutURI                        string
	BackchannelLogoutSessionRequired            bool
	FrontchannelLogoutURI                       string
	FrontchannelLogoutSessionRequired           bool
	SectorIdentifierURI                         string
	// DPoPBound: the client must use DPoP (dpop_bound_access_tokens).
	DPoPBound bool
	// RequirePAR: the client must push its authorization requests.
	RequirePAR bool
}

// ConsoleClientForm renders "register a client".
func (r *Renderer) ConsoleClientForm(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ClientForm) error {
	v.CSRF = s.CSRF
	return r.console(w, status, "console_client_form", p, s, v)
}

// ClientSummary is a client as its page heads it.
type ClientSummary struct {
	ID, Name  string
	Disabled  bool
	HasSecret bool
	CreatedAt time.Time
	// Dynamic: the app registered itself (RFC 7591); RegisteredWith says
	// how ("the initial access token “Partner Acme”", "open registration").
	Dynamic        bool
	RegisteredWith string
	// The app's RFC 7591 informational metadata.
	ClientURI, PolicyURI, TOSURI string
	Contacts                     []string
}

// ConsoleClientView is the data of a client's page.
type ConsoleClientView struct {
	Client ClientSummary
	Form   ClientForm
	Type   string // "Confidential" or "Public"
}

// ConsoleClient renders a client's page (its settings form included).
func (r *Renderer) ConsoleClient(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleClientView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_client", p, s, v)
}

// ConsoleClientSecretView is the data of the page that shows a new client
// secret once.
type ConsoleClientSecretView struct {
	Client ClientSummary
	Secret string
	New    bool // the client was just registered
	Setup  ClientSetup
}

// ClientSetup is what a developer needs next to connect an app: where the
// provider is, the client's registration, and a snippet for a stock
// library.
type ClientSetup struct {
	Issuer, Discovery string
	Public            bool
	RedirectURIs      []string
	WebOrigins        []string
	OriginsDefault    bool   // WebOrigins are the redirect URIs' (none registered)
	Library           string // the snippet's library, e.g. "oauth4webapi"
	LibraryURL        string
	Snippet           string
}

// ConsoleClientSecret renders a new client secret, shown once.
func (r *Renderer) ConsoleClientSecret(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleClientSecretView) error {
	return r.console(w, status, "console_client_secret", p, s, v)
}

// --- Users ---

// UserRow is a line of the users table.
type UserRow struct {
	ID, Email, Name, Created string
	// LastSignIn is the last successful sign-in ("never" when none);
	// Credentials counts passkeys and security keys.
	LastSignIn, Credentials   string
	Disabled, Admin, Verified bool
}

// ConsoleUsersView is the data of the users table.
type ConsoleUsersView struct {
	Query string
	// Filters are the admin/disabled/unverified checkboxes.
	Filters  []Option
	Filtered bool
	Rows     []UserRow
	Pager    Pager
	// ExportCSV and ExportJSONL download what the page shows (its
	// filters) from the admin API.
	ExportCSV, ExportJSONL string
}

// UserForm is the "add a user" form, or a user's identity edit.
type UserForm struct {
	Email, DisplayName string
	Verified, SendLink bool
	// Passlinks: a sign-up link can be sent.
	Passlinks bool
	Errors    map[string]string
	Problem   string
}

// ConsoleUserNew renders "add a user".
func (r *Renderer) ConsoleUserNew(w http.ResponseWriter, status int, p Page, s ConsoleShell, v UserForm) error {
	return r.console(w, status, "console_user_new", p, s, v)
}

// AdminInviteView is the "invite an admin" page: the form, or the link
// made (shown once).
type AdminInviteView struct {
	Email, Link, Expires string
	Error                string
}

// ConsoleAdminInvite renders "invite an admin".
func (r *Renderer) ConsoleAdminInvite(w http.ResponseWriter, status int, p Page, s ConsoleShell, v AdminInviteView) error {
	return r.console(w, status, "console_admin_invite", p, s, v)
}

// ConsoleUsers renders the users table.
func (r *Renderer) ConsoleUsers(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleUsersView) error {
	return r.console(w, status, "console_users", p, s, v)
}

// UserSummary is a user as their page heads them.
type UserSummary struct {
	ID            string
	Email         string
	EmailVerified bool
	DisplayName   string
	Disabled      bool
	Admin         bool
	// DeletionDueAt: the user asked for their account's deletion, which
	// takes effect then; nil when none is pending.
	DeletionDueAt *time.Time
	CreatedAt     time.Time
}

// CredRow is a line of a user's credentials.
type CredRow struct {
	ID, Name, Kind, Model, Storage, Created, LastUsed, AAGUID string
	Flagged                                                   bool
	// Compromised is the FIDO status of its model when reported
	// compromised; Suspended says it was suspended for it.
	Compromised string
	Suspended   bool
	// Badges are the credential's health findings.
	Badges []Badge
}

// SessionRow is a line of a user's login sessions.
type SessionRow struct {
	Started, LastSeen, Expires, Methods, IP, Device string
}

// EventRow is a line of a user's recent sign-ins.
type EventRow struct {
	At, Event, Method, Client, Reason, IP string
	OK                                    bool
}

// ConsoleUserView is the data of a user's page.
type ConsoleUserView struct {
	User UserSummary
	// Passlinks: "send a sign-in link" is available.
	Passlinks bool
	// Self: the page is the signed-in admin's own (no admin, disable or
	// delete actions on oneself).
	Self     bool
	Identity UserForm
	Creds    []CredRow
	Sessions []SessionRow
	Events   []EventRow
	// History filters and the link to older events.
	History HistoryFilter
	// ExportCSV and ExportJSONL download the filtered sign-ins.
	ExportCSV, ExportJSONL string
	Profile                ProfileForm
	Groups                 UserGroups
	// Grants is the number of apps the user has granted access.
	Grants int
	// RecoveryCodes is how many unused recovery codes the user has.
	RecoveryCodes int64
	// Identities are the linked upstream identities ("Acme (a@acme.example)").
	Identities []string
}

// HistoryFilter is the sign-in history's filter row.
type HistoryFilter struct {
	Results, Methods, Clients []Option
	Filtered                  bool
	Older                     string // URL of the next older page, "" when none
}

// SignInRow is a line of the Sign-ins page: an event and whose it was
// (UserLink "" for a deleted or unknown user).
type SignInRow struct {
	EventRow
	Email, UserLink string
}

// ConsoleSignInsView is the data of the Sign-ins page.
type ConsoleSignInsView struct {
	// User, From and To are the filters typed (From and To as
	// 2006-01-02); Filter the select boxes and the older page.
	User, From, To string
	Filter         HistoryFilter
	Rows           []SignInRow
	// ExportCSV and ExportJSONL download the filtered set.
	ExportCSV, ExportJSONL string
}

// ConsoleSignIns renders the Sign-ins page.
func (r *Renderer) ConsoleSignIns(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleSignInsView) error {
	return r.console(w, status, "console_signins", p, s, v)
}

// ConsoleUser renders a user's page.
func (r *Renderer) ConsoleUser(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleUserView) error {
	return r.console(w, status, "console_user", p, s, v)
}

// --- Policies, keys, audit ---

// PolicyFields are the global policy's plain fields the form shows (the
// rest are Options and Durations).
type PolicyFields struct {
	SignupOpen                        bool
	RequireVerifiedEmail              bool
	PasslinkRateEmail, PasslinkRateIP int
	MDSFile                           string
	SuspendCompromised                bool
	// Dynamic client registration limits.
	RegistrationMaxRedirectURIs, RegistrationRateIP int
	// TokenExchange serves the token exchange grant (RFC 8693).
	TokenExchange bool
	// The logout channels and pairwise subjects.
	BackchannelLogout, FrontchannelLogout, PairwiseSubjects bool
	// The device grant, DPoP, the PAR endpoint and PAR required of every
	// client.
	DeviceGrant, DPoP, PAR, RequirePAR bool
}

// DurationField is a duration input ("10m", "720h").
type DurationField struct {
	Name, Label, Value, Hint string
}

// ConsolePoliciesView is the data of the policies form.
type ConsolePoliciesView struct {
	P           PolicyFields
	Methods     []Option
	UV          []Option
	Attestation []Option
	// Synced are the synced-passkey policies; Lockout, when set, is who
	// a stricter passkey rule would lock out (saved only with
	// confirm_lockout).
	Synced  []Option
	Lockout *Lockout
	// AllowModes are the allow list's modes (enforce, grace).
	AllowModes []Option
	// Recovery are the recovery-code policies.
	Recovery    []Option
	Allow, Deny string // AAGUIDs, one per line
	// AllowNames and DenyNames name the models of those AAGUIDs.
	AllowNames, DenyNames []Option
	Durations             []DurationField
	// Dynamic client registration: the mode, allowed grant types and
	// redirect URI schemes.
	RegModes, RegGrants, RegSchemes []Option
	Errors                          map[string]string // field → message
	Problem                         string
	// Metadata is the FIDO metadata in force.
	Metadata MetadataView
}

// MetadataView describes the FIDO metadata in force (policies page).
type MetadataView struct {
	State, StateClass, Source, NextUpdate, Checked, LastError string
	Serial                                                    int64
}

// ConsolePolicies renders the policies form.
func (r *Renderer) ConsolePolicies(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsolePoliciesView) error {
	return r.console(w, status, "console_policies", p, s, v)
}

// KeyRow is a line of the signing keys table.
type KeyRow struct {
	KID, Alg, State, StateClass, Created, Activated, Retired, Expires string
}

// ConsoleKeys renders the signing keys table.
func (r *Renderer) ConsoleKeys(w http.ResponseWriter, status int, p Page, s ConsoleShell, rows []KeyRow) error {
	return r.console(w, status, "console_keys", p, s, rows)
}

// AuditRow is a line of the audit log.
type AuditRow struct {
	At, Actor, ActorKind, Action, TargetType, TargetID, IP, Before, After string
}

// ConsoleAuditView is the data of the audit log.
type ConsoleAuditView struct {
	// ExportCSV and ExportJSONL download what the page shows (its
	// filters) from the admin API.
	ExportCSV, ExportJSONL              string
	Action, TargetType, TargetID, Actor string // the filters
	From, To                            string // the date range (2006-01-02)
	Rows                                []AuditRow
	Next                                string
	Filtered                            bool
}

// ConsoleAudit renders the audit log.
func (r *Renderer) ConsoleAudit(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleAuditView) error {
	return r.console(w, status, "console_audit", p, s, v)
}

// Lockout is who a stricter passkey policy would leave without a passkey
// that signs in (Count in all; Emails the first of them); Needs says what
// a passkey must be under it ("device-bound, of an allowed model").
type Lockout struct {
	Count  int64
	Emails []string
	Needs  string
	// More is how many are not named (Count - len(Emails)).
	More int64
}
