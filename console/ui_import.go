package console

import (
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/i18n"
	"github.com/sesame-idp/sesame/templates"
)

// The console's bulk import of users (users_bulk.go): upload a file, see
// a dry run row by row, then apply the same file. The file travels from
// the preview to the apply inside the form (the request body limit bounds
// it), so nothing is kept on the server between the two.

func (u *UI) mountImport(r gin.IRouter) {
	r.GET("/console/users/import", u.handle(u.importForm))
	r.POST("/console/users/import", u.handle(u.importRun))
}

func (u *UI) renderImport(c *gin.Context, status int, v templates.ConsoleImportView) error {
	return u.pages.ConsoleImport(c.Writer, status, u.page(c, "console.import.title"), u.shell(c, "users"), v)
}

func (u *UI) importForm(c *gin.Context) error {
	return u.renderImport(c, http.StatusOK, templates.ConsoleImportView{Format: FormatCSV})
}

func (u *UI) importRun(c *gin.Context) error {
	format := c.PostForm("format")
	if format != FormatJSONL {
		format = FormatCSV
	}
	apply := c.PostForm("apply") == "true"
	content := c.PostForm("content")
	if !apply {
		fh, err := c.FormFile("file")
		if err != nil {
			return u.renderImport(c, http.StatusUnprocessableEntity, templates.ConsoleImportView{Format: format, Error: u.T(c, "console.import.choose_file")})
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, 1<<20))
		_ = f.Close()
		if err != nil {
			return err
		}
		content = string(b)
	}
	rows, err := ParseImport(strings.NewReader(content), format)
	if err != nil {
		p := toProblem(err)
		if p.Status >= 500 {
			return err
		}
		msg := strings.TrimSpace(p.Title + ". " + p.Detail)
		if s, ok := problemText(u.pages.Catalog(), u.lang(c), p); ok && u.lang(c) != i18n.Default {
			msg = s
		}
		for _, fe := range p.Errors {
			msg += " " + capitalize(u.fieldMessage(c, fe)) + "."
		}
		return u.renderImport(c, http.StatusUnprocessableEntity, templates.ConsoleImportView{Format: format, Error: msg})
	}
	rep, err := u.c.Users.Import(c.Request.Context(), rows, !apply)
	if err != nil {
		return err
	}
	v := templates.ConsoleImportView{Format: format, Content: content, Report: true, Done: apply,
		Created: rep.Created, Updated: rep.Updated, Unchanged: rep.Unchanged, Invalid: rep.Invalid}
	for _, r := range rep.Rows {
		row := templates.ImportRowView{Row: r.Row, Email: r.Email, Action: u.word(c, "console.import.action_", r.Action, r.Action), Invalid: len(r.Errors) > 0}
		var msgs []string
		for _, fe := range r.Errors {
			msgs = append(msgs, fe.Field+": "+u.fieldMessage(c, fe))
		}
		row.Errors = strings.Join(msgs, "; ")
		v.Rows = append(v.Rows, row)
	}
	return u.renderImport(c, http.StatusOK, v)
}
