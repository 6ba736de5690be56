package passlink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sesame-idp/sesame/internal/websession"
)

// Secrets and addresses: link tokens and their hashes, the
// cross-device code and its keyed hash, and the email helpers.

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
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64((d+30*time.Second)/time.Minute), "minute")
	default:
		return plural(int64(d/time.Second), "second")
	}
}

// randomToken and hashToken are the cookie secrets' (websession): n
// random bytes in base64url, and the hex SHA-256 that is stored.
func randomToken(n int) string { return websession.RandomToken(n) }

func hashToken(token string) string { return websession.Hash(token) }

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

func sameHash(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// typedCode is a code as typed, without the spaces and dashes people put
// in it; ErrCodeFormat unless six digits remain (no try is spent then).
func typedCode(code string) (string, error) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, code)
	if len(code) != codeDigits || strings.Trim(code, "0123456789") != "" {
		return "", ErrCodeFormat
	}
	return code, nil
}
