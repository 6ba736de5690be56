package templates

import "net/http"

// --- Upstream identity providers ---

// UpstreamRow is a line of the upstream providers table.
type UpstreamRow struct {
	ID, Name, Kind, Issuer, Domains string
	Disabled                        bool
}

// UpstreamForm adds or edits an upstream provider. Claims and Groups
// hold one mapping a line ("email = mail").
type UpstreamForm struct {
	Action, Submit string
	New            bool
	// Presets are offered when adding.
	Presets                                  []Option
	ID, Name, Kind, Issuer, ClientID, Scopes string
	HasSecret                                bool
	Claims, Groups, Icon, Domains            string
	Provisioning                             string
	LocalMethods, PassAMR, Disabled          bool
	CSRF                                     string
	Errors                                   map[string]string
	Problem                                  string
}

// ConsoleUpstreamsView is the providers page: the table and the form that
// adds one.
type ConsoleUpstreamsView struct {
	Rows []UpstreamRow
	Form UpstreamForm
	// Callback is the redirect URI to register at each provider.
	Callback string
}

// ConsoleUpstreams renders the providers page.
func (r *Renderer) ConsoleUpstreams(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleUpstreamsView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_upstreams", p, s, v)
}

// ConsoleUpstreamView is one provider's page.
type ConsoleUpstreamView struct {
	ID, Name, Callback string
	Form               UpstreamForm
}

// ConsoleUpstream renders one provider's page.
func (r *Renderer) ConsoleUpstream(w http.ResponseWriter, status int, p Page, s ConsoleShell, v ConsoleUpstreamView) error {
	v.Form.CSRF = s.CSRF
	return r.console(w, status, "console_upstream", p, s, v)
}
