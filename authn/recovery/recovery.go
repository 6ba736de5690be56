package recovery

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-idp/sesame/models"
)

// Count is how many codes a set has.
const Count = 10

// codeLen is a code's length in symbols (5 bits each: 80 bits).
const codeLen = 16

// alphabet is Crockford's base 32, lower-case.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// amr and acr of a sign-in with a code (RFC 8176 "otp": a one-time
// password; basic: not phishing-resistant).
var (
	AMR = []string{"otp"}
	ACR = models.ACRBasic
)

// Errors of a sign-in with a code.
var (
	// ErrWrongCode: the account is unknown or disabled, the code is
	// wrong, used or replaced; deliberately one error for all.
	ErrWrongCode = errors.New("recovery: wrong code")
)

// ThrottledError refuses an attempt over a rate limit.
type ThrottledError struct {
	RetryAfter time.Duration
	// By names the limit: "ip" or "account".
	By string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("recovery: too many attempts (%s); retry after %s", e.By, e.RetryAfter)
}

// Store is the part of the data layer the method uses (*store.Store).
type Store interface {
	GetUserByEmail(ctx context.Context, email string) (*models.User, error)
	GetUserByUsername(ctx context.Context, username string) (*models.User, error)
	UnusedRecoveryCodeHashes(ctx context.Context, userID string) ([]string, error)
	UseRecoveryCode(ctx context.Context, userID, hash string) error
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error
	CountRecoveryCodes(ctx context.Context, userID string) (int64, error)
	DeleteRecoveryCodes(ctx context.Context, userID string) (int64, error)
}

// Limiter counts attempts (*ratelimit.Limiter).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
}

// Limit is at most N attempts per Window.
type Limit struct {
	N      int
	Window time.Duration
}

// Limits throttle sign-ins with a code.
type Limits struct {
	IP      []Limit
	Account []Limit
}

// DefaultLimits: from one address 10 attempts a minute and 50 an hour;
// on one account 5 in 15 minutes and 20 a day. At 20 guesses a day an
// 80-bit code is out of reach; the person who owns it needs one try.
var DefaultLimits = Limits{
	IP:      []Limit{{10, time.Minute}, {50, time.Hour}},
	Account: []Limit{{5, 15 * time.Minute}, {20, 24 * time.Hour}},
}

// Service generates, checks and spends recovery codes.
type Service struct {
	st     Store
	limit  Limiter
	key    []byte
	limits Limits
}

// New returns the method; key (at least 32 bytes, derived from the
// system secret) keys the stored hashes, so it must be the same on every
// replica and never change (a new key invalidates every code).
func New(st Store, limiter Limiter, key []byte, limits Limits) (*Service, error) {
	if len(key) < 32 {
		return nil, errors.New("recovery: key must be at least 32 bytes")
	}
	if limiter == nil {
		return nil, errors.New("recovery: a rate limiter is required")
	}
	if len(limits.IP) == 0 && len(limits.Account) == 0 {
		limits = DefaultLimits
	}
	for _, l := range append(append([]Limit{}, limits.IP...), limits.Account...) {
		if l.N < 1 || l.Window < time.Second {
			return nil, fmt.Errorf("recovery: invalid limit %d per %s", l.N, l.Window)
		}
	}
	return &Service{st: st, limit: limiter, key: append([]byte(nil), key...), limits: limits}, nil
}

// Generate makes a fresh set of Count codes for userID, replacing (and so
// invalidating) every code the user had, and returns them in their
// written form. They exist nowhere else: show them once.
func (s *Service) Generate(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, Count)
	hashes := make([]string, Count)
	for i := range codes {
		raw := newCode()
		codes[i], hashes[i] = Format(raw), s.hash(userID, raw)
	}
	if err := s.st.ReplaceRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("recovery: generate: %w", err)
	}
	return codes, nil
}

// Remaining is how many unused codes userID has.
func (s *Service) Remaining(ctx context.Context, userID string) (int64, error) {
	return s.st.CountRecoveryCodes(ctx, userID)
}

// Invalidate removes every code of userID and returns how many were unused.
func (s *Service) Invalidate(ctx context.Context, userID string) (int64, error) {
	return s.st.DeleteRecoveryCodes(ctx, userID)
}

// Attempt is a sign-in with a code: the account's address or username
// as typed, the code as typed, and the client's address.
type Attempt struct {
	Identifier string
	Code       string
	IP         string
}

// Match is a code that matched, not yet spent.
type Match struct {
	User *models.User
	hash string
}

// Verify throttles the attempt and checks the code in constant time
// against the account's unused codes: a *ThrottledError, ErrWrongCode
// (whatever was wrong; with a Match naming the account when there is
// one, for its history, that Spend refuses), or the match to Spend.
func (s *Service) Verify(ctx context.Context, a Attempt) (*Match, error) {
	ident := normalizeIdentifier(a.Identifier)
	if err := s.throttle(ctx, ident, a.IP); err != nil {
		return nil, err
	}
	u, err := s.lookup(ctx, ident)
	if err != nil {
		return nil, err
	}
	// Unknown and disabled accounts do the same work against no codes.
	id := "-unknown-account"
	if u != nil && !u.Disabled {
		id = u.ID
	}
	stored, err := s.st.UnusedRecoveryCodeHashes(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("recovery: verify: %w", err)
	}
	raw, ok := Normalize(a.Code)
	if !ok {
		raw = strings.Repeat("0", codeLen)
	}
	want := []byte(s.hash(id, raw))
	found := ""
	for i := range max(Count, len(stored)) {
		cand := dummyHash
		if i < len(stored) {
			cand = stored[i]
		}
		if subtle.ConstantTimeCompare([]byte(cand), want) == 1 && i < len(stored) {
			found = cand
		}
	}
	if found == "" || !ok || u == nil || u.Disabled {
		if u != nil {
			// The account, for its history; never a code to spend.
			return &Match{User: u}, ErrWrongCode
		}
		return nil, ErrWrongCode
	}
	return &Match{User: u, hash: found}, nil
}

// Spend uses the matched code: one conditional update, so of concurrent
// uses exactly one succeeds and the others get ErrWrongCode. It returns
// how many unused codes remain.
func (s *Service) Spend(ctx context.Context, m *Match) (int64, error) {
	if m == nil || m.User == nil || m.hash == "" {
		return 0, ErrWrongCode
	}
	err := s.st.UseRecoveryCode(ctx, m.User.ID, m.hash)
	if errors.Is(err, models.ErrNotFound) {
		return 0, ErrWrongCode
	}
	if err != nil {
		return 0, fmt.Errorf("recovery: spend: %w", err)
	}
	return s.st.CountRecoveryCodes(ctx, m.User.ID)
}

// dummyHash pads the comparison to Count entries; no code hashes to it
// (a hash is 64 hex digits).
var dummyHash = strings.Repeat("x", 64)

func (s *Service) lookup(ctx context.Context, ident string) (*models.User, error) {
	if ident == "" || !utf8.ValidString(ident) || strings.ContainsFunc(ident, unicode.IsControl) {
		return nil, nil // no account has such a name (and PostgreSQL refuses NUL)
	}
	var u *models.User
	var err error
	if strings.Contains(ident, "@") {
		u, err = s.st.GetUserByEmail(ctx, ident)
	} else {
		u, err = s.st.GetUserByUsername(ctx, ident)
	}
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("recovery: find account: %w", err)
	}
	return u, nil
}

// throttle counts the attempt per address, then per account; the first
// limit exceeded refuses it. A store error fails closed.
func (s *Service) throttle(ctx context.Context, ident, ip string) error {
	checks := []struct {
		by, key string
		limits  []Limit
	}{
		{"ip", "recovery:ip:" + ip, s.limits.IP},
		{"account", "recovery:account:" + ident, s.limits.Account},
	}
	for _, c := range checks {
		for _, l := range c.limits {
			ok, retry, err := s.limit.Allow(ctx, c.key, l.N, l.Window)
			if err != nil {
				return fmt.Errorf("recovery: throttle: %w", err)
			}
			if !ok {
				return &ThrottledError{RetryAfter: retry, By: c.by}
			}
		}
	}
	return nil
}

// hash is the stored form of a normalised code: HMAC-SHA-256 over the
// user id and the code, hex.
func (s *Service) hash(userID, raw string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(raw))
	return hex.EncodeToString(m.Sum(nil))
}

// newCode returns codeLen random symbols of the alphabet (5 bits each,
// from 5 random bits: no modulo bias).
func newCode() string {
	b := make([]byte, codeLen)
	if _, err := rand.Read(b); err != nil {
		panic("recovery: crypto/rand: " + err.Error()) // never on supported platforms
	}
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// Format writes a normalised code in groups of four: "abcd-efgh-jkmn-pqrs".
func Format(raw string) string {
	var sb strings.Builder
	for i := 0; i < len(raw); i += 4 {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(raw[i:min(i+4, len(raw))])
	}
	return sb.String()
}

// Normalize reads a code as typed: case, spaces and dashes ignored, i/l
// read as 1 and o as 0 (Crockford). ok is false for anything that is not
// a code's length in the alphabet.
func Normalize(typed string) (string, bool) {
	if len(typed) > 64 {
		return "", false
	}
	var sb strings.Builder
	for _, r := range strings.ToLower(typed) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'i' || r == 'l':
			r = '1'
		case r == 'o':
			r = '0'
		}
		if r > 127 || !strings.ContainsRune(alphabet, r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	if sb.Len() != codeLen {
		return "", false
	}
	return sb.String(), true
}

// normalizeIdentifier is the account as typed, for the lookup and the
// throttle: trimmed, lower-case.
func normalizeIdentifier(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 254 {
		s = s[:254]
	}
	return s
}
