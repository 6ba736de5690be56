package console

import (
	"context"
	"errors"
	"net/http"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
)

// An admin suspends one of a user's credentials (a lost device, a
// suspected copy: it signs nobody in until lifted, and nothing is deleted)
// or lifts a suspension: one the admin set, or one the FIDO metadata check
// set when a model was reported compromised and the report was lifted or
// the admin turned suspend_compromised_passkeys off. Both are credential
// actions like removing one: a fresh step-up, audited with before/after.

// errStillCompromised refuses lifting a suspension that the metadata check
// would set again at once.
var errStillCompromised = problem(http.StatusConflict, "still-compromised", "The suspension would come back",
	"The FIDO metadata still reports this authenticator model compromised and the policy suspends such credentials (suspend_compromised_passkeys). Turn that policy off first, or ask the user to enrol another passkey.")

// errNotSuspended and errAlreadySuspended refuse a change that changes
// nothing.
var (
	errNotSuspended     = problem(http.StatusConflict, "not-suspended", "Not suspended", "This credential is not suspended.")
	errAlreadySuspended = problem(http.StatusConflict, "already-suspended", "Already suspended", "This credential is already suspended.")
)

// userCredential is credential credID of user userID, or errNotFound.
func (s *Users) userCredential(ctx context.Context, userID, credID string) (*models.WebAuthnCredential, error) {
	if credID == "" || len(credID) > 1400 {
		return nil, errNotFound
	}
	c, err := s.st.GetCredential(ctx, credID)
	if err != nil {
		return nil, err
	}
	if c.UserID != userID {
		return nil, errNotFound
	}
	return c, nil
}

// credentialState is what the audit log keeps of a credential.
func credentialState(c *models.WebAuthnCredential, suspended bool) map[string]any {
	return map[string]any{"credential_id": c.ID, "kind": c.Kind, "name": c.Name, "aaguid": c.AAGUID,
		"compromised_status": c.CompromisedStatus, "suspended": suspended}
}

// SuspendCredential suspends a user's credential: it signs nobody in
// until the suspension is lifted.
func (s *Users) SuspendCredential(ctx context.Context, userID, credID string) error {
	c, err := s.userCredential(ctx, userID, credID)
	if err != nil {
		return err
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return err
	}
	if c.SuspendedAt != nil {
		return errAlreadySuspended
	}
	if err := s.st.SuspendCredential(ctx, c.ID, clock.Now().UTC()); err != nil {
		if errors.Is(err, models.ErrConsumed) {
			return errAlreadySuspended
		}
		return err
	}
	return s.audit.Record(ctx, "user.suspend_credential", "user", userID, credentialState(c, false), credentialState(c, true))
}

// LiftCredentialSuspension lets a suspended credential sign in again.
// It is refused while the suspension would come back: the model still
// reported compromised under suspend_compromised_passkeys.
func (s *Users) LiftCredentialSuspension(ctx context.Context, userID, credID string) error {
	c, err := s.userCredential(ctx, userID, credID)
	if err != nil {
		return err
	}
	if err := checkStepUp(ctx, s.st); err != nil {
		return err
	}
	if c.SuspendedAt == nil {
		return errNotSuspended
	}
	if c.CompromisedStatus != "" {
		suspend := true
		if s.live != nil {
			p, err := s.live.Current(ctx)
			if err != nil {
				return err
			}
			suspend = p.SuspendCompromisedPasskeys
		}
		if suspend {
			return errStillCompromised
		}
	}
	if err := s.st.LiftCredentialSuspension(ctx, c.ID); err != nil {
		if errors.Is(err, models.ErrConsumed) {
			return errNotSuspended
		}
		return err
	}
	return s.audit.Record(ctx, "user.lift_credential_suspension", "user", userID, credentialState(c, true), credentialState(c, false))
}
