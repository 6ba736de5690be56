package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

var errBoom = errors.New("storetest: boom")

func newUser() *models.User {
	id := newID("user")
	return &models.User{ID: id, Email: id + "@example.test"}
}

// userExists reads outside any transaction.
func userExists(t *testing.T, s *store.Store, id string) bool {
	t.Helper()
	_, err := s.GetUser(t.Context(), id)
	switch {
	case err == nil:
		return true
	case errors.Is(err, models.ErrNotFound):
		return false
	default:
		t.Fatalf("get user %s: %v", id, err)
		return false
	}
}

func wantUsers(t *testing.T, s *store.Store, present bool, us ...*models.User) {
	t.Helper()
	for _, u := range us {
		if got := userExists(t, s, u.ID); got != present {
			t.Errorf("user %s: present = %v, want %v", u.ID, got, present)
		}
	}
}

var txTests = []subtest{
	{"CommitOnNil", func(t *testing.T, s *store.Store) {
		u := newUser()
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.CreateUser(ctx, u))
			// The transaction reads its own writes.
			_, err := s.GetUser(ctx, u.ID)
			return err
		})
		must(t, err)
		wantUsers(t, s, true, u)
	}},
	{"RollbackOnError", func(t *testing.T, s *store.Store) {
		u, c := newUser(), newClient()
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.CreateUser(ctx, u))
			must(t, s.CreateClient(ctx, c))
			must(t, s.SaveConsent(ctx, &models.Consent{UserID: u.ID, ClientID: c.ID, Scopes: models.StringList{"openid"}}))
			return errBoom
		})
		wantErr(t, "WithTx", err, errBoom)
		wantUsers(t, s, false, u)
		_, err = s.GetClient(t.Context(), c.ID)
		wantErr(t, "client written in a rolled back transaction", err, models.ErrNotFound)
		_, err = s.GetConsent(t.Context(), u.ID, c.ID)
		wantErr(t, "consent written in a rolled back transaction", err, models.ErrNotFound)
	}},
	{"RollbackOnPanic", func(t *testing.T, s *store.Store) {
		u := newUser()
		func() {
			defer func() {
				if recover() == nil {
					t.Error("WithTx swallowed a panic")
				}
			}()
			_ = s.WithTx(t.Context(), func(ctx context.Context) error {
				must(t, s.CreateUser(ctx, u))
				panic("storetest: panic in transaction")
			})
		}()
		wantUsers(t, s, false, u)
		// And the store still works (the connection went back clean).
		must(t, s.CreateUser(t.Context(), newUser()))
	}},
	{"NestedJoinsOuter", func(t *testing.T, s *store.Store) {
		outer, inner := newUser(), newUser()
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.CreateUser(ctx, outer))
			must(t, s.WithTx(ctx, func(ctx context.Context) error { return s.CreateUser(ctx, inner) }))
			// Store methods that open their own WithTx join too.
			must(t, s.SetUserDisabled(ctx, inner.ID, true))
			return errBoom
		})
		wantErr(t, "outer WithTx", err, errBoom)
		// The inner call "succeeded" but was part of the outer transaction.
		wantUsers(t, s, false, outer, inner)

		outer, inner = newUser(), newUser()
		err = s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.CreateUser(ctx, outer))
			return s.WithTx(ctx, func(ctx context.Context) error {
				must(t, s.CreateUser(ctx, inner))
				return errBoom
			})
		})
		wantErr(t, "WithTx failing inside", err, errBoom)
		wantUsers(t, s, false, outer, inner)
	}},
	{"BeginCommit", func(t *testing.T, s *store.Store) {
		u := newUser()
		ctx, err := s.BeginTx(t.Context())
		must(t, err)
		must(t, s.CreateUser(ctx, u))
		_, err = s.BeginTx(ctx)
		if err == nil {
			t.Error("BeginTx inside a transaction succeeded")
		}
		must(t, s.Commit(ctx))
		wantUsers(t, s, true, u)
		// fosite may roll back after a commit (deferred cleanup): no error.
		wantErr(t, "rollback after commit", s.Rollback(ctx), nil)
	}},
	{"BeginRollback", func(t *testing.T, s *store.Store) {
		u := newUser()
		ctx, err := s.BeginTx(t.Context())
		must(t, err)
		must(t, s.CreateUser(ctx, u))
		must(t, s.Rollback(ctx))
		wantUsers(t, s, false, u)
	}},
	{"NoTransaction", func(t *testing.T, s *store.Store) {
		if err := s.Commit(t.Context()); err == nil {
			t.Error("Commit without a transaction succeeded")
		}
		if err := s.Rollback(t.Context()); err == nil {
			t.Error("Rollback without a transaction succeeded")
		}
	}},
	{"ConcurrentTransactions", func(t *testing.T, s *store.Store) {
		// Many concurrent read-then-write transactions must all commit
		// (SQLite: immediate transactions, no lock-upgrade deadlock).
		us := make([]*models.User, 8)
		for i := range us {
			us[i] = newUser()
		}
		next := make(chan *models.User, len(us))
		for _, u := range us {
			next <- u
		}
		errs := race(len(us), func() error {
			u := <-next
			return s.WithTx(t.Context(), func(ctx context.Context) error {
				if _, err := s.GetUserByEmail(ctx, u.Email); !errors.Is(err, models.ErrNotFound) {
					return err
				}
				time.Sleep(time.Millisecond)
				return s.CreateUser(ctx, u)
			})
		})
		for _, err := range errs {
			must(t, err)
		}
		wantUsers(t, s, true, us...)
	}},
}
