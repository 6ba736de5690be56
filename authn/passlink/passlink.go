package passlink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/internal/mail"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The service: its configuration, collaborators, clock and errors.
// The steps of a link live beside it: request.go (ask for a link),
// use.go (open and use it), crossdevice.go (the requesting browser takes
// an approval), reset.go (password reset links) and token.go (secrets,
// codes and address helpers).

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
	// Brand, when set, is the operator's branding for mails (product
	// name, logo, colour), asked for each mail; its product name, when
	// set, replaces Product.
	Brand func(ctx context.Context) templates.MailBrand

	// brand is the branding live applied, with Sesame's defaults.
	brand templates.MailBrand
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
	ProveUserEmailKeeping(ctx context.Context, id, keepCredentialID string) (*models.AddressProof, error)
	CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error
	CreatePasslink(ctx context.Context, p *models.Passlink) error
	SupersedePasslinks(ctx context.Context, p *models.Passlink, now time.Time) (int64, error)
	GetPasslink(ctx context.Context, id string) (*models.Passlink, error)
	GetPasslinkByTokenHash(ctx context.Context, hash string) (*models.Passlink, error)
	UsePasslink(ctx context.Context, id, outcome string, now time.Time) error
	SpendPasslinkAttempt(ctx context.Context, id string, max int, now time.Time) (int, error)
	SetPasslinkUser(ctx context.Context, id, userID string) error
	CompletePasslink(ctx context.Context, id string, notBefore, now time.Time) error
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
	if cfg.Brand != nil {
		cfg.brand = cfg.Brand(ctx)
		if cfg.brand.Product != "" {
			cfg.Product = cfg.brand.Product
		}
	}
	cfg.brand.Product = oneLine(cfg.Product)
	cfg.brand = cfg.brand.WithDefaults()
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
