package console

import (
	"io"
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
	return c.streamExport(g, "users", func(w io.Writer, format string) error {
		return c.Users.Export(g.Request.Context(), w, q, format)
	})
}

func (c *Console) apiExportAudit(g *gin.Context) error {
	q, err := auditQuery(g)
	if err != nil {
		return err
	}
	return c.streamExport(g, "audit", func(w io.Writer, format string) error {
		return c.Audit.Export(g.Request.Context(), w, q, format)
	})
}

// eventSearch reads the sign-in events filters of GET /events and
// /events/export.
func eventSearch(g *gin.Context) (EventSearch, error) {
	var q EventSearch
	var err error
	for name, dst := range map[string]*string{"user": &q.User, "user_id": &q.UserID, "client_id": &q.ClientID, "method": &q.Method, "result": &q.Result, "event": &q.Event} {
		if *dst, err = query(g, name); err != nil {
			return q, err
		}
	}
	return q, timeRange(g, &q.Since, &q.Until)
}

func (c *Console) apiListEvents(g *gin.Context) error {
	_, limit, err := page(g)
	if err != nil {
		return err
	}
	q, err := eventSearch(g)
	if err != nil {
		return err
	}
	q.Limit, q.Cursor = limit, g.Query("cursor")
	p, err := c.Events.Search(g.Request.Context(), q)
	if err != nil {
		return err
	}
	g.JSON(http.StatusOK, List[SignInEvent]{Items: p.Items, HasMore: p.NextCursor != "", NextCursor: p.NextCursor})
	return nil
}

func (c *Console) apiExportEvents(g *gin.Context) error {
	q, err := eventSearch(g)
	if err != nil {
		return err
	}
	return c.streamExport(g, "sign-in-events", func(w io.Writer, format string) error {
		return c.Events.Export(g.Request.Context(), w, q, format)
	})
}

// streamExport answers an export: the format (csv, the default, or
// jsonl) checked first, then the download's headers and the rows as they
// are read. A failure after the first byte can only cut the stream
// short, and is logged.
func (c *Console) streamExport(g *gin.Context, name string, write func(w io.Writer, format string) error) error {
	format := g.DefaultQuery("format", FormatCSV)
	ct, ext := "text/csv; charset=utf-8", "csv"
	switch format {
	case FormatCSV:
	case FormatJSONL:
		ct, ext = "application/x-ndjson", "jsonl"
	default:
		return invalid("format", "csv or jsonl")
	}
	g.Header("Content-Type", ct)
	g.Header("Content-Disposition", `attachment; filename="sesame-`+name+`-`+time.Now().UTC().Format("2006-01-02")+`.`+ext+`"`)
	g.Status(http.StatusOK)
	if err := write(g.Writer, format); err != nil {
		if !g.Writer.Written() {
			g.Writer.Header().Del("Content-Disposition")
			g.Writer.Header().Del("Content-Type")
			return err
		}
		c.log.ErrorContext(g.Request.Context(), "export cut short", "export", name, "err", err)
		g.Abort()
	}
	return nil
}

func (c *Console) apiCancelDeletion(g *gin.Context) error {
	return answer(g)(c.Users.CancelDeletion(g.Request.Context(), g.Param("id")))
}
