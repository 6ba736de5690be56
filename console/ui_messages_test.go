package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/i18n"
)

// holeRe finds a catalogue entry's argument placeholders ({a} … {e}).
var holeRe = regexp.MustCompile(`\{[a-e]\}`)

// validatorDirs hold the validators whose messages console pages show.
var validatorDirs = []string{".", "../oidc/clients", "../authn/upstream", "../internal/branding"}

// goLiterals calls visit with every string literal at argument arg of a
// call to one of fns, and every literal given as a Message field, in the
// non-test Go files of dir.
func goLiterals(t *testing.T, dir string, fns map[string]int, visit func(fn, lit, where string, call *ast.CallExpr)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no Go files (%v)", dir, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		str := func(e ast.Expr) (string, bool) {
			lit, ok := e.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(lit.Value)
			return s, err == nil
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				name := ""
				switch fn := x.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if i, ok := fns[name]; ok && len(x.Args) > i {
					if s, ok := str(x.Args[i]); ok {
						visit(name, s, fset.Position(x.Pos()).String(), x)
					}
				}
			case *ast.KeyValueExpr:
				if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Message" {
					if s, ok := str(x.Value); ok {
						visit("Message", s, fset.Position(x.Pos()).String(), nil)
					}
				}
			}
			return true
		})
	}
}

// TestConsoleMessagesTranslated fails on a validator message or a
// refusal the console would show in English to an admin using another
// language: every field message format of the validators (invalid, a
// Validate's add, fieldConflict, a FieldError's or Issue's literal
// Message) names a catalogue entry (fieldMessageKeys), and every refusal
// with a fixed detail (problem) one of problemKeys. Each entry is in
// every catalogue, with as many placeholders as the format has verbs.
func TestConsoleMessagesTranslated(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]int{"invalid": 1, "add": 1, "fieldConflict": 1}
	for _, dir := range validatorDirs {
		goLiterals(t, dir, fields, func(fn, format, where string, _ *ast.CallExpr) {
			key, ok := fieldMessageKeys[format]
			if !ok {
				t.Errorf("%s: %s message %q has no catalogue entry in fieldMessageKeys", where, fn, format)
				return
			}
			for _, lang := range cat.Languages() {
				if !cat.Has(lang, key) {
					t.Errorf("%s: %q missing from locales/%s.json", where, key, lang)
				}
			}
			if verbs, holes := len(verbRe.FindAllString(format, -1)), len(holeRe.FindAllString(cat.T("de", key), -1)); verbs != holes {
				t.Errorf("%s: %q has %d verbs, its German entry %d placeholders", where, format, verbs, holes)
			}
		})
	}
	goLiterals(t, ".", map[string]int{"problem": 2}, func(_, title, where string, call *ast.CallExpr) {
		if call == nil {
			return
		}
		// A detail made at run time says more than one message can.
		if _, literal := call.Args[3].(*ast.BasicLit); !literal || title == "Something went wrong" {
			return
		}
		key, ok := problemKeys[title]
		if !ok {
			t.Errorf("%s: refusal %q has no catalogue entry in problemKeys", where, title)
			return
		}
		if cat.T("de", key) == cat.T(i18n.Default, key) {
			t.Errorf("%s: %q reads the same in German", where, key)
		}
	})
}

// TestStepUpProblemsGerman: the refusals a step-up can meet (a passkey
// ceremony expired, unknown or used, a failed check, no user
// verification, a wrong password) are said in German from the catalogue,
// the sign-in pages' words for a passkey's, and the same refusals stay
// English for English.
func TestStepUpProblemsGerman(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    *Problem
		want string
	}{
		{problem(400, "passkey-ceremony_expired", "expired", ""), "Diese Anfrage hat zu lange gedauert und ist abgelaufen."},
		{problem(400, "passkey-ceremony_not_found", "not found", ""), "Diese Anfrage ist unbekannt oder abgelaufen."},
		{problem(400, "passkey-ceremony_used", "used", ""), "Diese Anfrage wurde bereits verwendet."},
		{problem(400, "passkey-verification_failed", "failed", ""), "Die Antwort Ihres Geräts konnte nicht überprüft werden."},
		{problem(403, "passkey-unknown_credential", "unknown", ""), "Dieser Passkey ist hier nicht registriert"},
		{ErrStepUpRequired, "Diese Aktion braucht eine frische Bestätigung"},
		{problem(403, "user-verification-required", "Unlock your passkey", "x"), "Entsperren Sie Ihren Passkey"},
		{problem(403, "wrong-password", "That password is wrong", "x"), "Das Passwort ist falsch"},
		{problem(429, "throttled", "Too many attempts", "x"), "Zu viele Versuche"},
	} {
		got, ok := problemText(cat, "de", tc.p)
		if !ok || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q (%v), want %q", tc.p.Type, got, ok, tc.want)
		}
		if en, _ := problemText(cat, i18n.Default, tc.p); en == got {
			t.Errorf("%s: the same words in English and German: %q", tc.p.Type, en)
		}
	}
}
