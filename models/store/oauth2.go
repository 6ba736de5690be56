package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// CreateOAuth2Request inserts a request record.
func (s *Store) CreateOAuth2Request(ctx context.Context, r *models.OAuth2Request) error {
	return mapErr("create oauth2 request", s.conn(ctx).Create(r).Error)
}

// CreateOAuth2RequestRelaxed inserts a record that a database crash may
// lose without harm, with a relaxed commit on PostgreSQL (relaxedCommit):
// an app's own access token (client_credentials), which, lost, is only a
// token the server no longer knows (refused, fail-closed) and which the
// app replaces by asking again. Elsewhere it is CreateOAuth2Request.
func (s *Store) CreateOAuth2RequestRelaxed(ctx context.Context, r *models.OAuth2Request) error {
	if !s.ownTransaction(ctx) {
		return s.CreateOAuth2Request(ctx, r)
	}
	return s.insertRelaxed(ctx, "create oauth2 request", r)
}

// CreateOAuth2Requests inserts records in one statement (a multi-row
// INSERT): fosite writes a grant's code, PKCE and OpenID Connect records, or
// a token pair, together, and one round trip does for all of them.
func (s *Store) CreateOAuth2Requests(ctx context.Context, rs []*models.OAuth2Request) error {
	switch len(rs) {
	case 0:
		return nil
	case 1:
		return s.CreateOAuth2Request(ctx, rs[0])
	}
	return mapErr("create oauth2 requests", s.conn(ctx).Create(&rs).Error)
}

// GetOAuth2RequestsBySignature loads the records of the given kinds under
// one signature, active or not, in one statement: the authorization code,
// PKCE and OpenID Connect records of a code share its signature, and the
// token endpoint reads all three. Kinds without a record are absent.
func (s *Store) GetOAuth2RequestsBySignature(ctx context.Context, signature string, kinds ...string) ([]models.OAuth2Request, error) {
	var rs []models.OAuth2Request
	if err := s.conn(ctx).Where("kind IN ? AND signature = ?", kinds, signature).Find(&rs).Error; err != nil {
		return nil, mapErr("get oauth2 requests", err)
	}
	return rs, nil
}

// GetOAuth2Request loads the record of kind under signature, active or not.
func (s *Store) GetOAuth2Request(ctx context.Context, kind, signature string) (*models.OAuth2Request, error) {
	var r models.OAuth2Request
	if err := s.conn(ctx).Where("kind = ? AND signature = ?", kind, signature).Take(&r).Error; err != nil {
		return nil, mapErr("get oauth2 request", err)
	}
	return &r, nil
}

// DeactivateOAuth2Request marks one active record inactive and stamps
// DeactivatedAt. It is the single-use gate for authorization codes and
// refresh tokens: exactly one caller wins, the others get ErrConsumed.
func (s *Store) DeactivateOAuth2Request(ctx context.Context, kind, signature string) error {
	res := s.conn(ctx).Model(&models.OAuth2Request{}).
		Where("kind = ? AND signature = ? AND active = ?", kind, signature, true).
		Updates(map[string]any{"active": false, "deactivated_at": s.dbNow()})
	if res.Error != nil {
		return mapErr("deactivate oauth2 request", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("deactivate oauth2 request: %w", models.ErrConsumed)
	}
	return nil
}

// DeactivateOAuth2RequestsByRequestID marks every active record of kind
// born of requestID inactive (family revocation). Records already inactive
// keep their DeactivatedAt.
func (s *Store) DeactivateOAuth2RequestsByRequestID(ctx context.Context, kind, requestID string) error {
	err := s.conn(ctx).Model(&models.OAuth2Request{}).
		Where("kind = ? AND request_id = ? AND active = ?", kind, requestID, true).
		Updates(map[string]any{"active": false, "deactivated_at": Now()}).Error
	return mapErr("deactivate oauth2 requests", err)
}

// dbNow is the time a write stamps when replicas must agree on it: on
// PostgreSQL the database's clock (replicas' clocks may be apart, the
// database has one), on SQLite (one host) Now.
func (s *Store) dbNow() any {
	if s.dialect == migrations.Postgres {
		return gorm.Expr("date_trunc('microseconds', clock_timestamp())")
	}
	return Now()
}

// DeactivatedWithin reports whether the record of kind under signature was
// deactivated less than d ago, by the same clock DeactivateOAuth2Request
// stamped it with (dbNow): two replicas whose clocks are apart agree.
func (s *Store) DeactivatedWithin(ctx context.Context, kind, signature string, d time.Duration) (bool, error) {
	q := s.conn(ctx).Model(&models.OAuth2Request{}).
		Where("kind = ? AND signature = ? AND active = ? AND deactivated_at IS NOT NULL", kind, signature, false)
	if s.dialect == migrations.Postgres {
		q = q.Where("deactivated_at > clock_timestamp() - make_interval(secs => ?)", d.Seconds())
	} else {
		q = q.Where("deactivated_at > ?", Now().Add(-d))
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return false, mapErr("check deactivation time", err)
	}
	return n > 0, nil
}

// HasActiveOAuth2Request reports whether any record of kind born of
// requestID is still active: for refresh tokens, whether the family lives
// (a rotation leaves a successor active; a revocation leaves none).
func (s *Store) HasActiveOAuth2Request(ctx context.Context, kind, requestID string) (bool, error) {
	var n int64
	err := s.conn(ctx).Model(&models.OAuth2Request{}).
		Where("kind = ? AND request_id = ? AND active = ?", kind, requestID, true).
		Count(&n).Error
	if err != nil {
		return false, mapErr("check active oauth2 requests", err)
	}
	return n > 0, nil
}

// DeleteOAuth2Request deletes one record; deleting a missing one is no error.
func (s *Store) DeleteOAuth2Request(ctx context.Context, kind, signature string) error {
	err := s.conn(ctx).Where("kind = ? AND signature = ?", kind, signature).Delete(&models.OAuth2Request{}).Error
	return mapErr("delete oauth2 request", err)
}

// DeleteOAuth2RequestsByRequestID deletes every record of kind for requestID.
func (s *Store) DeleteOAuth2RequestsByRequestID(ctx context.Context, kind, requestID string) error {
	err := s.conn(ctx).Where("kind = ? AND request_id = ?", kind, requestID).Delete(&models.OAuth2Request{}).Error
	return mapErr("delete oauth2 requests", err)
}

// sessionTokensWhere selects a session's tokens of some kinds. It names the
// predicate of the partial index on (session_id, kind) (migration 00048),
// so that even a generic plan uses it.
const sessionTokensWhere = "session_id = ? AND session_id <> '' AND kind IN ?"

// RevokeSessionTokens deletes the access and refresh tokens issued from a
// login session (logout). Codes and PKCE records expire on their own.
func (s *Store) RevokeSessionTokens(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	err := s.conn(ctx).Where(sessionTokensWhere, sessionID,
		[]string{models.KindAccessToken, models.KindRefreshToken}).Delete(&models.OAuth2Request{}).Error
	return mapErr("revoke session tokens", err)
}

// RevokeUserClientTokens deletes a user's access and refresh tokens for a
// client (consent withdrawn).
func (s *Store) RevokeUserClientTokens(ctx context.Context, userID, clientID string) error {
	err := s.conn(ctx).Where("subject = ? AND client_id = ? AND kind IN ?", userID, clientID,
		[]string{models.KindAccessToken, models.KindRefreshToken}).Delete(&models.OAuth2Request{}).Error
	return mapErr("revoke user client tokens", err)
}

func jtiHash(jti string) string {
	sum := sha256.Sum256([]byte(jti))
	return hex.EncodeToString(sum[:])
}

// JTIUsed reports whether a client assertion jti was seen and is unexpired.
func (s *Store) JTIUsed(ctx context.Context, jti string) (bool, error) {
	var n int64
	err := s.conn(ctx).Model(&models.UsedJTI{}).
		Where("jti_hash = ? AND expires_at > ?", jtiHash(jti), Now()).Count(&n).Error
	if err != nil {
		return false, mapErr("check jti", err)
	}
	return n > 0, nil
}

// MarkJTIUsed records jti until exp. A jti already present and unexpired is
// ErrAlreadyExists (a replay); an expired leftover is replaced. It is one
// statement that cannot fail on a conflict, so a replay detected inside a
// caller's transaction does not abort that transaction on PostgreSQL, and
// of concurrent callers exactly one wins.
func (s *Store) MarkJTIUsed(ctx context.Context, jti string, exp time.Time) error {
	res := s.conn(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "jti_hash"}},
		DoUpdates: clause.AssignmentColumns([]string{"expires_at"}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "used_jtis.expires_at <= ?", Vars: []any{Now()}},
		}},
	}).Create(&models.UsedJTI{JTIHash: jtiHash(jti), ExpiresAt: exp})
	if res.Error != nil {
		return mapErr("mark jti", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("mark jti: %w", models.ErrAlreadyExists)
	}
	return nil
}

// GetOAuth2RequestHead loads the record of kind under signature, active or
// not, without its data: for a reader that holds the data already (data
// never changes once written; oidc's decoded-request cache). It is the
// hottest read there is (every introspection, every userinfo), so it is
// one plain statement scanned by hand rather than through gorm's model
// reflection.
func (s *Store) GetOAuth2RequestHead(ctx context.Context, kind, signature string) (*models.OAuth2Request, error) {
	r := models.OAuth2Request{Kind: kind, Signature: signature}
	q := s.conn(ctx).Raw(`SELECT request_id, client_id, subject, session_id, active, requested_at, expires_at,
access_signature, created_at, deactivated_at FROM oauth2_requests WHERE kind = ? AND signature = ?`, kind, signature)
	row := q.Row()
	if row == nil { // gorm ran nothing: the session had failed already
		return nil, mapErr("get oauth2 request head", cmp.Or(q.Error, errors.New("statement not run")))
	}
	var deactivated sql.NullTime
	err := row.Scan(&r.RequestID, &r.ClientID, &r.Subject, &r.SessionID, &r.Active, &r.RequestedAt, &r.ExpiresAt,
		&r.AccessSignature, &r.CreatedAt, &deactivated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get oauth2 request head: %w", models.ErrNotFound)
	}
	if err != nil {
		return nil, mapErr("get oauth2 request head", err)
	}
	if deactivated.Valid {
		r.DeactivatedAt = &deactivated.Time
	}
	return &r, nil
}
