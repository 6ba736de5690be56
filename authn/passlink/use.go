package passlink

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/sesame-idp/sesame/models"
)

// Step 2, the link is opened (Lookup) and used: signed in where it
// was asked for (SignIn), approved from another device (Approve) or
// reported (Report). Using a link proves the address.

// Link is a looked-up link, for the confirmation page.
type Link struct {
	models.Passlink
	// SameBrowser: opened in the browser that asked.
	SameBrowser bool
}

// Lookup finds the link of token without changing anything (GET is safe:
// scanners prefetch links). A malformed, tampered or unknown token is
// ErrInvalidLink; an expired link ErrExpired and a used one ErrUsed, both
// with the link, so the page can explain what happened.
func (s *Service) Lookup(ctx context.Context, token, browserHash string) (*Link, error) {
	return s.find(ctx, token, func(p *models.Passlink) *Link {
		if p.Purpose != models.PasslinkLogin && p.Purpose != models.PasslinkSignup && !isAdminLink(p) {
			return nil // no such link was ever sent
		}
		// An administrator's link was asked for by no browser: the one
		// that opens it is the one it signs in.
		return &Link{Passlink: *p, SameBrowser: sameHash(p.BrowserHash, browserHash) || isAdminLink(p)}
	})
}

// find looks up the link of token for Lookup and LookupReset: link makes
// the Link of a row of the right purpose (nil for any other). A used link
// is ErrUsed and an expired one ErrExpired, both with the link.
func (s *Service) find(ctx context.Context, token string, link func(p *models.Passlink) *Link) (*Link, error) {
	if !ValidToken(token) {
		return nil, ErrInvalidLink
	}
	p, err := s.st.GetPasslinkByTokenHash(ctx, hashToken(token))
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, fmt.Errorf("passlink: look up link: %w", err)
	}
	l := link(p)
	switch {
	case l == nil:
		return nil, ErrInvalidLink
	case p.UsedAt != nil:
		return l, ErrUsed
	case !p.ExpiresAt.After(s.now()):
		return l, ErrExpired
	}
	return l, nil
}

// Result is a successful passlink: the user to sign in.
type Result struct {
	User          *models.User
	InteractionID string
	// Created: the account was created by this link (sign-up).
	Created   bool
	RequestID string
	// Admin: an administrator sent the link (models.PasslinkAdmin).
	Admin bool
	// Proof is set when this link was the first proof of the account's
	// address: what the account held before it was removed.
	Proof *models.AddressProof
}

// SignIn uses the link in the browser that asked. displayName names a
// new account (sign-up links only; optional). Exactly one of any number
// of concurrent calls succeeds; the others get ErrUsed.
func (s *Service) SignIn(ctx context.Context, token, browserHash, displayName string) (*Result, error) {
	l, err := s.Lookup(ctx, token, browserHash)
	if err != nil {
		return nil, err
	}
	if !l.SameBrowser {
		return nil, ErrOtherBrowser
	}
	return s.use(ctx, &l.Passlink, models.PasslinkSignedIn, displayName)
}

// Approve uses the link on another device: code must be the one the
// requesting screen shows. Every code typed spends one of
// MaxCodeAttempts tries, right or wrong; the last wrong one locks the
// request. On success the requesting browser may Complete.
func (s *Service) Approve(ctx context.Context, token, browserHash, code, displayName string) (*Result, error) {
	l, err := s.Lookup(ctx, token, browserHash)
	if err != nil {
		return nil, err
	}
	if isAdminLink(&l.Passlink) {
		return nil, ErrInvalidLink // no code exists; SignIn uses it
	}
	code, err = typedCode(code)
	if err != nil {
		return nil, err
	}
	now := s.now()
	n, err := s.st.SpendPasslinkAttempt(ctx, l.ID, s.cfg.MaxCodeAttempts, now)
	if err != nil {
		return nil, s.useErr(ctx, l.ID, err)
	}
	want := s.codeHash(l.ID, code)
	if subtle.ConstantTimeCompare([]byte(want), []byte(l.CodeHash)) != 1 {
		if n >= s.cfg.MaxCodeAttempts {
			if err := s.st.UsePasslink(ctx, l.ID, models.PasslinkLocked, now); err != nil && !models.IsGone(err) {
				return nil, fmt.Errorf("passlink: lock: %w", err)
			}
			return nil, ErrLocked
		}
		return nil, &WrongCodeError{Left: s.cfg.MaxCodeAttempts - n}
	}
	return s.use(ctx, &l.Passlink, models.PasslinkApproved, displayName)
}

// Report takes "it wasn't me" from the device that opened a link another
// browser asked for. It ends nothing: the requester — perhaps the rightful
// one, whose mail a scanner opened and whose buttons it pressed — still
// needs the code only that screen shows, and without it nobody gets in;
// the link expires by itself. The link must be one that could still be
// approved (Lookup's errors otherwise). The caller records the report.
func (s *Service) Report(ctx context.Context, token, browserHash string) (*Link, error) {
	l, err := s.Lookup(ctx, token, browserHash)
	if err != nil {
		return l, err
	}
	if l.SameBrowser || isAdminLink(&l.Passlink) {
		return l, ErrInvalidLink // nothing to report: this browser asked
	}
	return l, nil
}

// useErr turns the store's verdict on a lost conditional update into ours.
func (s *Service) useErr(ctx context.Context, id string, err error) error {
	switch {
	case errors.Is(err, models.ErrExpired):
		return ErrExpired
	case errors.Is(err, models.ErrNotFound):
		return ErrInvalidLink
	case errors.Is(err, models.ErrConsumed):
		// Attempts spent (locked) or used meanwhile: say which.
		if p, gerr := s.st.GetPasslink(ctx, id); gerr == nil && p.UsedAt == nil && p.CodeAttempts >= s.cfg.MaxCodeAttempts {
			return ErrLocked
		} else if gerr == nil && p.Outcome == models.PasslinkLocked {
			return ErrLocked
		}
		return ErrUsed
	default:
		return fmt.Errorf("passlink: %w", err)
	}
}

// use ends a pending link with outcome and resolves its user, in one
// transaction: the conditional update first (the gate: of concurrent
// callers exactly one passes it), then the account (created for a
// sign-up, its address marked verified).
func (s *Service) use(ctx context.Context, p *models.Passlink, outcome, displayName string) (*Result, error) {
	now := s.now()
	res := &Result{InteractionID: p.InteractionID, RequestID: p.ID, Admin: isAdminLink(p)}
	err := s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.UsePasslink(ctx, p.ID, outcome, now); err != nil {
			return s.useErr(ctx, p.ID, err)
		}
		u, created, err := s.account(ctx, p, displayName)
		if err != nil {
			return err
		}
		if created || p.UserID != u.ID {
			if err := s.st.SetPasslinkUser(ctx, p.ID, u.ID); err != nil {
				return err
			}
		}
		proof, err := s.proveAddress(ctx, u, "")
		if err != nil {
			return err
		}
		res.User, res.Created, res.Proof = u, created, proof
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// proveAddress marks u's address proven, inside the caller's transaction.
// At the first proof the store removes what the account held before it
// (see store.ProveUserEmail: someone may have signed up with another
// person's address and waited for its owner); that is audited. It returns
// the proof when this was the first one, else nil. keepCredentialID, when
// set, is the passkey the prover holds (a verification code's held
// sign-in): it survives (store.ProveUserEmailKeeping).
func (s *Service) proveAddress(ctx context.Context, u *models.User, keepCredentialID string) (*models.AddressProof, error) {
	if u.EmailVerified {
		return nil, nil
	}
	var proof *models.AddressProof
	var err error
	if keepCredentialID != "" {
		proof, err = s.st.ProveUserEmailKeeping(ctx, u.ID, keepCredentialID)
	} else {
		proof, err = s.st.ProveUserEmail(ctx, u.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("passlink: prove address: %w", err)
	}
	u.EmailVerified = true
	if !proof.FirstProof {
		return nil, nil
	}
	if proof.Removed() {
		after, _ := json.Marshal(map[string]any{"credentials_removed": proof.Credentials,
			"password_removed": proof.Password, "sessions_ended": proof.Sessions})
		if err := s.st.CreateAuditEntry(ctx, &models.AuditEntry{
			ID: uuid.NewString(), At: s.now(), ActorID: u.ID, ActorKind: models.ActorSystem,
			ActorLabel: "first proof of the address by an emailed link or code", Action: "user.address_proven",
			TargetType: "user", TargetID: u.ID, AfterJSON: string(after),
		}); err != nil {
			return nil, fmt.Errorf("passlink: audit address proof: %w", err)
		}
		s.log.InfoContext(ctx, "first proof of an address removed earlier credentials", "user_id", u.ID,
			"credentials", proof.Credentials, "password", proof.Password, "sessions", proof.Sessions)
	}
	return proof, nil
}

// account is the user a used link signs in: the known one for a login
// link; for a sign-up link the account of that address, created now
// unless someone created it meanwhile (the link proves the address
// either way).
func (s *Service) account(ctx context.Context, p *models.Passlink, displayName string) (*models.User, bool, error) {
	cfg := s.live(ctx)
	if p.Purpose == models.PasslinkLogin || isAdminLink(p) {
		u, err := s.st.GetUser(ctx, p.UserID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, false, ErrUserUnavailable
		}
		if err != nil {
			return nil, false, fmt.Errorf("passlink: load user: %w", err)
		}
		if u.Disabled {
			return nil, false, ErrUserUnavailable
		}
		return u, false, nil
	}
	u, err := s.st.GetUserByEmail(ctx, p.Email)
	switch {
	case err == nil && u.Disabled:
		return nil, false, ErrUserUnavailable
	case err == nil:
		return u, false, nil
	case !errors.Is(err, models.ErrNotFound):
		return nil, false, fmt.Errorf("passlink: look up address: %w", err)
	}
	if !cfg.SignupOpen {
		// Sign-up was closed after the link was sent.
		return nil, false, ErrUserUnavailable
	}
	name := truncate(strings.TrimSpace(displayName), maxNameLen)
	if name == "" {
		name = p.Email[:strings.LastIndexByte(p.Email, '@')]
	}
	u = &models.User{ID: uuid.NewString(), Email: p.Email, EmailVerified: true, DisplayName: name}
	if err := s.st.CreateUser(ctx, u); err != nil {
		return nil, false, fmt.Errorf("passlink: create account: %w", err)
	}
	return u, true, nil
}
