package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The console's groups pages, and the groups and profile parts of the
// user page and the client form. Forms post here; deleting a group goes
// through the admin API (console.js), like the other deletions.

func (u *UI) mountGroups(r gin.IRouter) {
	r.GET("/console/groups", u.handle(u.groupList))
	r.GET("/console/groups/new", u.handle(u.groupNew))
	r.POST("/console/groups", u.handle(u.groupCreate))
	r.GET("/console/groups/:name", u.handle(u.groupShow))
	r.POST("/console/groups/:name", u.handle(u.groupUpdate))
	r.POST("/console/groups/:name/members", u.handle(u.groupAddMember))
	r.POST("/console/groups/:name/members/:user/remove", u.handle(u.groupRemoveMember))
	r.POST("/console/users/:id/profile", u.handle(u.userSaveProfile))
	r.POST("/console/users/:id/groups", u.handle(u.userJoinGroup))
	r.POST("/console/users/:id/groups/:name/remove", u.handle(u.userLeaveGroup))
}

func groupPath(name string) string { return "/console/groups/" + url.PathEscape(name) }

func userPath(id string) string { return "/console/users/" + url.PathEscape(id) }

func (u *UI) groupList(c *gin.Context) error {
	q := strings.TrimSpace(c.Query("q"))
	if len(q) > MaxQueryLen {
		q = q[:MaxQueryLen]
	}
	page, offset := pageParams(c, uiPageSize)
	groups, more, err := u.c.Groups.List(c.Request.Context(), q, offset, uiPageSize)
	if err != nil {
		return err
	}
	v := templates.ConsoleGroupsView{Query: q, Pager: uiMakePager(url.Values{"q": {q}}, "/console/groups", page, more)}
	for _, g := range groups {
		v.Rows = append(v.Rows, templates.GroupRow{Name: g.Name, Description: g.Description, Members: g.MemberCount, Created: u.when(c, g.CreatedAt)})
	}
	return u.pages.ConsoleGroups(c.Writer, http.StatusOK, u.page(c, "console.groups.title"), u.shell(c, "groups"), v)
}

func newGroupForm(t tfunc) templates.GroupForm {
	return templates.GroupForm{Action: "/console/groups", Submit: t("console.group_form.submit"), New: true, Errors: map[string]string{}}
}

func (u *UI) groupNew(c *gin.Context) error {
	return u.pages.ConsoleGroupForm(c.Writer, http.StatusOK, u.page(c, "console.group_form.title"), u.shell(c, "groups"), newGroupForm(u.tr(c)))
}

// fieldErrors puts a refusal's messages by their fields (and reports
// whether err was such a refusal): a 422, or a 409 naming a field.
func (u *UI) fieldErrors(c *gin.Context, err error, errs map[string]string, problemText *string) bool {
	p := toProblem(err)
	if p.Status != http.StatusUnprocessableEntity && p.Status != http.StatusConflict {
		return false
	}
	// Every message of a field, not only the last (several bad redirect
	// URIs are each named).
	for _, fe := range p.Errors {
		msg := u.fieldMessage(c, fe)
		if prev := errs[fe.Field]; prev != "" {
			errs[fe.Field] = prev + "; " + msg
			continue
		}
		errs[fe.Field] = msg
	}
	*problemText = u.T(c, "console.form.not_saved")
	if len(p.Errors) == 0 {
		*problemText = p.Title + ". " + p.Detail
	}
	return true
}

func (u *UI) groupCreate(c *gin.Context) error {
	spec := GroupSpec{Name: c.PostForm("name"), Description: c.PostForm("description")}
	g, err := u.c.Groups.Create(c.Request.Context(), spec)
	if err != nil {
		f := newGroupForm(u.tr(c))
		f.Name, f.Description = spec.Name, spec.Description
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			return u.pages.ConsoleGroupForm(c.Writer, http.StatusUnprocessableEntity, u.page(c, "console.group_form.title"), u.shell(c, "groups"), f)
		}
		return err
	}
	redirectDone(c, groupPath(g.Name), "group_created")
	return nil
}

func (u *UI) groupShow(c *gin.Context) error {
	return u.renderGroup(c, http.StatusOK, nil, "", "")
}

// renderGroup shows a group's page; form, when set, is a refused edit of
// its description, and addValue/addError a refused new member.
func (u *UI) renderGroup(c *gin.Context, status int, form *templates.GroupForm, addValue, addError string) error {
	ctx := c.Request.Context()
	name := c.Param("name")
	g, err := u.c.Groups.Get(ctx, name)
	if err != nil {
		return err
	}
	page, offset := pageParams(c, uiPageSize)
	members, more, err := u.c.Groups.Members(ctx, name, offset, uiPageSize)
	if err != nil {
		return err
	}
	allowing, err := u.c.Groups.ClientsAllowing(ctx, name)
	if err != nil {
		return err
	}
	if form == nil {
		form = &templates.GroupForm{Description: g.Description, Errors: map[string]string{}}
	}
	form.Action, form.Submit, form.Name = groupPath(name), u.T(c, "console.group.save"), g.Name
	v := templates.ConsoleGroupView{Group: templates.GroupSummary{Name: g.Name, Members: g.MemberCount, CreatedAt: g.CreatedAt},
		Form: *form, Clients: allowing, AddValue: addValue, AddError: addError,
		Pager: uiMakePager(url.Values{}, groupPath(name), page, more)}
	for _, m := range members {
		v.Members = append(v.Members, templates.MemberRow{ID: m.ID, Email: m.Email, Name: m.DisplayName})
	}
	return u.pages.ConsoleGroup(c.Writer, status, templates.Page{Title: g.Name}, u.shell(c, "groups"), v)
}

func (u *UI) groupUpdate(c *gin.Context) error {
	name := c.Param("name")
	desc := c.PostForm("description")
	if _, err := u.c.Groups.Update(c.Request.Context(), name, GroupSpec{Description: desc}); err != nil {
		f := &templates.GroupForm{Description: desc, Errors: map[string]string{}}
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			return u.renderGroup(c, http.StatusUnprocessableEntity, f, "", "")
		}
		return err
	}
	redirectDone(c, groupPath(name), "group_saved")
	return nil
}

func (u *UI) groupAddMember(c *gin.Context) error {
	name, ref := c.Param("name"), strings.TrimSpace(c.PostForm("user"))
	if _, err := u.c.Groups.AddMember(c.Request.Context(), name, ref); err != nil {
		p := toProblem(err)
		if p.Status == http.StatusUnprocessableEntity || p.Status == http.StatusConflict {
			msg := p.Detail
			if len(p.Errors) > 0 {
				msg = u.T(c, "console.group.no_user", "user", ref)
				if ref == "" {
					msg = u.T(c, "console.group.enter_user")
				}
			}
			return u.renderGroup(c, http.StatusUnprocessableEntity, nil, ref, msg)
		}
		return err
	}
	redirectDone(c, groupPath(name), "member_added")
	return nil
}

func (u *UI) groupRemoveMember(c *gin.Context) error {
	name := c.Param("name")
	if err := u.c.Groups.RemoveMember(c.Request.Context(), name, c.Param("user")); err != nil {
		return err
	}
	redirectDone(c, groupPath(name), "member_removed")
	return nil
}

// --- the user page's parts ---

// profileForm is the user page's profile form for p.
func profileForm(p ProfileSpec) templates.ProfileForm {
	f := templates.ProfileForm{Username: p.Username, GivenName: p.GivenName, FamilyName: p.FamilyName, Locale: p.Locale, Picture: p.Picture,
		Attributes: "{}", Errors: map[string]string{}}
	var obj map[string]json.RawMessage
	if json.Unmarshal(p.Attributes, &obj) == nil && len(obj) > 0 {
		if b, err := marshalJSON(obj, "  "); err == nil {
			f.Attributes = string(b)
		}
	}
	return f
}

// userGroups is the user page's groups part: theirs, and the others to
// join.
func (u *UI) userGroups(ctx context.Context, mine []string) (templates.UserGroups, error) {
	v := templates.UserGroups{Names: mine}
	all, err := u.c.Groups.st.ListGroups(ctx)
	if err != nil {
		return v, err
	}
	for _, g := range all {
		if !slices.Contains(mine, g.Name) {
			v.Join = append(v.Join, templates.Option{Value: g.Name, Label: g.Name})
		}
	}
	return v, nil
}

func (u *UI) userSaveProfile(c *gin.Context) error {
	id := c.Param("id")
	spec := ProfileSpec{Username: c.PostForm("username"), GivenName: c.PostForm("given_name"), FamilyName: c.PostForm("family_name"),
		Locale: c.PostForm("locale"), Picture: c.PostForm("picture"), Attributes: json.RawMessage(c.PostForm("attributes"))}
	if _, err := u.c.Users.SetProfile(c.Request.Context(), id, spec); err != nil {
		f := templates.ProfileForm{Username: spec.Username, GivenName: spec.GivenName, FamilyName: spec.FamilyName, Locale: spec.Locale,
			Picture: spec.Picture, Attributes: string(spec.Attributes), Errors: map[string]string{}}
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			return u.renderUser(c, http.StatusUnprocessableEntity, &f, "")
		}
		return err
	}
	redirectDone(c, userPath(id), "profile_saved")
	return nil
}

func (u *UI) userJoinGroup(c *gin.Context) error {
	id := c.Param("id")
	if _, err := u.c.Groups.AddMember(c.Request.Context(), c.PostForm("group"), id); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return u.renderUser(c, http.StatusUnprocessableEntity, nil, u.T(c, "console.group.gone"))
		}
		if p := toProblem(err); p.Status == http.StatusConflict {
			return u.renderUser(c, http.StatusConflict, nil, p.Detail)
		}
		return err
	}
	redirectDone(c, userPath(id), "group_joined")
	return nil
}

func (u *UI) userLeaveGroup(c *gin.Context) error {
	id := c.Param("id")
	if err := u.c.Groups.RemoveMember(c.Request.Context(), c.Param("name"), id); err != nil {
		return err
	}
	redirectDone(c, userPath(id), "group_left")
	return nil
}

// --- the client form's allowed groups ---

// groupOptions lists every group for the client form, those in selected
// checked; a selected name no group has any more stays, marked, so that
// saving names the problem instead of dropping it silently.
func (u *UI) groupOptions(ctx context.Context, selected []string) ([]templates.Option, error) {
	all, err := u.c.Groups.st.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	var out []templates.Option
	for _, g := range all {
		out = append(out, templates.Option{Value: g.Name, Label: g.Name, Hint: g.Description, Checked: slices.Contains(selected, g.Name)})
	}
	for _, s := range selected {
		if !slices.ContainsFunc(all, func(g models.Group) bool { return g.Name == s }) {
			out = append(out, templates.Option{Value: s, Label: s, Hint: "deleted group: uncheck it", Checked: true})
		}
	}
	return out, nil
}

// checkedValues are the values of the checked options.
func checkedValues(opts []templates.Option) []string {
	var out []string
	for _, o := range opts {
		if o.Checked {
			out = append(out, o.Value)
		}
	}
	return out
}
