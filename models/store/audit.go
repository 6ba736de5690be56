package store

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// CreateAuditEntry appends to the audit log and, in the same
// transaction, queues the webhooks the entry emits (webhooks.go).
func (s *Store) CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error {
	var targets map[string][]string
	if types := models.WebhookTypesForAudit(e); len(types) > 0 {
		var err error
		if targets, err = s.webhookTargets(ctx, types); err != nil {
			return fmt.Errorf("create audit entry: %w", err)
		}
	}
	if len(targets) == 0 {
		return mapErr("create audit entry", s.conn(ctx).Create(e).Error)
	}
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Create(e).Error; err != nil {
			return mapErr("create audit entry", err)
		}
		return s.queueWebhooks(ctx, targets, e.At, auditWebhookData(e))
	})
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
