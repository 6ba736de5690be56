package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

func (u *UI) userList(c *gin.Context) error {
	q := strings.TrimSpace(c.Query("q"))
	if len(q) > MaxQueryLen {
		q = q[:MaxQueryLen]
	}
	page, offset := pageParams(c, uiPageSize)
	users, more, err := u.c.Users.Search(c.Request.Context(), q, offset, uiPageSize)
	if err != nil {
		return err
	}
	v := templates.ConsoleUsersView{Query: q, Pager: uiMakePager(url.Values{"q": {q}}, "/console/users", page, more)}
	for _, us := range users {
		v.Rows = append(v.Rows, templates.UserRow{ID: us.ID, Email: us.Email, Name: us.DisplayName, Created: uiWhen(us.CreatedAt),
			Disabled: us.Disabled, Admin: us.Admin})
	}
	return u.pages.ConsoleUsers(c.Writer, 200, templates.Page{Title: "Users"}, u.shell(c, "users"), v)
}

func (u *UI) userShow(c *gin.Context) error {
	return u.renderUser(c, http.StatusOK, nil, "")
}

// renderUser shows a user's page; profile, when set, is a refused profile
// edit and groupErr a refused group change.
func (u *UI) renderUser(c *gin.Context, status int, profile *templates.ProfileForm, groupErr string) error {
	ctx := c.Request.Context()
	d, err := u.c.Users.Show(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	names, err := u.stats.clientNames(ctx)
	if err != nil {
		return err
	}
	du := d.User
	v := templates.ConsoleUserView{User: templates.UserSummary{ID: du.ID, Email: du.Email, EmailVerified: du.EmailVerified,
		DisplayName: du.DisplayName, Disabled: du.Disabled, Admin: du.Admin, CreatedAt: du.CreatedAt}, Passlinks: u.c != nil && u.c.Users.CanSendPasslink()}
	if profile == nil {
		f := profileForm(d.Profile)
		profile = &f
	}
	v.Profile = *profile
	if v.Groups, err = u.userGroups(ctx, d.Groups); err != nil {
		return err
	}
	v.Groups.Error = groupErr
	for _, cr := range d.Credentials {
		r := templates.CredRow{ID: cr.ID, Name: cr.Name, Model: cr.Model, Created: uiWhen(cr.CreatedAt), LastUsed: uiWhenPtr(cr.LastUsedAt),
			AAGUID: cr.AAGUID, Flagged: cr.Flagged, Kind: "Passkey", Storage: "Device-bound"}
		if cr.Kind == models.CredentialSecurityKey {
			r.Kind = "Security key"
		}
		if cr.Synced {
			r.Storage = "Synced"
		}
		if r.Model == "" {
			r.Model = "Unknown model"
		}
		if r.Name == "" {
			r.Name = r.Model
		}
		v.Creds = append(v.Creds, r)
	}
	for _, s := range d.Sessions {
		v.Sessions = append(v.Sessions, templates.SessionRow{Started: uiWhen(s.AuthTime), LastSeen: uiWhen(s.LastSeenAt), Expires: uiWhen(s.ExpiresAt),
			Methods: strings.Join(s.AMR, ", "), IP: s.IP, Device: uiTrunc(s.UserAgent, 60)})
	}
	for _, e := range d.Events {
		r := templates.EventRow{At: uiWhen(e.At), Method: MethodName(e.Method), Client: clientName(names, e.ClientID), Reason: e.Reason, IP: e.IP,
			OK: e.Result == models.ResultSuccess}
		r.Event = e.Event
		switch {
		case e.Event == models.EventLogin && r.OK:
			r.Event = "Signed in"
		case e.Event == models.EventLogin:
			r.Event = "Sign-in failed"
		case e.Event == models.EventRegister && r.OK:
			r.Event = "Credential added"
		}
		v.Events = append(v.Events, r)
	}
	return u.pages.ConsoleUser(c.Writer, status, templates.Page{Title: d.User.Email}, u.shell(c, "users"), v)
}

func uiTrunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func (u *UI) userDisable(c *gin.Context) error {
	id := c.Param("id")
	if _, err := u.c.Users.SetDisabled(c.Request.Context(), id, true); err != nil {
		return err
	}
	redirectDone(c, "/console/users/"+url.PathEscape(id), "user_disabled")
	return nil
}

func (u *UI) userEnable(c *gin.Context) error {
	id := c.Param("id")
	if _, err := u.c.Users.SetDisabled(c.Request.Context(), id, false); err != nil {
		return err
	}
	redirectDone(c, "/console/users/"+url.PathEscape(id), "user_enabled")
	return nil
}
