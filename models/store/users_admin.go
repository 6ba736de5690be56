package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// UserFilter narrows a user search: Query matches the address or the
// display name (case-insensitively); each flag keeps only users that
// have it. The zero filter is every user.
type UserFilter struct {
	Query      string
	Admins     bool
	Disabled   bool
	Unverified bool
}

// SearchUsersFiltered returns the users f selects, ordered by creation, at
// most limit from offset. Callers bound limit and offset.
func (s *Store) SearchUsersFiltered(ctx context.Context, f UserFilter, offset, limit int) ([]models.User, error) {
	tx := s.conn(ctx).Model(&models.User{})
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		pat := "%" + escapeLike(q) + "%"
		tx = tx.Where(`(email_normalized LIKE ? ESCAPE '\' OR LOWER(display_name) LIKE ? ESCAPE '\')`, pat, pat)
	}
	if f.Admins {
		tx = tx.Where("role = ?", models.RoleAdmin)
	}
	if f.Disabled {
		tx = tx.Where("disabled = ?", true)
	}
	if f.Unverified {
		tx = tx.Where("email_verified = ?", false)
	}
	var out []models.User
	err := tx.Order("created_at, id").Offset(offset).Limit(limit).Find(&out).Error
	return out, mapErr("search users", err)
}

// UserActivity is what the users list shows beside each user.
type UserActivity struct {
	// LastSignIn is the user's last successful sign-in; zero when none
	// is recorded.
	LastSignIn time.Time
	// Passkeys counts the user's passkeys and security keys.
	Passkeys int64
}

// UsersActivity returns the activity of the users ids (a page of the
// users list): two grouped queries over indexed columns, whatever the
// number of users. Users without any activity are absent from the map.
func (s *Store) UsersActivity(ctx context.Context, ids []string) (map[string]UserActivity, error) {
	out := make(map[string]UserActivity, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var last []struct {
		UserID string
		Last   string
	}
	// MAX over a timestamp column comes back as text on SQLite: scanned
	// as text and parsed on both dialects alike.
	err := s.conn(ctx).Model(&models.AuthEvent{}).Select("user_id, "+s.maxTimeText("at")+" AS last").
		Where("user_id IN ? AND event = ? AND result = ?", ids, models.EventLogin, models.ResultSuccess).
		Group("user_id").Scan(&last).Error
	if err != nil {
		return nil, mapErr("users activity: last sign-in", err)
	}
	for _, r := range last {
		a := out[r.UserID]
		a.LastSignIn = parseDBTime(r.Last)
		out[r.UserID] = a
	}
	var creds []struct {
		UserID string
		N      int64
	}
	err = s.conn(ctx).Model(&models.WebAuthnCredential{}).Select("user_id, COUNT(*) AS n").
		Where("user_id IN ?", ids).Group("user_id").Scan(&creds).Error
	if err != nil {
		return nil, mapErr("users activity: credentials", err)
	}
	for _, r := range creds {
		a := out[r.UserID]
		a.Passkeys = r.N
		out[r.UserID] = a
	}
	return out, nil
}

// ClientActivity is what the clients list shows beside each client.
type ClientActivity struct {
	// LastUsed is the last successful sign-in to the client; zero when
	// none is recorded.
	LastUsed time.Time
	// ActiveUsers counts the distinct users who signed in to the client
	// since the window's start.
	ActiveUsers int64
}

// ClientsActivity returns, for every client with a successful sign-in
// since from, its last sign-in and its distinct users since from (the
// clients list: one grouped query over the (client_id, at) index).
func (s *Store) ClientsActivity(ctx context.Context, from time.Time) (map[string]ClientActivity, error) {
	var rows []struct {
		ClientID string
		Last     string
		Users    int64
	}
	err := s.conn(ctx).Model(&models.AuthEvent{}).
		Select("client_id, "+s.maxTimeText("at")+" AS last, COUNT(DISTINCT user_id) AS users").
		Where("client_id <> '' AND at >= ? AND event = ? AND result = ?", dbTime(from), models.EventLogin, models.ResultSuccess).
		Group("client_id").Scan(&rows).Error
	if err != nil {
		return nil, mapErr("clients activity", err)
	}
	out := make(map[string]ClientActivity, len(rows))
	for _, r := range rows {
		out[r.ClientID] = ClientActivity{LastUsed: parseDBTime(r.Last), ActiveUsers: r.Users}
	}
	return out, nil
}

// maxTimeText is MAX(col) as text in a form parseDBTime reads.
func (s *Store) maxTimeText(col string) string {
	if s.dialect == migrations.Postgres {
		return "to_char(MAX(" + col + ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
	}
	return "MAX(" + col + ")"
}

// parseDBTime reads a timestamp as the dialects give it back as text;
// zero when it is empty or unreadable.
func parseDBTime(v string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// EventFilter narrows a user's sign-in history: each set field must
// match; Before pages back in time (events strictly older).
type EventFilter struct {
	Result   string
	Method   string
	ClientID string
	Before   time.Time
}

// ListUserAuthEvents returns a user's auth events f selects, newest first,
// at most limit (the (user_id, at) index serves it).
func (s *Store) ListUserAuthEvents(ctx context.Context, userID string, f EventFilter, limit int) ([]models.AuthEvent, error) {
	tx := s.conn(ctx).Where("user_id = ?", userID)
	if f.Result != "" {
		tx = tx.Where("result = ?", f.Result)
	}
	if f.Method != "" {
		tx = tx.Where("method = ?", f.Method)
	}
	if f.ClientID != "" {
		tx = tx.Where("client_id = ?", f.ClientID)
	}
	if !f.Before.IsZero() {
		tx = tx.Where("at < ?", dbTime(f.Before))
	}
	var out []models.AuthEvent
	err := tx.Order("at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, mapErr("list user auth events", err)
}

// UserIdentity is what an administrator edits of a user besides the
// profile: the address, whether it is proven, the display name.
type UserIdentity struct {
	Email         string
	EmailVerified bool
	DisplayName   string
}

// SetUserIdentity replaces a user's address, its verified state and the
// display name; an address another user holds (case-insensitively) is
// ErrAlreadyExists, an unknown user ErrNotFound. Only an address that
// changes to an unproven one is due a proof at the next sign-in
// (models.User.EmailVerificationDue).
func (s *Store) SetUserIdentity(ctx context.Context, id string, in UserIdentity) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			return err
		}
		norm := NormalizeEmail(in.Email)
		if norm != u.EmailNormalized {
			var n int64
			if err := s.conn(ctx).Model(&models.User{}).Where("email_normalized = ? AND id <> ?", norm, id).Count(&n).Error; err != nil {
				return mapErr("set user identity", err)
			}
			if n > 0 {
				return fmt.Errorf("set user identity: %w", models.ErrAlreadyExists)
			}
		}
		fields := map[string]any{"email": in.Email, "email_normalized": norm, "email_verified": in.EmailVerified,
			"display_name": in.DisplayName, "updated_at": Now()}
		if norm != u.EmailNormalized && !in.EmailVerified {
			fields["email_verification_due"] = true
		}
		if err := affected("set user identity", s.conn(ctx).Model(&models.User{}).Where("id = ?", id).Updates(fields)); err != nil {
			return err
		}
		return s.notify(ctx, ChangeUser, id)
	})
}

// RevokeUserGrants withdraws every grant a user gave an app (their
// remembered consents) and revokes every token issued to the user, in
// one transaction; the user stays enabled and their login sessions live.
// It returns how many grants were withdrawn.
func (s *Store) RevokeUserGrants(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Where("user_id = ?", userID).Delete(&models.Consent{})
		if res.Error != nil {
			return mapErr("revoke user grants", res.Error)
		}
		n = res.RowsAffected
		err := s.conn(ctx).Where("subject = ? AND kind IN ?", userID,
			[]string{models.KindAccessToken, models.KindRefreshToken}).Delete(&models.OAuth2Request{}).Error
		return mapErr("revoke user grants: tokens", err)
	})
	return n, err
}

// CountLiveLoginSessions counts a user's live (unrevoked, unexpired)
// login sessions.
func (s *Store) CountLiveLoginSessions(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.LoginSession{}).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, Now()).Count(&n).Error
	return n, mapErr("count login sessions", err)
}

// GroupsOfUsers returns the group names of each of the users ids (an
// export page): one query, whatever the number of users. Users in no
// group are absent from the map.
func (s *Store) GroupsOfUsers(ctx context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		UserID string
		Name   string
	}
	err := s.conn(ctx).Table("group_members").Select("group_members.user_id, groups.name").
		Joins("JOIN groups ON groups.id = group_members.group_id").
		Where("group_members.user_id IN ?", ids).Order("groups.name").Scan(&rows).Error
	if err != nil {
		return nil, mapErr("groups of users", err)
	}
	for _, r := range rows {
		out[r.UserID] = append(out[r.UserID], r.Name)
	}
	return out, nil
}

// EventRange selects auth events for an export: a time range [Since,
// Until) (zero: open), optional equality filters, and a keyset position
// (events strictly before (BeforeAt, BeforeID), newest first).
type EventRange struct {
	Since, Until          time.Time
	UserID, ClientID      string
	Method, Result, Event string
	BeforeAt              time.Time
	BeforeID              string
}

// ListAuthEventsRange returns the events r selects, newest first, at
// most limit: a page of an export, read by keyset over the at index.
func (s *Store) ListAuthEventsRange(ctx context.Context, r EventRange, limit int) ([]models.AuthEvent, error) {
	tx := s.conn(ctx).Model(&models.AuthEvent{})
	for col, v := range map[string]string{"user_id": r.UserID, "client_id": r.ClientID, "method": r.Method, "result": r.Result, "event": r.Event} {
		if v != "" {
			tx = tx.Where(col+" = ?", v)
		}
	}
	if !r.Since.IsZero() {
		tx = tx.Where("at >= ?", dbTime(r.Since))
	}
	if !r.Until.IsZero() {
		tx = tx.Where("at < ?", dbTime(r.Until))
	}
	if !r.BeforeAt.IsZero() {
		b := dbTime(r.BeforeAt)
		tx = tx.Where("(at < ? OR (at = ? AND id < ?))", b, b, r.BeforeID)
	}
	var out []models.AuthEvent
	err := tx.Order("at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, mapErr("list auth events", err)
}
