package console

import (
	"context"
	"net/http"
	"time"
)

// An administrator's side of a user's own deletion request (authn's
// self-service): while the grace period runs, the request can be
// withdrawn here — for the person who asks support to keep their
// account, or a request made by someone else with their passkey.

// errNoDeletion refuses a cancellation when no deletion is scheduled
// (never asked for, already withdrawn; a purged user is a 404).
var errNoDeletion = problem(http.StatusConflict, "no-deletion-scheduled", "No deletion is scheduled",
	"This user has not asked to delete their account, or the request was already withdrawn.")

// CancelDeletion withdraws a user's pending deletion request: the account
// and everything in it stay. The change and its audit entry (the due date
// before, none after) are one transaction. Sessions the request ended stay
// ended; the user signs in again.
func (s *Users) CancelDeletion(ctx context.Context, id string) (*UserView, error) {
	var after UserView
	err := s.st.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.st.GetUser(ctx, id)
		if err != nil {
			return err
		}
		if u.DeletionDueAt == nil {
			return errNoDeletion
		}
		due := u.DeletionDueAt.UTC()
		ok, err := s.st.CancelUserDeletion(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return errNoDeletion
		}
		if u, err = s.st.GetUser(ctx, id); err != nil {
			return err
		}
		after = ViewUser(u)
		return s.audit.Record(ctx, "user.deletion_cancelled", "user", id,
			map[string]any{"deletion_due_at": due}, map[string]*time.Time{"deletion_due_at": nil})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}
