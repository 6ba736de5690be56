package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
)

// The admin API's everyday user actions (users_admin.go).

// boolQuery reads an optional true/false query parameter.
func boolQuery(g *gin.Context, name string) (bool, error) {
	switch g.Query(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, invalid(name, "true or false")
}

func (c *Console) apiListUsers(g *gin.Context) error {
	offset, limit, err := page(g)
	if err != nil {
		return err
	}
	var q UserQuery
	if q.Query, err = query(g, "q"); err != nil {
		return err
	}
	for name, dst := range map[string]*bool{"admin": &q.Admins, "disabled": &q.Disabled, "unverified": &q.Unverified} {
		if *dst, err = boolQuery(g, name); err != nil {
			return err
		}
	}
	items, more, err := c.Users.List(g.Request.Context(), q, offset, limit)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, listOf(items, more, offset, limit))
	return nil
}

func (c *Console) apiAddUser(g *gin.Context) error {
	var in NewUser
	if err := decode(g, &in); err != nil {
		return err
	}
	added, err := c.Users.Add(g.Request.Context(), in)
	if err != nil {
		return err
	}
	g.Header("Location", APIPrefix+"/users/"+url.PathEscape(added.User.ID))
	g.JSON(http.StatusCreated, added)
	return nil
}

func (c *Console) apiUpdateUser(g *gin.Context) error {
	var in UserUpdate
	if err := decode(g, &in); err != nil {
		return err
	}
	return answer(g)(c.Users.Update(g.Request.Context(), g.Param("id"), in))
}

func (c *Console) apiRevokeSessions(g *gin.Context) error {
	return answer(g)(c.Users.SignOutEverywhere(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiRevokeGrants(g *gin.Context) error {
	return answer(g)(c.Users.RevokeGrants(g.Request.Context(), g.Param("id")))
}

func (c *Console) apiUserEvents(g *gin.Context) error {
	_, limit, err := page(g)
	if err != nil {
		return err
	}
	var q HistoryQuery
	for name, dst := range map[string]*string{"result": &q.Result, "method": &q.Method, "client_id": &q.ClientID} {
		if *dst, err = query(g, name); err != nil {
			return err
		}
	}
	if v := g.Query("before"); v != "" {
		if q.Before, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return invalid("before", "an RFC 3339 time such as 2026-01-02T15:04:05Z")
		}
	}
	return answer(g)(c.Users.History(g.Request.Context(), g.Param("id"), q, limit))
}

// importFormat is the format of an import or export: the format
// parameter, else the request's Content-Type.
func importFormat(g *gin.Context) (string, error) {
	f := g.Query("format")
	if f == "" {
		switch ct := g.ContentType(); {
		case ct == "text/csv":
			f = FormatCSV
		case ct == "application/x-ndjson", ct == "application/jsonl", ct == "application/json-lines":
			f = FormatJSONL
		}
	}
	if f != FormatCSV && f != FormatJSONL {
		return "", invalid("format", "csv or jsonl")
	}
	return f, nil
}

func (c *Console) apiImportUsers(g *gin.Context) error {
	format, err := importFormat(g)
	if err != nil {
		return err
	}
	dry, err := boolQuery(g, "dry_run")
	if err != nil {
		return err
	}
	rows, err := ParseImport(g.Request.Body, format)
	if err != nil {
		return err
	}
	rep, err := c.Users.Import(g.Request.Context(), rows, dry)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, rep)
	return nil
}

func (c *Console) apiExportUsers(g *gin.Context) error {
	format := g.DefaultQuery("format", FormatCSV)
	if format != FormatCSV && format != FormatJSONL {
		return invalid("format", "csv or jsonl")
	}
	var q UserQuery
	var err error
	if q.Query, err = query(g, "q"); err != nil {
		return err
	}
	for name, dst := range map[string]*bool{"admin": &q.Admins, "disabled": &q.Disabled, "unverified": &q.Unverified} {
		if *dst, err = boolQuery(g, name); err != nil {
			return err
		}
	}
	writeExportHeaders(g, format)
	// Written as read: a failure after the first byte can only cut the
	// stream short, and is logged.
	if err := c.Users.Export(g.Request.Context(), g.Writer, q, format); err != nil {
		if !g.Writer.Written() {
			return err
		}
		c.log.ErrorContext(g.Request.Context(), "export users: cut short", "err", err)
		g.Abort()
	}
	return nil
}

// writeExportHeaders names the download.
func writeExportHeaders(g *gin.Context, format string) {
	ct, ext := "text/csv; charset=utf-8", "csv"
	if format == FormatJSONL {
		ct, ext = "application/x-ndjson", "jsonl"
	}
	g.Header("Content-Type", ct)
	g.Header("Content-Disposition", `attachment; filename="sesame-users-`+time.Now().UTC().Format("2006-01-02")+`.`+ext+`"`)
	g.Status(http.StatusOK)
}
