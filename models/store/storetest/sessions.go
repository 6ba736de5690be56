package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var loginSessionTests = []subtest{
	{"CreateGet", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		if ls.CreatedAt.IsZero() {
			t.Error("CreatedAt not set")
		}
		got, err := s.GetLoginSessionByTokenHash(t.Context(), ls.TokenHash)
		must(t, err)
		sameRow(t, ls, got)
		got, err = s.GetLoginSession(t.Context(), ls.ID)
		must(t, err)
		sameRow(t, ls, got)

		// With its user, in one read: the same rows as the two reads.
		withUser, owner, err := s.GetLoginSessionWithUser(t.Context(), ls.TokenHash)
		must(t, err)
		sameRow(t, ls, withUser)
		stored, err := s.GetUser(t.Context(), u.ID)
		must(t, err)
		sameRow(t, stored, owner)

		_, err = s.GetLoginSessionByTokenHash(t.Context(), randHex(32))
		wantErr(t, "get session by unknown hash", err, models.ErrNotFound)
		_, _, err = s.GetLoginSessionWithUser(t.Context(), randHex(32))
		wantErr(t, "get session with user by unknown hash", err, models.ErrNotFound)
		_, err = s.GetLoginSession(t.Context(), newID("sid"))
		wantErr(t, "get unknown session", err, models.ErrNotFound)

		dup := newLoginSession(u.ID, time.Hour)
		dup.TokenHash = ls.TokenHash
		wantErr(t, "create session with taken token hash", s.CreateLoginSession(t.Context(), dup), models.ErrAlreadyExists)
	}},
	{"UnknownUserRejected", func(t *testing.T, s *store.Store) {
		// login_sessions.user_id references users: foreign keys are enforced.
		err := s.CreateLoginSession(t.Context(), newLoginSession(newID("nobody"), time.Hour))
		if err == nil {
			t.Fatal("created a login session for a user that does not exist")
		}
		if errors.Is(err, models.ErrAlreadyExists) || errors.Is(err, models.ErrNotFound) {
			t.Errorf("foreign key violation reported as %v", err)
		}
	}},
	{"ExpiredAndRevokedNotReturned", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		expired := createLoginSession(t, s, u.ID, -time.Second)
		revoked := newLoginSession(u.ID, time.Hour)
		revoked.RevokedAt = ptr(at(-time.Minute))
		must(t, s.CreateLoginSession(t.Context(), revoked))
		for _, ls := range []*models.LoginSession{expired, revoked} {
			_, err := s.GetLoginSessionByTokenHash(t.Context(), ls.TokenHash)
			wantErr(t, "get dead session by hash", err, models.ErrNotFound)
			_, err = s.GetLoginSession(t.Context(), ls.ID)
			wantErr(t, "get dead session by id", err, models.ErrNotFound)
			_, _, err = s.GetLoginSessionWithUser(t.Context(), ls.TokenHash)
			wantErr(t, "get dead session with user", err, models.ErrNotFound)
		}
		list, err := s.ListUserLoginSessions(t.Context(), u.ID)
		must(t, err)
		if len(list) != 0 {
			t.Errorf("listed %d dead sessions", len(list))
		}
	}},
	{"RevokeDeletesItsTokens", func(t *testing.T, s *store.Store) {
		// The same end by the session's id and by its cookie's token hash
		// (a browser signing in again or out; one statement on PostgreSQL).
		for _, by := range []struct {
			name   string
			revoke func(ls *models.LoginSession) error
		}{
			{"ID", func(ls *models.LoginSession) error { return s.RevokeLoginSession(t.Context(), ls.ID) }},
			{"TokenHash", func(ls *models.LoginSession) error {
				return s.RevokeLoginSessionByTokenHash(t.Context(), ls.TokenHash)
			}},
		} {
			t.Run(by.name, func(t *testing.T) {
				u := createUser(t, s)
				c := createClient(t, s)
				ls, other := createLoginSession(t, s, u.ID, time.Hour), createLoginSession(t, s, u.ID, time.Hour)
				code, access, refresh := grantTokens(t, s, c.ID, u.ID, ls.ID)
				_, otherAccess, otherRefresh := grantTokens(t, s, c.ID, u.ID, other.ID)

				must(t, by.revoke(ls))
				_, err := s.GetLoginSessionByTokenHash(t.Context(), ls.TokenHash)
				wantErr(t, "get revoked session", err, models.ErrNotFound)
				wantRequests(t, s, false, access, refresh)
				wantRequests(t, s, true, code, otherAccess, otherRefresh)
				_, err = s.GetLoginSession(t.Context(), other.ID)
				wantErr(t, "other session", err, nil)

				wantErr(t, "revoke twice", by.revoke(ls), models.ErrNotFound)
				missing := newLoginSession(u.ID, time.Hour)
				wantErr(t, "revoke missing", by.revoke(missing), models.ErrNotFound)
			})
		}
		// A browser's expired session is not its session any more: ending
		// by the cookie's hash leaves it (and its tokens) to the sweep.
		u := createUser(t, s)
		expired := createLoginSession(t, s, u.ID, -time.Second)
		_, access, refresh := grantTokens(t, s, createClient(t, s).ID, u.ID, expired.ID)
		wantErr(t, "revoke expired by hash", s.RevokeLoginSessionByTokenHash(t.Context(), expired.TokenHash), models.ErrNotFound)
		wantRequests(t, s, true, access, refresh)
	}},
	{"StartReplacesTheBrowsersSession", func(t *testing.T, s *store.Store) {
		// A sign-in in a browser that held a session: the new one starts
		// and the old one ends as RevokeLoginSessionByTokenHash ends it
		// (its tokens deleted, its listening clients told), together.
		u := createUser(t, s)
		listening, plain := createLogoutClient(t, s), createClient(t, s)
		old := createLoginSession(t, s, u.ID, time.Hour)
		signedIn(t, s, old, listening, plain)
		code, access, refresh := grantTokens(t, s, plain.ID, u.ID, old.ID)
		next := newLoginSession(u.ID, time.Hour)
		must(t, s.StartLoginSession(t.Context(), &models.SessionStart{Replaced: old.TokenHash, Session: next}))
		got, err := s.GetLoginSessionByTokenHash(t.Context(), next.TokenHash)
		must(t, err)
		sameRow(t, next, got)
		_, err = s.GetLoginSessionByTokenHash(t.Context(), old.TokenHash)
		wantErr(t, "get the replaced session", err, models.ErrNotFound)
		wantRequests(t, s, false, access, refresh)
		wantRequests(t, s, true, code)
		if got, want := noticeClients(t, s, old.ID), []string{listening.ID}; !slices.Equal(got, want) {
			t.Errorf("notices to %v, want %v", got, want)
		}

		// No session to replace (gone, expired, or none at all): the new
		// one starts all the same.
		expired := createLoginSession(t, s, u.ID, -time.Second)
		for name, hash := range map[string]string{"ended": old.TokenHash, "expired": expired.TokenHash, "unknown": randHex(32), "none": ""} {
			ls := newLoginSession(u.ID, time.Hour)
			must(t, s.StartLoginSession(t.Context(), &models.SessionStart{Replaced: hash, Session: ls}))
			if _, err := s.GetLoginSessionByTokenHash(t.Context(), ls.TokenHash); err != nil {
				t.Errorf("%s: the new session: %v", name, err)
			}
		}

		// A session that cannot start (its token hash taken) ends nothing.
		live := createLoginSession(t, s, u.ID, time.Hour)
		clash := newLoginSession(u.ID, time.Hour)
		clash.TokenHash = next.TokenHash
		wantErr(t, "start a session with a taken token hash", s.StartLoginSession(t.Context(), &models.SessionStart{Replaced: live.TokenHash, Session: clash}), models.ErrAlreadyExists)
		if _, err := s.GetLoginSessionByTokenHash(t.Context(), live.TokenHash); err != nil {
			t.Errorf("the session a failed start was to replace: %v, want it live", err)
		}
	}},
	{"StartRecordsTheSignInsEventAndInteraction", func(t *testing.T, s *store.Store) {
		// A sign-in's event and the authorization it answers are written
		// with its session: an open interaction records the session, a
		// closed one is left as it is (and said so), and a start that
		// fails writes neither.
		ctx := t.Context()
		client := createClient(t, s)
		for _, replacing := range []bool{false, true} {
			u := createUser(t, s)
			var replaced string
			if replacing {
				replaced = createLoginSession(t, s, u.ID, time.Hour).TokenHash
			}
			open := createInteraction(t, s, client.ID, 5*time.Minute)
			ev := &models.AuthEvent{ID: newID("ev"), UserID: u.ID, ClientID: client.ID, Method: models.MethodPasskey,
				Event: models.EventLogin, Result: models.ResultSuccess, IP: "192.0.2.1"}
			st := &models.SessionStart{Replaced: replaced, Session: newLoginSession(u.ID, time.Hour), Event: ev, InteractionID: open.ID}
			must(t, s.StartLoginSession(ctx, st))
			if !st.InteractionMarked {
				t.Errorf("replacing %v: the open interaction was not marked", replacing)
			}
			in, err := s.GetInteraction(ctx, open.ID)
			must(t, err)
			if in.LoginSessionID != st.Session.ID {
				t.Errorf("replacing %v: interaction names session %q, want %q", replacing, in.LoginSessionID, st.Session.ID)
			}
			events, err := s.ListAuthEvents(ctx, u.ID, 10)
			must(t, err)
			if len(events) != 1 || events[0].ID != ev.ID || events[0].ClientID != client.ID || events[0].IP != "192.0.2.1" {
				t.Fatalf("replacing %v: events %+v, want the sign-in's", replacing, events)
			}
			if replacing {
				_, err := s.GetLoginSessionByTokenHash(ctx, replaced)
				wantErr(t, "the replaced session", err, models.ErrNotFound)
			}

			// Closed interactions: consumed, expired, unknown.
			consumed := createInteraction(t, s, client.ID, 5*time.Minute)
			must(t, s.ConsumeInteraction(ctx, consumed.ID))
			expired := createInteraction(t, s, client.ID, -time.Second)
			for _, id := range []string{consumed.ID, expired.ID, newID("ia")} {
				st := &models.SessionStart{Session: newLoginSession(u.ID, time.Hour), InteractionID: id}
				must(t, s.StartLoginSession(ctx, st))
				if st.InteractionMarked {
					t.Errorf("replacing %v: closed interaction %s marked", replacing, id)
				}
				if _, err := s.GetLoginSessionByTokenHash(ctx, st.Session.TokenHash); err != nil {
					t.Errorf("replacing %v: the session of closed interaction %s: %v", replacing, id, err)
				}
			}
			if in, _ := s.GetInteraction(ctx, consumed.ID); in == nil || in.LoginSessionID != "" {
				t.Errorf("replacing %v: the consumed interaction: %+v, want it untouched", replacing, in)
			}

			// A start that fails (its token hash taken) records nothing.
			again := createInteraction(t, s, client.ID, 5*time.Minute)
			clash := newLoginSession(u.ID, time.Hour)
			clash.TokenHash = st.Session.TokenHash
			bad := &models.SessionStart{Replaced: replaced, Session: clash, InteractionID: again.ID,
				Event: &models.AuthEvent{ID: newID("ev"), UserID: u.ID, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}}
			wantErr(t, "a start with a taken token hash", s.StartLoginSession(ctx, bad), models.ErrAlreadyExists)
			if in, err := s.GetInteraction(ctx, again.ID); err != nil || in.LoginSessionID != "" {
				t.Errorf("replacing %v: a failed start marked the interaction: %+v, %v", replacing, in, err)
			}
			if events, _ := s.ListAuthEvents(ctx, u.ID, 10); len(events) != 1 {
				t.Errorf("replacing %v: %d events after a failed start, want 1", replacing, len(events))
			}
		}
	}},
	{"StartIsGatedByThePasskeysUse", func(t *testing.T, s *store.Store) {
		// A passkey sign-in's counter is written with its session and
		// gates it: a use that lost the race for its counter value (or of
		// a passkey flagged meanwhile) writes nothing and ends nothing.
		ctx := t.Context()
		client := createClient(t, s)
		u := createUser(t, s)
		cred := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, PublicKey: "AQ", SignCount: 7}
		must(t, s.CreateCredential(ctx, cred))
		usedAt := time.Now().UTC().Truncate(time.Second)
		use := func(prev, next int64) *models.CredentialUse {
			return &models.CredentialUse{CredentialID: cred.ID, PrevCount: prev, SignCount: next, UserVerified: true, BackupEligible: true, BackupState: true, At: usedAt}
		}
		start := func(replaced string, u *models.CredentialUse) (*models.SessionStart, *models.Interaction, error) {
			in := createInteraction(t, s, client.ID, 5*time.Minute)
			st := &models.SessionStart{Replaced: replaced, Session: newLoginSession(cred.UserID, time.Hour), Use: u, InteractionID: in.ID,
				Event: &models.AuthEvent{ID: newID("ev"), UserID: cred.UserID, Method: models.MethodPasskey, Event: models.EventLogin, Result: models.ResultSuccess}}
			return st, in, s.StartLoginSession(ctx, st)
		}
		old := createLoginSession(t, s, u.ID, time.Hour)
		st, _, err := start(old.TokenHash, use(7, 8))
		must(t, err)
		if !st.InteractionMarked {
			t.Error("the gated start did not mark its interaction")
		}
		got, err := s.GetCredential(ctx, cred.ID)
		must(t, err)
		if got.SignCount != 8 || !got.UserVerified || !got.BackupState || got.LastUsedAt == nil || !got.LastUsedAt.Equal(usedAt) {
			t.Errorf("the credential after its use: %+v", got)
		}
		_, err = s.GetLoginSessionByTokenHash(ctx, old.TokenHash)
		wantErr(t, "the replaced session", err, models.ErrNotFound)

		// The same counter value again, and a flagged passkey: refused,
		// nothing written.
		live := st.Session
		for name, u := range map[string]*models.CredentialUse{"replayed counter": use(7, 8), "stale counter": use(7, 9)} {
			st, in, err := start(live.TokenHash, u)
			wantErr(t, name, err, models.ErrConsumed)
			wantNothingStarted(t, s, name, st, in, live)
		}

		// The ceremony (sealed, held by the browser: not stored) is spent
		// with the session and gates it: one spent since it was read, or
		// expired, starts nothing, and leaves the passkey's counter as it
		// was.
		ceremony := func(expiresIn time.Duration) *models.WebAuthnCeremony {
			return &models.WebAuthnCeremony{ID: newID("cer"), BrowserHash: randHex(32), Kind: models.CeremonyLogin, UserID: u.ID,
				Data: "{}", CreatedAt: at(0), ExpiresAt: at(expiresIn)}
		}
		withCeremony := func(c *models.WebAuthnCeremony, u *models.CredentialUse) (*models.SessionStart, *models.Interaction, error) {
			in := createInteraction(t, s, client.ID, 5*time.Minute)
			st := &models.SessionStart{Replaced: live.TokenHash, Session: newLoginSession(cred.UserID, time.Hour), Ceremony: c, Use: u, InteractionID: in.ID}
			return st, in, s.StartLoginSession(ctx, st)
		}
		spent := ceremony(5 * time.Minute)
		must(t, s.SpendCeremony(ctx, spent))
		for name, c := range map[string]*models.WebAuthnCeremony{"spent": spent, "expired": ceremony(-time.Second)} {
			st, in, err := withCeremony(c, use(8, 9))
			wantErr(t, name+" ceremony", err, models.ErrCeremonySpent)
			wantNothingStarted(t, s, name+" ceremony", st, in, live)
		}
		if got, _ := s.GetCredential(ctx, cred.ID); got == nil || got.SignCount != 8 {
			t.Errorf("the credential after refused ceremonies: %+v, want its counter at 8", got)
		}
		fresh := ceremony(5 * time.Minute)
		st, _, err = withCeremony(fresh, use(8, 9))
		must(t, err)
		wantErr(t, "the ceremony a start spent", s.SpendCeremony(ctx, fresh), models.ErrConsumed)
		live = st.Session

		must(t, s.FlagCredentialClone(ctx, cred.ID))
		st, in, err := start(live.TokenHash, use(9, 10))
		wantErr(t, "flagged passkey", err, models.ErrConsumed)
		wantNothingStarted(t, s, "flagged passkey", st, in, live)
		if events, _ := s.ListAuthEvents(ctx, u.ID, 10); len(events) != 1 {
			t.Errorf("%d events, want the one sign-in's", len(events))
		}
		if errors.Is(models.ErrConsumed, models.ErrCeremonySpent) || !errors.Is(models.ErrCeremonySpent, models.ErrConsumed) {
			t.Error("ErrCeremonySpent is a kind of ErrConsumed, not the reverse")
		}
	}},
	{"ListUserSessions", func(t *testing.T, s *store.Store) {
		u, other := createUser(t, s), createUser(t, s)
		var want []string
		for i := range 3 {
			ls := newLoginSession(u.ID, time.Hour)
			ls.CreatedAt = at(time.Duration(i) * time.Millisecond)
			must(t, s.CreateLoginSession(t.Context(), ls))
			want = append([]string{ls.ID}, want...) // newest first
		}
		createLoginSession(t, s, u.ID, -time.Second)
		createLoginSession(t, s, other.ID, time.Hour)
		list, err := s.ListUserLoginSessions(t.Context(), u.ID)
		must(t, err)
		got := make([]string, len(list))
		for i, ls := range list {
			got[i] = ls.ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("sessions = %v, want %v", got, want)
		}
	}},
	{"Touch", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		seen := at(time.Minute)
		must(t, s.TouchLoginSession(t.Context(), ls.ID, seen))
		got, err := s.GetLoginSession(t.Context(), ls.ID)
		must(t, err)
		sameTime(t, "LastSeenAt", seen, got.LastSeenAt)
	}},
}

var interactionTests = []subtest{
	{"CreateGet", func(t *testing.T, s *store.Store) {
		in := createInteraction(t, s, newID("client"), 10*time.Minute)
		if in.CreatedAt.IsZero() {
			t.Error("CreatedAt not set")
		}
		got, err := s.GetInteraction(t.Context(), in.ID)
		must(t, err)
		sameRow(t, in, got)

		noMaxAge := newInteraction(in.ClientID, 10*time.Minute)
		noMaxAge.MaxAge = nil
		must(t, s.CreateInteraction(t.Context(), noMaxAge))
		got, err = s.GetInteraction(t.Context(), noMaxAge.ID)
		must(t, err)
		sameRow(t, noMaxAge, got)

		zero := newInteraction(in.ClientID, 10*time.Minute)
		zero.MaxAge = ptr(0) // max_age=0 is meaningful: always re-authenticate
		must(t, s.CreateInteraction(t.Context(), zero))
		got, err = s.GetInteraction(t.Context(), zero.ID)
		must(t, err)
		if got.MaxAge == nil || *got.MaxAge != 0 {
			t.Errorf("MaxAge = %v, want 0", got.MaxAge)
		}

		// A request without scopes (fosite allows it) keeps an empty list.
		noScopes := newInteraction(in.ClientID, 10*time.Minute)
		noScopes.Scopes = nil
		must(t, s.CreateInteraction(t.Context(), noScopes))
		got, err = s.GetInteraction(t.Context(), noScopes.ID)
		must(t, err)
		if len(got.Scopes) != 0 || got.RedirectURI != noScopes.RedirectURI {
			t.Errorf("Scopes %v RedirectURI %q, want none and %q", got.Scopes, got.RedirectURI, noScopes.RedirectURI)
		}

		_, err = s.GetInteraction(t.Context(), newID("ia"))
		wantErr(t, "get missing interaction", err, models.ErrNotFound)
		dup := newInteraction(in.ClientID, time.Minute)
		dup.ID = in.ID
		wantErr(t, "create duplicate interaction", s.CreateInteraction(t.Context(), dup), models.ErrAlreadyExists)
	}},
	{"WithSession", func(t *testing.T, s *store.Store) {
		// The interaction and the browser's session with its user in one
		// read: the same rows as the three reads.
		in := createInteraction(t, s, newID("client"), 10*time.Minute)
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		got, err := s.InteractionWithSession(t.Context(), in.ID, ls.TokenHash)
		must(t, err)
		sameRow(t, in, got.Interaction)
		if got.Session == nil || got.Owner == nil {
			t.Fatalf("session %v owner %v, want both", got.Session, got.Owner)
		}
		sameRow(t, ls, got.Session)
		stored, err := s.GetUser(t.Context(), u.ID)
		must(t, err)
		sameRow(t, stored, got.Owner)

		// No session, an unknown one and dead ones: the interaction alone.
		expired := createLoginSession(t, s, u.ID, -time.Second)
		revoked := newLoginSession(u.ID, time.Hour)
		revoked.RevokedAt = ptr(at(-time.Minute))
		must(t, s.CreateLoginSession(t.Context(), revoked))
		for _, hash := range []string{"", randHex(32), expired.TokenHash, revoked.TokenHash} {
			got, err := s.InteractionWithSession(t.Context(), in.ID, hash)
			must(t, err)
			sameRow(t, in, got.Interaction)
			if got.Session != nil || got.Owner != nil {
				t.Errorf("hash %q: session %v owner %v, want none", hash, got.Session, got.Owner)
			}
		}

		// The interaction's errors are GetInteraction's, with the row.
		for _, hash := range []string{"", ls.TokenHash} {
			_, err = s.InteractionWithSession(t.Context(), newID("ia"), hash)
			wantErr(t, "read missing interaction", err, models.ErrNotFound)
			old := createInteraction(t, s, in.ClientID, -time.Second)
			got, err = s.InteractionWithSession(t.Context(), old.ID, hash)
			wantErr(t, "read expired interaction", err, models.ErrExpired)
			if got == nil || got.Interaction.ID != old.ID {
				t.Errorf("expired interaction not returned with the error: %v", got)
			}
			used := createInteraction(t, s, in.ClientID, time.Minute)
			must(t, s.ConsumeInteraction(t.Context(), used.ID))
			got, err = s.InteractionWithSession(t.Context(), used.ID, hash)
			wantErr(t, "read consumed interaction", err, models.ErrConsumed)
			if got == nil || got.Interaction.ID != used.ID {
				t.Errorf("consumed interaction not returned with the error: %v", got)
			}
		}
	}},
	{"KeptForTheResume", func(t *testing.T, s *store.Store) {
		// A sign-in given the interaction it read and its user keeps what
		// it wrote for the resume: the next read of that interaction with
		// the new session is the database's read, from memory, once.
		ctx := t.Context()
		u := createUser(t, s)
		owner, err := s.GetUser(ctx, u.ID)
		must(t, err)
		start := func(ctx context.Context, keep bool) (*models.SessionStart, *models.Interaction) {
			t.Helper()
			in := newInteraction(newID("client"), 10*time.Minute)
			must(t, s.CreateInteraction(ctx, in))
			read, err := s.GetInteraction(ctx, in.ID)
			must(t, err)
			st := &models.SessionStart{Session: newLoginSession(u.ID, time.Hour), InteractionID: in.ID}
			if keep {
				st.Interaction, st.Owner = read, owner
			}
			must(t, s.StartLoginSession(ctx, st))
			if !st.InteractionMarked {
				t.Fatal("the start did not mark its interaction")
			}
			return st, in
		}
		st, in := start(ctx, true)
		kept, err := s.InteractionWithSession(ctx, in.ID, st.Session.TokenHash)
		must(t, err)
		if !kept.Remembered {
			t.Fatal("the resume's read was not the kept one")
		}
		db, err := s.InteractionWithSession(ctx, in.ID, st.Session.TokenHash)
		must(t, err)
		if db.Remembered {
			t.Fatal("a kept read was served twice")
		}
		if db.Interaction.LoginSessionID != st.Session.ID {
			t.Fatalf("the interaction names session %q, want %q", db.Interaction.LoginSessionID, st.Session.ID)
		}
		sameRow(t, db.Interaction, kept.Interaction)
		sameRow(t, db.Session, kept.Session)
		sameRow(t, db.Owner, kept.Owner)

		// Not for another browser (nor for one without a session), and
		// not when the start was not given the interaction and the user,
		// or ran in a caller's transaction (which may yet roll back).
		st, in = start(ctx, true)
		for _, hash := range []string{"", randHex(32)} {
			got, err := s.InteractionWithSession(ctx, in.ID, hash)
			must(t, err)
			if got.Remembered || got.Session != nil {
				t.Errorf("hash %q: read %+v, want the interaction alone from the database", hash, got)
			}
		}
		for name, st := range map[string]*models.SessionStart{
			"not given": func() *models.SessionStart { st, _ := start(ctx, false); return st }(),
			"in a transaction": func() (st *models.SessionStart) {
				must(t, s.WithTx(ctx, func(ctx context.Context) error { st, _ = start(ctx, true); return nil }))
				return st
			}(),
		} {
			got, err := s.InteractionWithSession(ctx, st.InteractionID, st.Session.TokenHash)
			must(t, err)
			if got.Remembered || got.Session == nil || got.Session.ID != st.Session.ID {
				t.Errorf("%s: read %+v, want the database's with the session", name, got)
			}
		}

		// A write to the interaction, or to the user, drops what was kept.
		for name, write := range map[string]func(in *models.Interaction) error{
			"consent": func(in *models.Interaction) error { return s.SetInteractionConsent(ctx, in.ID) },
			"error":   func(in *models.Interaction) error { return s.SetInteractionError(ctx, in.ID, "access_denied") },
			"locale":  func(*models.Interaction) error { return s.SetUserLocale(ctx, u.ID, "de") },
		} {
			st, in := start(ctx, true)
			must(t, write(in))
			got, err := s.InteractionWithSession(ctx, in.ID, st.Session.TokenHash)
			must(t, err)
			if got.Remembered {
				t.Errorf("%s: the kept read survived a write", name)
			}
		}

		// A spend drops it too: the next read is the database's, spent.
		st, in = start(ctx, true)
		must(t, s.ConsumeInteraction(ctx, in.ID))
		_, err = s.InteractionWithSession(ctx, in.ID, st.Session.TokenHash)
		wantErr(t, "read a spent interaction", err, models.ErrConsumed)
	}},
	{"Expired", func(t *testing.T, s *store.Store) {
		in := createInteraction(t, s, newID("client"), -time.Second)
		got, err := s.GetInteraction(t.Context(), in.ID)
		wantErr(t, "get expired interaction", err, models.ErrExpired)
		if got == nil || got.ID != in.ID {
			t.Errorf("expired interaction not returned with the error: %v", got)
		}
		wantErr(t, "complete expired interaction", s.CompleteInteractionLogin(t.Context(), in.ID, newID("sid")), models.ErrNotFound)
		wantErr(t, "consent to expired interaction", s.SetInteractionConsent(t.Context(), in.ID), models.ErrNotFound)
	}},
	{"CompleteLoginAndConsent", func(t *testing.T, s *store.Store) {
		in := createInteraction(t, s, newID("client"), 10*time.Minute)
		sid := newID("sid")
		must(t, s.CompleteInteractionLogin(t.Context(), in.ID, sid))
		must(t, s.SetInteractionConsent(t.Context(), in.ID))
		got, err := s.GetInteraction(t.Context(), in.ID)
		must(t, err)
		if got.LoginSessionID != sid || !got.ConsentGiven {
			t.Errorf("login session %q consent %v, want %q true", got.LoginSessionID, got.ConsentGiven, sid)
		}
		wantErr(t, "complete missing interaction", s.CompleteInteractionLogin(t.Context(), newID("ia"), sid), models.ErrNotFound)
		wantErr(t, "consent to missing interaction", s.SetInteractionConsent(t.Context(), newID("ia")), models.ErrNotFound)
	}},
	{"SetError", func(t *testing.T, s *store.Store) {
		in := createInteraction(t, s, newID("client"), 10*time.Minute)
		must(t, s.SetInteractionError(t.Context(), in.ID, "access_denied"))
		got, err := s.GetInteraction(t.Context(), in.ID)
		must(t, err)
		if got.Error != "access_denied" {
			t.Errorf("Error = %q, want access_denied", got.Error)
		}
		expired := createInteraction(t, s, in.ClientID, -time.Second)
		wantErr(t, "set error on expired interaction", s.SetInteractionError(t.Context(), expired.ID, "access_denied"), models.ErrNotFound)
		must(t, s.ConsumeInteraction(t.Context(), in.ID))
		wantErr(t, "set error on consumed interaction", s.SetInteractionError(t.Context(), in.ID, "access_denied"), models.ErrNotFound)
	}},
	{"ConsumeOnce", func(t *testing.T, s *store.Store) {
		in := createInteraction(t, s, newID("client"), 10*time.Minute)
		errs := race(racers, func() error { return s.ConsumeInteraction(t.Context(), in.ID) })
		exactlyOneWins(t, errs, models.ErrConsumed)

		got, err := s.GetInteraction(t.Context(), in.ID)
		wantErr(t, "get consumed interaction", err, models.ErrConsumed)
		if got == nil || got.ConsumedAt == nil {
			t.Errorf("consumed interaction returned without ConsumedAt: %+v", got)
		}
		wantErr(t, "consume again", s.ConsumeInteraction(t.Context(), in.ID), models.ErrConsumed)
		wantErr(t, "complete consumed interaction", s.CompleteInteractionLogin(t.Context(), in.ID, newID("sid")), models.ErrNotFound)
		wantErr(t, "consent to consumed interaction", s.SetInteractionConsent(t.Context(), in.ID), models.ErrNotFound)
	}},
}

// wantNothingStarted checks that a refused start wrote nothing: no new
// session, its interaction unmarked, the browser's session still live.
func wantNothingStarted(t *testing.T, s *store.Store, name string, st *models.SessionStart, in *models.Interaction, live *models.LoginSession) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.GetLoginSessionByTokenHash(ctx, st.Session.TokenHash); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("%s: the new session: %v, want none", name, err)
	}
	if got, err := s.GetInteraction(ctx, in.ID); err != nil || got.LoginSessionID != "" || st.InteractionMarked {
		t.Errorf("%s: the interaction: %+v, %v (marked %v), want it open, unmarked", name, got, err, st.InteractionMarked)
	}
	if _, err := s.GetLoginSessionByTokenHash(ctx, live.TokenHash); err != nil {
		t.Errorf("%s: the browser's session: %v, want it live", name, err)
	}
}
