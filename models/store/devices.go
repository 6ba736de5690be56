package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// Device authorizations (RFC 8628). A device code moves pending →
// approved → consumed, or pending → denied; every move is one conditional
// update, so of concurrent callers exactly one wins and the others get
// ErrConsumed. The poll pace is kept on the row (last_polled_at,
// poll_interval), so it holds whichever replica a poll reaches.

// CreateDeviceCode inserts a pending device authorization. A user code
// hash already taken is ErrAlreadyExists (the caller draws a new code).
func (s *Store) CreateDeviceCode(ctx context.Context, d *models.DeviceCode) error {
	return mapErr("create device code", s.conn(ctx).Create(d).Error)
}

// GetDeviceCode loads a device authorization by id, whatever its state.
func (s *Store) GetDeviceCode(ctx context.Context, id string) (*models.DeviceCode, error) {
	var d models.DeviceCode
	if err := s.conn(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return nil, mapErr("get device code", err)
	}
	return &d, nil
}

// GetDeviceCodeByUserCode loads the device authorization whose user code
// hashes to hash, whatever its state (the caller explains used and
// expired codes).
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, hash string) (*models.DeviceCode, error) {
	var d models.DeviceCode
	if err := s.conn(ctx).Where("user_code_hash = ?", hash).Take(&d).Error; err != nil {
		return nil, mapErr("get device code by user code", err)
	}
	return &d, nil
}

// PollDeviceCode records one poll of the device code whose hash is hash
// and returns the row as it was read. For a pending, unexpired code it
// enforces the pace (RFC 8628 §3.5): a poll less than the row's interval
// minus slack after the previous one is too fast; then slowDown is true,
// the interval grows by 5 seconds for this and every later poll, and the
// poll still counts as the latest. The comparison and the stamp use one
// clock, the database's on PostgreSQL, so replicas whose clocks are apart
// agree; of two concurrent polls one is too fast. Codes that are decided
// or expired are returned without a write.
func (s *Store) PollDeviceCode(ctx context.Context, hash string, slack time.Duration, now time.Time) (d *models.DeviceCode, slowDown bool, err error) {
	var row models.DeviceCode
	if err := s.conn(ctx).Where("device_code_hash = ?", hash).Take(&row).Error; err != nil {
		return nil, false, mapErr("poll device code", err)
	}
	if row.Status != models.DevicePending || !row.ExpiresAt.After(dbTime(now)) {
		return &row, false, nil
	}
	gap := time.Duration(row.PollInterval)*time.Second - slack
	q := s.conn(ctx).Model(&models.DeviceCode{}).
		Where("id = ? AND status = ? AND poll_interval = ?", row.ID, models.DevicePending, row.PollInterval)
	if s.dialect == migrations.Postgres {
		q = q.Where("(last_polled_at IS NULL OR last_polled_at <= clock_timestamp() - make_interval(secs => ?))", gap.Seconds())
	} else {
		q = q.Where("(last_polled_at IS NULL OR last_polled_at <= ?)", dbTime(now).Add(-gap))
	}
	res := q.Update("last_polled_at", s.dbNow())
	if res.Error != nil {
		return nil, false, mapErr("poll device code", res.Error)
	}
	if res.RowsAffected == 1 {
		return &row, false, nil
	}
	// Too fast (or a concurrent poll won): slow down.
	err = s.conn(ctx).Model(&models.DeviceCode{}).Where("id = ? AND status = ?", row.ID, models.DevicePending).
		Updates(map[string]any{"poll_interval": gorm.Expr("poll_interval + 5"), "last_polled_at": s.dbNow()}).Error
	if err != nil {
		return nil, false, mapErr("poll device code", err)
	}
	row.PollInterval += 5
	return &row, true, nil
}

// DecideDeviceCode ends a pending, unexpired device authorization as
// approved (with the grant the tokens will carry) or denied, by subject.
// One conditional update: a second decision is ErrConsumed, an expired
// code ErrExpired, an unknown one ErrNotFound.
func (s *Store) DecideDeviceCode(ctx context.Context, id, status, subject, grant string, now time.Time) error {
	if status != models.DeviceApproved && status != models.DeviceDenied {
		return fmt.Errorf("decide device code: status %q", status)
	}
	now = dbTime(now)
	res := s.conn(ctx).Model(&models.DeviceCode{}).
		Where("id = ? AND status = ? AND expires_at > ?", id, models.DevicePending, now).
		Updates(map[string]any{"status": status, "subject": subject, "grant_data": grant, "decided_at": now})
	if res.Error != nil {
		return mapErr("decide device code", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	d, err := s.GetDeviceCode(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("decide device code: %w", unwrapSentinel(err))
	case d.Status != models.DevicePending:
		return fmt.Errorf("decide device code: %w", models.ErrConsumed)
	default:
		return fmt.Errorf("decide device code: %w", models.ErrExpired)
	}
}

// ConsumeDeviceCode marks an approved device authorization spent: the
// single-use gate of the token exchange. Exactly one caller wins; the
// others (and any state but approved) get ErrConsumed.
func (s *Store) ConsumeDeviceCode(ctx context.Context, id string) error {
	res := s.conn(ctx).Model(&models.DeviceCode{}).
		Where("id = ? AND status = ?", id, models.DeviceApproved).
		Update("status", models.DeviceConsumed)
	if res.Error != nil {
		return mapErr("consume device code", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("consume device code: %w", models.ErrConsumed)
	}
	return nil
}
