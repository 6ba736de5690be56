package store

import (
	"context"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// Retention of the statistics rollups (see SweepExpired).
const (
	MinuteRollupRetention = 2 * 24 * time.Hour
	HourRollupRetention   = 90 * 24 * time.Hour
	UserDayRetention      = 400 * 24 * time.Hour
)

// SweepExpired deletes rows past their expiry in every table that has one.
// grace keeps expired rows a little longer (e.g. so a reused, expired
// refresh token is still recognised as reuse for a while).
func (s *Store) SweepExpired(ctx context.Context, grace time.Duration) (int64, error) {
	now := Now()
	cut := now.Add(-grace)
	var total int64
	steps := []struct {
		op    string
		model any
		where string
		arg   time.Time
	}{
		{"sweep oauth2 requests", &models.OAuth2Request{}, "expires_at < ?", cut},
		{"sweep jtis", &models.UsedJTI{}, "expires_at < ?", now},
		{"sweep webauthn ceremonies", &models.WebAuthnCeremony{}, "expires_at < ?", cut},
		{"sweep interactions", &models.Interaction{}, "expires_at < ?", cut},
		{"sweep login sessions", &models.LoginSession{}, "expires_at < ?", cut},
		{"sweep passlinks", &models.Passlink{}, "expires_at < ?", cut},
		{"sweep signing keys", &models.SigningKey{}, "state = 'retired' AND expires_at < ?", now},
		{"sweep rate limits", &models.RateLimit{}, "expires_at < ?", now},
		{"sweep mail outbox", &models.OutboxMail{}, "status IN ('sent', 'failed') AND created_at < ?", now.Add(-MailRetention)},
		// Statistics rollups: each grain is kept as long as the dashboard
		// ranges that read it need (console/stats.go: 1 h reads minutes,
		// 24 h and 7 d read hours, 30 d and the headline read days).
		// Per-day counters are kept for good; they are small.
		{"sweep minute rollups", &models.AuthEventMinute{}, "bucket < ?", now.Add(-MinuteRollupRetention)},
		{"sweep hour rollups", &models.AuthEventHour{}, "bucket < ?", now.Add(-HourRollupRetention)},
		{"sweep user days", &models.UserDay{}, "day < ?", now.Add(-UserDayRetention)},
	}
	for _, st := range steps {
		res := s.conn(ctx).Where(st.where, st.arg).Delete(st.model)
		if res.Error != nil {
			return total, mapErr(st.op, res.Error)
		}
		total += res.RowsAffected
	}
	return total, nil
}

// janitorLockID is the PostgreSQL advisory lock key of the janitor.
const janitorLockID = 0x5e5a3e01

// SweepExpiredOnce runs SweepExpired on at most one replica at a time: on
// PostgreSQL it takes a transaction-scoped advisory lock and skips the
// round when another replica holds it; SQLite has a single process.
func (s *Store) SweepExpiredOnce(ctx context.Context, grace time.Duration) (int64, error) {
	if s.dialect != "postgres" {
		return s.SweepExpired(ctx, grace)
	}
	var n int64
	err := s.WithTx(ctx, func(ctx context.Context) error {
		var got bool
		if err := s.conn(ctx).Raw("SELECT pg_try_advisory_xact_lock(?)", janitorLockID).Scan(&got).Error; err != nil {
			return mapErr("janitor lock", err)
		}
		if !got {
			return nil
		}
		var err error
		n, err = s.SweepExpired(ctx, grace)
		return err
	})
	return n, err
}
