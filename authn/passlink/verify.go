package passlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Verifying the address of an account that is signing in with a passkey
// (a sign-up, or an unproven account where the policy asks): a passlink of
// purpose models.PasslinkVerify. Its mail carries a six-digit code, typed
// on the page that waits, and a link that does the same in that browser
// only (opened anywhere else it proves nothing: the person who asked holds
// the passkey, and only their browser may go on). The row holds the
// sign-in (models.PendingLogin) until then; no session exists before the
// proof, and the proof keeps the passkey this browser created or used
// (store.ProveUserEmailKeeping). The code and the link are single use
// (one conditional update), work for TTL, the code for MaxCodeAttempts
// tries (a conditional counter; the last wrong one locks the request);
// both are stored only hashed (an HMAC under CodeKey, a SHA-256); the code
// is compared in constant time. Sending a new code is a new row that
// supersedes the old one, under the address's and the IP's rate limits.

// VerifyPath is where a verification link leads (+ token).
const VerifyPath = "/verify-email/"

// ErrNotSkippable: the verification was required when it was asked.
var ErrNotSkippable = errors.New("passlink: this verification can't be skipped")

// VerifyRequest asks for a verification of User's address.
type VerifyRequest struct {
	User *models.User
	// InteractionID, ClientID and AppName: the authorization waiting for
	// the sign-in, if any.
	InteractionID string
	ClientID      string
	AppName       string
	BrowserHash   string
	UserAgent     string
	Device        string
	IP            string
	// Pending is the sign-in held until the proof.
	Pending models.PendingLogin
	// Lang is the page's language, for a user without a saved locale.
	Lang string
}

// VerifySent is a sent verification code.
type VerifySent struct {
	RequestID   string
	MaskedEmail string
	ExpiresAt   time.Time
}

// Verification is a pending verification of this browser, for its page.
type Verification struct {
	models.Passlink
	Pending models.PendingLogin
}

// VerifyResult is a verification that ended: the held sign-in may go on.
type VerifyResult struct {
	User          *models.User
	InteractionID string
	Pending       models.PendingLogin
	// Proof is what the first proof removed (nil when skipped).
	Proof *models.AddressProof
}

// RequestVerification mails a code (and link) for r.User's address and
// stores the held sign-in. Over a rate limit it is ErrRateLimited and
// nothing is stored or sent (the account is the asker's: no enumeration
// to avoid here).
func (s *Service) RequestVerification(ctx context.Context, r VerifyRequest) (*VerifySent, error) {
	cfg := s.live(ctx)
	if r.User == nil || r.BrowserHash == "" {
		return nil, errors.New("passlink: verification without a user or browser binding")
	}
	email, err := ParseEmail(r.User.Email)
	if err != nil {
		return nil, err
	}
	norm := NormalizeEmail(email)
	// The IP first, so one client cannot use up the address's quota
	// beyond its own (as Request).
	keys := []struct {
		key string
		n   int
	}{{"passlink:email:" + norm, cfg.RateEmail}}
	if r.IP != "" {
		keys = append([]struct {
			key string
			n   int
		}{{"passlink:ip:" + r.IP, cfg.RateIP}}, keys...)
	}
	for _, l := range keys {
		ok, _, err := s.limit.Allow(ctx, l.key, l.n, cfg.RateWindow)
		if err != nil {
			return nil, fmt.Errorf("passlink: rate limit: %w", err)
		}
		if !ok {
			return nil, ErrRateLimited
		}
	}
	pending, err := json.Marshal(r.Pending)
	if err != nil {
		return nil, fmt.Errorf("passlink: encode held sign-in: %w", err)
	}
	now := s.now()
	id, token, code := randomToken(idBytes), randomToken(tokenBytes), randomCode()
	row := &models.Passlink{
		ID: id, TokenHash: hashToken(token), Purpose: models.PasslinkVerify, Email: email, EmailNormalized: norm,
		UserID: r.User.ID, InteractionID: r.InteractionID, ClientID: r.ClientID, BrowserHash: r.BrowserHash,
		CodeHash: s.codeHash(id, code), RequesterUserAgent: truncate(r.UserAgent, maxUserAgentLen),
		RequesterIP: truncate(r.IP, 64), CreatedAt: now, ExpiresAt: now.Add(cfg.TTL), PendingLogin: string(pending),
	}
	lang := templates.MailLanguage(r.User.Locale, r.Lang)
	data := mailData(cfg, lang, r.AppName, mailDevice(lang, r.UserAgent, r.Device), email, now)
	data.Link, data.Code = cfg.BaseURL+VerifyPath+token, code
	m, err := templates.RenderMail(lang, "verify_email", data)
	if err != nil {
		return nil, fmt.Errorf("passlink: %w", err)
	}
	msg := mail.Message{To: email, Subject: oneLine(m.Subject), Text: m.Text, HTML: m.HTML,
		Kind: "passlink_" + models.PasslinkVerify}
	err = s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.CreatePasslink(ctx, row); err != nil {
			return err
		}
		// Only the newest code of a sign-in works.
		if _, err := s.st.SupersedePasslinks(ctx, row, now); err != nil {
			return err
		}
		return s.mailer.Enqueue(ctx, msg)
	})
	if err != nil {
		return nil, fmt.Errorf("passlink: store verification: %w", err)
	}
	s.mailer.Kick()
	return &VerifySent{RequestID: id, MaskedEmail: MaskEmail(email), ExpiresAt: row.ExpiresAt}, nil
}

// Verification loads the pending verification id of this browser. Another
// browser's, an unknown one or another purpose is ErrInvalidLink; a used
// one ErrUsed and an expired one ErrExpired, both with the row.
func (s *Service) Verification(ctx context.Context, id, browserHash string) (*Verification, error) {
	if id == "" || len(id) > MaxRequestIDLen {
		return nil, ErrInvalidLink
	}
	p, err := s.st.GetPasslink(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrInvalidLink
	}
	if err != nil {
		return nil, fmt.Errorf("passlink: load verification: %w", err)
	}
	if p.Purpose != models.PasslinkVerify || !sameHash(p.BrowserHash, browserHash) {
		return nil, ErrInvalidLink
	}
	v := &Verification{Passlink: *p}
	if err := json.Unmarshal([]byte(p.PendingLogin), &v.Pending); err != nil {
		return nil, fmt.Errorf("passlink: decode held sign-in: %w", err)
	}
	switch {
	case p.UsedAt != nil:
		return v, ErrUsed
	case !p.ExpiresAt.After(s.now()):
		return v, ErrExpired
	}
	return v, nil
}

// VerifyCode proves the address with the code of verification id, typed
// in the browser that waits. Every well-formed code spends one of
// MaxCodeAttempts tries; the last wrong one locks the request (ErrLocked).
func (s *Service) VerifyCode(ctx context.Context, id, browserHash, code string) (*VerifyResult, error) {
	v, err := s.Verification(ctx, id, browserHash)
	if err != nil {
		return nil, err
	}
	code, err = typedCode(code)
	if err != nil {
		return nil, err
	}
	now := s.now()
	n, err := s.st.SpendPasslinkAttempt(ctx, id, s.cfg.MaxCodeAttempts, now)
	if err != nil {
		return nil, s.useErr(ctx, id, err)
	}
	if !sameHash(s.codeHash(id, code), v.CodeHash) {
		if n >= s.cfg.MaxCodeAttempts {
			if err := s.st.UsePasslink(ctx, id, models.PasslinkLocked, now); err != nil && !models.IsGone(err) {
				return nil, fmt.Errorf("passlink: lock: %w", err)
			}
			return nil, ErrLocked
		}
		return nil, &WrongCodeError{Left: s.cfg.MaxCodeAttempts - n}
	}
	return s.endVerification(ctx, v, models.PasslinkVerified)
}

// LookupVerify finds the verification link of token without changing
// anything (GET: scanners fetch links), as Lookup does for sign-in links.
func (s *Service) LookupVerify(ctx context.Context, token, browserHash string) (*Link, error) {
	return s.find(ctx, token, func(p *models.Passlink) *Link {
		if p.Purpose != models.PasslinkVerify {
			return nil
		}
		return &Link{Passlink: *p, SameBrowser: sameHash(p.BrowserHash, browserHash)}
	})
}

// VerifyLink proves the address with the mailed link, in the browser that
// waits only (ErrOtherBrowser elsewhere: see the file comment).
func (s *Service) VerifyLink(ctx context.Context, token, browserHash string) (*VerifyResult, error) {
	l, err := s.LookupVerify(ctx, token, browserHash)
	if err != nil {
		return nil, err
	}
	if !l.SameBrowser {
		return nil, ErrOtherBrowser
	}
	v, err := s.Verification(ctx, l.ID, browserHash)
	if err != nil {
		return nil, err
	}
	return s.endVerification(ctx, v, models.PasslinkVerified)
}

// SkipVerification ends a verification the policy did not require when it
// was asked, without a proof; the caller checks it is still not required.
func (s *Service) SkipVerification(ctx context.Context, id, browserHash string) (*VerifyResult, error) {
	v, err := s.Verification(ctx, id, browserHash)
	if err != nil {
		return nil, err
	}
	if !v.Pending.Skippable {
		return nil, ErrNotSkippable
	}
	return s.endVerification(ctx, v, models.PasslinkSkipped)
}

// ResendVerification sends a new code for the pending verification id of
// this browser; the new request supersedes it. ErrRateLimited over a
// limit (the old code keeps working).
func (s *Service) ResendVerification(ctx context.Context, id, browserHash string, r VerifyRequest) (*VerifySent, error) {
	v, err := s.Verification(ctx, id, browserHash)
	if err != nil {
		return nil, err
	}
	u, err := s.liveUser(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	r.User, r.InteractionID, r.ClientID, r.BrowserHash, r.Pending = u, v.InteractionID, v.ClientID, v.BrowserHash, v.Pending
	return s.RequestVerification(ctx, r)
}

// endVerification ends v with outcome (one conditional update: of
// concurrent callers one wins) and, for a proof, proves the address
// keeping the held sign-in's passkey, in one transaction.
func (s *Service) endVerification(ctx context.Context, v *Verification, outcome string) (*VerifyResult, error) {
	res := &VerifyResult{InteractionID: v.InteractionID, Pending: v.Pending}
	err := s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.UsePasslink(ctx, v.ID, outcome, s.now()); err != nil {
			return s.useErr(ctx, v.ID, err)
		}
		u, err := s.liveUser(ctx, v.UserID)
		if err != nil {
			return err
		}
		res.User = u
		if outcome != models.PasslinkVerified {
			return nil
		}
		res.Proof, err = s.proveAddress(ctx, u, v.Pending.CredentialID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// liveUser loads an account that may still sign in.
func (s *Service) liveUser(ctx context.Context, id string) (*models.User, error) {
	u, err := s.st.GetUser(ctx, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, ErrUserUnavailable
	case err != nil:
		return nil, fmt.Errorf("passlink: load user: %w", err)
	case u.Disabled:
		return nil, ErrUserUnavailable
	}
	return u, nil
}
