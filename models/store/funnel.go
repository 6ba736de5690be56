package store

import (
	"context"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// Funnel is passkey adoption as nested stages: each stage's users are
// among the previous stage's.
type Funnel struct {
	// SignedUp counts every account.
	SignedUp int64
	// FirstPasskey: accounts with at least one passkey.
	FirstPasskey int64
	// Strong: accounts with a second passkey, or a device-bound one
	// (backup eligibility off): losing one device does not lock them out,
	// or their key cannot leave its device.
	Strong int64
	// PasskeyOnly: Strong accounts that signed in with a passkey since
	// the funnel's From and in no other way since then.
	PasskeyOnly int64
}

// AdoptionFunnel counts the funnel in one statement over the users
// table, its passkeys grouped per user, and user_last_active (which the
// aggregator keeps: the last passkey and the last other sign-in), so no
// range of raw auth events is read whatever their number.
func (s *Store) AdoptionFunnel(ctx context.Context, from time.Time) (Funnel, error) {
	var f Funnel
	if err := s.catchUp(ctx, "adoption funnel"); err != nil {
		return f, err
	}
	since := dbTime(from)
	const strong = "(p.n >= 2 OR p.bound > 0)"
	q := `SELECT COUNT(*),
  COUNT(p.user_id),
  SUM(CASE WHEN ` + strong + ` THEN 1 ELSE 0 END),
  SUM(CASE WHEN ` + strong + ` AND a.last_passkey_at >= ? AND (a.last_other_at IS NULL OR a.last_other_at < ?) THEN 1 ELSE 0 END)
FROM users u
LEFT JOIN (SELECT user_id, COUNT(*) AS n, SUM(CASE WHEN backup_eligible THEN 0 ELSE 1 END) AS bound
  FROM webauthn_credentials WHERE kind = ? GROUP BY user_id) p ON p.user_id = u.id
LEFT JOIN user_last_active a ON a.user_id = u.id`
	var strongN, only *int64 // SUM over no rows is NULL
	if err := s.conn(ctx).Raw(q, since, since, models.CredentialPasskey).Row().Scan(&f.SignedUp, &f.FirstPasskey, &strongN, &only); err != nil {
		return f, mapErr("adoption funnel", err)
	}
	if strongN != nil {
		f.Strong = *strongN
	}
	if only != nil {
		f.PasskeyOnly = *only
	}
	return f, nil
}
