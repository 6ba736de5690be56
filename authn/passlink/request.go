package passlink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Step 1, the request: limits first, the same work for every address,
// the row and the mail in one transaction.

// Request describes who asks for a link, from where.
type Request struct {
	Email string
	// InteractionID, ClientID and AppName come from the authorization
	// that is waiting, if any (the caller checked it is this browser's).
	InteractionID string
	ClientID      string
	AppName       string
	// BrowserHash is the requesting browser's binding hash.
	BrowserHash string
	UserAgent   string
	// Device describes UserAgent for people ("Chrome on macOS").
	Device string
	IP     string
	// Reset asks for a password reset link (models.PasslinkReset): it
	// leads to a "choose a new password" page and signs nobody in. An
	// unknown address gets the notice (or nothing), never a sign-up.
	Reset bool
	// Lang is the requesting page's language: the mail's, unless the
	// account has a saved locale (templates.MailLanguage).
	Lang string
}

// Sent is the answer to a request: the same shape whatever happened.
type Sent struct {
	// RequestID is what the requesting page polls with.
	RequestID string
	// Code is the six-digit code the requesting screen shows.
	Code        string
	MaskedEmail string
	ExpiresAt   time.Time
	// Limited reports a rate limit was hit (nothing stored, no mail). For
	// the caller's auth event only: the page must not differ.
	Limited bool
	// LimitedBy is "email" or "ip" when Limited.
	LimitedBy string
	// Purpose is what the row does (models.PasslinkLogin, …); for logs
	// and tests, never for the page.
	Purpose string
	// UserID is the known account, if any; for the auth event only.
	UserID string
}

// Request handles a request for a link. The only error a person should
// see is ErrInvalidEmail (a typo); everything else is a server error.
func (s *Service) Request(ctx context.Context, r Request) (*Sent, error) {
	cfg := s.live(ctx)
	email, err := ParseEmail(r.Email)
	if err != nil {
		return nil, err
	}
	if r.BrowserHash == "" {
		return nil, errors.New("passlink: request without a browser binding")
	}
	now := s.now()
	id, code := randomToken(idBytes), randomCode()
	sent := &Sent{RequestID: id, Code: code, MaskedEmail: MaskEmail(email), ExpiresAt: now.Add(cfg.TTL)}

	// Limits first: a flood costs a counter update per request, no row
	// and no mail. The IP is checked before the address so one client
	// cannot use up a victim's address quota beyond its own.
	norm := NormalizeEmail(email)
	if r.IP != "" {
		ok, _, err := s.limit.Allow(ctx, "passlink:ip:"+r.IP, cfg.RateIP, cfg.RateWindow)
		if err != nil {
			return nil, fmt.Errorf("passlink: rate limit: %w", err)
		}
		if !ok {
			sent.Limited, sent.LimitedBy = true, "ip"
			return sent, nil
		}
	}
	ok, _, err := s.limit.Allow(ctx, "passlink:email:"+norm, cfg.RateEmail, cfg.RateWindow)
	if err != nil {
		return nil, fmt.Errorf("passlink: rate limit: %w", err)
	}
	if !ok {
		sent.Limited, sent.LimitedBy = true, "email"
		return sent, nil
	}

	// Same work for every address from here: a lookup, a row, a rendered
	// mail and (unless the policy is silence) an enqueued one.
	purpose, userID, saved := models.PasslinkNone, "", ""
	u, err := s.st.GetUserByEmail(ctx, email)
	if err == nil {
		saved = u.Locale
	}
	switch {
	case err == nil && !u.Disabled && r.Reset:
		purpose, userID = models.PasslinkReset, u.ID
	case err == nil && !u.Disabled:
		purpose, userID = models.PasslinkLogin, u.ID
	case err == nil:
		purpose = models.PasslinkNone // a disabled account gets nothing
	case errors.Is(err, models.ErrNotFound) && r.Reset:
		purpose = models.PasslinkNotice
		if cfg.UnknownMail == UnknownNone {
			purpose = models.PasslinkNone
		}
	case errors.Is(err, models.ErrNotFound):
		purpose = s.unknownPurpose(cfg)
	default:
		return nil, fmt.Errorf("passlink: look up address: %w", err)
	}
	sent.Purpose, sent.UserID = purpose, userID

	token := randomToken(tokenBytes)
	ua := truncate(r.UserAgent, maxUserAgentLen)
	row := &models.Passlink{
		ID: id, TokenHash: hashToken(token), Purpose: purpose, Email: email, EmailNormalized: norm,
		UserID: userID, InteractionID: r.InteractionID, ClientID: r.ClientID, BrowserHash: r.BrowserHash,
		CodeHash: s.codeHash(id, code), RequesterUserAgent: ua, RequesterIP: truncate(r.IP, 64),
		CreatedAt: now, ExpiresAt: sent.ExpiresAt,
	}
	msg, err := s.message(cfg, purpose, email, token, r, templates.MailLanguage(saved, r.Lang), now)
	if err != nil {
		return nil, err
	}
	err = s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.CreatePasslink(ctx, row); err != nil {
			return err
		}
		// Only the newest link of a sign-in works: a stale mail cannot
		// be used after the person asked again.
		if _, err := s.st.SupersedePasslinks(ctx, row, now); err != nil {
			return err
		}
		if purpose == models.PasslinkNone {
			return nil
		}
		return s.mailer.Enqueue(ctx, msg)
	})
	if err != nil {
		if errors.Is(err, mail.ErrInvalidMessage) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidEmail, err)
		}
		return nil, fmt.Errorf("passlink: store request: %w", err)
	}
	if purpose != models.PasslinkNone {
		s.mailer.Kick()
	}
	return sent, nil
}

func (s *Service) unknownPurpose(cfg Config) string {
	switch cfg.UnknownMail {
	case UnknownOffer:
		if cfg.SignupOpen {
			return models.PasslinkSignup
		}
		return models.PasslinkNotice
	case UnknownNotice:
		return models.PasslinkNotice
	default:
		return models.PasslinkNone
	}
}

// MailData is what the mail templates get.
type MailData struct {
	// Brand is the operator's product name, logo and colour.
	Brand   templates.MailBrand
	AppName string
	Product string
	Email   string
	Link    string
	// Code is a verification mail's six-digit code.
	Code        string
	Expiry      string
	Device      string
	RequestedAt string
}

// message renders the mail of a request. It is rendered for every
// purpose, including silence, so every request costs the same.
func (s *Service) message(cfg Config, purpose, email, token string, r Request, lang string, now time.Time) (mail.Message, error) {
	data := mailData(cfg, lang, r.AppName, mailDevice(lang, r.UserAgent, r.Device), email, now)
	data.Link = cfg.BaseURL + "/passlink/" + token
	name := "passlink"
	switch {
	case purpose == models.PasslinkReset:
		name = "password_reset"
		data.Link = cfg.BaseURL + ResetPath + token
	case r.Reset: // an address without an account
		name = "password_reset_notice"
		data.Link = ""
	case purpose == models.PasslinkSignup:
		name = "passlink_signup"
	case purpose == models.PasslinkNotice, purpose == models.PasslinkNone:
		name = "passlink_notice"
		data.Link = ""
	}
	m, err := templates.RenderMail(lang, name, data)
	if err != nil {
		return mail.Message{}, fmt.Errorf("passlink: %w", err)
	}
	return mail.Message{To: email, Subject: oneLine(m.Subject), Text: m.Text, HTML: m.HTML, Kind: "passlink_" + purpose}, nil
}

// mailData is what every link mail says, in lang: the app (the product
// without one), the device that asked, when, and how long links work.
func mailData(cfg Config, lang, appName, device, email string, now time.Time) MailData {
	app := oneLine(appName)
	if app == "" {
		app = oneLine(cfg.Product)
	}
	device = oneLine(device)
	if device == "" {
		device = templates.MailT(lang, "mail.unknown_device")
	}
	return MailData{Brand: cfg.brand, AppName: app, Product: oneLine(cfg.Product), Email: email, Device: device,
		Expiry: templates.MailDuration(lang, cfg.TTL), RequestedAt: now.UTC().Format(templates.MailT(lang, "mail.time_layout"))}
}

// mailDevice is the asking device in the mail's language, from its
// User-Agent; device (the page's words) when there is none.
func mailDevice(lang, ua, device string) string {
	if ua == "" {
		return device
	}
	return templates.MailDevice(lang, ua)
}

// oneLine makes admin- or browser-supplied text safe for a header and a
// sentence: no control characters, bounded.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(strings.TrimSpace(s), 100)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
