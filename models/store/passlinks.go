package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/models"
)

// CreatePasslink inserts a passlink request. Called with a WithTx context
// (together with the outbox mail), both commit or neither does.
func (s *Store) CreatePasslink(ctx context.Context, p *models.Passlink) error {
	return mapErr("create passlink", s.conn(ctx).Create(p).Error)
}

// SupersedePasslinks ends, as superseded, the pending sign-in, sign-up and
// verification links that p replaces: those of the same interaction or, without one,
// those the same browser asked for the same address. Call it in the
// transaction that creates p, so only the newest link of a sign-in works.
func (s *Store) SupersedePasslinks(ctx context.Context, p *models.Passlink, now time.Time) (int64, error) {
	q := s.conn(ctx).Model(&models.Passlink{}).
		Where("id <> ? AND used_at IS NULL AND purpose IN ?", p.ID, []string{models.PasslinkLogin, models.PasslinkSignup, models.PasslinkVerify})
	if p.InteractionID != "" {
		q = q.Where("interaction_id = ?", p.InteractionID)
	} else {
		q = q.Where("interaction_id = '' AND browser_hash = ? AND email_normalized = ?", p.BrowserHash, p.EmailNormalized)
	}
	res := q.Updates(map[string]any{"used_at": now, "outcome": models.PasslinkSuperseded})
	return res.RowsAffected, mapErr("supersede passlinks", res.Error)
}

// GetPasslink loads a passlink request by id, whatever its state.
func (s *Store) GetPasslink(ctx context.Context, id string) (*models.Passlink, error) {
	var p models.Passlink
	if err := s.conn(ctx).Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, mapErr("get passlink", err)
	}
	return &p, nil
}

// GetPasslinkByTokenHash loads the passlink whose link token hashes to
// hash, whatever its state (the caller explains used and expired links).
func (s *Store) GetPasslinkByTokenHash(ctx context.Context, hash string) (*models.Passlink, error) {
	var p models.Passlink
	if err := s.conn(ctx).Where("token_hash = ?", hash).Take(&p).Error; err != nil {
		return nil, mapErr("get passlink", err)
	}
	return &p, nil
}

// UsePasslink ends a pending, unexpired link with outcome (one of
// models.PasslinkSignedIn, Approved, Denied, Locked). It is one conditional
// update, so of any number of concurrent callers exactly one wins; the
// others get ErrConsumed. An expired link is ErrExpired, an unknown one
// ErrNotFound.
func (s *Store) UsePasslink(ctx context.Context, id, outcome string, now time.Time) error {
	now = dbTime(now)
	res := s.conn(ctx).Model(&models.Passlink{}).
		Where("id = ? AND used_at IS NULL AND expires_at > ?", id, now).
		Updates(map[string]any{"used_at": now, "outcome": outcome})
	if res.Error != nil {
		return mapErr("use passlink", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	return s.whyNotPending(ctx, "use passlink", id, now)
}

// whyNotPending says why a conditional update on a pending link touched no
// row.
func (s *Store) whyNotPending(ctx context.Context, op, id string, now time.Time) error {
	p, err := s.GetPasslink(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", op, unwrapSentinel(err))
	case p.UsedAt != nil:
		return fmt.Errorf("%s: %w", op, models.ErrConsumed)
	case !p.ExpiresAt.After(now):
		return fmt.Errorf("%s: %w", op, models.ErrExpired)
	default:
		// Pending and live, yet the update lost: another caller took the
		// last code attempt.
		return fmt.Errorf("%s: %w", op, models.ErrConsumed)
	}
}

func unwrapSentinel(err error) error {
	for _, s := range []error{models.ErrNotFound, models.ErrConsumed, models.ErrExpired} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// SpendPasslinkAttempt counts one code attempt on a pending, unexpired
// link, unless max attempts were already spent, and returns the count
// including this one. The increment is conditional, so concurrent guesses
// can never spend more than max attempts in total; once they are spent
// (or the link is used) it returns ErrConsumed, ErrExpired after expiry.
func (s *Store) SpendPasslinkAttempt(ctx context.Context, id string, max int, now time.Time) (int, error) {
	now = dbTime(now)
	var n int
	err := s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.Passlink{}).
			Where("id = ? AND used_at IS NULL AND expires_at > ? AND code_attempts < ?", id, now, max).
			Update("code_attempts", gorm.Expr("code_attempts + 1"))
		if res.Error != nil {
			return mapErr("spend passlink attempt", res.Error)
		}
		if res.RowsAffected != 1 {
			return s.whyNotPending(ctx, "spend passlink attempt", id, now)
		}
		// Read inside the transaction: the row is locked by the update,
		// so this is this caller's count.
		return mapErr("spend passlink attempt", s.conn(ctx).Model(&models.Passlink{}).
			Where("id = ?", id).Select("code_attempts").Scan(&n).Error)
	})
	return n, err
}

// SetPasslinkUser records the account a sign-up link created.
func (s *Store) SetPasslinkUser(ctx context.Context, id, userID string) error {
	res := s.conn(ctx).Model(&models.Passlink{}).Where("id = ?", id).Update("user_id", userID)
	return affected("set passlink user", res)
}

// CompletePasslink lets the requesting browser take an approval given on
// another device, once: approved links only, at most once (ErrConsumed
// after), and only if the approval is more recent than notBefore
// (ErrExpired otherwise).
func (s *Store) CompletePasslink(ctx context.Context, id string, notBefore, now time.Time) error {
	now = dbTime(now)
	res := s.conn(ctx).Model(&models.Passlink{}).
		Where("id = ? AND outcome = ? AND completed_at IS NULL AND used_at > ?", id, models.PasslinkApproved, dbTime(notBefore)).
		Update("completed_at", now)
	if res.Error != nil {
		return mapErr("complete passlink", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	p, err := s.GetPasslink(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("complete passlink: %w", unwrapSentinel(err))
	case p.Outcome != models.PasslinkApproved || p.CompletedAt != nil:
		return fmt.Errorf("complete passlink: %w", models.ErrConsumed)
	default:
		return fmt.Errorf("complete passlink: %w", models.ErrExpired)
	}
}

// ProveUserEmail marks a user's address as proven (a link sent to it was
// used). The first proof of an address never proven before also ends
// everything the account held until then — passkeys and security keys,
// password, login sessions, tokens and consents — in the same
// transaction: whoever made them had not shown they own the address, and
// might be someone who signed up with another person's address to wait
// for its owner (account pre-hijacking). Proving an address that is
// already proven changes nothing. ErrNotFound for an unknown user.
func (s *Store) ProveUserEmail(ctx context.Context, id string) (*models.AddressProof, error) {
	proof := &models.AddressProof{}
	err := s.WithTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&models.User{}).Where("id = ? AND email_verified = ?", id, false).
			Updates(map[string]any{"email_verified": true, "updated_at": Now()})
		if res.Error != nil {
			return mapErr("prove user email", res.Error)
		}
		if res.RowsAffected == 0 {
			// Already proven, or no such user: say which.
			_, err := s.GetUser(ctx, id)
			return err
		}
		proof.FirstProof = true
		creds := s.conn(ctx).Where("user_id = ?", id).Delete(&models.WebAuthnCredential{})
		if creds.Error != nil {
			return mapErr("prove user email: remove credentials", creds.Error)
		}
		proof.Credentials = int(creds.RowsAffected)
		pw := s.conn(ctx).Where("user_id = ?", id).Delete(&models.UserPassword{})
		if pw.Error != nil {
			return mapErr("prove user email: remove password", pw.Error)
		}
		proof.Password = pw.RowsAffected > 0
		var live int64
		if err := s.conn(ctx).Model(&models.LoginSession{}).Where("user_id = ? AND revoked_at IS NULL", id).
			Count(&live).Error; err != nil {
			return mapErr("prove user email: count sessions", err)
		}
		proof.Sessions = int(live)
		if err := s.RevokeUserLoginSessions(ctx, id); err != nil {
			return err
		}
		if err := s.conn(ctx).Where("user_id = ?", id).Delete(&models.Consent{}).Error; err != nil {
			return mapErr("prove user email: remove consents", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return proof, nil
}

// ProveUserEmailKeeping is ProveUserEmail for a proof made by the holder
// of one credential, in the flow that just created or used it (a passkey
// sign-up, or the sign-in of an unproven account): everything the account
// held before the proof goes, as ProveUserEmail says, except that
// credential, which the prover has just shown they hold. The order is
// the point: the proof ends what was there (sessions included, so the
// caller starts the held sign-in's session only after this returns), then
// the kept credential is put back in the same transaction. The proof's
// Credentials count leaves the kept one out. A keep id that is not the
// user's keeps nothing.
func (s *Store) ProveUserEmailKeeping(ctx context.Context, id, keepCredentialID string) (*models.AddressProof, error) {
	var proof *models.AddressProof
	err := s.WithTx(ctx, func(ctx context.Context) error {
		var kept *models.WebAuthnCredential
		if keepCredentialID != "" {
			var c models.WebAuthnCredential
			err := s.conn(ctx).Where("id = ? AND user_id = ?", keepCredentialID, id).Take(&c).Error
			switch {
			case err == nil:
				kept = &c
			case !errors.Is(err, gorm.ErrRecordNotFound):
				return mapErr("prove user email: load kept credential", err)
			}
		}
		var err error
		if proof, err = s.ProveUserEmail(ctx, id); err != nil {
			return err
		}
		if kept == nil || !proof.FirstProof {
			return nil
		}
		if err := s.conn(ctx).Create(kept).Error; err != nil {
			return mapErr("prove user email: keep credential", err)
		}
		proof.Credentials--
		return nil
	})
	if err != nil {
		return nil, err
	}
	return proof, nil
}

// ClearEmailVerificationDue records that a user was asked once to prove
// their address (models.User.EmailVerificationDue).
func (s *Store) ClearEmailVerificationDue(ctx context.Context, id string) error {
	return mapErr("clear email verification due", s.conn(ctx).Model(&models.User{}).Where("id = ?", id).
		Update("email_verification_due", false).Error)
}
