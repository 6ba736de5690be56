package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Pagination bounds shared by every list.
const (
	DefaultLimit = 50
	MaxLimit     = 100
	// MaxOffset bounds offset pagination (deep pages are a scan).
	MaxOffset = 10000
	// MaxQueryLen bounds search strings.
	MaxQueryLen = 200
)

// ClampLimit returns limit within 1..MaxLimit (DefaultLimit for 0).
func ClampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Audit writes and reads the audit log.
type Audit struct {
	st  auditStore
	log *slog.Logger
}

// Record appends an entry for the actor in ctx. before and after are
// marshalled to JSON (nil gives ""); they must never carry secrets.
func (a *Audit) Record(ctx context.Context, action, targetType, targetID string, before, after any) error {
	act := ActorFrom(ctx)
	e := &models.AuditEntry{
		ID: uuid.NewString(), At: store.Now(),
		ActorID: act.ID, ActorKind: act.Kind, ActorLabel: trunc(act.Label, 320),
		Action: action, TargetType: targetType, TargetID: targetID,
		BeforeJSON: jsonText(before), AfterJSON: jsonText(after),
		IP: trunc(act.IP, 64), UserAgent: trunc(act.UserAgent, 512),
	}
	if err := a.st.CreateAuditEntry(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	a.log.InfoContext(ctx, "admin change", "action", action, "target_type", targetType, "target_id", targetID,
		"actor_kind", act.Kind, "actor_id", act.ID)
	return nil
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return ""
	}
	return string(b)
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// AuditQuery filters a listing; Cursor is the opaque next-page token of
// the previous page.
type AuditQuery struct {
	ActorID, Action, TargetType, TargetID string
	Since, Until                          time.Time
	Cursor                                string
	Limit                                 int
}

// AuditPage is one page, newest first.
type AuditPage struct {
	Items      []models.AuditEntry
	NextCursor string
}

// List returns a page of entries.
func (a *Audit) List(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	for name, v := range map[string]string{"actor_id": q.ActorID, "action": q.Action, "target_type": q.TargetType, "target_id": q.TargetID} {
		if len(v) > MaxQueryLen {
			return nil, invalid(name, "at most %d characters", MaxQueryLen)
		}
	}
	f := store.AuditFilter{ActorID: q.ActorID, Action: q.Action, TargetType: q.TargetType, TargetID: q.TargetID, Since: q.Since, Until: q.Until}
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, invalid("cursor", "not a cursor from a previous page")
		}
		f.BeforeAt, f.BeforeID = at, id
	}
	limit := ClampLimit(q.Limit)
	rows, err := a.st.ListAuditEntries(ctx, f, limit+1)
	if err != nil {
		return nil, err
	}
	page := &AuditPage{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(last.At, last.ID)
	}
	return page, nil
}

func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	if len(c) > 300 {
		return time.Time{}, "", fmt.Errorf("cursor too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", err
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return time.Time{}, "", fmt.Errorf("bad cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	return at, id, err
}
