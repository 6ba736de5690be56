package passlink

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesame-idp/sesame/models"
)

// Step 3 for a link opened on another device: the requesting browser
// polls (Status) and takes the approval (Complete).

// States of a request, as the requesting page sees them.
const (
	StatePending   = "pending"
	StateApproved  = "approved"
	StateCompleted = "completed"
	StateSignedIn  = "signed_in"
	StateDenied    = "denied"
	StateLocked    = "locked"
	StateExpired   = "expired"
)

// Status tells the requesting browser where its request stands. Only that
// browser learns anything: an unknown request, or one of another browser,
// is "pending" (as is a rate-limited request, which has no row), so the
// answer never tells a requester more than the page did.
func (s *Service) Status(ctx context.Context, requestID, browserHash string) (string, error) {
	if requestID == "" || len(requestID) > MaxRequestIDLen {
		return StatePending, nil
	}
	p, err := s.st.GetPasslink(ctx, requestID)
	if errors.Is(err, models.ErrNotFound) {
		return StatePending, nil
	}
	if err != nil {
		return "", fmt.Errorf("passlink: status: %w", err)
	}
	if !sameHash(p.BrowserHash, browserHash) {
		return StatePending, nil
	}
	switch {
	case p.Outcome == models.PasslinkApproved && p.CompletedAt != nil:
		return StateCompleted, nil
	case p.Outcome == models.PasslinkApproved:
		return StateApproved, nil
	case p.Outcome == models.PasslinkSignedIn:
		return StateSignedIn, nil
	case p.Outcome == models.PasslinkDenied:
		return StateDenied, nil
	case p.Outcome == models.PasslinkLocked:
		return StateLocked, nil
	case p.Outcome == models.PasslinkSuperseded:
		return StateExpired, nil // a newer request took its place
	case !p.ExpiresAt.After(s.now()):
		return StateExpired, nil
	}
	return StatePending, nil
}

// Complete lets the requesting browser take an approval given on another
// device, exactly once, within TTL of the approval.
func (s *Service) Complete(ctx context.Context, requestID, browserHash string) (*Result, error) {
	cfg := s.live(ctx)
	if requestID == "" || len(requestID) > MaxRequestIDLen {
		return nil, ErrInvalidLink
	}
	p, err := s.st.GetPasslink(ctx, requestID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, fmt.Errorf("passlink: complete: %w", err)
	}
	if !sameHash(p.BrowserHash, browserHash) {
		return nil, ErrInvalidLink
	}
	if p.Outcome != models.PasslinkApproved {
		return nil, ErrNotApproved
	}
	now := s.now()
	if err := s.st.CompletePasslink(ctx, p.ID, now.Add(-cfg.TTL), now); err != nil {
		switch {
		case errors.Is(err, models.ErrConsumed):
			return nil, ErrUsed
		case errors.Is(err, models.ErrExpired):
			return nil, ErrExpired
		case errors.Is(err, models.ErrNotFound):
			return nil, ErrInvalidLink
		}
		return nil, fmt.Errorf("passlink: complete: %w", err)
	}
	u, err := s.st.GetUser(ctx, p.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrUserUnavailable
	}
	if err != nil {
		return nil, fmt.Errorf("passlink: complete: %w", err)
	}
	if u.Disabled {
		return nil, ErrUserUnavailable
	}
	return &Result{User: u, InteractionID: p.InteractionID, RequestID: p.ID}, nil
}
