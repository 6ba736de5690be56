package console

import (
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// The custom scopes pages: the list with the form that defines one, and
// a scope's page to edit or delete it (deleting goes to the admin API, as
// every destructive action does). The rules are Scopes'.

// claimLines shows claims as the form takes them.
func claimLines(cl []models.ScopeClaim) string {
	lines := make([]string, 0, len(cl))
	for _, c := range cl {
		src := c.Source
		if c.Attribute != "" {
			src += ":" + c.Attribute
		}
		lines = append(lines, c.Claim+" = "+src)
	}
	return strings.Join(lines, "\n")
}

// parseClaimLines reads the form's claims ("claim = attribute:key" or
// "claim = groups", one a line); a line without "=" becomes a claim with
// no source, which validation names.
func parseClaimLines(s string) []models.ScopeClaim {
	var out []models.ScopeClaim
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		claim, src, _ := strings.Cut(line, "=")
		kind, attr, _ := strings.Cut(strings.TrimSpace(src), ":")
		out = append(out, models.ScopeClaim{Claim: strings.TrimSpace(claim), Source: strings.TrimSpace(kind), Attribute: strings.TrimSpace(attr)})
	}
	return out
}

func scopeFromForm(c *gin.Context) clients.ScopeSpec {
	return clients.ScopeSpec{Name: c.PostForm("name"), Description: c.PostForm("description"), Claims: parseClaimLines(c.PostForm("claims"))}
}

// scopeForm is the form for spec; err, when a refusal, puts its messages
// next to their fields.
func (u *UI) scopeForm(c *gin.Context, spec clients.ScopeSpec, isNew bool, raw string, err error) templates.ScopeForm {
	t := u.tr(c)
	f := templates.ScopeForm{New: isNew, Name: spec.Name, Description: spec.Description, Claims: raw, Errors: map[string]string{}}
	if raw == "" {
		f.Claims = claimLines(spec.Claims)
	}
	if isNew {
		f.Action, f.Submit = "/console/scopes", t("console.scopes.define")
	} else {
		f.Action, f.Submit = "/console/scopes/"+url.PathEscape(spec.Name), t("console.common.save_changes")
	}
	f.Problem = u.fieldMessages(c, err, f.Errors)
	return f
}

// fieldMessages puts a refusal's messages by their fields (several for one
// field joined) and returns the form's summary; nil err is "".
func (u *UI) fieldMessages(c *gin.Context, err error, errs map[string]string) string {
	if err == nil {
		return ""
	}
	for _, fe := range toProblem(err).Errors {
		if errs[fe.Field] != "" {
			errs[fe.Field] += " "
		}
		errs[fe.Field] += capitalize(u.fieldMessage(c, fe)) + "."
	}
	return u.T(c, "console.form.not_saved_short")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (u *UI) scopeList(c *gin.Context) error {
	return u.renderScopes(c, 200, u.scopeForm(c, clients.ScopeSpec{}, true, "", nil))
}

func (u *UI) renderScopes(c *gin.Context, status int, f templates.ScopeForm) error {
	list, err := u.c.Scopes.List(c.Request.Context())
	if err != nil {
		return err
	}
	v := templates.ConsoleScopesView{Form: f}
	for _, s := range list {
		v.Rows = append(v.Rows, templates.ScopeRow{Name: s.Name, Description: s.Description, Claims: claimList(s.Claims), Clients: len(s.Clients)})
	}
	return u.pages.ConsoleScopes(c.Writer, status, u.page(c, "console.scopes.title"), u.shell(c, "scopes"), v)
}

// claimList is a one-line summary of claims.
func claimList(cl []models.ScopeClaim) string {
	names := make([]string, 0, len(cl))
	for _, c := range cl {
		names = append(names, c.Claim)
	}
	return strings.Join(names, ", ")
}

func (u *UI) scopeCreate(c *gin.Context) error {
	spec := scopeFromForm(c)
	v, err := u.c.Scopes.Create(c.Request.Context(), spec)
	if err != nil {
		if p := toProblem(err); p.Status == 422 || p.Status == 409 {
			return u.renderScopes(c, p.Status, u.scopeForm(c, spec, true, c.PostForm("claims"), err))
		}
		return err
	}
	redirectDone(c, "/console/scopes/"+url.PathEscape(v.Name), "scope_saved")
	return nil
}

func (u *UI) scopeShow(c *gin.Context) error {
	v, err := u.c.Scopes.Get(c.Request.Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return u.renderScope(c, 200, v, u.scopeForm(c, v.ScopeSpec, false, "", nil))
}

func (u *UI) renderScope(c *gin.Context, status int, v *ScopeView, f templates.ScopeForm) error {
	view := templates.ConsoleScopeView{Name: v.Name, Form: f}
	for _, id := range v.Clients {
		name := id
		if cl, err := u.c.Clients.Get(c.Request.Context(), id); err == nil {
			name = cl.Name
		}
		view.Clients = append(view.Clients, templates.ClientSummary{ID: id, Name: name})
	}
	return u.pages.ConsoleScope(c.Writer, status, u.page(c, "console.scope.title", "name", v.Name), u.shell(c, "scopes"), view)
}

func (u *UI) scopeUpdate(c *gin.Context) error {
	ctx := c.Request.Context()
	name := c.Param("name")
	spec := scopeFromForm(c)
	spec.Name = name
	if _, err := u.c.Scopes.Update(ctx, name, spec); err != nil {
		p := toProblem(err)
		if p.Status != 422 {
			return err
		}
		cur, gerr := u.c.Scopes.Get(ctx, name)
		if gerr != nil {
			return gerr
		}
		return u.renderScope(c, 422, cur, u.scopeForm(c, spec, false, c.PostForm("claims"), err))
	}
	redirectDone(c, "/console/scopes/"+url.PathEscape(name), "scope_saved")
	return nil
}

// customScopeOptions adds the defined custom scopes to a client form's
// scopes (checked when the client registers them).
func (u *UI) customScopeOptions(c *gin.Context, f *templates.ClientForm, registered []string) error {
	list, err := u.c.Scopes.List(c.Request.Context())
	if err != nil {
		return err
	}
	for _, s := range list {
		checked := false
		for _, r := range registered {
			checked = checked || r == s.Name
		}
		f.Scopes = append(f.Scopes, templates.Option{Value: s.Name, Label: s.Name, Checked: checked})
	}
	return nil
}
