package console

import (
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/upstream"
	"github.com/sesame-idp/sesame/templates"
)

// The upstream providers pages: the list with the form that adds one
// (from a preset or any OIDC issuer), and a provider's page to edit or
// delete it (deleting goes to the admin API, as every destructive action
// does). The rules are Upstreams'.

func (u *UI) mountUpstreams(r gin.IRouter) {
	r.GET("/console/upstreams", u.handle(u.upstreamList))
	r.POST("/console/upstreams", u.handle(u.upstreamCreate))
	r.GET("/console/upstreams/:id", u.handle(u.upstreamShow))
	r.POST("/console/upstreams/:id", u.handle(u.upstreamUpdate))
}

// mapLines shows a mapping one "key = value" a line.
func mapLines(m map[string]string) string {
	lines := make([]string, 0, len(m))
	for k, v := range m {
		lines = append(lines, k+" = "+v)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func parseMapLines(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) != "" {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		} else if strings.TrimSpace(line) != "" {
			out[strings.TrimSpace(line)] = "" // named by validation
		}
	}
	return out
}

func upstreamFromForm(c *gin.Context) upstream.Spec {
	return upstream.Spec{ID: c.PostForm("id"), Name: c.PostForm("name"), Preset: c.PostForm("preset"), Kind: c.PostForm("kind"),
		Issuer: c.PostForm("issuer"), ClientID: c.PostForm("client_id"), ClientSecret: strings.TrimSpace(c.PostForm("client_secret")),
		Scopes: strings.Fields(strings.ReplaceAll(c.PostForm("scopes"), ",", " ")), Claims: parseMapLines(c.PostForm("claims")),
		Icon: c.PostForm("icon"), Provisioning: c.PostForm("provisioning"), GroupMap: parseMapLines(c.PostForm("group_map")),
		Domains:      strings.Fields(strings.ReplaceAll(c.PostForm("domains"), ",", " ")),
		LocalMethods: c.PostForm("local_methods") != "", PassAMR: c.PostForm("pass_amr") != "", Disabled: c.PostForm("disabled") != ""}
}

func (u *UI) upstreamForm(c *gin.Context, spec upstream.Spec, isNew, hasSecret bool, err error) templates.UpstreamForm {
	t := u.tr(c)
	f := templates.UpstreamForm{New: isNew, ID: spec.ID, Name: spec.Name, Kind: spec.Kind, Issuer: spec.Issuer, ClientID: spec.ClientID,
		Scopes: strings.Join(spec.Scopes, " "), HasSecret: hasSecret, Claims: mapLines(spec.Claims), Groups: mapLines(spec.GroupMap),
		Icon: spec.Icon, Domains: strings.Join(spec.Domains, " "), Provisioning: spec.Provisioning, LocalMethods: spec.LocalMethods,
		PassAMR: spec.PassAMR, Disabled: spec.Disabled, Errors: map[string]string{}}
	if f.Provisioning == "" {
		f.Provisioning = "create"
	}
	if isNew {
		f.Action, f.Submit = "/console/upstreams", t("console.upstreams.add")
		f.Presets = append(f.Presets, templates.Option{Value: "", Label: t("console.upstreams.preset_none"), Checked: spec.Preset == ""})
		for _, id := range upstream.PresetIDs {
			f.Presets = append(f.Presets, templates.Option{Value: id, Label: upstream.Presets[id].Name, Checked: spec.Preset == id})
		}
	} else {
		f.Action, f.Submit = "/console/upstreams/"+url.PathEscape(spec.ID), t("console.common.save_changes")
	}
	f.Problem = u.fieldMessages(c, err, f.Errors)
	return f
}

func (u *UI) callbackURL() string {
	return strings.TrimRight(u.c.cfg.Issuer, "/") + upstream.CallbackPath
}

func (u *UI) upstreamList(c *gin.Context) error {
	return u.renderUpstreams(c, 200, u.upstreamForm(c, upstream.Spec{}, true, false, nil))
}

func (u *UI) renderUpstreams(c *gin.Context, status int, f templates.UpstreamForm) error {
	list, err := u.c.Upstreams.List(c.Request.Context())
	if err != nil {
		return err
	}
	v := templates.ConsoleUpstreamsView{Form: f, Callback: u.callbackURL()}
	for _, p := range list {
		v.Rows = append(v.Rows, templates.UpstreamRow{ID: p.ID, Name: p.Name, Kind: p.Kind, Issuer: p.Issuer,
			Domains: strings.Join(p.Domains, " "), Disabled: p.Disabled})
	}
	return u.pages.ConsoleUpstreams(c.Writer, status, u.page(c, "console.upstreams.title"), u.shell(c, "upstreams"), v)
}

func (u *UI) upstreamCreate(c *gin.Context) error {
	spec := upstreamFromForm(c)
	v, err := u.c.Upstreams.Create(c.Request.Context(), spec)
	if err != nil {
		if p := toProblem(err); p.Status == 422 || p.Status == 409 {
			spec.ClientSecret = ""
			return u.renderUpstreams(c, p.Status, u.upstreamForm(c, spec, true, false, err))
		}
		return err
	}
	redirectDone(c, "/console/upstreams/"+url.PathEscape(v.ID), "upstream_saved")
	return nil
}

func (u *UI) upstreamShow(c *gin.Context) error {
	v, err := u.c.Upstreams.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return u.renderUpstream(c, 200, v, u.upstreamForm(c, v.Spec, false, v.HasSecret, nil))
}

func (u *UI) renderUpstream(c *gin.Context, status int, v *UpstreamView, f templates.UpstreamForm) error {
	view := templates.ConsoleUpstreamView{ID: v.ID, Name: v.Name, Callback: u.callbackURL(), Form: f}
	return u.pages.ConsoleUpstream(c.Writer, status, u.page(c, "console.upstream.title", "name", v.Name), u.shell(c, "upstreams"), view)
}

func (u *UI) upstreamUpdate(c *gin.Context) error {
	ctx := c.Request.Context()
	id := c.Param("id")
	spec := upstreamFromForm(c)
	spec.ID = id
	if _, err := u.c.Upstreams.Update(ctx, id, spec); err != nil {
		if toProblem(err).Status != 422 {
			return err
		}
		cur, gerr := u.c.Upstreams.Get(ctx, id)
		if gerr != nil {
			return gerr
		}
		spec.ClientSecret = ""
		return u.renderUpstream(c, 422, cur, u.upstreamForm(c, spec, false, cur.HasSecret, err))
	}
	redirectDone(c, "/console/upstreams/"+url.PathEscape(id), "upstream_saved")
	return nil
}
