package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/templates"
)

// The users pages: the list (filters, last sign-in, passkeys), "add a
// user", "invite an admin", and a user's page (identity, access, groups,
// profile, credentials, sessions, sign-in history). Changes that are not
// destructive post forms here; the rest go through the admin API from
// console.js, with a confirmation dialog and the step-up where needed.

// mountUsers registers the users pages.
func (u *UI) mountUsers(r gin.IRouter) {
	r.GET("/console/users", u.handle(u.userList))
	r.GET("/console/users/new", u.handle(u.userNew))
	u.mountImport(r)
	r.POST("/console/users", u.handle(u.userCreate))
	r.GET("/console/users/:id", u.handle(u.userShow))
	r.POST("/console/users/:id/identity", u.handle(u.userSaveIdentity))
	r.POST("/console/users/:id/enable", u.handle(u.userEnable))
	r.GET("/console/admins/invite", u.handle(u.adminInviteForm))
	r.POST("/console/admins/invite", u.handle(u.adminInvite))
}

// userFilters are the list's checkboxes: query names (each labelled by
// console.users.filter_NAME).
var userFilters = []string{"admin", "disabled", "unverified"}

func (u *UI) userList(c *gin.Context) error {
	q := UserQuery{Query: strings.TrimSpace(c.Query("q"))}
	if len(q.Query) > MaxQueryLen {
		q.Query = q.Query[:MaxQueryLen]
	}
	v := templates.ConsoleUsersView{Query: q.Query}
	base := url.Values{"q": {q.Query}}
	for _, name := range userFilters {
		f := templates.Option{Value: name, Label: u.T(c, "console.users.filter_"+name), Checked: c.Query(name) == "true"}
		v.Filters = append(v.Filters, f)
		if f.Checked {
			v.Filtered = true
			base.Set(f.Value, "true")
		}
	}
	q.Admins, q.Disabled, q.Unverified = v.Filters[0].Checked, v.Filters[1].Checked, v.Filters[2].Checked
	page, offset := pageParams(c, uiPageSize)
	users, more, err := u.c.Users.List(c.Request.Context(), q, offset, uiPageSize)
	if err != nil {
		return err
	}
	v.Pager = uiMakePager(base, "/console/users", page, more)
	v.ExportCSV, v.ExportJSONL = exportLinks("users", base)
	for _, us := range users {
		v.Rows = append(v.Rows, templates.UserRow{ID: us.ID, Email: us.Email, Name: us.DisplayName, Created: u.when(c, us.CreatedAt),
			Disabled: us.Disabled, Admin: us.Admin, Verified: us.EmailVerified, LastSignIn: u.ago(c, us.LastSignInAt), Credentials: u.number(c, us.Credentials)})
	}
	return u.pages.ConsoleUsers(c.Writer, 200, u.page(c, "console.users.title"), u.shell(c, "users"), v)
}

func (u *UI) userNew(c *gin.Context) error {
	f := templates.UserForm{Passlinks: u.c.Users.CanSendPasslink(), SendLink: u.c.Users.CanSendPasslink(), Errors: map[string]string{}}
	return u.pages.ConsoleUserNew(c.Writer, 200, u.page(c, "console.user_new.title"), u.shell(c, "users"), f)
}

func (u *UI) userCreate(c *gin.Context) error {
	in := NewUser{Email: c.PostForm("email"), DisplayName: c.PostForm("display_name"), EmailVerified: c.PostForm("email_verified") == "on",
		SendLink: c.PostForm("send_link") == "on"}
	added, err := u.c.Users.Add(c.Request.Context(), in)
	if err != nil {
		f := templates.UserForm{Email: in.Email, DisplayName: in.DisplayName, Verified: in.EmailVerified, SendLink: in.SendLink,
			Passlinks: u.c.Users.CanSendPasslink(), Errors: map[string]string{}}
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			return u.pages.ConsoleUserNew(c.Writer, http.StatusUnprocessableEntity, u.page(c, "console.user_new.title"), u.shell(c, "users"), f)
		}
		return err
	}
	done := "user_added"
	if added.Link != nil {
		done = "user_added_link"
	}
	redirectDone(c, userPath(added.User.ID), done)
	return nil
}

func (u *UI) userShow(c *gin.Context) error {
	return u.renderUser(c, http.StatusOK, nil, "")
}

// userPageState is what a refused form on the user's page shows again.
type userPageState struct {
	profile  *templates.ProfileForm
	identity *templates.UserForm
	groupErr string
}

// renderUser shows a user's page; profile, when set, is a refused profile
// edit and groupErr a refused group change.
func (u *UI) renderUser(c *gin.Context, status int, profile *templates.ProfileForm, groupErr string) error {
	return u.renderUserPage(c, status, userPageState{profile: profile, groupErr: groupErr})
}

func (u *UI) renderUserPage(c *gin.Context, status int, st userPageState) error {
	ctx := c.Request.Context()
	id := c.Param("id")
	d, err := u.c.Users.Show(ctx, id)
	if err != nil {
		return err
	}
	hq, hist, err := u.userHistory(c, id)
	if err != nil {
		return err
	}
	names, err := u.stats.clientNames(ctx)
	if err != nil {
		return err
	}
	du := d.User
	v := templates.ConsoleUserView{User: templates.UserSummary{ID: du.ID, Email: du.Email, EmailVerified: du.EmailVerified,
		DisplayName: du.DisplayName, Disabled: du.Disabled, Admin: du.Admin, DeletionDueAt: du.DeletionDueAt, CreatedAt: du.CreatedAt}, Passlinks: u.c.Users.CanSendPasslink(),
		Self: ActorFrom(ctx).ID == du.ID, Grants: len(d.Grants), RecoveryCodes: d.RecoveryCodes}
	for _, i := range d.Identities {
		name := i.Provider
		if up, err := u.c.Upstreams.Get(ctx, i.Provider); err == nil {
			name = up.Name
		}
		if i.Email != "" {
			name += " (" + i.Email + ")"
		}
		v.Identities = append(v.Identities, name)
	}
	if st.identity != nil {
		v.Identity = *st.identity
	} else {
		v.Identity = templates.UserForm{Email: du.Email, DisplayName: du.DisplayName, Verified: du.EmailVerified, Errors: map[string]string{}}
	}
	if st.profile == nil {
		f := profileForm(d.Profile)
		st.profile = &f
	}
	v.Profile = *st.profile
	if v.Groups, err = u.userGroups(ctx, d.Groups); err != nil {
		return err
	}
	v.Groups.Error = st.groupErr
	findings, err := u.c.Health.OfUser(ctx, id)
	if err != nil {
		return err
	}
	for _, cr := range d.Credentials {
		r := templates.CredRow{ID: cr.ID, Name: cr.Name, Model: cr.Model, Created: u.when(c, cr.CreatedAt), LastUsed: u.whenPtr(c, cr.LastUsedAt),
			AAGUID: cr.AAGUID, Flagged: cr.Flagged, Kind: u.T(c, "console.cred.kind_passkey"), Storage: u.T(c, "console.cred.device_bound"),
			Compromised: cr.CompromisedStatus, Suspended: cr.SuspendedAt != nil,
			// The model's FIDO status has its own badge (Compromised).
			Badges: u.findingBadges(c, slices.DeleteFunc(slices.Clone(findings[cr.ID]), func(f string) bool { return f == store.FindingCompromisedModel }))}
		if cr.Kind == models.CredentialSecurityKey {
			r.Kind = u.T(c, "console.cred.kind_key")
		}
		if cr.Synced {
			r.Storage = u.T(c, "console.cred.synced")
		}
		if r.Model == "" {
			r.Model = u.T(c, "console.dashboard.unknown_model")
		}
		if r.Name == "" {
			r.Name = r.Model
		}
		v.Creds = append(v.Creds, r)
	}
	for _, s := range d.Sessions {
		v.Sessions = append(v.Sessions, templates.SessionRow{Started: u.when(c, s.AuthTime), LastSeen: u.when(c, s.LastSeenAt), Expires: u.when(c, s.ExpiresAt),
			Methods: strings.Join(s.AMR, ", "), IP: s.IP, Device: u.pages.DeviceName(u.lang(c), s.UserAgent)})
	}
	for _, e := range hist.Items {
		v.Events = append(v.Events, u.eventRow(c, e, names))
	}
	v.History = u.historyFilter(c, hq, names, d.Grants)
	v.ExportCSV, v.ExportJSONL = exportLinks("events", url.Values{"user_id": {id}, "result": {hq.Result}, "method": {hq.Method}, "client_id": {hq.ClientID}})
	if hist.HasMore {
		q := c.Request.URL.Query()
		q.Set("before", hist.NextBefore)
		v.History.Older = userPath(id) + "?" + q.Encode() + "#history-h"
	}
	return u.pages.ConsoleUser(c.Writer, status, templates.Page{Title: d.User.Email}, u.shell(c, "users"), v)
}

// userHistory reads the history filters of the user's page (unknown
// values are dropped, not refused: it is a page) and the page of events.
func (u *UI) userHistory(c *gin.Context, id string) (HistoryQuery, *History, error) {
	q := HistoryQuery{Result: c.Query("result"), Method: c.Query("method"), ClientID: c.Query("client")}
	if q.Result != models.ResultSuccess && q.Result != models.ResultFailure {
		q.Result = ""
	}
	if !slices.Contains(historyMethods, q.Method) {
		q.Method = ""
	}
	if len(q.ClientID) > MaxQueryLen {
		q.ClientID = ""
	}
	if t, err := time.Parse(time.RFC3339Nano, c.Query("before")); err == nil {
		q.Before = t
	}
	h, err := u.c.Users.History(c.Request.Context(), id, q, recentEvents)
	return q, h, err
}

// historyFilter is the history's filter row: results, methods, and the
// apps the user signed in to or granted.
func (u *UI) historyFilter(c *gin.Context, q HistoryQuery, names map[string]string, grants []GrantView) templates.HistoryFilter {
	f := templates.HistoryFilter{Filtered: q.Result != "" || q.Method != "" || q.ClientID != ""}
	for _, o := range []templates.Option{{Value: "", Label: u.T(c, "console.history.any_result")},
		{Value: models.ResultSuccess, Label: u.T(c, "console.history.succeeded")}, {Value: models.ResultFailure, Label: u.T(c, "console.history.failed")}} {
		o.Checked = o.Value == q.Result
		f.Results = append(f.Results, o)
	}
	f.Methods = append(f.Methods, templates.Option{Value: "", Label: u.T(c, "console.history.any_method"), Checked: q.Method == ""})
	for _, m := range historyMethods {
		f.Methods = append(f.Methods, templates.Option{Value: m, Label: u.methodName(c, m), Checked: m == q.Method})
	}
	f.Clients = append(f.Clients, templates.Option{Value: "", Label: u.T(c, "console.history.any_app"), Checked: q.ClientID == ""})
	seen := map[string]bool{}
	add := func(id string) {
		if id == "" || seen[id] {
			return
		}
		seen[id] = true
		f.Clients = append(f.Clients, templates.Option{Value: id, Label: u.clientLabel(c, id, clientName(names, id)), Checked: id == q.ClientID})
	}
	for id := range names {
		add(id)
	}
	for _, g := range grants {
		add(g.ClientID)
	}
	add(q.ClientID)
	slices.SortFunc(f.Clients[1:], func(a, b templates.Option) int {
		return strings.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label))
	})
	return f
}

// eventRow is a line of the sign-in history, in words.
func (u *UI) eventRow(c *gin.Context, e EventView, names map[string]string) templates.EventRow {
	r := templates.EventRow{At: u.when(c, e.At), Method: u.methodName(c, e.Method), Client: u.clientLabel(c, e.ClientID, clientName(names, e.ClientID)),
		Reason: u.reasonText(c, e.Reason), IP: e.IP, OK: e.Result == models.ResultSuccess, Event: u.eventText(c, e.Event, e.Result)}
	return r
}

func (u *UI) userSaveIdentity(c *gin.Context) error {
	ctx := c.Request.Context()
	id := c.Param("id")
	cur, err := u.c.Users.Show(ctx, id)
	if err != nil {
		return err
	}
	email, name := c.PostForm("email"), c.PostForm("display_name")
	verified := c.PostForm("email_verified") == "on"
	up := UserUpdate{Email: &email, DisplayName: &name}
	// A new address is unverified unless the box was ticked on purpose:
	// a box left as it was (ticked for the old address) proves nothing
	// about the new one.
	if verified != cur.User.EmailVerified || strings.EqualFold(strings.TrimSpace(email), cur.User.Email) {
		up.EmailVerified = &verified
	}
	if _, err := u.c.Users.Update(ctx, id, up); err != nil {
		f := templates.UserForm{Email: email, DisplayName: name, Verified: verified, Errors: map[string]string{}}
		if u.fieldErrors(c, err, f.Errors, &f.Problem) {
			return u.renderUserPage(c, http.StatusUnprocessableEntity, userPageState{identity: &f})
		}
		return err
	}
	redirectDone(c, userPath(id), "user_saved")
	return nil
}

func (u *UI) userEnable(c *gin.Context) error {
	id := c.Param("id")
	if _, err := u.c.Users.SetDisabled(c.Request.Context(), id, false); err != nil {
		return err
	}
	redirectDone(c, userPath(id), "user_enabled")
	return nil
}

func (u *UI) adminInviteForm(c *gin.Context) error {
	return u.pages.ConsoleAdminInvite(c.Writer, 200, u.page(c, "console.invite.title"), u.shell(c, "users"), templates.AdminInviteView{})
}

func (u *UI) adminInvite(c *gin.Context) error {
	email := strings.TrimSpace(c.PostForm("email"))
	link, err := Invite(c.Request.Context(), u.st, u.c.cfg.Issuer, email)
	if err != nil {
		v := templates.AdminInviteView{Email: email}
		p := toProblem(err)
		if p.Status != http.StatusUnprocessableEntity {
			return err
		}
		v.Error = capitalize(u.fieldMessage(c, FieldError{Message: "must be a bare email address such as ada@example.com"})) + "."
		if len(p.Errors) > 0 {
			v.Error = capitalize(u.fieldMessage(c, p.Errors[0])) + "."
		}
		return u.pages.ConsoleAdminInvite(c.Writer, http.StatusUnprocessableEntity, u.page(c, "console.invite.title"), u.shell(c, "users"), v)
	}
	v := templates.AdminInviteView{Email: email, Link: link, Expires: u.when(c, clock.Now().Add(InviteTTL))}
	return u.pages.ConsoleAdminInvite(c.Writer, http.StatusOK, u.page(c, "console.invite.title"), u.shell(c, "users"), v)
}
