package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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
	// cursorKey authenticates page cursors; a random one per process
	// when nil (cursors then work within this process only).
	cursorKey []byte
	keyOnce   sync.Once
}

// key is the cursor key, made on first use when none was given.
func (a *Audit) key() []byte {
	a.keyOnce.Do(func() {
		if a.cursorKey == nil {
			a.cursorKey = make([]byte, 32)
			_, _ = rand.Read(a.cursorKey)
		}
	})
	return a.cursorKey
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
		at, id, err := decodeCursor(a.key(), q.Cursor)
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
		page.NextCursor = encodeCursor(a.key(), last.At, last.ID)
	}
	return page, nil
}

// encodeCursor makes an opaque, authenticated page cursor: the position
// and an HMAC of it, so a client can only hand back cursors it was given
// (a crafted one is 400, never a query of its choosing).
func encodeCursor(key []byte, at time.Time, id string) string {
	pos := at.UTC().Format(time.RFC3339Nano) + "|" + id
	return base64.RawURLEncoding.EncodeToString([]byte(pos)) + "." + base64.RawURLEncoding.EncodeToString(cursorMAC(key, pos))
}

func cursorMAC(key []byte, pos string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("audit-cursor|" + pos))
	return m.Sum(nil)[:16]
}

func decodeCursor(key []byte, c string) (time.Time, string, error) {
	if len(c) > 300 {
		return time.Time{}, "", fmt.Errorf("cursor too long")
	}
	enc, sig, ok := strings.Cut(c, ".")
	if !ok {
		return time.Time{}, "", fmt.Errorf("bad cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return time.Time{}, "", err
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, cursorMAC(key, string(b))) {
		return time.Time{}, "", fmt.Errorf("bad cursor")
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return time.Time{}, "", fmt.Errorf("bad cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	return at, id, err
}
