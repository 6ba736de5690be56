package templates

import "net/http"

// --- Credential health and the adoption funnel ---

// HealthItem is a credential finding with its counts and where its
// credentials are listed.
type HealthItem struct {
	Finding, Title, Description string
	Credentials, Users          string
	Link                        string
	// Problem: the finding asks for action; Zero: no credential has it;
	// Unchecked: nothing could judge it (no status source).
	Problem, Zero, Unchecked, Current bool
}

// Badge is a short label beside a credential.
type Badge struct{ Text, Class string }

// HealthCredRow is a line of the affected credentials table.
type HealthCredRow struct {
	ID, UserID, Email, Name, Model, Kind, Storage, Created, LastUsed string
	Badges                                                           []Badge
}

// ConsoleCredentialsView is the data of the credential health page.
type ConsoleCredentialsView struct {
	Credentials, Users string
	// SyncedShare is the share of credentials that sync ("67%");
	// OnlySynced says, in a sentence, how many people have only synced
	// passkeys.
	SyncedShare, OnlySynced string
	Items                   []HealthItem
	Current                 HealthItem
	Rows                    []HealthCredRow
	// Next is the next page's URL, "" on the last.
	Next string
}

// ConsoleCredentials renders the credential health page.
func (r *Renderer) ConsoleCredentials(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleCredentialsView) error {
	return r.console(w, status, "console_credentials", p, s, v)
}

// FunnelBar is a stage of the adoption funnel: its bar's width is its
// share of everyone who signed up (an axis from zero).
type FunnelBar struct {
	Name, Users, OfSignedUp, OfPrevious string
	Width                               string
	First                               bool
}

// ConsoleStatsView is the data of a drill-down page: the dashboard's
// statistics for one app or one method.
type ConsoleStatsView struct {
	Title       string
	Range       RangeLink
	Ranges      []RangeLink
	SignIns     string
	Failures    string
	FailureRate string
	Chart       Chart
	Reasons     []Bar
	// Split is the other dimension (methods of an app, apps of a
	// method), with SplitTitle its heading.
	SplitTitle string
	Split      []Bar
	// Events links to the matching sign-in events export.
	ExportCSV, ExportJSONL string
}

// ConsoleStats renders a drill-down page.
func (r *Renderer) ConsoleStats(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleStatsView) error {
	return r.console(w, status, "console_stats", p, s, v)
}
