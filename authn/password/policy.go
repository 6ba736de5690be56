package password

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxBytes bounds a password before anything else looks at it: Check
// refuses longer ones, and Hash, Verify and VerifyDummy return ErrTooLong
// without hashing, so nobody makes the server hash megabytes. 1024 bytes
// is far above any passphrase a person types (NIST SP 800-63B asks for at
// least 64 characters) and keeps argon2id's pre-hashing of the input
// negligible.
const MaxBytes = 1024

// DefaultMinLength is the minimum length in characters (Unicode code
// points) when Policy.MinLength is zero. NIST SP 800-63B §3.1.1.2 asks for
// at least 8 when the password is one factor of several, as here (the
// security key is the other); 10 leaves a margin.
const DefaultMinLength = 10

// Codes of RuleError, stable for callers and logs.
const (
	CodeTooShort = "too_short"
	CodeTooLong  = "too_long"
	CodeCommon   = "common"
	CodeEmail    = "contains_email"
	CodeSequence = "sequence"
)

// RuleError is a password refused by Policy.Check (or too long for the
// Hasher). Message is a sentence to show the person as it is; Code says
// which rule, for callers and logs.
type RuleError struct {
	Code    string
	Message string
}

func (e *RuleError) Error() string { return "refuse password: " + e.Code }

// Is makes errors.Is(err, ErrTooShort) and the like match on Code, since
// the message of a refusal may depend on the policy.
func (e *RuleError) Is(target error) bool {
	t, ok := target.(*RuleError)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is; Check returns RuleErrors with these codes.
var (
	ErrTooShort = &RuleError{Code: CodeTooShort, Message: fmt.Sprintf("Use at least %d characters.", DefaultMinLength)}
	ErrTooLong  = &RuleError{Code: CodeTooLong, Message: "That password is too long."}
	ErrCommon   = &RuleError{Code: CodeCommon, Message: "That password is too common. Choose another."}
	ErrEmail    = &RuleError{Code: CodeEmail, Message: "Don't use your email address in your password."}
	ErrSequence = &RuleError{Code: CodeSequence, Message: "Don't use a repeated character or a simple sequence like 1234 or abcd."}
)

// Policy holds the password rules of NIST SP 800-63B §3.1.1.2: a minimum
// length, long passphrases allowed (up to MaxBytes), any characters
// including spaces and Unicode, no composition rules (no "one digit, one
// capital"), and a blocklist check: the most common passwords, the
// person's email address, repetitive or sequential characters.
type Policy struct {
	// MinLength in characters (Unicode code points); zero means
	// DefaultMinLength.
	MinLength int
}

// Check tells whether password may be set for the account with the given
// email address. It returns nil or a *RuleError. Rules run from cheapest to
// dearest, and the length bound comes first, so an over-long input is
// refused before it is read further. The password is checked as given: no
// trimming, no Unicode normalisation (Hash and Verify do none either).
func (p Policy) Check(password, email string) error {
	if len(password) > MaxBytes {
		return ErrTooLong
	}
	password = Normalize(password)
	minLength := p.MinLength
	if minLength <= 0 {
		minLength = DefaultMinLength
	}
	if utf8.RuneCountInString(password) < minLength {
		return &RuleError{Code: CodeTooShort, Message: fmt.Sprintf("Use at least %d characters.", minLength)}
	}
	lower := strings.ToLower(password)
	if isSimpleSequence(lower) {
		return ErrSequence
	}
	if _, ok := commonPasswords()[lower]; ok {
		return ErrCommon
	}
	if containsLocalPart(lower, email) {
		return ErrEmail
	}
	return nil
}

// minLocalPart is the shortest email local part worth refusing: "al" in a
// password is a coincidence, "alice" is not.
const minLocalPart = 3

// containsLocalPart reports whether the lower-cased password contains the
// local part of email (before the last "@"), or its base before a "+tag"
// (alice for alice+sesame@example.com), case-insensitively.
func containsLocalPart(lowerPassword, email string) bool {
	local := email
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		local = email[:i]
	}
	local = strings.ToLower(local)
	candidates := []string{local}
	if i := strings.IndexByte(local, '+'); i > 0 {
		candidates = append(candidates, local[:i])
	}
	for _, c := range candidates {
		if utf8.RuneCountInString(c) >= minLocalPart && strings.Contains(lowerPassword, c) {
			return true
		}
	}
	return false
}

// maxPeriod is the longest unit whose repetition is refused ("abab…",
// "123123…", "passpass…").
const maxPeriod = 4

// isSimpleSequence reports whether s (lower-cased) is repetitive or
// sequential in the sense of NIST SP 800-63B's examples "aaaaaa" and
// "1234abcd": at most two runs, each one character repeated or counting up
// or down by one ("aaaaaaaaaa", "abcdefghij", "9876543210", "12345abcde";
// digits wrap, so "1234567890" is one run), or the repetition of a unit of
// at most maxPeriod characters ("abababab", "123123123").
func isSimpleSequence(s string) bool {
	r := []rune(s)
	if len(r) < 2 {
		return true
	}
	runs, step, inRun := 1, 0, false
	for i := 1; i < len(r); i++ {
		d, ok := stepBetween(r[i-1], r[i])
		switch {
		case ok && !inRun:
			step, inRun = d, true
		case ok && d == step:
		default:
			// r[i] starts a new run; its step is set by the next character.
			runs++
			inRun = false
		}
	}
	if runs <= 2 {
		return true
	}
	for period := 1; period <= maxPeriod && period < len(r); period++ {
		periodic := true
		for i := period; i < len(r); i++ {
			if r[i] != r[i-period] {
				periodic = false
				break
			}
		}
		if periodic {
			return true
		}
	}
	return false
}

// stepBetween returns -1, 0 or +1 when b repeats a, follows it or precedes
// it (digits wrap: 9 then 0 counts up, 0 then 9 counts down).
func stepBetween(a, b rune) (int, bool) {
	switch {
	case b == a:
		return 0, true
	case b == a+1 || (a == '9' && b == '0'):
		return 1, true
	case b == a-1 || (a == '0' && b == '9'):
		return -1, true
	}
	return 0, false
}

// commonPasswordsText is the first 10,000 entries of zxcvbn 4.4.2's
// "passwords" frequency list, most common first, lower-cased, one a line
// (see README.md and common_passwords.LICENSE).
//
//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords is the blocklist as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 10000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := sc.Text(); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})
