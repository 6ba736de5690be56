package templates

import (
	"net/http"
	"time"
)

// --- Groups (console/groups.html, group.html, group_form.html) ---

// GroupRow is a line of the groups table.
type GroupRow struct {
	Name, Description, Created string
	Members                    int64
}

// ConsoleGroupsView is the data of the groups table.
type ConsoleGroupsView struct {
	Query string
	Rows  []GroupRow
	Pager Pager
}

// ConsoleGroups renders the groups table.
func (r *Renderer) ConsoleGroups(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleGroupsView) error {
	return r.console(w, status, "console_groups", p, s, v)
}

// GroupForm creates a group or edits its description (the layout's
// "console_group_fields").
type GroupForm struct {
	Action, Submit    string
	New               bool // the name is editable only on creation
	Name, Description string
	Errors            map[string]string
	Problem           string
	CSRF              string
}

// ConsoleGroupForm renders "create a group".
func (r *Renderer) ConsoleGroupForm(w http.ResponseWriter, status int, p Page, s ConsoleShell, v GroupForm) error {
	v.CSRF = s.CSRF
	return r.console(w, status, "console_group_form", p, s, v)
}

// GroupSummary is a group as its page heads it.
type GroupSummary struct {
	Name      string
	Members   int64
	CreatedAt time.Time
}

// MemberRow is a line of a group's members.
type MemberRow struct{ ID, Email, Name string }

// ConsoleGroupView is the data of a group's page.
type ConsoleGroupView struct {
	Group   GroupSummary
	Form    GroupForm
	Members []MemberRow
	Pager   Pager
	// Clients are the names of the apps whose allowed groups list it.
	Clients []string
	// AddValue and AddError: the refused "add a member" input.
	AddValue, AddError string
}

// ConsoleGroup renders a group's page.
func (r *Renderer) ConsoleGroup(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleGroupView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_group", p, s, v)
}

// ProfileForm is a user's profile on their page.
type ProfileForm struct {
	Username, GivenName, FamilyName, Locale, Picture string
	// Attributes is the JSON object, indented.
	Attributes string
	Errors     map[string]string
	Problem    string
}

// UserGroups are a user's groups on their page, with the groups they
// could join.
type UserGroups struct {
	Names []string
	// Join are the groups the user is not in.
	Join  []Option
	Error string
}
