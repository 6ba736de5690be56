package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// Statistics: auth events are rolled up into per-minute, per-hour and
// per-day counters and a (day, user) table of active users. The console's
// queries read only those (and the small credentials table), never a
// range of raw auth_events, so they stay fast with millions of events.
//
// The rollups are off the sign-in's path: RecordAuthEvent writes only the
// event, marked pending (one row, in the caller's transaction when there
// is one). RollUpPending counts pending events in batches — one statement
// per rollup table for a whole batch — and clears their flag in the same
// transaction, so every event is counted exactly once whoever runs it and
// however often. The server runs it every second (one replica at a time:
// a PostgreSQL advisory lock), and every read of the rollups below runs it
// first, so what a read returns counts every event committed before it.

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

// RecordAuthEvent stores an auth event, pending for the rollups, queues
// the webhooks it emits (webhooks.go: nothing is read or written for them
// while no endpoint subscribes) and wakes the change feed (the console's
// live feed) when its transaction commits.
func (s *Store) RecordAuthEvent(ctx context.Context, e *models.AuthEvent) error {
	if e.At.IsZero() {
		e.At = Now()
	}
	e.Pending = true
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Create(e).Error; err != nil {
			return mapErr("record auth event", err)
		}
		if err := s.authEventWebhooks(ctx, e); err != nil {
			return err
		}
		if s.dialect == migrations.Postgres {
			return nil // announced by the table's trigger (migration 00049)
		}
		return s.notify(ctx, ChangeAuthEvent, e.ID)
	})
}

// authEventWebhooks queues the webhooks subscribed to e, in ctx's
// transaction.
func (s *Store) authEventWebhooks(ctx context.Context, e *models.AuthEvent) error {
	targets, err := s.authEventTargets(ctx, e)
	if err != nil || len(targets) == 0 {
		return err
	}
	return s.queueWebhooks(ctx, targets, e.At, authEventWebhookData(e))
}

// authEventTargets are the endpoints subscribed to e's webhook types (the
// cache answers, no statement, while it is current).
func (s *Store) authEventTargets(ctx context.Context, e *models.AuthEvent) (map[string][]string, error) {
	types := models.WebhookTypesForAuthEvent(e)
	if len(types) == 0 {
		return nil, nil
	}
	targets, err := s.webhookTargets(ctx, types)
	if err != nil {
		return nil, fmt.Errorf("record auth event: %w", err)
	}
	return targets, nil
}

// RollupBatch is how many pending events one aggregation transaction
// counts at most.
const RollupBatch = 1000

// rollupLockID is the PostgreSQL advisory lock key of the aggregator.
const rollupLockID = 0x5e5a3e02

// maxRollupBatchesPerRead bounds the catch-up a read of the rollups does
// before it answers; the background aggregator does the rest.
const maxRollupBatchesPerRead = 20

// RollUpPending counts pending auth events into the rollups, batch after
// batch, until none is left or maxBatches batches ran (0: no bound). It
// returns how many events it counted. Safe to run on every replica at
// once: on PostgreSQL a transaction-scoped advisory lock lets one replica
// aggregate at a time (the others wait for it, then find nothing left);
// on SQLite the write lock does the same.
func (s *Store) RollUpPending(ctx context.Context, maxBatches int) (int, error) {
	total := 0
	for b := 0; maxBatches <= 0 || b < maxBatches; b++ {
		// A cheap probe of the partial index first: no transaction, no
		// lock, when nothing is pending (the common case for a read).
		var probe []string
		if err := s.conn(ctx).Raw(pendingProbe).Pluck("id", &probe).Error; err != nil {
			return total, mapErr("roll up auth events", err)
		}
		if len(probe) == 0 {
			return total, nil
		}
		n, err := s.rollUpBatch(ctx)
		total += n
		if err != nil || n < RollupBatch {
			return total, err
		}
	}
	return total, nil
}

// pendingProbe asks whether any event is pending. Ordered by the partial
// index's key so that the planner walks that index: a bare LIMIT 1 let
// PostgreSQL, guessing half the rows pending, scan the whole table for a
// row that is rarely there — every second, growing with the table.
const pendingProbe = "SELECT id FROM auth_events WHERE pending ORDER BY at LIMIT 1"

// pendingEvent is what the aggregator reads of an event.
type pendingEvent struct {
	ID       string
	At       time.Time
	UserID   string
	ClientID string
	Method   string
	Event    string
	Result   string
	Reason   string
}

type counterKey struct {
	bucket                                  time.Time
	method, clientID, event, result, reason string
}

// rollUpBatch counts one batch of pending events in one transaction.
func (s *Store) rollUpBatch(ctx context.Context) (int, error) {
	var n int
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if s.dialect == migrations.Postgres {
			// Keyed by schema too: deployments (and tests) sharing a
			// database in separate schemas do not wait for each other.
			if err := s.conn(ctx).Exec("SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", rollupLockID).Error; err != nil {
				return mapErr("roll up auth events: lock", err)
			}
		}
		var evs []pendingEvent
		err := s.conn(ctx).Model(&models.AuthEvent{}).
			Select("id, at, user_id, client_id, method, event, result, reason").
			Where("pending").Order("at, id").Limit(RollupBatch).Scan(&evs).Error
		if err != nil {
			return mapErr("roll up auth events", err)
		}
		n = len(evs)
		if n == 0 {
			return nil
		}
		counters := make([]map[counterKey]int64, len(rollupTables))
		for i := range counters {
			counters[i] = map[counterKey]int64{}
		}
		days := map[[2]string]time.Time{} // (day, user) of each active user
		lastDay := map[string]time.Time{} // user → last active day
		last := lastSignIns{passkey: map[string]time.Time{}, other: map[string]time.Time{}}
		ids := make([]string, 0, n)
		count := func(at time.Time, method, clientID, event, result, reason string) {
			for i, t := range rollupTables {
				counters[i][counterKey{at.UTC().Truncate(t.size), method, clientID, event, result, reason}]++
			}
		}
		for _, e := range evs {
			ids = append(ids, e.ID)
			count(e.At, e.Method, e.ClientID, e.Event, e.Result, e.Reason)
			if e.Result != models.ResultSuccess || e.UserID == "" || (e.Event != models.EventLogin && e.Event != models.EventRegister) {
				continue
			}
			// Signing in, signing up and adding a passkey all mean the
			// user was active that day.
			day := e.At.UTC().Truncate(24 * time.Hour)
			days[[2]string{day.Format(time.RFC3339), e.UserID}] = day
			if day.After(lastDay[e.UserID]) {
				lastDay[e.UserID] = day
			}
			switch {
			case e.Method == models.MethodPasskey:
				last.passkey[e.UserID] = later(last.passkey[e.UserID], e.At)
			case e.Event == models.EventLogin:
				last.other[e.UserID] = later(last.other[e.UserID], e.At)
			}
			if e.Event != models.EventRegister || e.Method != models.MethodPasskey {
				continue
			}
			// A passkey right after a passlink sign-in: the fallback led
			// to a passkey. One indexed lookup of this user's recent
			// events (sign-ups and added passkeys only: rare).
			var found []string
			err := s.conn(ctx).Model(&models.AuthEvent{}).
				Where("user_id = ? AND method = ? AND event = ? AND result = ? AND at >= ? AND at <= ?",
					e.UserID, models.MethodPasslink, models.EventLogin, models.ResultSuccess, dbTime(e.At.Add(-models.FallbackWindow)), dbTime(e.At)).
				Limit(1).Pluck("id", &found).Error
			if err != nil {
				return mapErr("roll up auth events", err)
			}
			if len(found) > 0 {
				count(e.At, models.MethodPasslink, e.ClientID, models.EventPasskeyAfterFallback, models.ResultSuccess, "")
			}
		}
		for i, t := range rollupTables {
			rows := make([]CountRow, 0, len(counters[i]))
			for k, v := range counters[i] {
				rows = append(rows, CountRow{Bucket: k.bucket, Method: k.method, ClientID: k.clientID, Event: k.event, Result: k.result, Reason: k.reason, Total: v})
			}
			if err := s.upsertCounters(ctx, t.name, rows); err != nil {
				return err
			}
		}
		if err := s.markActive(ctx, days, lastDay, last); err != nil {
			return err
		}
		for i := 0; i < len(ids); i += sqlBatch {
			err := s.conn(ctx).Model(&models.AuthEvent{}).Where("id IN ?", ids[i:min(i+sqlBatch, len(ids))]).Update("pending", false).Error
			if err != nil {
				return mapErr("roll up auth events", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// sqlBatch bounds the rows of one multi-row statement (well within both
// dialects' limits on bound parameters).
const sqlBatch = 500

// upsertCounters adds rows to the counters of table, a multi-row upsert
// per sqlBatch rows, in a fixed order (so two writers lock rows in the same
// order and never deadlock).
func (s *Store) upsertCounters(ctx context.Context, table string, rows []CountRow) error {
	slices.SortFunc(rows, func(a, b CountRow) int {
		if c := a.Bucket.Compare(b.Bucket); c != 0 {
			return c
		}
		return cmp.Compare(a.Method+"\x00"+a.ClientID+"\x00"+a.Event+"\x00"+a.Result+"\x00"+a.Reason,
			b.Method+"\x00"+b.ClientID+"\x00"+b.Event+"\x00"+b.Result+"\x00"+b.Reason)
	})
	for i := 0; i < len(rows); i += sqlBatch {
		chunk := rows[i:min(i+sqlBatch, len(rows))]
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
			return mapErr("roll up auth events", err)
		}
	}
	return nil
}

// lastSignIns are the users' latest sign-ins of a batch by passkey and by
// other methods.
type lastSignIns struct{ passkey, other map[string]time.Time }

// later returns the later of a (zero: none) and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// nullTime is t for the database, NULL when zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := dbTime(t)
	return &v
}

// markActive records active users: a (day, user) row per day and each
// user's last active day, with has_passkey refreshed ("active users with a
// passkey" then counts an index range instead of joining credentials).
// Users deleted since their event are left out (the rows would break the
// foreign keys, and the deletion removed their activity anyway); on
// PostgreSQL the others are locked against deletion until the commit.
func (s *Store) markActive(ctx context.Context, days map[[2]string]time.Time, lastDay map[string]time.Time, last lastSignIns) error {
	if len(lastDay) == 0 {
		return nil
	}
	ids := make([]string, 0, len(lastDay))
	for u := range lastDay {
		ids = append(ids, u)
	}
	slices.Sort(ids)
	live := make(map[string]bool, len(ids))
	for i := 0; i < len(ids); i += sqlBatch {
		q := s.conn(ctx).Model(&models.User{}).Where("id IN ?", ids[i:min(i+sqlBatch, len(ids))])
		if s.dialect == migrations.Postgres {
			q = q.Clauses(clause.Locking{Strength: "KEY SHARE"})
		}
		var found []string
		if err := q.Pluck("id", &found).Error; err != nil {
			return mapErr("record active user", err)
		}
		for _, id := range found {
			live[id] = true
		}
	}
	for k := range days {
		if !live[k[1]] {
			delete(days, k)
		}
	}
	for u := range lastDay {
		if !live[u] {
			delete(lastDay, u)
		}
	}
	type dayUser struct {
		day  time.Time
		user string
	}
	du := make([]dayUser, 0, len(days))
	for k, d := range days {
		du = append(du, dayUser{d, k[1]})
	}
	slices.SortFunc(du, func(a, b dayUser) int {
		if c := a.day.Compare(b.day); c != 0 {
			return c
		}
		return cmp.Compare(a.user, b.user)
	})
	for i := 0; i < len(du); i += sqlBatch { // none when every user is gone
		chunk := du[i:min(i+sqlBatch, len(du))]
		q := "INSERT INTO user_days (day, user_id) VALUES " + strings.Repeat("(?, ?), ", len(chunk)-1) + "(?, ?) ON CONFLICT (day, user_id) DO NOTHING"
		args := make([]any, 0, 2*len(chunk))
		for _, r := range chunk {
			args = append(args, dbTime(r.day), r.user)
		}
		if err := s.conn(ctx).Exec(q, args...).Error; err != nil {
			return mapErr("record active user", err)
		}
	}
	users := make([]string, 0, len(lastDay))
	for u := range lastDay {
		users = append(users, u)
	}
	slices.Sort(users)
	for i := 0; i < len(users); i += sqlBatch {
		chunk := users[i:min(i+sqlBatch, len(users))]
		// The latest of the stored and the new time (NULL > t is not
		// true: a NULL never replaces a time).
		latest := func(col string) string {
			return col + " = CASE WHEN user_last_active." + col + " IS NULL OR excluded." + col + " > user_last_active." + col +
				" THEN excluded." + col + " ELSE user_last_active." + col + " END"
		}
		q := "INSERT INTO user_last_active (user_id, last_day, last_passkey_at, last_other_at, has_passkey) VALUES " +
			strings.Repeat("(?, ?, ?, ?, EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ? AND kind = ?)), ", len(chunk)-1) +
			"(?, ?, ?, ?, EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ? AND kind = ?))" + `
ON CONFLICT (user_id) DO UPDATE SET
  last_day = CASE WHEN excluded.last_day > user_last_active.last_day THEN excluded.last_day ELSE user_last_active.last_day END,
  ` + latest("last_passkey_at") + `,
  ` + latest("last_other_at") + `,
  has_passkey = excluded.has_passkey`
		args := make([]any, 0, 6*len(chunk))
		for _, u := range chunk {
			args = append(args, u, dbTime(lastDay[u]), nullTime(last.passkey[u]), nullTime(last.other[u]), u, models.CredentialPasskey)
		}
		if err := s.conn(ctx).Exec(q, args...).Error; err != nil {
			return mapErr("record active user", err)
		}
	}
	return nil
}

// catchUp runs the aggregator before a read of the rollups (bounded; see
// RollUpPending), so the read counts every event committed before it.
func (s *Store) catchUp(ctx context.Context, op string) error {
	if _, err := s.RollUpPending(ctx, maxRollupBatchesPerRead); err != nil {
		return fmt.Errorf("%s: %w", op, err)
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
	// ClientID, when not nil, keeps only this client's counters ("" is
	// the account page's).
	ClientID *string
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
	if err := s.catchUp(ctx, "count auth events"); err != nil {
		return nil, err
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
	if q.ClientID != nil {
		tx = tx.Where("client_id = ?", *q.ClientID)
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
	if err := s.catchUp(ctx, "count active users"); err != nil {
		return 0, err
	}
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
	if err := s.catchUp(ctx, "count active users"); err != nil {
		return 0, err
	}
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
	if err := s.catchUp(ctx, "count active users per day"); err != nil {
		return nil, err
	}
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
		return s.upsertCounters(ctx, table, slices.Clone(rows))
	})
}

// LastActive returns the user's last UTC day with a successful sign-in
// (zero when none) and whether the user has a passkey as far as the
// statistics know.
func (s *Store) LastActive(ctx context.Context, userID string) (time.Time, bool, error) {
	if err := s.catchUp(ctx, "last active day"); err != nil {
		return time.Time{}, false, err
	}
	var a models.UserLastActive
	err := s.conn(ctx).Where("user_id = ?", userID).Limit(1).Find(&a).Error
	if err != nil {
		return time.Time{}, false, mapErr("last active day", err)
	}
	return a.LastDay, a.HasPasskey, nil
}
