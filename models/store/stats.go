package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// Statistics: auth events are rolled up, in the transaction that records
// them, into per-minute and per-hour counters and a (day, user) table of
// active users. The console's queries read only those (and the small
// credentials table), never a range of raw auth_events, so they stay fast
// with millions of events.

// rollupTables are the counter tables with their bucket size.
var rollupTables = []struct {
	name string
	size time.Duration
}{
	{"auth_event_minutes", time.Minute},
	{"auth_event_hours", time.Hour},
	{"auth_event_days", 24 * time.Hour},
}

// rollupTable names the counter table of a bucket size (a minute, an hour
// or a day).
func rollupTable(grain time.Duration) (string, error) {
	if grain == 0 {
		grain = time.Minute
	}
	for _, t := range rollupTables {
		if t.size == grain {
			return t.name, nil
		}
	}
	return "", fmt.Errorf("no rollup per %v", grain)
}

// RecordAuthEvent stores an auth event and counts it in the rollups, in one
// transaction: the counters never disagree with the events.
func (s *Store) RecordAuthEvent(ctx context.Context, e *models.AuthEvent) error {
	if e.At.IsZero() {
		e.At = Now()
	}
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Create(e).Error; err != nil {
			return mapErr("record auth event", err)
		}
		if err := s.rollUp(ctx, e); err != nil {
			return err
		}
		return s.notify(ctx, ChangeAuthEvent, e.ID)
	})
}

// rollUp counts e in the rollups (call inside the event's transaction).
func (s *Store) rollUp(ctx context.Context, e *models.AuthEvent) error {
	if err := s.bumpCounters(ctx, e.At, e.Method, e.ClientID, e.Event, e.Result, e.Reason, 1); err != nil {
		return err
	}
	if e.Result != models.ResultSuccess || e.UserID == "" {
		return nil
	}
	if e.Event != models.EventLogin && e.Event != models.EventRegister {
		return nil
	}
	// Signing in, signing up and adding a passkey all mean the user was
	// active that day.
	day := e.At.UTC().Truncate(24 * time.Hour)
	err := s.conn(ctx).Exec(`INSERT INTO user_days (day, user_id) VALUES (?, ?) ON CONFLICT (day, user_id) DO NOTHING`, day, e.UserID).Error
	if err != nil {
		return mapErr("record active user", err)
	}
	// has_passkey is refreshed at each sign-in: "active users with a
	// passkey" then counts an index range instead of joining credentials.
	err = s.conn(ctx).Exec(`INSERT INTO user_last_active (user_id, last_day, has_passkey)
VALUES (?, ?, EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ? AND kind = ?))
ON CONFLICT (user_id) DO UPDATE SET
  last_day = CASE WHEN excluded.last_day > user_last_active.last_day THEN excluded.last_day ELSE user_last_active.last_day END,
  has_passkey = excluded.has_passkey`, e.UserID, day, e.UserID, models.CredentialPasskey).Error
	if err != nil {
		return mapErr("record active user", err)
	}
	if e.Event != models.EventRegister || e.Method != models.MethodPasskey {
		return nil
	}
	// A passkey right after a passlink sign-in: the fallback led to a
	// passkey. One indexed lookup of this user's recent events.
	var n int64
	err = s.conn(ctx).Model(&models.AuthEvent{}).
		Where("user_id = ? AND method = ? AND event = ? AND result = ? AND at >= ? AND at <= ?",
			e.UserID, models.MethodPasslink, models.EventLogin, models.ResultSuccess, dbTime(e.At.Add(-models.FallbackWindow)), dbTime(e.At)).
		Limit(1).Count(&n).Error
	if err != nil {
		return mapErr("record auth event", err)
	}
	if n > 0 {
		return s.bumpCounters(ctx, e.At, models.MethodPasslink, e.ClientID, models.EventPasskeyAfterFallback, models.ResultSuccess, "", 1)
	}
	return nil
}

// MarkPasskeyRemoved refreshes a user's has_passkey after a credential is
// deleted (DeleteCredential calls it).
func (s *Store) MarkPasskeyRemoved(ctx context.Context, userID string) error {
	err := s.conn(ctx).Exec(`UPDATE user_last_active SET has_passkey = EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ? AND kind = ?) WHERE user_id = ?`,
		userID, models.CredentialPasskey, userID).Error
	return mapErr("refresh passkey flag", err)
}

func (s *Store) bumpCounters(ctx context.Context, at time.Time, method, clientID, event, result, reason string, n int64) error {
	for _, t := range rollupTables {
		err := s.conn(ctx).Exec(`INSERT INTO `+t.name+` (bucket, method, client_id, event, result, reason, total)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (bucket, method, client_id, event, result, reason) DO UPDATE SET total = `+t.name+`.total + excluded.total`,
			at.UTC().Truncate(t.size), method, clientID, event, result, reason, n).Error
		if err != nil {
			return mapErr("roll up auth event", err)
		}
	}
	return nil
}

// CountRow is one group of rolled-up counters.
type CountRow struct {
	Bucket   time.Time
	Method   string
	ClientID string
	Event    string
	Result   string
	Reason   string
	Total    int64
}

// CountQuery selects rolled-up counters.
type CountQuery struct {
	// Grain picks the rollup: time.Minute (the default), time.Hour or
	// 24 * time.Hour.
	Grain time.Duration
	// From and To bound the buckets: From <= bucket < To.
	From, To time.Time
	// Event and Result filter when set.
	Event, Result string
	// Methods filters when set.
	Methods []string
	// By lists the columns to group by: any of bucket, method, client_id,
	// event, result, reason. Empty sums everything into one row.
	By []string
}

var countColumns = map[string]bool{"bucket": true, "method": true, "client_id": true, "event": true, "result": true, "reason": true}

// CountAuthEvents sums rolled-up counters, grouped as q.By says.
func (s *Store) CountAuthEvents(ctx context.Context, q CountQuery) ([]CountRow, error) {
	table, err := rollupTable(q.Grain)
	if err != nil {
		return nil, fmt.Errorf("count auth events: %w", err)
	}
	for _, c := range q.By {
		if !countColumns[c] {
			return nil, fmt.Errorf("count auth events: cannot group by %q", c)
		}
	}
	tx := s.conn(ctx).Table(table).Where("bucket >= ? AND bucket < ?", dbTime(q.From), dbTime(q.To))
	if q.Event != "" {
		tx = tx.Where("event = ?", q.Event)
	}
	if q.Result != "" {
		tx = tx.Where("result = ?", q.Result)
	}
	if len(q.Methods) > 0 {
		tx = tx.Where("method IN ?", q.Methods)
	}
	sel := "SUM(total) AS total"
	if len(q.By) > 0 {
		cols := strings.Join(q.By, ", ")
		sel = cols + ", " + sel
		tx = tx.Group(cols)
	}
	rows, err := tx.Select(sel).Rows()
	if err != nil {
		return nil, mapErr("count auth events", err)
	}
	defer func() { _ = rows.Close() }()
	var out []CountRow
	for rows.Next() {
		var r CountRow
		var total *int64 // SUM over no rows is NULL
		dest := make([]any, 0, len(q.By)+1)
		for _, c := range q.By {
			switch c {
			case "bucket":
				dest = append(dest, &r.Bucket)
			case "method":
				dest = append(dest, &r.Method)
			case "client_id":
				dest = append(dest, &r.ClientID)
			case "event":
				dest = append(dest, &r.Event)
			case "result":
				dest = append(dest, &r.Result)
			case "reason":
				dest = append(dest, &r.Reason)
			}
		}
		if err := rows.Scan(append(dest, &total)...); err != nil {
			return nil, mapErr("count auth events", err)
		}
		if total == nil {
			continue
		}
		r.Total = *total
		r.Bucket = r.Bucket.UTC()
		out = append(out, r)
	}
	return out, mapErr("count auth events", rows.Err())
}

// CountActiveUsers counts the users with a successful sign-in on a day in
// [from, to) (days are UTC midnights). With withPasskey, only those who
// have a passkey.
func (s *Store) CountActiveUsers(ctx context.Context, from, to time.Time, withPasskey bool) (int64, error) {
	tx := s.conn(ctx).Table("user_days AS d").Where("d.day >= ? AND d.day < ?", dbTime(from), dbTime(to))
	if withPasskey {
		tx = tx.Where("EXISTS (SELECT 1 FROM webauthn_credentials c WHERE c.user_id = d.user_id AND c.kind = ?)", models.CredentialPasskey)
	}
	var n int64
	if err := tx.Distinct("d.user_id").Count(&n).Error; err != nil {
		return 0, mapErr("count active users", err)
	}
	return n, nil
}

// CountActiveUsersSince counts the users whose last successful sign-in was
// on a day at or after from (a UTC midnight): an index range count. With
// withPasskey, only those who have a passkey.
func (s *Store) CountActiveUsersSince(ctx context.Context, from time.Time, withPasskey bool) (int64, error) {
	tx := s.conn(ctx).Table("user_last_active AS a").Where("a.last_day >= ?", dbTime(from))
	if withPasskey {
		tx = tx.Where("a.has_passkey = ?", true)
	}
	var n int64
	if err := tx.Count(&n).Error; err != nil {
		return 0, mapErr("count active users", err)
	}
	return n, nil
}

// ActiveUsersPerDay counts active users on each day in [from, to).
func (s *Store) ActiveUsersPerDay(ctx context.Context, from, to time.Time) (map[time.Time]int64, error) {
	var rows []struct {
		Day   time.Time
		Users int64
	}
	err := s.conn(ctx).Table("user_days").Where("day >= ? AND day < ?", dbTime(from), dbTime(to)).
		Select("day, COUNT(*) AS users").Group("day").Scan(&rows).Error
	if err != nil {
		return nil, mapErr("count active users per day", err)
	}
	out := make(map[time.Time]int64, len(rows))
	for _, r := range rows {
		out[r.Day.UTC()] = r.Users
	}
	return out, nil
}

// NewAccountsPerHour counts the users created in [from, to) per UTC hour
// (from the index on users.created_at).
func (s *Store) NewAccountsPerHour(ctx context.Context, from, to time.Time) (map[time.Time]int64, error) {
	return s.newAccounts(ctx, from, to, false)
}

// NewAccountsPerDay counts the users created in [from, to) per UTC day.
func (s *Store) NewAccountsPerDay(ctx context.Context, from, to time.Time) (map[time.Time]int64, error) {
	return s.newAccounts(ctx, from, to, true)
}

func (s *Store) newAccounts(ctx context.Context, from, to time.Time, daily bool) (map[time.Time]int64, error) {
	// The hour or day as text: SQLite keeps timestamps as text in UTC
	// starting "YYYY-MM-DD HH"; PostgreSQL formats it.
	n, layout, pgFormat := 13, "2006-01-02 15", "YYYY-MM-DD HH24"
	if daily {
		n, layout, pgFormat = 10, "2006-01-02", "YYYY-MM-DD"
	}
	key := fmt.Sprintf("substr(created_at, 1, %d)", n)
	if s.dialect == migrations.Postgres {
		key = `to_char(created_at AT TIME ZONE 'UTC', '` + pgFormat + `')`
	}
	rows, err := s.conn(ctx).Model(&models.User{}).Where("created_at >= ? AND created_at < ?", dbTime(from), dbTime(to)).
		Select(key + " AS k, COUNT(*) AS n").Group(key).Rows()
	if err != nil {
		return nil, mapErr("count new accounts", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[time.Time]int64{}
	for rows.Next() {
		var k any
		var c int64
		if err := rows.Scan(&k, &c); err != nil {
			return nil, mapErr("count new accounts", err)
		}
		var t time.Time
		switch v := k.(type) {
		case time.Time: // the SQLite driver reads "YYYY-MM-DD" as a date
			t = v.UTC()
		case string:
			t, err = time.Parse(layout, v)
		case []byte:
			t, err = time.Parse(layout, string(v))
		default:
			err = fmt.Errorf("unexpected %T", k)
		}
		if err != nil {
			return nil, fmt.Errorf("count new accounts: bucket %v: %w", k, err)
		}
		out[t] += c
	}
	return out, mapErr("count new accounts", rows.Err())
}

// CredentialCount is one group of WebAuthn credentials.
type CredentialCount struct {
	Kind           string
	AAGUID         string `gorm:"column:aaguid"`
	BackupEligible bool
	Total          int64
}

// CountCredentials groups the WebAuthn credentials by kind, backup
// eligibility and authenticator model. Credentials are few (a handful per
// user), so a GROUP BY over the table is fine.
func (s *Store) CountCredentials(ctx context.Context) ([]CredentialCount, error) {
	var out []CredentialCount
	err := s.conn(ctx).Model(&models.WebAuthnCredential{}).
		Select("kind, aaguid, backup_eligible, COUNT(*) AS total").
		Group("kind, aaguid, backup_eligible").Scan(&out).Error
	return out, mapErr("count credentials", err)
}

// RecentAuthEvents returns up to limit events at or after since, newest
// first (the index on at serves it).
func (s *Store) RecentAuthEvents(ctx context.Context, since time.Time, limit int) ([]models.AuthEvent, error) {
	var out []models.AuthEvent
	tx := s.conn(ctx).Order("at DESC, id DESC").Limit(limit)
	if !since.IsZero() {
		tx = tx.Where("at >= ?", dbTime(since))
	}
	err := tx.Find(&out).Error
	return out, mapErr("recent auth events", err)
}

// UsersByID loads the users with these ids (unknown ids are left out).
func (s *Store) UsersByID(ctx context.Context, ids []string) (map[string]*models.User, error) {
	out := map[string]*models.User{}
	if len(ids) == 0 {
		return out, nil
	}
	var us []models.User
	if err := s.conn(ctx).Where("id IN ?", ids).Find(&us).Error; err != nil {
		return nil, mapErr("users by id", err)
	}
	for i := range us {
		out[us[i].ID] = &us[i]
	}
	return out, nil
}

// BulkRollup adds counters (for imports): each row is added to its bucket
// in the rollup of that grain.
func (s *Store) BulkRollup(ctx context.Context, grain time.Duration, rows []CountRow) error {
	table, err := rollupTable(grain)
	if err != nil {
		return fmt.Errorf("bulk rollup: %w", err)
	}
	return s.WithTx(ctx, func(ctx context.Context) error {
		const batch = 500
		for i := 0; i < len(rows); i += batch {
			chunk := rows[i:min(i+batch, len(rows))]
			var b strings.Builder
			args := make([]any, 0, len(chunk)*7)
			b.WriteString("INSERT INTO " + table + " (bucket, method, client_id, event, result, reason, total) VALUES ")
			for j, r := range chunk {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
				args = append(args, dbTime(r.Bucket), r.Method, r.ClientID, r.Event, r.Result, r.Reason, r.Total)
			}
			b.WriteString(" ON CONFLICT (bucket, method, client_id, event, result, reason) DO UPDATE SET total = " + table + ".total + excluded.total")
			if err := s.conn(ctx).Exec(b.String(), args...).Error; err != nil {
				return mapErr("bulk rollup", err)
			}
		}
		return nil
	})
}

// LastActive returns the user's last UTC day with a successful sign-in
// (zero when none) and whether the user has a passkey as far as the
// statistics know.
func (s *Store) LastActive(ctx context.Context, userID string) (time.Time, bool, error) {
	var a models.UserLastActive
	err := s.conn(ctx).Where("user_id = ?", userID).Limit(1).Find(&a).Error
	if err != nil {
		return time.Time{}, false, mapErr("last active day", err)
	}
	return a.LastDay, a.HasPasskey, nil
}
