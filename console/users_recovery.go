package console

import (
	"context"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
)

// RecoveryCodesInvalidated says what an invalidation ended: the user's
// unused recovery codes (authn/recovery).
type RecoveryCodesInvalidated struct {
	UserID      string `json:"user_id"`
	Invalidated int64  `json:"invalidated"`
}

// InvalidateRecoveryCodes removes every recovery code of a user (say,
// the paper was lost or seen by someone else): none signs in again, and
// the user may create a new set on their account page. Destructive, so
// it needs a console step-up; audited with the count before and after,
// and recorded in the user's history.
func (s *Users) InvalidateRecoveryCodes(ctx context.Context, id string) (*RecoveryCodesInvalidated, error) {
	if _, err := s.st.GetUser(ctx, id); err != nil {
		return nil, err
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return nil, err
	}
	n, err := s.st.DeleteRecoveryCodes(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, models.AuditRecoveryCodesInvalidated, "user", id, map[string]int64{"unused": n}, map[string]int64{"unused": 0}); err != nil {
		return nil, err
	}
	act := ActorFrom(ctx)
	ev := &models.AuthEvent{ID: uuid.NewString(), At: clock.Now().UTC(), UserID: id, Method: models.MethodRecoveryCode,
		Event: models.EventRecoveryCodesInvalidated, Result: models.ResultSuccess, Reason: "by " + act.Kind + ":" + act.ID}
	if err := s.st.RecordAuthEvent(ctx, ev); err != nil {
		return nil, err
	}
	return &RecoveryCodesInvalidated{UserID: id, Invalidated: n}, nil
}
