package templates

import "net/http"

// --- Resources (APIs for resource indicators, RFC 8707) ---

// ResourceRow is a line of the resources table.
type ResourceRow struct {
	Name, Audience, Format, Scopes, Description string
}

// ResourceForm registers or edits a resource. Scopes lists every custom
// scope, those the resource allows checked.
type ResourceForm struct {
	Action, Submit              string
	New                         bool
	Name, Description, Audience string
	Scopes                      []Option
	Formats                     []Option
	CSRF                        string
	Errors                      map[string]string // field → message
	Problem                     string
}

// ConsoleResourcesView is the data of the resources page: the table and
// the form that registers a new one.
type ConsoleResourcesView struct {
	Rows []ResourceRow
	Form ResourceForm
}

// ConsoleResources renders the resources page.
func (r *Renderer) ConsoleResources(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleResourcesView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_resources", p, s, v)
}

// ConsoleResourceView is the data of one resource's page.
type ConsoleResourceView struct {
	Name string
	Form ResourceForm
}

// ConsoleResource renders one resource's page.
func (r *Renderer) ConsoleResource(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleResourceView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_resource", p, s, v)
}
