package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/migrations"
	"github.com/sesame-idp/sesame/models"
)

// CreateLoginSession inserts a login session.
func (s *Store) CreateLoginSession(ctx context.Context, ls *models.LoginSession) error {
	return mapErr("create login session", s.conn(ctx).Create(ls).Error)
}

// GetLoginSessionByTokenHash loads a live (unrevoked, unexpired) session.
func (s *Store) GetLoginSessionByTokenHash(ctx context.Context, hash string) (*models.LoginSession, error) {
	var ls models.LoginSession
	err := s.conn(ctx).Where("token_hash = ? AND revoked_at IS NULL AND expires_at > ?", hash, Now()).Take(&ls).Error
	if err != nil {
		return nil, mapErr("get login session", err)
	}
	return &ls, nil
}

// GetLoginSessionWithUser loads a live session by its token hash together
// with its user, in one statement (users joined under owner_): the pages
// and the authorization endpoint want both.
func (s *Store) GetLoginSessionWithUser(ctx context.Context, hash string) (*models.LoginSession, *models.User, error) {
	q, err := s.withOwner(ctx, &models.LoginSession{}, "login_sessions")
	if err != nil {
		return nil, nil, mapErr("get login session", err)
	}
	// A slice with room for its one row: gorm makes room for 20 of these
	// wide rows (a user's every column) in a slice without capacity.
	rows := make([]sessionOwner, 0, 1)
	err = q.Where("login_sessions.token_hash = ? AND login_sessions.revoked_at IS NULL AND login_sessions.expires_at > ?", hash, Now()).
		Limit(1).Find(&rows).Error
	if err != nil {
		return nil, nil, mapErr("get login session", err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("get login session: %w", models.ErrNotFound)
	}
	return &rows[0].LoginSession, &rows[0].Owner, nil
}

// sessionOwner is a row of GetLoginSessionWithUser.
type sessionOwner struct {
	models.LoginSession `gorm:"embedded"`
	Owner               models.User `gorm:"embedded;embeddedPrefix:owner_"`
}

// GetLoginSession loads a live session by its id (the OIDC sid).
func (s *Store) GetLoginSession(ctx context.Context, id string) (*models.LoginSession, error) {
	var ls models.LoginSession
	err := s.conn(ctx).Where("id = ? AND revoked_at IS NULL AND expires_at > ?", id, Now()).Take(&ls).Error
	if err != nil {
		return nil, mapErr("get login session", err)
	}
	return &ls, nil
}

// ListUserLoginSessions returns a user's live sessions, newest first.
func (s *Store) ListUserLoginSessions(ctx context.Context, userID string) ([]models.LoginSession, error) {
	var out []models.LoginSession
	err := s.conn(ctx).Where("user_id = ? AND revoked_at IS NULL AND expires_at > ?", userID, Now()).
		Order("created_at DESC").Find(&out).Error
	return out, mapErr("list login sessions", err)
}

// RevokeLoginSession ends a session and deletes the tokens issued from it;
// the clients it signed in to get a logout notice (endSessions).
func (s *Store) RevokeLoginSession(ctx context.Context, id string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		res, err := s.endSessions(ctx, "revoke login session", "id = ? AND revoked_at IS NULL", id)
		if err != nil {
			return err
		}
		if err := affected("revoke login session", res); err != nil {
			return err
		}
		return s.RevokeSessionTokens(ctx, id)
	})
}

// RevokeLoginSessionByTokenHash ends the live session whose cookie secret
// hashes to hash, as RevokeLoginSession does: its tokens deleted, its
// clients forgotten and those listening told (endSessions). ErrNotFound when
// no live session has it. A browser signing out ends its session this way:
// on PostgreSQL one statement, without reading the session first (four
// before).
func (s *Store) RevokeLoginSessionByTokenHash(ctx context.Context, hash string) error {
	const op = "revoke login session"
	ended, err := s.endByTokenHash(ctx, op, hash)
	if err == nil && !ended {
		return fmt.Errorf("%s: %w", op, models.ErrNotFound)
	}
	return err
}

// StartLoginSession writes a browser's sign-in (models.SessionStart):
// the live session whose cookie secret hashes to st.Replaced ends (as
// RevokeLoginSessionByTokenHash ends it; none is no error), st.Session
// starts, st.Event is recorded (as RecordAuthEvent records it) and
// st.InteractionID, if still open, records the session
// (st.InteractionMarked says). st.Ceremony and st.Use, when set, are
// written first and gate the rest (ErrCeremonySpent, ErrConsumed when
// they lose). All commit together: on PostgreSQL in one statement.
// st.Interaction and st.Owner, when given, are kept for the resume
// (handoff.go) once the start has committed.
func (s *Store) StartLoginSession(ctx context.Context, st *models.SessionStart) error {
	if err := s.startLoginSession(ctx, st); err != nil {
		return err
	}
	// Inside a caller's transaction the start may yet roll back: nothing
	// is kept.
	if !inTx(ctx) {
		s.handoff.remember(st)
	}
	return nil
}

func (s *Store) startLoginSession(ctx context.Context, st *models.SessionStart) error {
	const op = "start login session"
	st.InteractionMarked = false
	if st.Event != nil {
		if st.Event.At.IsZero() {
			st.Event.At = Now()
		}
		st.Event.Pending = true
	}
	if s.dialect != migrations.Postgres {
		return s.WithTx(ctx, func(ctx context.Context) error {
			if st.Ceremony != nil {
				if err := s.SpendCeremony(ctx, st.Ceremony); err != nil {
					if models.IsGone(err) {
						return fmt.Errorf("%s: %w", op, models.ErrCeremonySpent)
					}
					return err
				}
			}
			if st.Use != nil {
				if err := s.recordUse(ctx, st.Use); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
			}
			if err := s.CreateLoginSession(ctx, st.Session); err != nil {
				return err
			}
			if st.Replaced != "" {
				if _, err := s.endByTokenHash(ctx, op, st.Replaced); err != nil {
					return err
				}
			}
			if st.Event != nil {
				if err := s.RecordAuthEvent(ctx, st.Event); err != nil {
					return err
				}
			}
			if st.InteractionID == "" {
				return nil
			}
			switch err := s.CompleteInteractionLogin(ctx, st.InteractionID, st.Session.ID); {
			case err == nil:
				st.InteractionMarked = true
			case !errors.Is(err, models.ErrNotFound):
				return err
			}
			return nil
		})
	}
	// One data-modifying WITH, outside any transaction: the ceremony's
	// spend and the passkey's use (k and g: the gates every other write
	// selects from), the old session's end (s, t, c) with the logout
	// notices of its listening clients (l), the new session (n), the
	// event (e) and the interaction's mark (i); it answers whether the
	// gates opened and the interaction was marked.
	var targets map[string][]string
	if st.Event != nil {
		var err error
		if targets, err = s.authEventTargets(ctx, st.Event); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	var b strings.Builder
	var args []any
	now := dbTime(Now())
	from, exists, spent, used, marked := "", "", "1", "1", "0"
	b.WriteString("WITH ")
	if st.Ceremony != nil {
		b.WriteString(ceremonySpendCTE + ", ")
		args = append(args, ceremonySpendArgs(st.Ceremony)...)
		from, exists, spent = " FROM k", " AND EXISTS (SELECT 1 FROM k)", "(SELECT count(*) FROM k)"
	}
	if st.Use != nil {
		b.WriteString(fmt.Sprintf(credentialUseCTE, exists) + ", ")
		args = append(args, credentialUseArgs(st.Use)...)
		from, exists, used = " FROM g", " AND EXISTS (SELECT 1 FROM g)", "(SELECT count(*) FROM g)"
	}
	if st.Replaced != "" {
		b.WriteString(endSessionCTE + exists + " RETURNING id\n), " + endSessionRest + ", " + logoutNoticesCTE + ", ")
		args = append(args, now, st.Replaced, now, []string{models.KindAccessToken, models.KindRefreshToken}, models.MailPending, now, now)
	}
	for _, r := range []struct {
		name string
		row  any
	}{{"n", st.Session}, {"e", st.Event}} {
		if r.name == "e" && st.Event == nil {
			continue
		}
		if r.name != "n" {
			b.WriteString(", ")
		}
		table, cols, vals, err := s.insertValues(ctx, r.row)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		fmt.Fprintf(&b, "%s AS (INSERT INTO %s (%s) SELECT %s%s)", r.name, table, strings.Join(cols, ", "), placeholders(len(cols)), from)
		args = append(args, vals...)
	}
	if st.InteractionID != "" {
		b.WriteString(", i AS (UPDATE interactions SET login_session_id = ? WHERE id = ? AND consumed_at IS NULL AND expires_at > ?" + exists + " RETURNING 1)")
		args = append(args, st.Session.ID, st.InteractionID, now)
		marked = "(SELECT count(*) FROM i)"
	}
	b.WriteString("\nSELECT " + marked + " AS marked, " + spent + " AS spent, " + used + " AS used")
	write := func(ctx context.Context) error {
		rows := make([]startedSession, 0, 1)
		if err := s.conn(ctx).Raw(b.String(), args...).Find(&rows).Error; err != nil {
			return mapErr(op, err)
		}
		switch {
		case len(rows) == 0 || rows[0].Spent == 0:
			return fmt.Errorf("%s: %w", op, models.ErrCeremonySpent)
		case rows[0].Used == 0:
			return fmt.Errorf("%s: credential use: %w", op, models.ErrConsumed)
		}
		st.InteractionMarked = rows[0].Marked > 0
		if len(targets) == 0 {
			return nil
		}
		return s.queueWebhooks(ctx, targets, st.Event.At, authEventWebhookData(st.Event))
	}
	if len(targets) > 0 {
		// The event's webhook deliveries are queued in the same
		// transaction; without any the one statement is the transaction.
		return s.WithTx(ctx, write)
	}
	return write(ctx)
}

// logoutNoticesCTE queues, with the session's end, a logout notice for
// each of its clients that listens for back-channel logout (as
// insertLogoutNotices does; gen_random_uuid is built into PostgreSQL 13
// and later).
const logoutNoticesCTE = `l AS (
	INSERT INTO logout_outbox (id, client_id, session_id, user_id, status, attempts, next_attempt_at, last_error, created_at)
	SELECT replace(gen_random_uuid()::text, '-', ''), c.client_id, c.session_id, c.user_id, ?, 0, ?, '', ?
	FROM c JOIN clients ON clients.id = c.client_id WHERE clients.backchannel_logout_uri <> ''
)`

// startedSession is the answer of StartLoginSession's statement.
type startedSession struct {
	Marked int64
	Spent  int64
	Used   int64
}

// endByTokenHash ends the live session with hash, if there is one; ended
// says whether one ended.
func (s *Store) endByTokenHash(ctx context.Context, op, hash string) (ended bool, err error) {
	if s.dialect != migrations.Postgres {
		// SQLite has no data-modifying WITH: find the session, then end it
		// (in-process statements, cheap).
		err := s.WithTx(ctx, func(ctx context.Context) error {
			var ids []string
			err := s.conn(ctx).Model(&models.LoginSession{}).
				Where("token_hash = ? AND revoked_at IS NULL AND expires_at > ?", hash, Now()).Limit(1).Pluck("id", &ids).Error
			if err != nil {
				return mapErr(op, err)
			}
			if len(ids) == 0 {
				return nil
			}
			ended = true
			return s.RevokeLoginSession(ctx, ids[0])
		})
		return ended, err
	}
	now := dbTime(Now())
	q, args := endByTokenHashSQL, []any{now, hash, now, []string{models.KindAccessToken, models.KindRefreshToken}}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		rows := make([]endedSessionClient, 0, 4)
		if err := s.conn(ctx).Raw(q, args...).Find(&rows).Error; err != nil {
			return mapErr(op, err)
		}
		ended = len(rows) > 0
		var gone []models.SessionClient
		for _, r := range rows {
			if r.ClientID != nil && r.Listening != nil && *r.Listening {
				gone = append(gone, models.SessionClient{SessionID: r.Ended, ClientID: *r.ClientID, UserID: *r.UserID})
			}
		}
		return s.insertLogoutNotices(ctx, op, gone)
	})
	return ended, err
}

// endByTokenHashSQL ends a session by its token hash in one PostgreSQL
// statement: the session revoked (s), its tokens deleted (t: the predicate
// of sessionTokensWhere, so the partial index serves it) and its clients
// forgotten (c). One row per forgotten client, with whether it listens for
// back-channel logout (looked up per row through the primary key, so no
// plan scans clients), or one with NULLs when it had none; no row when no
// live session has the hash. token_hash is unique, so
// (SELECT id FROM s) is one id or NULL (which matches nothing).
const endByTokenHashSQL = endByTokenHashWith + endByTokenHashSelect

const endByTokenHashWith = "WITH " + endSessionCTE + " RETURNING id\n), " + endSessionRest

// endSessionCTE, a condition (optional), " RETURNING id\n), " and
// endSessionRest are the CTEs s, t and c of endByTokenHashSQL.
const endSessionCTE = `s AS (
	UPDATE login_sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?`

const endSessionRest = `t AS (
	DELETE FROM oauth2_requests WHERE session_id = (SELECT id FROM s) AND session_id <> '' AND kind IN ?
), c AS (
	DELETE FROM session_clients WHERE session_id = (SELECT id FROM s) RETURNING session_id, client_id, user_id
)`

const endByTokenHashSelect = `
SELECT s.id AS ended, c.client_id, c.user_id,
	(SELECT clients.backchannel_logout_uri <> '' FROM clients WHERE clients.id = c.client_id) AS listening
FROM s LEFT JOIN c ON c.session_id = s.id`

// endedSessionClient is a row of endByTokenHashSQL.
type endedSessionClient struct {
	Ended     string
	ClientID  *string
	UserID    *string
	Listening *bool
}

// RevokeUserLoginSessions ends every session of a user and deletes all the
// user's tokens; the sessions' clients get logout notices (endSessions).
func (s *Store) RevokeUserLoginSessions(ctx context.Context, userID string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.endSessions(ctx, "revoke user login sessions", "user_id = ? AND revoked_at IS NULL", userID); err != nil {
			return err
		}
		err := s.conn(ctx).Where("subject = ? AND kind IN ?", userID,
			[]string{models.KindAccessToken, models.KindRefreshToken}).Delete(&models.OAuth2Request{}).Error
		return mapErr("revoke user tokens", err)
	})
}

// TouchLoginSession records activity; it is best effort and cheap.
func (s *Store) TouchLoginSession(ctx context.Context, id string, at time.Time) error {
	err := s.conn(ctx).Model(&models.LoginSession{}).Where("id = ?", id).Update("last_seen_at", dbTime(at)).Error
	return mapErr("touch login session", err)
}

// CreateInteraction inserts an interaction (on PostgreSQL with a relaxed
// commit, relaxedCommit).
func (s *Store) CreateInteraction(ctx context.Context, in *models.Interaction) error {
	const op = "create interaction"
	if !s.ownTransaction(ctx) {
		return mapErr(op, s.conn(ctx).Create(in).Error)
	}
	// A request waiting for its sign-in: a crash may lose it (the user
	// starts again), so its commit is relaxed (relaxedCommit).
	return s.insertRelaxed(ctx, op, in)
}

// GetInteraction loads an unconsumed, unexpired interaction.
func (s *Store) GetInteraction(ctx context.Context, id string) (*models.Interaction, error) {
	var in models.Interaction
	if err := s.conn(ctx).Where("id = ?", id).Take(&in).Error; err != nil {
		return nil, mapErr("get interaction", err)
	}
	if err := in.Usable(Now()); err != nil {
		return &in, fmt.Errorf("get interaction: %w", err)
	}
	return &in, nil
}

// InteractionWithSession reads an interaction and the live login session
// whose cookie secret hashes to sessionHash, with the session's user, in
// one statement: the login page and the authorization's resume ask for
// both. The interaction's errors are GetInteraction's (a consumed or
// expired one comes back with its error); no such session leaves Session
// and Owner nil.
func (s *Store) InteractionWithSession(ctx context.Context, id, sessionHash string) (*models.InteractionRead, error) {
	const op = "get interaction"
	if read, ok := s.handoff.take(id, sessionHash); ok {
		return read, nil
	}
	if sessionHash == "" {
		in, err := s.GetInteraction(ctx, id)
		if in == nil {
			return nil, err
		}
		return &models.InteractionRead{Interaction: in}, err
	}
	cols, err := s.columnsOf(aliased{&models.LoginSession{}, "ls"}, aliased{&models.User{}, "owner"})
	if err != nil {
		return nil, mapErr(op, err)
	}
	q := `SELECT interactions.*, ` + cols + `
FROM interactions LEFT JOIN (login_sessions ls JOIN users owner ON owner.id = ls.user_id)
	ON ls.token_hash = ? AND ls.revoked_at IS NULL AND ls.expires_at > ?
WHERE interactions.id = ?
LIMIT 1`
	rows := make([]interactionSession, 0, 1)
	if err := s.conn(ctx).Raw(q, sessionHash, Now(), id).Find(&rows).Error; err != nil {
		return nil, mapErr(op, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: %w", op, models.ErrNotFound)
	}
	r := &rows[0]
	out := &models.InteractionRead{Interaction: &r.Interaction}
	if r.LS.ID != "" {
		out.Session, out.Owner = &r.LS, &r.Owner
	}
	if err := r.Interaction.Usable(Now()); err != nil {
		return out, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// interactionSession is a row of InteractionWithSession.
type interactionSession struct {
	models.Interaction `gorm:"embedded"`
	LS                 models.LoginSession `gorm:"embedded;embeddedPrefix:ls_"`
	Owner              models.User         `gorm:"embedded;embeddedPrefix:owner_"`
}

// CompleteInteractionLogin records the login session that satisfied it.
func (s *Store) CompleteInteractionLogin(ctx context.Context, id, loginSessionID string) error {
	s.handoff.forget(id)
	res := s.conn(ctx).Model(&models.Interaction{}).
		Where("id = ? AND consumed_at IS NULL AND expires_at > ?", id, Now()).
		Update("login_session_id", loginSessionID)
	return affected("complete interaction login", res)
}

// SetInteractionConsent records that the user approved the consent page.
func (s *Store) SetInteractionConsent(ctx context.Context, id string) error {
	s.handoff.forget(id)
	res := s.conn(ctx).Model(&models.Interaction{}).
		Where("id = ? AND consumed_at IS NULL AND expires_at > ?", id, Now()).
		Update("consent_given", true)
	return affected("set interaction consent", res)
}

// ConsumeInteraction marks an interaction used; exactly one caller wins.
func (s *Store) ConsumeInteraction(ctx context.Context, id string) error {
	s.handoff.forget(id)
	res := s.conn(ctx).Model(&models.Interaction{}).
		Where("id = ? AND consumed_at IS NULL", id).Update("consumed_at", Now())
	if res.Error != nil {
		return mapErr("consume interaction", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("consume interaction: %w", models.ErrConsumed)
	}
	return nil
}

// SetInteractionError records that the user ended the flow with an OAuth
// error (e.g. access_denied at the consent page).
func (s *Store) SetInteractionError(ctx context.Context, id, code string) error {
	s.handoff.forget(id)
	res := s.conn(ctx).Model(&models.Interaction{}).
		Where("id = ? AND consumed_at IS NULL AND expires_at > ?", id, Now()).
		Update("error", code)
	return affected("set interaction error", res)
}
