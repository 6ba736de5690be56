package passlink_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// FuzzParseEmail: an address the link form accepts is one plain address
// (one "@", no spaces, line breaks or display-name syntax, at most 254
// bytes) that parsing again returns unchanged.
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", " ada@example.com ", "Ada <ada@example.com>", "a@b@c", "ada@example.com\r\nBcc: x@y",
		"ada@.example.com", "ada@example..com", "\"a b\"@example.com", "ünï@example.com", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := passlink.ParseEmail(in)
		if err != nil {
			if !errors.Is(err, passlink.ErrInvalidEmail) {
				t.Fatalf("ParseEmail(%q): unexpected error %v", in, err)
			}
			return
		}
		if strings.Count(out, "@") != 1 || len(out) > 254 || strings.ContainsAny(out, " \t\r\n<>,;\"") {
			t.Fatalf("ParseEmail(%q) accepted %q", in, out)
		}
		if again, err := passlink.ParseEmail(out); err != nil || again != out {
			t.Fatalf("ParseEmail not stable: %q → %q → %q (%v)", in, out, again, err)
		}
		if m := passlink.MaskEmail(out); !strings.HasSuffix(m, out[strings.IndexByte(out, '@'):]) {
			t.Fatalf("MaskEmail(%q) = %q", out, m)
		}
	})
}

// FuzzLinkAndCode: whatever token and code a link page receives, the
// service answers with one of its own errors (never a panic, never a
// store error), and nothing guessed signs anyone in.
func FuzzLinkAndCode(f *testing.F) {
	st := storetest.OpenSQLite(f)
	e := newEnv(f, st)
	email := addr()
	createUser(f, st, email, true)
	_, token := e.request(f, email)
	f.Add(token, "123456")
	f.Add(token[:42]+"A", "12 34 56")
	f.Add("%3Cscript%3E", "")
	f.Add(strings.Repeat("A", 43), "999999")
	f.Add(strings.Repeat("é", 43), "1234567")
	known := []error{passlink.ErrInvalidLink, passlink.ErrExpired, passlink.ErrUsed, passlink.ErrOtherBrowser,
		passlink.ErrCodeFormat, passlink.ErrWrongCode, passlink.ErrLocked, passlink.ErrUserUnavailable}
	f.Fuzz(func(t *testing.T, tok, code string) {
		ctx := context.Background()
		if _, err := e.svc.Lookup(ctx, tok, browserB); err != nil && !isOneOf(err, known) {
			t.Fatalf("Lookup(%q): %v", tok, err)
		}
		if passlink.ValidToken(tok) && len(tok) != passlink.TokenLen {
			t.Fatalf("ValidToken(%q) with length %d", tok, len(tok))
		}
		if tok == token {
			return // the real link: approving it with a guess may lock it, which is fine but ends the corpus entry
		}
		if res, err := e.svc.Approve(ctx, tok, browserB, code, ""); err == nil || res != nil {
			t.Fatalf("Approve(%q, %q) signed in: %+v %v", tok, code, res, err)
		} else if !isOneOf(err, known) {
			t.Fatalf("Approve(%q, %q): %v", tok, code, err)
		}
	})
}

func isOneOf(err error, known []error) bool {
	for _, k := range known {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
