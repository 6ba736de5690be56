package passlink

import (
	"context"
	"fmt"
	"time"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Account links: mailed single-use links that change the account itself
// (models.PasslinkEmailChange, EmailRevert, EmailConfirm, DeleteCancel)
// and never sign anyone in. They share the passlink row (token hash only,
// single use by a conditional update, expiry) but are found only by
// LookupAccount with their purpose, and the sign-in lookups never find
// them. Like a reset link, an account link works in any browser: it
// proves the mailbox, and what it does is named on the page a GET shows
// (mail scanners fetch links); only the POST acts.

// AccountPath is where an account link leads: AccountPath + token.
const AccountPath = "/account/link/"

// AccountMail is one mail of the account pages: a link (when Purpose is
// set) or a notice (Purpose ""), to Email, about user UserID.
type AccountMail struct {
	Purpose string
	UserID  string
	Email   string
	// Template names the mail (templates/mail/NAME.txt and .html, which
	// hold its subject).
	Template string
	// Lang is the mail's language (templates.MailLanguage of the user's
	// saved locale and the page's).
	Lang string
	// TTL is how long the link works.
	TTL time.Duration
	// Data is what the template shows besides the link (MailData.Other).
	Other map[string]string
	IP    string
}

// AccountMailData is what an account mail template gets.
type AccountMailData struct {
	// Brand is the operator's product name, logo and colour.
	Brand   templates.MailBrand
	Product string
	Email   string
	Link    string
	Expiry  string
	Other   map[string]string
}

// SendAccountMail queues m, with its link row when it has a purpose, in
// the caller's transaction if there is one; the mail leaves after the
// commit (the caller calls Kick, or it is picked up by the outbox loop).
func (s *Service) SendAccountMail(ctx context.Context, m AccountMail) error {
	cfg := s.live(ctx)
	now := s.now()
	data := AccountMailData{Brand: cfg.brand, Product: oneLine(cfg.Product), Email: m.Email, Other: m.Other}
	var row *models.Passlink
	if m.Purpose != "" {
		id, token := randomToken(idBytes), randomToken(tokenBytes)
		row = &models.Passlink{ID: id, TokenHash: hashToken(token), Purpose: m.Purpose, Email: m.Email,
			EmailNormalized: NormalizeEmail(m.Email), UserID: m.UserID, RequesterIP: truncate(m.IP, 64),
			RequesterUserAgent: "account", CodeHash: s.codeHash(id, randomToken(idBytes)),
			CreatedAt: now, ExpiresAt: now.Add(m.TTL)}
		data.Link, data.Expiry = cfg.BaseURL+AccountPath+token, templates.MailDuration(m.Lang, m.TTL)
	}
	rendered, err := templates.RenderMail(m.Lang, m.Template, data)
	if err != nil {
		return fmt.Errorf("passlink: %w", err)
	}
	msg := mail.Message{To: m.Email, Subject: oneLine(rendered.Subject), Text: rendered.Text, HTML: rendered.HTML, Kind: "account_" + m.Template}
	return s.st.WithTx(ctx, func(ctx context.Context) error {
		if row != nil {
			if err := s.st.CreatePasslink(ctx, row); err != nil {
				return err
			}
		}
		return s.mailer.Enqueue(ctx, msg)
	})
}

// Kick sends queued mail now (after the caller's transaction commits).
func (s *Service) Kick() { s.mailer.Kick() }

// AllowAccount counts one account mail against key (per user or per
// address) within the passlink rate window: false when over limit.
func (s *Service) AllowAccount(ctx context.Context, key string) (bool, error) {
	cfg := s.live(ctx)
	ok, _, err := s.limit.Allow(ctx, "account:"+key, cfg.RateEmail, cfg.RateWindow)
	if err != nil {
		return false, fmt.Errorf("passlink: rate limit: %w", err)
	}
	return ok, nil
}

// LookupAccount finds the account link of token without changing
// anything: ErrInvalidLink (unknown, malformed, or not an account link),
// ErrExpired or ErrUsed (with the link).
func (s *Service) LookupAccount(ctx context.Context, token string) (*Link, error) {
	return s.find(ctx, token, func(p *models.Passlink) *Link {
		switch p.Purpose {
		case models.PasslinkEmailChange, models.PasslinkEmailRevert, models.PasslinkEmailConfirm, models.PasslinkDeleteCancel:
			return &Link{Passlink: *p}
		}
		return nil
	})
}

// UseAccount spends the account link of token and runs apply with it, in
// one transaction: of concurrent callers exactly one gets past the
// conditional update; apply's error rolls the spending back.
func (s *Service) UseAccount(ctx context.Context, token string, apply func(ctx context.Context, p *models.Passlink) error) (*models.Passlink, error) {
	l, err := s.LookupAccount(ctx, token)
	if err != nil {
		return nil, err
	}
	err = s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.UsePasslink(ctx, l.ID, models.PasslinkApplied, s.now()); err != nil {
			return s.useErr(ctx, l.ID, err)
		}
		return apply(ctx, &l.Passlink)
	})
	if err != nil {
		return &l.Passlink, err
	}
	return &l.Passlink, nil
}
