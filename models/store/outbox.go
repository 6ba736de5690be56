package store

import (
	"context"
	"fmt"
	"maps"
	"time"

	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/models"
)

// MailRetention is how long sent and failed mails stay in the outbox (for
// support questions such as "was my mail sent?") before the janitor
// deletes them.
const MailRetention = 7 * 24 * time.Hour

// EnqueueMail inserts a pending mail. Called with a WithTx context, the mail
// commits or rolls back with the caller's other writes.
func (s *Store) EnqueueMail(ctx context.Context, m *models.OutboxMail) error {
	return mapErr("enqueue mail", s.conn(ctx).Create(m).Error)
}

// GetMail loads an outbox mail by id.
func (s *Store) GetMail(ctx context.Context, id string) (*models.OutboxMail, error) {
	var m models.OutboxMail
	if err := s.conn(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, mapErr("get mail", err)
	}
	return &m, nil
}

// DueMails returns up to limit pending mails whose next attempt is due at
// now and that no worker holds a live lease on, oldest due first. They are
// candidates only: a worker must win ClaimMail before sending one.
func (s *Store) DueMails(ctx context.Context, now time.Time, limit int) ([]models.OutboxMail, error) {
	var out []models.OutboxMail
	err := s.dueRows(ctx, "list due mails", &out, now, limit)
	return out, err
}

// ClaimMail takes a lease on a due mail until lease: one conditional
// update, so of several workers (on any replica) exactly one wins; the
// others get ErrConsumed. The lease value is the winner's fencing token for
// MarkMailSent and RetryMail.
func (s *Store) ClaimMail(ctx context.Context, id string, now, lease time.Time) error {
	return s.claimRow(ctx, "claim mail", &models.OutboxMail{}, id, now, lease)
}

// MarkMailSent records a delivery by the holder of lease: status sent, one
// more attempt, the lease released and the bodies (which may hold a live
// sign-in link) cleared. ErrConsumed means the lease was lost to another
// worker (this one overran it).
func (s *Store) MarkMailSent(ctx context.Context, id string, lease, at time.Time) error {
	return s.finishRow(ctx, "mark mail sent", &models.OutboxMail{}, id, lease, sentSet(at, map[string]any{"text_body": "", "html_body": ""}))
}

// RetryMail records a failed attempt by the holder of lease: one more
// attempt, the error, and either the next attempt's time (the lease is
// released) or, when failed is set, status failed with the bodies cleared.
// ErrConsumed means the lease was lost to another worker.
func (s *Store) RetryMail(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool) error {
	return s.finishRow(ctx, "retry mail", &models.OutboxMail{}, id, lease,
		retrySet(next, lastErr, failed, map[string]any{"text_body": "", "html_body": ""}))
}

// The lease protocol of an outbox table (mail_outbox, logout_outbox): rows
// with status, attempts, next_attempt_at, last_error, locked_until and
// sent_at, worked by internal/outbox.

// dueRows lists into dest up to limit pending rows of dest's table whose
// next attempt is due at now and that no worker holds a live lease on,
// oldest due first. They are candidates only: a worker must win the claim.
func (s *Store) dueRows(ctx context.Context, op string, dest any, now time.Time, limit int) error {
	now = dbTime(now)
	err := s.conn(ctx).
		Where("status = ? AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)", models.MailPending, now, now).
		Order("next_attempt_at, id").Limit(limit).Find(dest).Error
	return mapErr(op, err)
}

// claimRow takes a lease on a due row until lease: one conditional update,
// so of several workers (on any replica) exactly one wins; the others get
// ErrConsumed.
func (s *Store) claimRow(ctx context.Context, op string, model any, id string, now, lease time.Time) error {
	now = dbTime(now)
	res := s.conn(ctx).Model(model).
		Where("id = ? AND status = ? AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)", id, models.MailPending, now, now).
		Update("locked_until", dbTime(lease))
	if res.Error != nil {
		return mapErr(op, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("%s: %w", op, models.ErrConsumed)
	}
	return nil
}

// finishRow applies set to a pending row whose lease is still lease (the
// fencing token); ErrConsumed means the lease was lost to another worker.
func (s *Store) finishRow(ctx context.Context, op string, model any, id string, lease time.Time, set map[string]any) error {
	res := s.conn(ctx).Model(model).
		Where("id = ? AND status = ? AND locked_until = ?", id, models.MailPending, dbTime(lease)).
		Updates(set)
	return leaseHeld(op, res.Error, res.RowsAffected)
}

// sentSet records a delivery at at, plus clear (columns to blank).
func sentSet(at time.Time, clear map[string]any) map[string]any {
	set := map[string]any{
		"status":       models.MailSent,
		"attempts":     gorm.Expr("attempts + 1"),
		"sent_at":      dbTime(at),
		"locked_until": nil,
		"last_error":   "",
	}
	maps.Copy(set, clear)
	return set
}

// retrySet records a failed attempt: the next one at next, or, when
// failed, status failed with clear applied.
func retrySet(next time.Time, lastErr string, failed bool, clear map[string]any) map[string]any {
	set := map[string]any{
		"attempts":        gorm.Expr("attempts + 1"),
		"next_attempt_at": dbTime(next),
		"locked_until":    nil,
		"last_error":      lastErr,
	}
	if failed {
		set["status"] = models.MailFailed
		maps.Copy(set, clear)
	}
	return set
}

// CountMails counts outbox mails in a status (e.g. the pending backlog, for
// health checks and statistics).
func (s *Store) CountMails(ctx context.Context, status string) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.OutboxMail{}).Where("status = ?", status).Count(&n).Error
	return n, mapErr("count mails", err)
}

// OutboxStats counts outbox mails per status and returns the creation
// time of the oldest pending one (zero when none is pending), for the
// metrics a scrape reads: two indexed reads, no row is locked.
func (s *Store) OutboxStats(ctx context.Context) (map[string]int64, time.Time, error) {
	var rows []struct {
		Status string
		N      int64
	}
	db := s.conn(ctx)
	err := db.Model(&models.OutboxMail{}).Select("status, count(*) AS n").Group("status").Scan(&rows).Error
	if err != nil {
		return nil, time.Time{}, mapErr("outbox stats", err)
	}
	out := map[string]int64{models.MailPending: 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	var oldest []time.Time
	err = db.Model(&models.OutboxMail{}).Where("status = ?", models.MailPending).
		Order("created_at").Limit(1).Pluck("created_at", &oldest).Error
	if err != nil || len(oldest) == 0 {
		return out, time.Time{}, mapErr("outbox stats", err)
	}
	return out, oldest[0].UTC(), nil
}

func leaseHeld(op string, err error, rows int64) error {
	if err != nil {
		return mapErr(op, err)
	}
	if rows != 1 {
		return fmt.Errorf("%s: lease lost: %w", op, models.ErrConsumed)
	}
	return nil
}
