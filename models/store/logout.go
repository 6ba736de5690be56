package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/models"
)

// LogoutRetention is how long delivered and failed logout notices stay in
// the logout outbox (for "did the app hear of it?") before the janitor
// deletes them.
const LogoutRetention = 7 * 24 * time.Hour

// RecordSessionClient notes that sc's session signed in to sc's client,
// so the client hears of the session's end. Recording it again is a no-op.
func (s *Store) RecordSessionClient(ctx context.Context, sc *models.SessionClient) error {
	sc.CreatedAt, sc.ExpiresAt = dbTime(sc.CreatedAt), dbTime(sc.ExpiresAt)
	err := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(sc).Error
	return mapErr("record session client", err)
}

// ListSessionClients returns the clients a session signed in to (ordered
// by client id).
func (s *Store) ListSessionClients(ctx context.Context, sessionID string) ([]models.SessionClient, error) {
	var out []models.SessionClient
	err := s.conn(ctx).Where("session_id = ?", sessionID).Order("client_id").Find(&out).Error
	return out, mapErr("list session clients", err)
}

// endSessions revokes the live login sessions matching where (with args)
// and, in the same transaction, queues a logout notice for every client
// with a back-channel logout URI that those sessions signed in to, then
// forgets the sessions' clients. Every path that signs a session out (the
// browser's sign-out, an admin's revocation, a disabled user, a password
// change or reset, a proven address) comes through here.
func (s *Store) endSessions(ctx context.Context, op string, where string, args ...any) (*gorm.DB, error) {
	var res *gorm.DB
	err := s.WithTx(ctx, func(ctx context.Context) error {
		db := s.conn(ctx)
		live := db.Model(&models.LoginSession{}).Select("id").Where(where, args...)
		// One statement forgets the sessions' clients and says which they
		// were (DELETE … RETURNING, PostgreSQL and SQLite ≥ 3.35): a session
		// replaced at sign-in usually has none, and then that is all.
		var gone []models.SessionClient
		if err := db.Clauses(clause.Returning{}).Where("session_id IN (?)", live).Delete(&gone).Error; err != nil {
			return mapErr(op+": forget session clients", err)
		}
		if err := s.queueLogoutNotices(ctx, op, gone); err != nil {
			return err
		}
		res = db.Model(&models.LoginSession{}).Where(where, args...).Update("revoked_at", Now())
		return mapErr(op, res.Error)
	})
	return res, err
}

// queueLogoutNotices queues a logout notice for each of the ended
// sessions' clients that has a back-channel logout URI, in session and
// client order.
func (s *Store) queueLogoutNotices(ctx context.Context, op string, ended []models.SessionClient) error {
	if len(ended) == 0 {
		return nil
	}
	ids := make([]string, 0, len(ended))
	for _, p := range ended {
		ids = append(ids, p.ClientID)
	}
	slices.Sort(ids)
	var listening []string
	err := s.conn(ctx).Model(&models.Client{}).Where("id IN ? AND backchannel_logout_uri <> ''", slices.Compact(ids)).
		Pluck("id", &listening).Error
	if err != nil {
		return mapErr(op+": list back-channel clients", err)
	}
	ended = slices.DeleteFunc(ended, func(p models.SessionClient) bool { return !slices.Contains(listening, p.ClientID) })
	return s.insertLogoutNotices(ctx, op, ended)
}

// insertLogoutNotices queues a logout notice for each of listening: ended
// sessions' clients that have a back-channel logout URI.
func (s *Store) insertLogoutNotices(ctx context.Context, op string, listening []models.SessionClient) error {
	ended := listening
	if len(ended) == 0 {
		return nil
	}
	slices.SortFunc(ended, func(a, b models.SessionClient) int {
		return cmp.Or(cmp.Compare(a.SessionID, b.SessionID), cmp.Compare(a.ClientID, b.ClientID))
	})
	now := Now()
	notices := make([]models.LogoutNotice, len(ended))
	for i, p := range ended {
		notices[i] = models.LogoutNotice{ID: newNoticeID(), ClientID: p.ClientID, SessionID: p.SessionID,
			UserID: p.UserID, Status: models.MailPending, NextAttemptAt: now, CreatedAt: now}
	}
	return mapErr(op+": queue logout notices", s.conn(ctx).Create(&notices).Error)
}

func newNoticeID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

// GetLogoutNotice loads a logout notice by id.
func (s *Store) GetLogoutNotice(ctx context.Context, id string) (*models.LogoutNotice, error) {
	var n models.LogoutNotice
	if err := s.conn(ctx).Where("id = ?", id).Take(&n).Error; err != nil {
		return nil, mapErr("get logout notice", err)
	}
	return &n, nil
}

// ListLogoutNotices returns the logout notices of a session, oldest first.
func (s *Store) ListLogoutNotices(ctx context.Context, sessionID string) ([]models.LogoutNotice, error) {
	var out []models.LogoutNotice
	err := s.conn(ctx).Where("session_id = ?", sessionID).Order("created_at, id").Find(&out).Error
	return out, mapErr("list logout notices", err)
}

// DueLogoutNotices returns up to limit pending notices due at now that no
// worker holds a live lease on (the lease protocol of DueMails).
func (s *Store) DueLogoutNotices(ctx context.Context, now time.Time, limit int) ([]models.LogoutNotice, error) {
	var out []models.LogoutNotice
	err := s.dueRows(ctx, "list due logout notices", &out, now, limit)
	return out, err
}

// ClaimLogoutNotice takes a lease on a due notice (see ClaimMail).
func (s *Store) ClaimLogoutNotice(ctx context.Context, id string, now, lease time.Time) error {
	return s.claimRow(ctx, "claim logout notice", &models.LogoutNotice{}, id, now, lease)
}

// MarkLogoutNoticeSent records a delivery by the holder of lease (see
// MarkMailSent).
func (s *Store) MarkLogoutNoticeSent(ctx context.Context, id string, lease, at time.Time) error {
	return s.finishRow(ctx, "mark logout notice sent", &models.LogoutNotice{}, id, lease, sentSet(at, nil))
}

// RetryLogoutNotice records a failed attempt by the holder of lease (see
// RetryMail).
func (s *Store) RetryLogoutNotice(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool) error {
	return s.finishRow(ctx, "retry logout notice", &models.LogoutNotice{}, id, lease, retrySet(next, lastErr, failed, nil))
}
