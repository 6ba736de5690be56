package password

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCheck covers the NIST SP 800-63B §3.1.1.2 rules: length counted in
// characters, long passphrases and any characters allowed, no composition
// rules, blocklist (common, email, repetitive or sequential).
func TestCheck(t *testing.T) {
	const email = "Alice.Martin@example.com"
	longPhrase := strings.Repeat("correct horse battery staple, ", 40)[:MaxBytes]
	tests := []struct {
		name     string
		policy   Policy
		password string
		email    string
		want     error // nil or a sentinel, matched with errors.Is
	}{
		{"passphrase with spaces and unicode", Policy{}, "Schöne Grüße aus Zürich ☀ 日本", email, nil},
		{"no composition rules: lower-case letters only", Policy{}, "vinegarpebblelantern", email, nil},
		{"exactly MaxBytes", Policy{}, longPhrase, email, nil},
		{"9 ASCII characters", Policy{}, "kx7!pq2mz", email, ErrTooShort},
		{"10 ASCII characters", Policy{}, "kx7!pq2mzw", email, nil},
		{"9 characters in 27 bytes", Policy{}, "日本語のパスワード", email, ErrTooShort},
		{"10 characters in 13 bytes", Policy{}, "ñandú-café", email, nil},
		{"10 characters in 30 bytes", Policy{}, "日本語のパスワードだ", email, nil},
		{"custom minimum refuses", Policy{MinLength: 16}, "kx7!pq2mzw-abc9", email, ErrTooShort},
		{"custom minimum accepts", Policy{MinLength: 16}, "kx7!pq2mzw-abc9z", email, nil},
		{"common: password123", Policy{}, "password123", email, ErrCommon},
		{"common: qwertyuiop", Policy{}, "qwertyuiop", email, ErrCommon},
		{"common: 1qaz2wsx3edc", Policy{}, "1qaz2wsx3edc", email, ErrCommon},
		{"common: manchester", Policy{}, "manchester", email, ErrCommon},
		{"common, any case", Policy{}, "PassWord123", email, ErrCommon},
		{"email local part", Policy{}, "alice.martin-2024", email, ErrEmail},
		{"email local part, other case", Policy{}, "mY ALICE.MARTIN pw", email, ErrEmail},
		{"email local part before +tag", Policy{}, "bob-the-builder!", "bob+sesame@example.com", ErrEmail},
		{"local part under 3 characters is ignored", Policy{}, "al-kx7!pq2mzw", "al@example.com", nil},
		{"no email", Policy{}, "kx7!pq2mzw", "", nil},
		{"all one character", Policy{}, "zzzzzzzzzzzz", email, ErrSequence},
		{"letters up", Policy{}, "abcdefghij", email, ErrSequence},
		{"letters up, capitals", Policy{}, "ABCDEFGHIJK", email, ErrSequence},
		{"digits down with wrap", Policy{}, "0987654321", email, ErrSequence},
		{"digits up with wrap", Policy{}, "7890123456", email, ErrSequence},
		{"two runs", Policy{}, "12345abcde", email, ErrSequence},
		{"repeated pair", Policy{}, "ababababab", email, ErrSequence},
		{"repeated four", Policy{}, "wxyzwxyzwxyz", email, ErrSequence},
		{"three runs are fine", Policy{}, "abcde13579xyz", email, nil},
		{"over MaxBytes", Policy{}, longPhrase + "x", email, ErrTooLong},
		{"a megabyte", Policy{}, strings.Repeat("x", 1<<20), email, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.password, tt.email)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.password, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check(%q) = %v, want %v", tt.password, err, tt.want)
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Message == "" {
				t.Fatalf("Check(%q) = %#v, want a *RuleError with a message", tt.password, err)
			}
		})
	}
}

func TestCheckMessages(t *testing.T) {
	tests := []struct {
		policy   Policy
		password string
		want     string
	}{
		{Policy{}, "short", "Use at least 10 characters."},
		{Policy{MinLength: 12}, "short", "Use at least 12 characters."},
		{Policy{}, "password123", "That password is too common. Choose another."},
		{Policy{}, "my alice password", "Don't use your email address in your password."},
		{Policy{}, strings.Repeat("x", MaxBytes+1), "That password is too long."},
	}
	for _, tt := range tests {
		var re *RuleError
		if err := tt.policy.Check(tt.password, "alice@example.com"); !errors.As(err, &re) || re.Message != tt.want {
			t.Errorf("Check(%.20q) = %v, want message %q", tt.password, err, tt.want)
		}
	}
}

// TestCommonPasswordsList checks the embedded list: 10,000 distinct
// lower-case entries, most common first.
func TestCommonPasswordsList(t *testing.T) {
	set := commonPasswords()
	if len(set) != 10000 {
		t.Fatalf("list has %d distinct entries, want 10000", len(set))
	}
	for w := range set {
		if w != strings.ToLower(w) || strings.TrimSpace(w) != w || !utf8.ValidString(w) {
			t.Fatalf("entry %q is not lower-case, trimmed UTF-8", w)
		}
	}
	first, _, _ := strings.Cut(commonPasswordsText, "\n")
	if first != "123456" {
		t.Fatalf("first entry %q, want 123456", first)
	}
	for _, w := range []string{"password", "iloveyou", "trustno1", "letmein", "password1", "qwerty123"} {
		if _, ok := set[w]; !ok {
			t.Errorf("%q missing from the list", w)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	commonPasswords()
	for b.Loop() {
		_ = Policy{}.Check("Schöne Grüße aus Zürich", "alice@example.com")
	}
}
