package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var passwordTests = []subtest{
	{"SetGetReplace", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		_, err := s.GetUserPassword(t.Context(), u.ID)
		wantErr(t, "password of a user without one", err, models.ErrNotFound)

		must(t, s.SetUserPassword(t.Context(), u.ID, "$argon2id$first"))
		p, err := s.GetUserPassword(t.Context(), u.ID)
		must(t, err)
		if p.UserID != u.ID || p.Hash != "$argon2id$first" || p.CreatedAt.IsZero() || !p.CreatedAt.Equal(p.UpdatedAt) {
			t.Fatalf("stored password = %+v", p)
		}
		if p.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt in %v, want UTC", p.CreatedAt.Location())
		}

		// A second set replaces the hash in the same row.
		must(t, s.SetUserPassword(t.Context(), u.ID, "$argon2id$second"))
		p2, err := s.GetUserPassword(t.Context(), u.ID)
		must(t, err)
		if p2.Hash != "$argon2id$second" || !p2.CreatedAt.Equal(p.CreatedAt) || p2.UpdatedAt.Before(p.UpdatedAt) {
			t.Fatalf("after second set: %+v (first %+v)", p2, p)
		}

		// An upgrade applies only over the hash it was computed from.
		wantErr(t, "replace a stale hash", s.ReplacePasswordHash(t.Context(), u.ID, "$argon2id$first", "$argon2id$upgraded"), models.ErrNotFound)
		must(t, s.ReplacePasswordHash(t.Context(), u.ID, "$argon2id$second", "$argon2id$upgraded"))
		p3, err := s.GetUserPassword(t.Context(), u.ID)
		must(t, err)
		if p3.Hash != "$argon2id$upgraded" {
			t.Fatalf("hash after upgrade = %q", p3.Hash)
		}
		wantErr(t, "replace for a user without a password", s.ReplacePasswordHash(t.Context(), newID("missing"), "", "x"), models.ErrNotFound)
	}},
	{"SetForUnknownUserFails", func(t *testing.T, s *store.Store) {
		// The foreign key: no password without a user.
		if err := s.SetUserPassword(t.Context(), newID("missing"), "$argon2id$x"); err == nil {
			t.Fatal("a password was stored for a user that does not exist")
		}
	}},
	{"ConcurrentSetsLeaveOneRow", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		errs := race(racers, func() error { return s.SetUserPassword(context.Background(), u.ID, "$argon2id$"+randHex(4)) })
		for _, err := range errs {
			must(t, err)
		}
		if _, err := s.GetUserPassword(t.Context(), u.ID); err != nil {
			t.Fatal(err)
		}
	}},
	{"Delete", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		wantErr(t, "delete a missing password", s.DeleteUserPassword(t.Context(), u.ID), models.ErrNotFound)
		must(t, s.SetUserPassword(t.Context(), u.ID, "$argon2id$x"))
		must(t, s.DeleteUserPassword(t.Context(), u.ID))
		_, err := s.GetUserPassword(t.Context(), u.ID)
		wantErr(t, "password after delete", err, models.ErrNotFound)
	}},
	{"ChangeKeepsOnlyTheChangingSession", func(t *testing.T, s *store.Store) {
		u, other := createUser(t, s), createUser(t, s)
		c := createClient(t, s)
		keep := createLoginSession(t, s, u.ID, time.Hour)
		gone := createLoginSession(t, s, u.ID, time.Hour)
		otherLS := createLoginSession(t, s, other.ID, time.Hour)
		_, keepAccess, keepRefresh := grantTokens(t, s, c.ID, u.ID, keep.ID)
		_, goneAccess, goneRefresh := grantTokens(t, s, c.ID, u.ID, gone.ID)
		_, otherAccess, otherRefresh := grantTokens(t, s, c.ID, other.ID, otherLS.ID)

		must(t, s.ChangeUserPassword(t.Context(), u.ID, "$argon2id$new", keep.ID))
		p, err := s.GetUserPassword(t.Context(), u.ID)
		must(t, err)
		if p.Hash != "$argon2id$new" {
			t.Fatalf("hash = %q", p.Hash)
		}
		_, err = s.GetLoginSessionByTokenHash(t.Context(), keep.TokenHash)
		wantErr(t, "the changing session", err, nil)
		_, err = s.GetLoginSessionByTokenHash(t.Context(), gone.TokenHash)
		wantErr(t, "another session of the user", err, models.ErrNotFound)
		wantRequests(t, s, true, keepAccess, keepRefresh, otherAccess, otherRefresh)
		wantRequests(t, s, false, goneAccess, goneRefresh)
		_, err = s.GetLoginSessionByTokenHash(t.Context(), otherLS.TokenHash)
		wantErr(t, "another user's session", err, nil)
	}},
	{"ResetSignsOutEverywhereAndRollsBack", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		must(t, s.SetUserPassword(t.Context(), u.ID, "$argon2id$old"))

		// Inside a transaction that fails afterwards, nothing happens.
		boom := errors.New("boom")
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			if err := s.ResetUserPassword(ctx, u.ID, "$argon2id$new"); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, "reset in a failed transaction", err, boom)
		p, err := s.GetUserPassword(t.Context(), u.ID)
		must(t, err)
		if p.Hash != "$argon2id$old" {
			t.Fatalf("a rolled-back reset left hash %q", p.Hash)
		}
		_, err = s.GetLoginSessionByTokenHash(t.Context(), ls.TokenHash)
		wantErr(t, "session after a rolled-back reset", err, nil)

		must(t, s.ResetUserPassword(t.Context(), u.ID, "$argon2id$new"))
		p, err = s.GetUserPassword(t.Context(), u.ID)
		must(t, err)
		if p.Hash != "$argon2id$new" {
			t.Fatalf("hash after reset = %q", p.Hash)
		}
		_, err = s.GetLoginSessionByTokenHash(t.Context(), ls.TokenHash)
		wantErr(t, "session after reset", err, models.ErrNotFound)
	}},
	{"DeletedWithTheUser", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		must(t, s.SetUserPassword(t.Context(), u.ID, "$argon2id$x"))
		db, err := s.SQLDB()
		must(t, err)
		q := "DELETE FROM users WHERE id = ?"
		if s.Dialect() == "postgres" {
			q = "DELETE FROM users WHERE id = $1"
		}
		if _, err := db.ExecContext(t.Context(), q, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetUserPassword(t.Context(), u.ID)
		wantErr(t, "password of a deleted user", err, models.ErrNotFound)
	}},
}
