package store

import (
	"context"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// CreateAuditEntry appends to the audit log.
func (s *Store) CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error {
	return mapErr("create audit entry", s.conn(ctx).Create(e).Error)
}

// AuditFilter narrows an audit listing; zero fields do not filter.
// BeforeAt/BeforeID is the keyset cursor: entries strictly older than
// (BeforeAt, BeforeID) in the (at, id) order.
type AuditFilter struct {
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	Since      time.Time
	Until      time.Time
	BeforeAt   time.Time
	BeforeID   string
}

// ListAuditEntries returns entries newest first, at most limit.
func (s *Store) ListAuditEntries(ctx context.Context, f AuditFilter, limit int) ([]models.AuditEntry, error) {
	tx := s.conn(ctx).Model(&models.AuditEntry{})
	if f.ActorID != "" {
		tx = tx.Where("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		tx = tx.Where("action = ?", f.Action)
	}
	if f.TargetType != "" {
		tx = tx.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		tx = tx.Where("target_id = ?", f.TargetID)
	}
	if !f.Since.IsZero() {
		tx = tx.Where("at >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		tx = tx.Where("at < ?", dbTime(f.Until))
	}
	if !f.BeforeAt.IsZero() {
		b := dbTime(f.BeforeAt)
		tx = tx.Where("(at < ? OR (at = ? AND id < ?))", b, b, f.BeforeID)
	}
	var out []models.AuditEntry
	err := tx.Order("at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, mapErr("list audit entries", err)
}
