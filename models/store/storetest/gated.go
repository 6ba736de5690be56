package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// gatedTests: a step's single-use gate and the rows it lets through are
// written all or none (one statement on PostgreSQL, a transaction on
// SQLite): the resumed authorization (the interaction's spend, the
// session's new client, the code's records) and the code's exchange (its
// spend, the token pair).
var gatedTests = []subtest{
	{"RelaxedCommitsOnlyForScratchState", func(t *testing.T, s *store.Store) {
		// On PostgreSQL a deferred trigger notes, at each commit that
		// wrote one of this test's rows, the synchronous_commit it commits
		// with: a waiting authorization request and a granted one commit
		// relaxed; a code's exchange, and any write in a caller's
		// transaction, do not; and no connection keeps the relaxation.
		pg := s.Dialect() == "postgres"
		modes := func() map[string]string { return nil }
		if pg {
			modes = WatchCommitModes(t, s)
		}
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		c := createClient(t, s)
		in := newInteraction(c.ID, 10*time.Minute)
		must(t, s.CreateInteraction(t.Context(), in))
		rows := codeRecords(c.ID, u.ID, ls.ID)
		sc := &models.SessionClient{SessionID: ls.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: at(0), ExpiresAt: ls.ExpiresAt}
		must(t, s.CompleteAuthorization(t.Context(), in.ID, sc, rows))
		tokens := tokenPair(rows[0])
		must(t, s.RedeemOAuth2Request(t.Context(), rows[0].Kind, rows[0].Signature, tokens))
		inTx := newInteraction(c.ID, 10*time.Minute)
		must(t, s.WithTx(t.Context(), func(ctx context.Context) error { return s.CreateInteraction(ctx, inTx) }))
		// An app's own access token (client_credentials), alone and in a
		// caller's transaction.
		appTok, appTokInTx := appToken(c.ID), appToken(c.ID)
		must(t, s.CreateOAuth2RequestRelaxed(t.Context(), appTok))
		must(t, s.WithTx(t.Context(), func(ctx context.Context) error { return s.CreateOAuth2RequestRelaxed(ctx, appTokInTx) }))
		for _, r := range []*models.OAuth2Request{appTok, appTokInTx} {
			got, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
			must(t, err)
			sameRow(t, r, got)
		}
		got, err := s.GetInteraction(t.Context(), in.ID)
		wantErr(t, "get the completed interaction", err, models.ErrConsumed)
		if got == nil || got.ClientID != c.ID {
			t.Fatalf("the relaxed interaction reads back as %+v", got)
		}
		if _, err := s.GetInteraction(t.Context(), inTx.ID); err != nil {
			t.Fatalf("the interaction created in a transaction: %v", err)
		}
		if !pg {
			return
		}
		want := map[string]string{
			"INSERT interactions " + in.ID:                   "off", // waiting for its sign-in
			"UPDATE interactions " + in.ID:                   "off", // granted: spent with its code
			"INSERT oauth2_requests " + rows[0].Signature:    "off",
			"UPDATE oauth2_requests " + rows[0].Signature:    "on", // the code's exchange
			"INSERT oauth2_requests " + tokens[0].Signature:  "on",
			"INSERT oauth2_requests " + tokens[1].Signature:  "on",
			"INSERT interactions " + inTx.ID:                 "on",  // in a caller's transaction
			"INSERT oauth2_requests " + appTok.Signature:     "off", // an app's own token
			"INSERT oauth2_requests " + appTokInTx.Signature: "on",
		}
		committed := modes()
		for k, v := range want {
			if committed[k] != v {
				t.Errorf("%s committed with synchronous_commit %q, want %q", k, committed[k], v)
			}
		}
		db, err := s.SQLDB()
		must(t, err)
		for range 2 * db.Stats().OpenConnections {
			var setting string
			must(t, db.QueryRowContext(t.Context(), "SHOW synchronous_commit").Scan(&setting))
			if setting != "on" {
				t.Fatalf("a pooled connection keeps synchronous_commit = %s", setting)
			}
		}
	}},
	{"CompleteAuthorizationWritesAllOnce", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		c := createClient(t, s)
		in := createInteraction(t, s, c.ID, 10*time.Minute)
		rows := codeRecords(c.ID, u.ID, ls.ID)
		sc := &models.SessionClient{SessionID: ls.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: at(0), ExpiresAt: ls.ExpiresAt}
		must(t, s.CompleteAuthorization(t.Context(), in.ID, sc, rows))
		for _, r := range rows {
			if r.CreatedAt.IsZero() {
				t.Errorf("%s: CreatedAt not set", r.Kind)
			}
			got, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
			must(t, err)
			sameRow(t, r, got)
		}
		_, err := s.GetInteraction(t.Context(), in.ID)
		wantErr(t, "get the completed interaction", err, models.ErrConsumed)
		scs, err := s.ListSessionClients(t.Context(), ls.ID)
		must(t, err)
		if len(scs) != 1 || scs[0].ClientID != c.ID || scs[0].UserID != u.ID {
			t.Fatalf("session clients = %+v, want the one client", scs)
		}
		sameRow(t, sc, &scs[0])

		// The spent interaction lets nothing more through.
		again := codeRecords(c.ID, u.ID, ls.ID)
		wantErr(t, "complete the interaction again", s.CompleteAuthorization(t.Context(), in.ID, sc, again), models.ErrConsumed)
		absent(t, s, again...)

		// Without an interaction (the browser was signed in already) the
		// rows are written, and the client already recorded is no error.
		more := codeRecords(c.ID, u.ID, ls.ID)
		must(t, s.CompleteAuthorization(t.Context(), "", sc, more))
		for _, r := range more {
			_, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
			must(t, err)
		}
		scs, err = s.ListSessionClients(t.Context(), ls.ID)
		must(t, err)
		if len(scs) != 1 {
			t.Errorf("session clients after a second grant = %+v, want still one", scs)
		}
		wantErr(t, "complete an unknown interaction", s.CompleteAuthorization(t.Context(), newID("ia"), sc, codeRecords(c.ID, u.ID, ls.ID)), models.ErrConsumed)
	}},
	{"CompleteAuthorizationAllOrNone", func(t *testing.T, s *store.Store) {
		// A row that cannot be written fails the whole step: the
		// interaction is not spent and can complete afterwards.
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		c := createClient(t, s)
		in := createInteraction(t, s, c.ID, 10*time.Minute)
		taken := createRequest(t, s, models.KindAuthorizeCode, newID("req"), c.ID, u.ID, ls.ID)
		rows := codeRecords(c.ID, u.ID, ls.ID)
		dup := *taken
		sc := &models.SessionClient{SessionID: ls.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: at(0), ExpiresAt: ls.ExpiresAt}
		wantErr(t, "complete with a duplicate record", s.CompleteAuthorization(t.Context(), in.ID, sc, append(rows, &dup)), models.ErrAlreadyExists)
		absent(t, s, rows...)
		scs, err := s.ListSessionClients(t.Context(), ls.ID)
		must(t, err)
		if len(scs) != 0 {
			t.Errorf("session clients after a failed step = %+v, want none", scs)
		}
		if _, err := s.GetInteraction(t.Context(), in.ID); err != nil {
			t.Fatalf("the interaction after a failed step: %v, want it still open", err)
		}
		must(t, s.CompleteAuthorization(t.Context(), in.ID, sc, codeRecords(c.ID, u.ID, ls.ID)))
	}},
	{"CompleteAuthorizationNeedsTheLiveSession", func(t *testing.T, s *store.Store) {
		// An interaction's spend also needs the session it grants for
		// still live and its user not disabled: a grant decided on a read
		// older than a sign-out, a revocation or a disabled account
		// (handoff.go) writes nothing, and the interaction stays open.
		ctx := t.Context()
		c := createClient(t, s)
		for name, end := range map[string]func(u *models.User, ls *models.LoginSession) error{
			"revoked session":        func(_ *models.User, ls *models.LoginSession) error { return s.RevokeLoginSession(ctx, ls.ID) },
			"disabled user":          func(u *models.User, _ *models.LoginSession) error { return s.SetUserDisabled(ctx, u.ID, true) },
			"another user's session": func(*models.User, *models.LoginSession) error { return nil },
		} {
			u := createUser(t, s)
			ls := createLoginSession(t, s, u.ID, time.Hour)
			must(t, end(u, ls))
			userID := u.ID
			if name == "another user's session" {
				userID = createUser(t, s).ID
			}
			in := createInteraction(t, s, c.ID, 10*time.Minute)
			rows := codeRecords(c.ID, userID, ls.ID)
			sc := &models.SessionClient{SessionID: ls.ID, ClientID: c.ID, UserID: userID, CreatedAt: at(0), ExpiresAt: ls.ExpiresAt}
			wantErr(t, name, s.CompleteAuthorization(ctx, in.ID, sc, rows), models.ErrConsumed)
			absent(t, s, rows...)
			if _, err := s.GetInteraction(ctx, in.ID); err != nil {
				t.Errorf("%s: the interaction after a refused spend: %v, want it open", name, err)
			}
		}
	}},
	{"CompleteAuthorizationOnce", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		c := createClient(t, s)
		in := createInteraction(t, s, c.ID, 10*time.Minute)
		written := raceGated(t, s, func() []*models.OAuth2Request { return codeRecords(c.ID, u.ID, ls.ID) },
			func(rows []*models.OAuth2Request) error {
				sc := &models.SessionClient{SessionID: ls.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: at(0), ExpiresAt: ls.ExpiresAt}
				return s.CompleteAuthorization(t.Context(), in.ID, sc, rows)
			})
		if written != 3 {
			t.Errorf("%d records written by %d racing completions, want the winner's 3", written, racers)
		}
	}},
	{"RedeemOnce", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		c := createClient(t, s)
		code := createRequest(t, s, models.KindAuthorizeCode, newID("req"), c.ID, u.ID, newID("sid"))
		pair := tokenPair(code)
		must(t, s.RedeemOAuth2Request(t.Context(), code.Kind, code.Signature, pair))
		for _, r := range pair {
			got, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
			must(t, err)
			sameRow(t, r, got)
		}
		got, err := s.GetOAuth2Request(t.Context(), code.Kind, code.Signature)
		must(t, err)
		if got.Active || got.DeactivatedAt == nil {
			t.Errorf("the redeemed code: active %v, deactivated at %v; want inactive with a time", got.Active, got.DeactivatedAt)
		}
		again := tokenPair(code)
		wantErr(t, "redeem the code again", s.RedeemOAuth2Request(t.Context(), code.Kind, code.Signature, again), models.ErrConsumed)
		absent(t, s, again...)
		unknown := tokenPair(code)
		wantErr(t, "redeem an unknown code", s.RedeemOAuth2Request(t.Context(), code.Kind, newID("sig"), unknown), models.ErrConsumed)
		absent(t, s, unknown...)

		// Racing exchanges: one wins, only its pair is written.
		racy := createRequest(t, s, models.KindAuthorizeCode, newID("req"), c.ID, u.ID, newID("sid"))
		written := raceGated(t, s, func() []*models.OAuth2Request { return tokenPair(racy) },
			func(p []*models.OAuth2Request) error {
				return s.RedeemOAuth2Request(t.Context(), racy.Kind, racy.Signature, p)
			})
		if written != 2 {
			t.Errorf("%d tokens written by %d racing exchanges, want the winner's 2", written, racers)
		}
	}},
	{"RedeemJoinsTheCallersTransaction", func(t *testing.T, s *store.Store) {
		// Inside a transaction the writes are part of it: a rollback
		// leaves the code unspent and no tokens.
		u := createUser(t, s)
		c := createClient(t, s)
		code := createRequest(t, s, models.KindAuthorizeCode, newID("req"), c.ID, u.ID, "")
		pair := tokenPair(code)
		rolledBack := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.RedeemOAuth2Request(ctx, code.Kind, code.Signature, pair))
			return errRollback
		})
		wantErr(t, "the rolled-back transaction", rolledBack, errRollback)
		absent(t, s, pair...)
		must(t, s.RedeemOAuth2Request(t.Context(), code.Kind, code.Signature, tokenPair(code)))
	}},
}

var errRollback = errors.New("roll back")

// codeRecords are a code's three records (code, PKCE, OpenID Connect)
// under one new signature.
func codeRecords(clientID, userID, sessionID string) []*models.OAuth2Request {
	code := newRequest(models.KindAuthorizeCode, newID("req"), clientID, userID, sessionID)
	pkce, oidc := *code, *code
	pkce.Kind, oidc.Kind = models.KindPKCE, models.KindOIDC
	oidc.Data = `{"oidc":true}`
	return []*models.OAuth2Request{code, &pkce, &oidc}
}

// tokenPair is an access and a refresh token issued for code.
func tokenPair(code *models.OAuth2Request) []*models.OAuth2Request {
	access := newRequest(models.KindAccessToken, code.RequestID, code.ClientID, code.Subject, code.SessionID)
	refresh := newRequest(models.KindRefreshToken, code.RequestID, code.ClientID, code.Subject, code.SessionID)
	refresh.AccessSignature = access.Signature
	refresh.CreatedAt = at(0) // a time given is kept
	return []*models.OAuth2Request{access, refresh}
}

// appToken is an app's own access token (client_credentials): no
// subject, no session.
func appToken(clientID string) *models.OAuth2Request {
	return newRequest(models.KindAccessToken, newID("req"), clientID, clientID, "")
}

// raceGated runs racers gated writes at once, each of its own fresh rows,
// checks that exactly one won (the others models.ErrConsumed) and says how
// many of all their rows were written.
func raceGated(t *testing.T, s *store.Store, fresh func() []*models.OAuth2Request, write func([]*models.OAuth2Request) error) int {
	t.Helper()
	sets := make(chan []*models.OAuth2Request, racers)
	errs := race(racers, func() error {
		rows := fresh()
		sets <- rows
		return write(rows)
	})
	exactlyOneWins(t, errs, models.ErrConsumed)
	close(sets)
	written := 0
	for rows := range sets {
		for _, r := range rows {
			if _, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature); err == nil {
				written++
			}
		}
	}
	return written
}

// absent fails if any of rows was written.
func absent(t *testing.T, s *store.Store, rows ...*models.OAuth2Request) {
	t.Helper()
	for _, r := range rows {
		_, err := s.GetOAuth2Request(t.Context(), r.Kind, r.Signature)
		wantErr(t, "a record that must not have been written ("+r.Kind+")", err, models.ErrNotFound)
	}
}

// WatchCommitModes installs, on PostgreSQL, deferred triggers that note
// for every row written to interactions and oauth2_requests the
// synchronous_commit its transaction commits with; the function returns
// them by "OP table key" (key: the row's id or signature).
func WatchCommitModes(t *testing.T, s *store.Store) func() map[string]string {
	t.Helper()
	db, err := s.SQLDB()
	must(t, err)
	table := "commit_modes_" + randHex(4)
	for _, q := range []string{
		"CREATE TABLE " + table + " (what TEXT NOT NULL, mode TEXT NOT NULL)",
		`CREATE FUNCTION ` + table + `() RETURNS trigger AS $$
BEGIN
  INSERT INTO ` + table + ` VALUES (TG_OP || ' ' || TG_TABLE_NAME || ' ' || coalesce(to_jsonb(NEW)->>'signature', to_jsonb(NEW)->>'id'),
    current_setting('synchronous_commit'));
  RETURN NULL;
END; $$ LANGUAGE plpgsql`,
		"CREATE CONSTRAINT TRIGGER " + table + " AFTER INSERT OR UPDATE ON interactions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION " + table + "()",
		"CREATE CONSTRAINT TRIGGER " + table + " AFTER INSERT OR UPDATE ON oauth2_requests DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION " + table + "()",
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP TRIGGER " + table + " ON interactions", "DROP TRIGGER " + table + " ON oauth2_requests",
			"DROP FUNCTION " + table + "()", "DROP TABLE " + table} {
			if _, err := db.ExecContext(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	return func() map[string]string {
		rows, err := db.QueryContext(t.Context(), "SELECT what, mode FROM "+table)
		must(t, err)
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var what, mode string
			must(t, rows.Scan(&what, &mode))
			out[what] = mode
		}
		must(t, rows.Err())
		return out
	}
}
