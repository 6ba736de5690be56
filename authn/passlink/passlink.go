package passlink

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Result of a passlink sign-in, RFC 8176 and models/acr.go.
var (
	// AMR is "otp": a one-time secret delivered out of band.
	AMR = []string{"otp"}
	// ACR is below the passkey's: a mailbox is not phishing-resistant.
	ACR = models.ACRBasic
)

// Sizes of the secrets and ids.
const (
	tokenBytes = 32 // 256 bits in the link
	// TokenLen is the link token's length: 32 bytes, base64url, no padding.
	// Anything else is refused before it is hashed or looked up.
	TokenLen = 43
	idBytes  = 16
	// MaxRequestIDLen bounds a request id read from a URL (ours are 22).
	MaxRequestIDLen = 64
	codeDigits      = 6
	maxEmailLen     = 254
	maxUserAgentLen = 500
	maxNameLen      = 100
)

// Config is the method's policy.
type Config struct {
	// BaseURL is the issuer; links are BaseURL + "/passlink/" + token.
	BaseURL string
	// Product names the service in mails when no app asked (RP name).
	Product string
	// TTL is how long a link works (default 10 minutes).
	TTL time.Duration
	// RateEmail and RateIP are how many requests an address and a client
	// IP may make per RateWindow (defaults 5 and 30 per hour).
	RateEmail  int
	RateIP     int
	RateWindow time.Duration
	// SignupOpen: an unknown address may create an account.
	SignupOpen bool
	// UnknownMail says what an unknown address receives: "offer" (a link
	// that creates the account; needs SignupOpen, otherwise it acts as
	// "notice"), "notice" (a "no account here" mail) or "none".
	UnknownMail string
	// CodeKey keys the HMAC under which the cross-device code is stored;
	// the same on every replica (derive it from the system secret).
	CodeKey []byte
	// MaxCodeAttempts is how many codes may be typed (default 5).
	MaxCodeAttempts int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Policy, when set, is the live policy (internal/policy), asked on
	// every request; it replaces TTL, RateEmail, RateIP and SignupOpen.
	Policy PolicySource
}

// Unknown-address policies.
const (
	UnknownOffer  = "offer"
	UnknownNotice = "notice"
	UnknownNone   = "none"
)

// Store is the part of the data layer the service uses; *store.Store
// satisfies it.
type Store interface {
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
	GetUser(ctx context.Context, id string) (*models.User, error)
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
	CreateUser(ctx context.Context, u *models.User) error
	ProveUserEmail(ctx context.Context, id string) (*models.AddressProof, error)
	CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error
	CreatePasslink(ctx context.Context, p *models.Passlink) error
	GetPasslink(ctx context.Context, id string) (*models.Passlink, error)
	GetPasslinkByTokenHash(ctx context.Context, hash string) (*models.Passlink, error)
	UsePasslink(ctx context.Context, id, outcome string, now time.Time) error
	SpendPasslinkAttempt(ctx context.Context, id string, max int, now time.Time) (int, error)
	SetPasslinkUser(ctx context.Context, id, userID string) error
	CompletePasslink(ctx context.Context, id string, notBefore, now time.Time) error
	RecordAuthEvent(ctx context.Context, e *models.AuthEvent) error
}

// Mailer queues mails; *mail.Outbox satisfies it. Enqueue joins the
// caller's transaction; Kick is called after the commit.
type Mailer interface {
	Enqueue(ctx context.Context, m mail.Message) error
	Kick()
}

// Limiter counts requests per key and window; the ratelimit package's
// database-backed limiter satisfies it (it hashes the keys).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
}

// Service runs passlink requests and sign-ins.
type Service struct {
	cfg    Config
	st     Store
	mailer Mailer
	limit  Limiter
	log    *slog.Logger
}

// New checks cfg and returns the service.
func New(cfg Config, st Store, mailer Mailer, limiter Limiter, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	switch {
	case st == nil:
		return nil, errors.New("passlink: no store")
	case mailer == nil:
		return nil, errors.New("passlink: no mailer")
	case limiter == nil:
		return nil, errors.New("passlink: no rate limiter")
	case cfg.BaseURL == "":
		return nil, errors.New("passlink: no base URL")
	case len(cfg.CodeKey) < 16:
		return nil, errors.New("passlink: code key too short")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Product == "" {
		cfg.Product = "Sesame"
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.RateEmail <= 0 {
		cfg.RateEmail = 5
	}
	if cfg.RateIP <= 0 {
		cfg.RateIP = 30
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = time.Hour
	}
	switch cfg.UnknownMail {
	case "":
		cfg.UnknownMail = UnknownOffer
	case UnknownOffer, UnknownNotice, UnknownNone:
	default:
		return nil, fmt.Errorf("passlink: unknown-address policy %q (want offer, notice or none)", cfg.UnknownMail)
	}
	if cfg.MaxCodeAttempts <= 0 {
		cfg.MaxCodeAttempts = 5
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, st: st, mailer: mailer, limit: limiter, log: log}, nil
}

// TTL is how long a link requested now works.
func (s *Service) TTL(ctx context.Context) time.Duration { return s.live(ctx).TTL }

// PolicySource gives the part of the global policy an admin may change
// while Sesame runs (TTL, RateEmail and RateIP replace Config's when
// positive; SignupOpen replaces Config's). It is asked on every request,
// so it should cache (policy.Live keeps a copy for a few seconds).
type PolicySource interface {
	PasslinkPolicy(ctx context.Context) (policy.Passlink, error)
}

// live is the configuration with the live policy applied; when the source
// fails, Config is used (and the failure logged).
func (s *Service) live(ctx context.Context) Config {
	cfg := s.cfg
	if cfg.Policy == nil {
		return cfg
	}
	p, err := cfg.Policy.PasslinkPolicy(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "passlink: policy unavailable; using the configuration", "err", err)
		return cfg
	}
	if p.TTL > 0 {
		cfg.TTL = p.TTL
	}
	if p.RateEmail > 0 {
		cfg.RateEmail = p.RateEmail
	}
	if p.RateIP > 0 {
		cfg.RateIP = p.RateIP
	}
	cfg.SignupOpen = p.SignupOpen
	return cfg
}

// MaxCodeAttempts is how many codes may be typed for one link.
func (s *Service) MaxCodeAttempts() int { return s.cfg.MaxCodeAttempts }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Errors. Handlers map them to pages; none says whether an account exists.
var (
	// ErrInvalidEmail: the address is not one plain address (a header
	// injection attempt included). Nothing was stored or sent.
	ErrInvalidEmail = errors.New("passlink: not a valid email address")
	// ErrInvalidLink: a malformed, tampered or unknown link.
	ErrInvalidLink = errors.New("passlink: invalid link")
	// ErrExpired: the link is past its lifetime.
	ErrExpired = errors.New("passlink: link expired")
	// ErrUsed: the link was already used (see the Link's Outcome).
	ErrUsed = errors.New("passlink: link already used")
	// ErrOtherBrowser: SignIn from a browser that did not ask; use Approve.
	ErrOtherBrowser = errors.New("passlink: opened in another browser")
	// ErrCodeFormat: not six digits; no attempt was counted.
	ErrCodeFormat = errors.New("passlink: the code is six digits")
	// ErrWrongCode: a wrong code; see WrongCodeError for the tries left.
	ErrWrongCode = errors.New("passlink: wrong code")
	// ErrLocked: too many wrong codes; the request is dead.
	ErrLocked = errors.New("passlink: too many wrong codes")
	// ErrUserUnavailable: the account was disabled (or removed) since.
	ErrUserUnavailable = errors.New("passlink: account unavailable")
	// ErrNotApproved: Complete before (or without) an approval.
	ErrNotApproved = errors.New("passlink: not approved")
)

// WrongCodeError is ErrWrongCode with the number of tries left.
type WrongCodeError struct{ Left int }

func (e *WrongCodeError) Error() string {
	return fmt.Sprintf("passlink: wrong code (%d tries left)", e.Left)
}

// Is makes errors.Is(err, ErrWrongCode) true.
func (e *WrongCodeError) Is(target error) bool { return target == ErrWrongCode }

// ParseEmail checks that s is one plain address, no display name,
// comment, group or line break: what net/mail parses back to exactly the
// same address. It returns the address trimmed.
func ParseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "", len(s) > maxEmailLen, !utf8.ValidString(s):
		return "", ErrInvalidEmail
	case strings.ContainsAny(s, "\r\n\x00<>,;: \t\"()[]\\"):
		return "", ErrInvalidEmail
	case strings.Count(s, "@") != 1, strings.HasPrefix(s, "@"), strings.HasSuffix(s, "@"):
		return "", ErrInvalidEmail
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrInvalidEmail
	}
	domain := s[strings.IndexByte(s, '@')+1:]
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", ErrInvalidEmail
	}
	return s, nil
}

// NormalizeEmail is the lookup key of an address (as models/store).
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// MaskEmail shows enough of an address for its owner to recognise it:
// "a…@example.com".
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return "…"
	}
	first, _ := utf8.DecodeRuneInString(s)
	return string(first) + "…" + s[at:]
}

// HumanDuration says a TTL the way people do: "10 minutes", "1 hour".
func HumanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64((d+30*time.Second)/time.Minute), "minute")
	default:
		return plural(int64(d/time.Second), "second")
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64())
}

// codeHash binds the code to its request, under the server's key: the
// database alone does not reveal it.
func (s *Service) codeHash(id, code string) string {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte("passlink-code:" + id + ":" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// ValidToken reports whether token has the shape of our tokens: 43
// base64url characters. It bounds the input before any hashing.
func ValidToken(token string) bool {
	if len(token) != TokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

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
	purpose, userID := models.PasslinkNone, ""
	u, err := s.st.GetUserByEmail(ctx, email)
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
	msg, err := s.message(cfg, purpose, email, token, r, now)
	if err != nil {
		return nil, err
	}
	err = s.st.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.CreatePasslink(ctx, row); err != nil {
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
	AppName     string
	Product     string
	Email       string
	Link        string
	Expiry      string
	Device      string
	RequestedAt string
}

// message renders the mail of a request. It is rendered for every
// purpose, including silence, so every request costs the same.
func (s *Service) message(cfg Config, purpose, email, token string, r Request, now time.Time) (mail.Message, error) {
	app := oneLine(r.AppName)
	if app == "" {
		app = oneLine(cfg.Product)
	}
	device := oneLine(r.Device)
	if device == "" {
		device = "an unknown device"
	}
	data := MailData{
		AppName: app, Product: oneLine(cfg.Product), Email: email,
		Link:   cfg.BaseURL + "/passlink/" + token,
		Expiry: HumanDuration(cfg.TTL), Device: device,
		RequestedAt: now.Format("2 Jan 2006 at 15:04 MST"),
	}
	name, subject := "passlink", "Sign in to "+app
	switch {
	case purpose == models.PasslinkReset:
		name, subject = "password_reset", "Reset your "+app+" password"
		data.Link = cfg.BaseURL + ResetPath + token
	case r.Reset: // an address without an account
		name, subject = "password_reset_notice", "No "+app+" account for this address"
		data.Link = ""
	case purpose == models.PasslinkSignup:
		name, subject = "passlink_signup", "Create your "+app+" account"
	case purpose == models.PasslinkNotice, purpose == models.PasslinkNone:
		name, subject = "passlink_notice", "No "+app+" account for this address"
		data.Link = ""
	}
	text, html, err := templates.RenderMail(name, data)
	if err != nil {
		return mail.Message{}, fmt.Errorf("passlink: %w", err)
	}
	return mail.Message{To: email, Subject: subject, Text: text, HTML: html, Kind: "passlink_" + purpose}, nil
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

// ResetPath is where a reset link leads: ResetPath + token, on the issuer.
const ResetPath = "/password/reset/"

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
	if p.Purpose != models.PasslinkLogin && p.Purpose != models.PasslinkSignup && !isAdminLink(p) {
		return nil, ErrInvalidLink // no such link was ever sent
	}
	// An administrator's link was asked for by no browser: the one that
	// opens it is the one it signs in.
	l := &Link{Passlink: *p, SameBrowser: sameHash(p.BrowserHash, browserHash) || isAdminLink(p)}
	switch {
	case p.UsedAt != nil:
		return l, ErrUsed
	case !p.ExpiresAt.After(s.now()):
		return l, ErrExpired
	}
	return l, nil
}

func sameHash(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
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
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, code)
	if len(code) != codeDigits || strings.Trim(code, "0123456789") != "" {
		return nil, ErrCodeFormat
	}
	now := s.now()
	n, err := s.st.SpendPasslinkAttempt(ctx, l.ID, s.cfg.MaxCodeAttempts, now)
	if err != nil {
		return nil, s.useErr(ctx, l.ID, err)
	}
	want := s.codeHash(l.ID, code)
	if subtle.ConstantTimeCompare([]byte(want), []byte(l.CodeHash)) != 1 {
		if n >= s.cfg.MaxCodeAttempts {
			if err := s.st.UsePasslink(ctx, l.ID, models.PasslinkLocked, now); err != nil && !isGone(err) {
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

func isGone(err error) bool {
	return errors.Is(err, models.ErrConsumed) || errors.Is(err, models.ErrExpired) || errors.Is(err, models.ErrNotFound)
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
		proof, err := s.proveAddress(ctx, u)
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
// the proof when this was the first one, else nil.
func (s *Service) proveAddress(ctx context.Context, u *models.User) (*models.AddressProof, error) {
	if u.EmailVerified {
		return nil, nil
	}
	proof, err := s.st.ProveUserEmail(ctx, u.ID)
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
			ActorLabel: "first proof of the address by an emailed link", Action: "user.address_proven",
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

// LookupReset finds the password reset link of token without changing
// anything, like Lookup (ErrInvalidLink, ErrExpired, ErrUsed). Only reset
// links are found here, and Lookup never finds one, so a reset link can
// never sign in and a sign-in link can never set a password. A reset link
// works in any browser: it only proves the mailbox, and whoever opens it
// chooses the password.
func (s *Service) LookupReset(ctx context.Context, token string) (*Link, error) {
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
	if p.Purpose != models.PasslinkReset {
		return nil, ErrInvalidLink
	}
	l := &Link{Passlink: *p}
	switch {
	case p.UsedAt != nil:
		return l, ErrUsed
	case !p.ExpiresAt.After(s.now()):
		return l, ErrExpired
	}
	return l, nil
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
		proof, err := s.proveAddress(ctx, u)
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

// Record writes an auth event of this method; ID, At and Method are
// filled in, free text bounded.
func (s *Service) Record(ctx context.Context, e *models.AuthEvent) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	e.Method = models.MethodPasslink
	if e.Result == "" {
		e.Result = models.ResultSuccess
	}
	e.Reason = truncate(e.Reason, 200)
	e.UserAgent = truncate(e.UserAgent, maxUserAgentLen)
	if err := s.st.RecordAuthEvent(ctx, e); err != nil {
		return fmt.Errorf("passlink: record event: %w", err)
	}
	return nil
}
