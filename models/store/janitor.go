package store

import (
	"context"
	"time"

	"github.com/sesame-idp/sesame/models"
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
		{"sweep interactions", &models.Interaction{}, "expires_at < ?", cut},
		{"sweep login sessions", &models.LoginSession{}, "expires_at < ?", cut},
		{"sweep signing keys", &models.SigningKey{}, "state = 'retired' AND expires_at < ?", now},
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
