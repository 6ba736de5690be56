package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/url"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Exports (users, the audit log, sign-in events) as CSV with a header
// row, or as JSON Lines: read a page at a time by keyset or offset, and
// written as read, so memory stays flat whatever the size.

// exportWriter writes one export's rows in its format.
type exportWriter struct {
	cw  *csv.Writer
	enc *json.Encoder
}

// newExportWriter starts an export in format (FormatCSV writes header
// first); another format is a 422 before anything is written.
func newExportWriter(w io.Writer, format string, header []string) (*exportWriter, error) {
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return nil, err
		}
		return &exportWriter{cw: cw}, nil
	case FormatJSONL:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &exportWriter{enc: enc}, nil
	}
	return nil, invalid("format", "csv or jsonl")
}

// write writes one row: v as a JSON line, or record as a CSV row.
func (e *exportWriter) write(v any, record func() []string) error {
	if e.enc != nil {
		return e.enc.Encode(v)
	}
	return e.cw.Write(record())
}

// flush ends a page (CSV is buffered).
func (e *exportWriter) flush() error {
	if e.cw == nil {
		return nil
	}
	e.cw.Flush()
	return e.cw.Error()
}

// exportPageSize is how many rows an export reads at a time.
const exportPageSize = 500

// ExportAudit writes the audit entries q selects (its filters and date
// range; Cursor and Limit are ignored), newest first.
func (a *Audit) Export(ctx context.Context, w io.Writer, q AuditQuery, format string) error {
	for name, v := range map[string]string{"actor_id": q.ActorID, "action": q.Action, "target_type": q.TargetType, "target_id": q.TargetID} {
		if len(v) > MaxQueryLen {
			return invalid(name, "at most %d characters", MaxQueryLen)
		}
	}
	ew, err := newExportWriter(w, format, []string{"at", "action", "actor_kind", "actor_id", "actor_label", "target_type", "target_id", "before", "after", "ip", "user_agent", "id"})
	if err != nil {
		return err
	}
	f := store.AuditFilter{ActorID: q.ActorID, Action: q.Action, TargetType: q.TargetType, TargetID: q.TargetID, Since: q.Since, Until: q.Until}
	for {
		rows, err := a.st.ListAuditEntries(ctx, f, exportPageSize)
		if err != nil {
			return err
		}
		for _, e := range rows {
			v := auditViewOf(e)
			if err := ew.write(v, func() []string {
				return []string{e.At.UTC().Format(time.RFC3339Nano), e.Action, e.ActorKind, e.ActorID, e.ActorLabel, e.TargetType, e.TargetID,
					string(v.Before), string(v.After), e.IP, e.UserAgent, e.ID}
			}); err != nil {
				return err
			}
		}
		if err := ew.flush(); err != nil {
			return err
		}
		if len(rows) < exportPageSize {
			return nil
		}
		last := rows[len(rows)-1]
		f.BeforeAt, f.BeforeID = last.At, last.ID
	}
}

// auditViewOf is an entry as the API shows it.
func auditViewOf(e models.AuditEntry) auditView {
	return auditView{ID: e.ID, At: e.At, Actor: auditActor{Kind: e.ActorKind, ID: e.ActorID, Label: e.ActorLabel},
		Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Before: rawOrNull(e.BeforeJSON), After: rawOrNull(e.AfterJSON), IP: e.IP, UserAgent: e.UserAgent}
}

// EventQuery selects sign-in events for an export.
type EventQuery struct {
	Since, Until          time.Time
	UserID, ClientID      string
	Method, Result, Event string
}

// SignInEvent is one sign-in event as the search and the export show it.
type SignInEvent struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	Result    string    `json:"result"`
	Reason    string    `json:"reason"`
	Method    string    `json:"method"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	ClientID  string    `json:"client_id"`
	AAGUID    string    `json:"aaguid"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
}

// eventExportHeader is the CSV header of an events export.
var eventExportHeader = []string{"at", "event", "result", "reason", "method", "user_id", "email", "client_id", "aaguid", "ip", "user_agent", "id"}

// eventExportStore is what an events export reads.
type eventExportStore interface {
	ListAuthEventsRange(ctx context.Context, r store.EventRange, limit int) ([]models.AuthEvent, error)
	UsersByID(ctx context.Context, ids []string) (map[string]*models.User, error)
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
}

// ExportEvents writes the sign-in events q selects, newest first, with
// each user's current address (empty for a deleted or unknown user).
func ExportEvents(ctx context.Context, st eventExportStore, w io.Writer, q EventQuery, format string) error {
	for name, v := range map[string]string{"user_id": q.UserID, "client_id": q.ClientID, "method": q.Method, "result": q.Result, "event": q.Event} {
		if len(v) > MaxQueryLen {
			return invalid(name, "at most %d characters", MaxQueryLen)
		}
	}
	ew, err := newExportWriter(w, format, eventExportHeader)
	if err != nil {
		return err
	}
	r := store.EventRange{Since: q.Since, Until: q.Until, UserID: q.UserID, ClientID: q.ClientID, Method: q.Method, Result: q.Result, Event: q.Event}
	for {
		rows, err := st.ListAuthEventsRange(ctx, r, exportPageSize)
		if err != nil {
			return err
		}
		views, err := withEmails(ctx, st, rows)
		if err != nil {
			return err
		}
		for _, v := range views {
			if err := ew.write(v, func() []string {
				return []string{v.At.Format(time.RFC3339Nano), v.Event, v.Result, v.Reason, v.Method, v.UserID, v.Email, v.ClientID, v.AAGUID, v.IP, v.UserAgent, v.ID}
			}); err != nil {
				return err
			}
		}
		if err := ew.flush(); err != nil {
			return err
		}
		if len(rows) < exportPageSize {
			return nil
		}
		last := rows[len(rows)-1]
		r.BeforeAt, r.BeforeID = last.At, last.ID
	}
}

// exportLinks are the CSV and JSON Lines download URLs of an admin API
// export with the page's filters (empty values left out).
func exportLinks(what string, filters url.Values) (csvURL, jsonlURL string) {
	q := url.Values{}
	for k, v := range filters {
		if len(v) > 0 && v[0] != "" {
			q.Set(k, v[0])
		}
	}
	base := APIPrefix + "/" + what + "/export"
	csvURL = base
	if len(q) > 0 {
		csvURL += "?" + q.Encode()
	}
	q.Set("format", FormatJSONL)
	return csvURL, base + "?" + q.Encode()
}
