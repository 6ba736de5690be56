package passlink

import (
	"context"
	"errors"
	"fmt"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// ErrRateLimited: an administrator sent too many links (to this address,
// or in all). Unlike the public request, the answer may say so: the
// administrator already knows the account exists.
var ErrRateLimited = errors.New("passlink: too many links sent, try again later")

// AdminRequest is an administrator sending a sign-in link to a user.
type AdminRequest struct {
	UserID string
	// AdminID keys the sender's own rate limit (an admin user's id or an
	// API client's id).
	AdminID string
	// AppName names the service in the mail (default Config.Product).
	AppName string
	IP      string
}

// AdminSent describes a sent link, for the caller's audit record.
type AdminSent struct {
	RequestID string
	Email     string
	ExpiresAt string
}

// SendAdmin mails the user a sign-in link of purpose models.PasslinkAdmin:
// no browser asked, so the link is bound to none and has no cross-device
// code; the browser that opens it signs in after the confirmation POST
// (the GET never does), once, within TTL. It counts against the address's
// limit like every other request, and against the sender's (RateIP).
func (s *Service) SendAdmin(ctx context.Context, r AdminRequest) (*AdminSent, error) {
	cfg := s.live(ctx)
	u, err := s.st.GetUser(ctx, r.UserID)
	if err != nil {
		return nil, err // models.ErrNotFound for the caller
	}
	if u.Disabled {
		return nil, ErrUserUnavailable
	}
	email, err := ParseEmail(u.Email)
	if err != nil {
		return nil, err
	}
	if r.AdminID != "" {
		ok, _, err := s.limit.Allow(ctx, "passlink:admin:"+r.AdminID, cfg.RateIP, cfg.RateWindow)
		if err != nil {
			return nil, fmt.Errorf("passlink: rate limit: %w", err)
		}
		if !ok {
			return nil, ErrRateLimited
		}
	}
	norm := NormalizeEmail(email)
	ok, _, err := s.limit.Allow(ctx, "passlink:email:"+norm, cfg.RateEmail, cfg.RateWindow)
	if err != nil {
		return nil, fmt.Errorf("passlink: rate limit: %w", err)
	}
	if !ok {
		return nil, ErrRateLimited
	}
	now := s.now()
	id, token := randomToken(idBytes), randomToken(tokenBytes)
	row := &models.Passlink{
		ID: id, TokenHash: hashToken(token), Purpose: models.PasslinkAdmin, Email: email, EmailNormalized: norm,
		UserID: u.ID, RequesterIP: truncate(r.IP, 64), RequesterUserAgent: "administrator",
		// No code exists: an HMAC of a random value nobody saw.
		CodeHash:  s.codeHash(id, randomToken(idBytes)),
		CreatedAt: now, ExpiresAt: now.Add(cfg.TTL),
	}
	// No page asked: the user's saved locale, else the default.
	lang := templates.MailLanguage(u.Locale, "")
	data := mailData(cfg, lang, r.AppName, "", email, now)
	data.Link = cfg.BaseURL + "/passlink/" + token
	m, err := templates.RenderMail(lang, "passlink_admin", data)
	if err != nil {
		return nil, fmt.Errorf("passlink: %w", err)
	}
	msg := mail.Message{To: email, Subject: oneLine(m.Subject), Text: m.Text, HTML: m.HTML, Kind: "passlink_" + models.PasslinkAdmin}
	err = s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.CreatePasslink(ctx, row); err != nil {
			return err
		}
		return s.mailer.Enqueue(ctx, msg)
	})
	if err != nil {
		return nil, fmt.Errorf("passlink: store admin link: %w", err)
	}
	s.mailer.Kick()
	return &AdminSent{RequestID: id, Email: email, ExpiresAt: row.ExpiresAt.Format("2006-01-02T15:04:05Z07:00")}, nil
}

// isAdminLink reports whether p was sent by an administrator.
func isAdminLink(p *models.Passlink) bool { return p.Purpose == models.PasslinkAdmin }
