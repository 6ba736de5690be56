package store

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// A step's writes often come as a single-use gate and the rows it lets
// through: the resumed authorization spends its interaction and stores the
// code's records and the session's new client; the code exchange spends
// the code and stores the token pair. As a transaction that is BEGIN, the
// gate, the inserts and COMMIT: four or five round trips. On PostgreSQL
// they are one data-modifying WITH in its own implicit transaction: the
// gate's UPDATE … RETURNING, then one INSERT … SELECT … FROM the gate per
// row, so a gate that lets nothing through inserts nothing. SQLite (in
// process, no data-modifying WITH) runs the same writes in a transaction.

// gate is a conditional update that must change a row for the writes
// behind it to happen: the models.ErrConsumed of a single-use record.
type gate struct {
	model any
	set   map[string]any
	where string
	args  []any
}

// gatedInsert is a row (a pointer to a model) or rows (a pointer to a
// slice of them, one multi-row INSERT on SQLite) behind a gate; ignoreConflict makes a
// row already there no error (ON CONFLICT DO NOTHING).
type gatedInsert struct {
	rows           any
	ignoreConflict bool
}

// CompleteAuthorization stores what a granted authorization leaves: its
// interaction spent (when the request came back from the sign-in pages;
// "" when it needed none), the app recorded among the session's clients,
// and fosite's records of the grant (the code's, its OpenID Connect and
// PKCE records, or an implicit grant's token). An interaction already
// spent is models.ErrConsumed and nothing is written. With an interaction
// the spend also needs sc's session still live and its user not disabled,
// so a grant decided on a read kept in memory (handoff.go), or made while
// an admin acted, is refused (models.ErrConsumed) rather than issued for
// an ended session. Its commit is relaxed (relaxedCommit): a database
// crash can lose it, and with it the code, which the app then cannot
// redeem (invalid_grant).
func (s *Store) CompleteAuthorization(ctx context.Context, interactionID string, sc *models.SessionClient, rows []*models.OAuth2Request) error {
	var g *gate
	if interactionID != "" {
		s.handoff.forget(interactionID)
		g = &gate{model: &models.Interaction{}, set: map[string]any{"consumed_at": Now()},
			where: "id = ? AND consumed_at IS NULL", args: []any{interactionID}}
		if sc != nil {
			g.where += ` AND EXISTS (SELECT 1 FROM login_sessions ls JOIN users u ON u.id = ls.user_id
	WHERE ls.id = ? AND ls.user_id = ? AND ls.revoked_at IS NULL AND ls.expires_at > ? AND u.disabled = ?)`
			g.args = append(g.args, sc.SessionID, sc.UserID, Now(), false)
		}
	}
	var ins []gatedInsert
	if sc != nil {
		ins = append(ins, gatedInsert{rows: sc, ignoreConflict: true})
	}
	if len(rows) > 0 {
		ins = append(ins, gatedInsert{rows: &rows})
	}
	return s.gatedWrite(ctx, "complete authorization", g, ins, true)
}

// RedeemOAuth2Request spends the active record of kind under signature (a
// code at its exchange: of two racing exchanges exactly one wins) and
// stores the records issued for it. A record no longer active is
// models.ErrConsumed and nothing is written.
func (s *Store) RedeemOAuth2Request(ctx context.Context, kind, signature string, rows []*models.OAuth2Request) error {
	g := &gate{model: &models.OAuth2Request{}, set: map[string]any{"active": false, "deactivated_at": s.dbNow()},
		where: "kind = ? AND signature = ? AND active = ?", args: []any{kind, signature, true}}
	var ins []gatedInsert
	if len(rows) > 0 {
		ins = append(ins, gatedInsert{rows: &rows})
	}
	return s.gatedWrite(ctx, "redeem oauth2 request", g, ins, false)
}

// relaxedCommit, evaluated in a statement that is its own transaction on
// PostgreSQL, lets that transaction's commit return before its WAL is on
// disk (synchronous_commit = off for it alone; the next statement on the
// connection is back to the server's setting). The WAL writer flushes it
// within three wal_writer_delay (600 ms by default), together with other
// commits, and any later synchronous commit flushes it first: once an app
// holds tokens for a code, the code's row is durable. It saves the
// commit's own flush and the wait for it: the four commits' flushes were
// about a fifth of a code flow's database CPU (README: "Relaxed commits
// for the flow's scratch state").
//
// Only for the flow's scratch state, which a database crash may lose
// without harm: a waiting authorization request (the user starts again)
// and a granted authorization with its code (the exchange fails with
// invalid_grant; the app signs the user in again). Never for what must
// survive a crash: a spent code or ceremony, a session, an auth event, a
// token exchange, a revocation. Never inside a caller's transaction,
// whose commit it would relax as a whole (ownTransaction).
const relaxedCommit = "set_config('synchronous_commit', 'off', true)"

// insertRelaxed inserts row in a statement of its own whose commit is
// relaxed (relaxedCommit); the caller has checked ownTransaction.
func (s *Store) insertRelaxed(ctx context.Context, op string, row any) error {
	table, cols, vals, err := s.insertValues(ctx, row)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) + ") RETURNING " + relaxedCommit
	return mapErr(op, s.conn(ctx).Exec(q, vals...).Error)
}

// ownTransaction says whether a statement run with ctx is a transaction
// of its own on PostgreSQL (not part of a caller's): where one statement
// saves commits, and where relaxedCommit relaxes that statement alone.
func (s *Store) ownTransaction(ctx context.Context) bool {
	_, inTx := ctx.Value(txKey{}).(*gorm.DB)
	return s.dialect == migrations.Postgres && !inTx
}

// gatedWrite runs g (if any) and, when it changed a row, the inserts;
// relaxed relaxes its commit where it may (relaxedCommit).
func (s *Store) gatedWrite(ctx context.Context, op string, g *gate, ins []gatedInsert, relaxed bool) error {
	if !s.ownTransaction(ctx) {
		// In a caller's transaction the statements join it (a WITH would
		// save no commit there).
		return s.WithTx(ctx, func(ctx context.Context) error {
			if g != nil {
				res := s.conn(ctx).Model(g.model).Where(g.where, g.args...).Updates(g.set)
				if res.Error != nil {
					return mapErr(op, res.Error)
				}
				if res.RowsAffected == 0 {
					return fmt.Errorf("%s: %w", op, models.ErrConsumed)
				}
			}
			for _, in := range ins {
				db := s.conn(ctx)
				if in.ignoreConflict {
					db = db.Clauses(clause.OnConflict{DoNothing: true})
				}
				if err := db.Create(in.rows).Error; err != nil {
					return mapErr(op, err)
				}
			}
			return nil
		})
	}
	q, args, err := s.gatedSQL(ctx, g, ins, relaxed)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var spent int64
	if err := s.conn(ctx).Raw(q, args...).Find(&spent).Error; err != nil {
		return mapErr(op, err)
	}
	if spent == 0 {
		return fmt.Errorf("%s: %w", op, models.ErrConsumed)
	}
	return nil
}

// gatedSQL builds the one statement of a gated write on PostgreSQL:
//
//	WITH gate AS (UPDATE t SET … WHERE … RETURNING 1),
//	     w0 AS (INSERT INTO t0 (cols) SELECT ?, … FROM gate), …
//	SELECT count(*) FROM gate [WHERE relaxedCommit IS NOT NULL]
//
// Each row is its own INSERT … SELECT so its parameters take their
// columns' types (a VALUES list would make them text). Without a gate the
// rows are inserted unconditionally (gate is one constant row). relaxed
// relaxes the commit when the gate passed (relaxedCommit).
func (s *Store) gatedSQL(ctx context.Context, g *gate, ins []gatedInsert, relaxed bool) (string, []any, error) {
	var b strings.Builder
	var args []any
	b.WriteString("WITH gate AS (")
	if g == nil {
		b.WriteString("SELECT 1")
	} else {
		table, err := s.tableOf(g.model)
		if err != nil {
			return "", nil, err
		}
		b.WriteString("UPDATE " + table + " SET ")
		cols := slices.Sorted(maps.Keys(g.set))
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c + " = ?")
			args = append(args, g.set[c])
		}
		b.WriteString(" WHERE " + g.where + " RETURNING 1")
		args = append(args, g.args...)
	}
	b.WriteString(")")
	n := 0
	for _, in := range ins {
		rows := reflect.Indirect(reflect.ValueOf(in.rows))
		if rows.Kind() != reflect.Slice {
			rows = reflect.ValueOf([]any{in.rows})
		}
		for i := range rows.Len() {
			table, cols, vals, err := s.insertValues(ctx, rows.Index(i).Interface())
			if err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&b, ", w%d AS (INSERT INTO %s (%s) SELECT %s FROM gate", n, table,
				strings.Join(cols, ", "), placeholders(len(cols)))
			if in.ignoreConflict {
				b.WriteString(" ON CONFLICT DO NOTHING")
			}
			b.WriteString(")")
			args = append(args, vals...)
			n++
		}
	}
	b.WriteString(" SELECT count(*) FROM gate")
	if relaxed {
		b.WriteString(" WHERE " + relaxedCommit + " IS NOT NULL")
	}
	return b.String(), args, nil
}

// placeholders is n comma-separated parameters.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// tableOf is the table of a model, from gorm's schema.
func (s *Store) tableOf(model any) (string, error) {
	stmt := &gorm.Statement{DB: s.db}
	if err := stmt.Parse(model); err != nil {
		return "", err
	}
	return stmt.Schema.Table, nil
}

// insertValues is a row's table, columns and values as gorm's Create
// writes them (every column of the schema, times as dbTime, a zero
// CreatedAt or UpdatedAt stamped now); the row's times are set to what is
// stored, as Create does.
func (s *Store) insertValues(ctx context.Context, row any) (string, []string, []any, error) {
	stmt := &gorm.Statement{DB: s.db}
	if err := stmt.Parse(row); err != nil {
		return "", nil, nil, err
	}
	rv := reflect.Indirect(reflect.ValueOf(row))
	cols := make([]string, 0, len(stmt.Schema.Fields))
	vals := make([]any, 0, len(stmt.Schema.Fields))
	for _, f := range stmt.Schema.Fields {
		if f.DBName == "" || !f.Creatable {
			continue
		}
		fv := f.ReflectValueOf(ctx, rv)
		switch t := fv.Interface().(type) {
		case time.Time:
			if t.IsZero() && (f.AutoCreateTime > 0 || f.AutoUpdateTime > 0) {
				t = s.db.NowFunc() // as Create stamps CreatedAt and UpdatedAt
			}
			fv.Set(reflect.ValueOf(dbTime(t)))
		case *time.Time:
			if t != nil {
				fv.Set(reflect.ValueOf(dbTimePtr(t)))
			}
		}
		v, _ := f.ValueOf(ctx, rv)
		cols = append(cols, f.DBName)
		vals = append(vals, v)
	}
	return stmt.Schema.Table, cols, vals, nil
}
