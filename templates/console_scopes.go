package templates

import "net/http"

// --- Custom scopes ---

// ScopeRow is a line of the custom scopes table.
type ScopeRow struct {
	Name, Description, Claims string
	Clients                   int
}

// ScopeForm defines or edits a custom scope. Claims holds one claim a
// line, as "claim = attribute:key" or "claim = groups".
type ScopeForm struct {
	Action, Submit    string
	New               bool
	Name, Description string
	Claims            string
	CSRF              string
	Errors            map[string]string // field → message
	Problem           string
}

// ConsoleScopesView is the data of the custom scopes page: the table and
// the form that defines a new one.
type ConsoleScopesView struct {
	Rows []ScopeRow
	Form ScopeForm
}

// ConsoleScopes renders the custom scopes page.
func (r *Renderer) ConsoleScopes(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleScopesView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_scopes", p, s, v)
}

// ConsoleScopeView is the data of one custom scope's page.
type ConsoleScopeView struct {
	Name    string
	Clients []ClientSummary
	Form    ScopeForm
}

// ConsoleScope renders one custom scope's page.
func (r *Renderer) ConsoleScope(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleScopeView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_scope", p, s, v)
}
