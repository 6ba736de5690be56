package templates

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/i18n"
)

// The catalogues (internal/i18n/locales) against what uses them: every
// key a template, a page script or Go code names exists in every
// catalogue, with the same placeholders and plural shape, and no
// catalogue holds a key nothing uses.

var (
	// {{t "key" …}} and (t "key" …) in templates.
	tmplKeyRe = regexp.MustCompile(`(?:\{\{-?|\()\s*t\s+"([a-z0-9_.]+)"`)
	// T("key" …) in the page scripts (js.KEY in the catalogue).
	jsKeyRe = regexp.MustCompile(`\bT\("([a-z0-9_]+)"`)
	// Go: any string literal shaped like a key (a.b, a.b.c …). Code
	// builds some keys from a prefix (errPage's KEY.title, KEY.msg,
	// KEY.hint; "api.passkey." + code), so a literal also uses the keys
	// it prefixes.
	goKeyRe      = regexp.MustCompile(`"((?:api|common|duration|errors|level|link|login|mail|passlink|signup|error|consent|scope|account|password|verify|device|logout|js|time|formpost|recovery|admin|console|upstream)\.[a-z0-9_.]*)"`)
	placeholders = regexp.MustCompile(`\{[a-z_]+\}`)
)

// repoFiles returns the files under dir (relative to the repository root)
// whose names end in ext, skipping tests.
func repoFiles(t *testing.T, dir, ext string) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := filepath.Join("..", dir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ext) || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCatalogsComplete fails on a missing translation or an unused key.
func TestCatalogsComplete(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{} // key → where
	prefixes := map[string]string{}
	for dir, ext := range map[string]string{"templates/hosted": ".html", "templates/mail": "", "templates/console": ".html"} {
		for p, src := range repoFiles(t, dir, ext) {
			for _, m := range tmplKeyRe.FindAllStringSubmatch(src, -1) {
				used[m[1]] = p
			}
		}
	}
	for p, src := range repoFiles(t, "static", ".js") {
		for _, m := range jsKeyRe.FindAllStringSubmatch(src, -1) {
			used["js."+m[1]] = p
		}
	}
	for _, dir := range []string{"authn", "oidc", "templates", "internal/i18n", "console", "server"} {
		for p, src := range repoFiles(t, dir, ".go") {
			// Of the server only its hosted pages are translated; the
			// console's other literals (audit actions) are shaped like
			// keys, so of its code only its pages.go (the hosted pages)
			// and the console's own "console." keys count.
			if dir == "server" && filepath.Base(p) != "server.go" {
				continue
			}
			for _, m := range goKeyRe.FindAllStringSubmatch(src, -1) {
				k := m[1]
				// (Its context keys, "console.user", have one dot.)
				if dir == "console" && filepath.Base(p) != "pages.go" && (!strings.HasPrefix(k, "console.") || strings.Count(k, ".") < 2) {
					continue
				}
				if strings.HasSuffix(k, "_") {
					// A prefix ending a word: "console.range.short_" + name.
					prefixes[k] = p
					continue
				}
				if strings.HasSuffix(k, ".") || !cat.Has(i18n.Default, k) {
					prefixes[strings.TrimSuffix(k, ".")+"."] = p
					continue
				}
				used[k] = p
			}
		}
	}
	langs := cat.Languages()
	if len(langs) < 2 {
		t.Fatalf("languages %v: want English and German at least", langs)
	}
	// Every key used is in every catalogue.
	for k, where := range used {
		for _, lang := range langs {
			if !cat.Has(lang, k) {
				t.Errorf("%s: key %q missing from locales/%s.json", where, k, lang)
			}
		}
	}
	// A prefix the code builds keys from names at least one key.
	for p, where := range prefixes {
		found := false
		for _, k := range cat.Keys(i18n.Default) {
			if strings.HasPrefix(k, p) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: %q is no key and prefixes none", where, strings.TrimSuffix(p, "."))
		}
	}
	// Every catalogue has the same keys, placeholders and plural shape.
	base := cat.Keys(i18n.Default)
	for _, lang := range langs[1:] {
		if got := cat.Keys(lang); strings.Join(got, "\n") != strings.Join(base, "\n") {
			t.Errorf("locales/%s.json keys differ from %s.json: %s", lang, i18n.Default, diff(base, got))
		}
		for _, k := range base {
			if !cat.Has(lang, k) {
				continue
			}
			if a, b := holes(cat.T(i18n.Default, k)), holes(cat.T(lang, k)); a != b {
				t.Errorf("%s: placeholders %s in %s, %s in %s", k, a, i18n.Default, b, lang)
			}
			if cat.Plural(i18n.Default, k) != cat.Plural(lang, k) {
				t.Errorf("%s: plural in one catalogue only", k)
			}
		}
	}
	// No key nothing uses.
	for _, k := range base {
		if _, ok := used[k]; ok {
			continue
		}
		prefixed := false
		for p := range prefixes {
			if strings.HasPrefix(k, p) {
				prefixed = true
				break
			}
		}
		if !prefixed {
			t.Errorf("key %q is used by no template, script or code", k)
		}
	}
}

func holes(s string) string {
	h := placeholders.FindAllString(s, -1)
	sort.Strings(h)
	return strings.Join(h, " ")
}

func diff(a, b []string) string {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, x := range a {
		if !mb[x] {
			out = append(out, "-"+x)
		}
	}
	for _, x := range b {
		if !ma[x] {
			out = append(out, "+"+x)
		}
	}
	return strings.Join(out, " ")
}
