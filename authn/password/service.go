package password

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/internal/hashgate"
	"github.com/sesame-idp/sesame/models"
)

// Config is the password method's policy.
type Config struct {
	// Params are the argon2id parameters of new hashes (DefaultParams when
	// zero). Stored hashes made with others are upgraded on sign-in.
	Params Params
	// MinLength is the minimum length of a new password in characters
	// (DefaultMinLength when zero).
	MinLength int
	// RequireSecurityKey: a password alone never signs in; a user without
	// a security key enrols one right after the password, before any
	// session. When false, a user without a security key signs in with the
	// password alone (acr basic); a user with one must still use it.
	RequireSecurityKey bool
	// Limits throttle sign-in attempts (DefaultLimits when nil).
	Limits *Limits
	// Gate bounds the memory-hard hashing of the whole process (shared
	// with client secret checks); one of its own when nil.
	Gate *hashgate.Gate
}

// Store is the part of the data layer the service uses; *store.Store
// satisfies it.
type Store interface {
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
	GetUserPassword(ctx context.Context, userID string) (*models.UserPassword, error)
	ReplacePasswordHash(ctx context.Context, userID, old, hash string) error
}

// Limiter counts attempts per key and window across replicas; the
// ratelimit package's database-backed limiter satisfies it.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
}

// Service checks sign-in passwords and prepares new ones.
type Service struct {
	cfg    Config
	hasher *Hasher
	policy Policy
	st     Store
	limit  Limiter
	limits Limits
	log    *slog.Logger
}

// NewService checks cfg and returns the service; it spends one hash on the
// dummy that unknown addresses are verified against.
func NewService(cfg Config, st Store, limiter Limiter, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	switch {
	case st == nil:
		return nil, errors.New("password: no store")
	case limiter == nil:
		return nil, errors.New("password: no rate limiter")
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams
	}
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	if cfg.MinLength <= 0 {
		cfg.MinLength = DefaultMinLength
	}
	if cfg.MinLength > 64 {
		// NIST SP 800-63B: verifiers must accept at least 64 characters.
		return nil, fmt.Errorf("password: minimum length %d is over 64", cfg.MinLength)
	}
	limits := DefaultLimits
	if cfg.Limits != nil {
		limits = *cfg.Limits
	}
	if err := limits.validate(); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	return &Service{
		cfg: cfg, hasher: newHasher(cfg.Params, cfg.Gate), policy: Policy{MinLength: cfg.MinLength},
		st: st, limit: limiter, limits: limits, log: log,
	}, nil
}

// RequireSecurityKey reports the policy: see Config.
func (s *Service) RequireSecurityKey() bool { return s.cfg.RequireSecurityKey }

// MinLength is the minimum length of a new password, for the forms.
func (s *Service) MinLength() int { return s.cfg.MinLength }

// Hasher is the service's hasher (for benchmarks and tests).
func (s *Service) Hasher() *Hasher { return s.hasher }

// Errors of SignIn. None of them tells whether the address has an
// account: an unknown address, an account without a password and a wrong
// password are all ErrWrongPassword.
var (
	// ErrWrongPassword: the address and password do not match an account
	// with that password.
	ErrWrongPassword = errors.New("password: email or password is wrong")
	// ErrInvalidEmail: not an address at all (a typo; nothing counted).
	ErrInvalidEmail = errors.New("password: not an email address")
	// ErrDisabled: the password is right but the account is disabled.
	ErrDisabled = errors.New("password: account disabled")
)

// ThrottledError: too many attempts; RetryAfter says when the window that
// refused ends. By names the limit ("ip", "account_ip" or "account"), for
// logs only.
type ThrottledError struct {
	RetryAfter time.Duration
	By         string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("password: too many attempts (%s), retry in %s", e.By, e.RetryAfter.Round(time.Second))
}

// Attempt is one sign-in attempt.
type Attempt struct {
	Email    string
	Password string
	// IP is the client's address, for the per-IP limits.
	IP string
}

// Verified is a password that matched.
type Verified struct {
	User *models.User
	// Rehashed: the stored hash was upgraded to the current parameters.
	Rehashed bool
}

// maxEmailLen bounds an address (RFC 5321 path limit).
const maxEmailLen = 254

// SignIn checks a password. Every attempt for an address that is an
// address takes the same path, whatever the account: the user and
// password rows are read (a row that cannot exist for an unknown address),
// the throttle counts the attempt, and exactly one argon2id computation
// runs (against the stored hash, or the dummy). A password over MaxBytes
// is refused (ErrTooLong) before any of it. On success a hash made with
// other parameters is replaced by one made with the current ones.
func (s *Service) SignIn(ctx context.Context, a Attempt) (*Verified, error) {
	if len(a.Password) > MaxBytes {
		return nil, ErrTooLong
	}
	email := strings.TrimSpace(a.Email)
	if email == "" || len(email) > maxEmailLen || !strings.Contains(email, "@") || strings.ContainsAny(email, " \r\n") {
		return nil, ErrInvalidEmail
	}
	norm := strings.ToLower(email)
	u, err := s.st.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, models.ErrNotFound):
		u = nil
	case err != nil:
		return nil, fmt.Errorf("password: look up address: %w", err)
	}
	// The same read for an unknown address: a user id that cannot exist.
	pwUser := "unknown:" + norm
	if u != nil {
		pwUser = u.ID
	}
	row, err := s.st.GetUserPassword(ctx, pwUser)
	switch {
	case errors.Is(err, models.ErrNotFound):
		row = nil
	case err != nil:
		return nil, fmt.Errorf("password: load password: %w", err)
	}
	if err := s.throttle(ctx, accountKey(norm, u, row), a.IP); err != nil {
		return nil, err
	}
	if u == nil || row == nil {
		s.hasher.VerifyDummy(a.Password)
		return nil, ErrWrongPassword
	}
	ok, rehash, err := s.hasher.Verify(a.Password, row.Hash)
	if errors.Is(err, ErrInvalidHash) {
		// A damaged stored hash: nobody can sign in with it; the user can
		// reset the password. Same answer as a wrong password.
		s.log.ErrorContext(ctx, "password: stored hash does not verify", "user_id", u.ID, "err", err)
		return nil, ErrWrongPassword
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrWrongPassword
	}
	if u.Disabled {
		return nil, ErrDisabled
	}
	v := &Verified{User: u}
	if rehash {
		// The plaintext is only here, so the upgrade happens now, even if
		// the second factor then fails: it changes no one's access.
		if fresh, err := s.hasher.Hash(a.Password); err != nil {
			s.log.ErrorContext(ctx, "password: rehash", "user_id", u.ID, "err", err)
		} else if err := s.st.ReplacePasswordHash(ctx, u.ID, row.Hash, fresh); err != nil {
			// Changed meanwhile (ErrNotFound) or a store error: the old
			// hash still works; try again next time.
			s.log.WarnContext(ctx, "password: store upgraded hash", "user_id", u.ID, "err", err)
		} else {
			v.Rehashed = true
		}
	}
	return v, nil
}

// NewHash checks a new password against the rules for the account with
// email (Policy.Check: a *RuleError with a sentence for people) and
// returns its hash.
func (s *Service) NewHash(password, email string) (string, error) {
	if err := s.policy.Check(password, email); err != nil {
		return "", err
	}
	return s.hasher.Hash(password)
}
