package console

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// The resources pages (RFC 8707): the list with the form that registers
// one, and a resource's page to edit or delete it (deleting goes to the
// admin API, as every destructive action does). The rules are Resources'.

func resourceFromForm(c *gin.Context) clients.ResourceSpec {
	return clients.ResourceSpec{Name: c.PostForm("name"), Description: c.PostForm("description"), Audience: c.PostForm("audience"),
		Scopes: c.PostFormArray("scopes"), AccessTokenFormat: c.PostForm("access_token_format")}
}

// resourceForm is the form for spec, offering every custom scope; err,
// when a refusal, puts its messages next to their fields.
func (u *UI) resourceForm(c *gin.Context, spec clients.ResourceSpec, isNew bool, err error) (templates.ResourceForm, error) {
	f := templates.ResourceForm{New: isNew, Name: spec.Name, Description: spec.Description, Audience: spec.Audience, Errors: map[string]string{}}
	if isNew {
		f.Action, f.Submit = "/console/resources", u.T(c, "console.resources.register")
	} else {
		f.Action, f.Submit = "/console/resources/"+url.PathEscape(spec.Name), u.T(c, "console.common.save_changes")
	}
	defs, lerr := u.c.Scopes.List(c.Request.Context())
	if lerr != nil {
		return f, lerr
	}
	for _, d := range defs {
		f.Scopes = append(f.Scopes, templates.Option{Value: d.Name, Label: d.Name, Checked: slices.Contains(spec.Scopes, d.Name)})
	}
	format := spec.AccessTokenFormat
	if format == "" {
		format = models.TokenFormatJWT
	}
	for _, o := range []templates.Option{
		{Value: models.TokenFormatJWT, Label: "JWT", Hint: u.T(c, "console.resources.jwt_hint")},
		{Value: models.TokenFormatOpaque, Label: u.T(c, "console.resources.opaque"), Hint: u.T(c, "console.resources.opaque_hint")},
	} {
		o.Checked = o.Value == format
		f.Formats = append(f.Formats, o)
	}
	f.Problem = u.fieldMessages(c, err, f.Errors)
	return f, nil
}

func (u *UI) resourceList(c *gin.Context) error {
	return u.renderResources(c, 200, clients.ResourceSpec{}, nil)
}

func (u *UI) renderResources(c *gin.Context, status int, spec clients.ResourceSpec, ferr error) error {
	list, err := u.c.Resources.List(c.Request.Context())
	if err != nil {
		return err
	}
	f, err := u.resourceForm(c, spec, true, ferr)
	if err != nil {
		return err
	}
	v := templates.ConsoleResourcesView{Form: f}
	for _, r := range list {
		format := "JWT"
		if r.AccessTokenFormat == models.TokenFormatOpaque {
			format = u.T(c, "console.resources.opaque")
		}
		v.Rows = append(v.Rows, templates.ResourceRow{Name: r.Name, Audience: r.Audience, Format: format, Scopes: strings.Join(r.Scopes, " "), Description: r.Description})
	}
	return u.pages.ConsoleResources(c.Writer, status, u.page(c, "console.resources.title"), u.shell(c, "resources"), v)
}

func (u *UI) resourceCreate(c *gin.Context) error {
	spec := resourceFromForm(c)
	v, err := u.c.Resources.Create(c.Request.Context(), spec)
	if err != nil {
		if p := toProblem(err); p.Status == 422 || p.Status == 409 {
			return u.renderResources(c, p.Status, spec, err)
		}
		return err
	}
	redirectDone(c, "/console/resources/"+url.PathEscape(v.Name), "resource_saved")
	return nil
}

func (u *UI) resourceShow(c *gin.Context) error {
	v, err := u.c.Resources.Get(c.Request.Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return u.renderResource(c, 200, v.Name, v.ResourceSpec, nil)
}

func (u *UI) renderResource(c *gin.Context, status int, name string, spec clients.ResourceSpec, ferr error) error {
	f, err := u.resourceForm(c, spec, false, ferr)
	if err != nil {
		return err
	}
	return u.pages.ConsoleResource(c.Writer, status, u.page(c, "console.resource.title", "name", name), u.shell(c, "resources"), templates.ConsoleResourceView{Name: name, Form: f})
}

func (u *UI) resourceUpdate(c *gin.Context) error {
	ctx := c.Request.Context()
	name := c.Param("name")
	spec := resourceFromForm(c)
	spec.Name = name
	if _, err := u.c.Resources.Update(ctx, name, spec); err != nil {
		p := toProblem(err)
		if p.Status != 422 && p.Status != 409 {
			return err
		}
		if _, gerr := u.c.Resources.Get(ctx, name); gerr != nil {
			return gerr
		}
		return u.renderResource(c, p.Status, name, spec, err)
	}
	redirectDone(c, "/console/resources/"+url.PathEscape(name), "resource_saved")
	return nil
}
