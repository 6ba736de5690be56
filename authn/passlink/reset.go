package passlink

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesame-idp/sesame/models"
)

// Password reset links: looked up (LookupReset) and spent together
// with the new password (Reset).

// ResetPath is where a reset link leads: ResetPath + token, on the issuer.
const ResetPath = "/password/reset/"

// LookupReset finds the password reset link of token without changing
// anything, like Lookup (ErrInvalidLink, ErrExpired, ErrUsed). Only reset
// links are found here, and Lookup never finds one, so a reset link can
// never sign in and a sign-in link can never set a password. A reset link
// works in any browser: it only proves the mailbox, and whoever opens it
// chooses the password.
func (s *Service) LookupReset(ctx context.Context, token string) (*Link, error) {
	return s.find(ctx, token, func(p *models.Passlink) *Link {
		if p.Purpose != models.PasslinkReset {
			return nil
		}
		return &Link{Passlink: *p}
	})
}

// Reset uses a reset link: in one transaction the link is spent (exactly
// one of concurrent callers gets past this), the account loaded (not
// disabled), set(ctx, user) called (it stores the new password; its error
// rolls everything back, the link included) and the address marked
// verified (the link proved it).
func (s *Service) Reset(ctx context.Context, token string, set func(ctx context.Context, u *models.User) error) (*Result, error) {
	l, err := s.LookupReset(ctx, token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	res := &Result{InteractionID: l.InteractionID, RequestID: l.ID}
	err = s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.UsePasslink(ctx, l.ID, models.PasslinkPasswordReset, now); err != nil {
			return s.useErr(ctx, l.ID, err)
		}
		u, err := s.st.GetUser(ctx, l.UserID)
		if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
			return ErrUserUnavailable
		}
		if err != nil {
			return fmt.Errorf("passlink: load user: %w", err)
		}
		// Proof first: it removes a password set before the address was
		// proven, never the one chosen now.
		proof, err := s.proveAddress(ctx, u, "")
		if err != nil {
			return err
		}
		if err := set(ctx, u); err != nil {
			return err
		}
		res.User, res.Proof = u, proof
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
