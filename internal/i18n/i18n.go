package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

//go:embed locales/*.json
var files embed.FS

// Default is the language of last resort, and the one every other
// catalogue is checked against.
const Default = "en"

// message is one catalogue entry: Other alone for plain text, One as
// well for a message that depends on a count.
type message struct {
	One, Other string
}

func (m *message) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		m.Other = s
		return nil
	}
	var forms struct {
		One   string `json:"one"`
		Other string `json:"other"`
	}
	if err := json.Unmarshal(b, &forms); err != nil {
		return fmt.Errorf("a message is a string or {\"one\", \"other\"}: %w", err)
	}
	if forms.Other == "" {
		return fmt.Errorf("a plural message needs \"other\"")
	}
	m.One, m.Other = forms.One, forms.Other
	return nil
}

// Catalog is every language's messages. It is read-only once loaded and
// safe for concurrent use.
type Catalog struct {
	codes   []string
	tags    []language.Tag
	msgs    map[string]map[string]message
	matcher language.Matcher
}

// Load reads the embedded catalogues.
func Load() (*Catalog, error) { return load(files) }

// load reads locales/*.json from fsys; the file name is the language.
func load(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "locales/*.json")
	if err != nil {
		return nil, err
	}
	c := &Catalog{msgs: map[string]map[string]message{}}
	for _, n := range names {
		code := strings.TrimSuffix(path.Base(n), ".json")
		_, err := language.Parse(code)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: not a language tag: %w", n, err)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		m := map[string]message{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n: parse %s: %w", n, err)
		}
		c.msgs[code] = m
		c.codes = append(c.codes, code)
	}
	if _, ok := c.msgs[Default]; !ok {
		return nil, fmt.Errorf("i18n: missing locales/%s.json", Default)
	}
	// The default first: the matcher falls back to its first tag.
	sort.Slice(c.codes, func(i, j int) bool {
		if (c.codes[i] == Default) != (c.codes[j] == Default) {
			return c.codes[i] == Default
		}
		return c.codes[i] < c.codes[j]
	})
	for _, code := range c.codes {
		c.tags = append(c.tags, language.MustParse(code))
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// Languages are the codes of the catalogues, the default first.
func (c *Catalog) Languages() []string { return append([]string(nil), c.codes...) }

// Supported reports whether lang is exactly one of Languages.
func (c *Catalog) Supported(lang string) bool {
	_, ok := c.msgs[lang]
	return ok
}

// Name is a language's name in that language ("Deutsch"), for the switcher.
func (c *Catalog) Name(lang string) string {
	tag, err := language.Parse(lang)
	if err != nil {
		return lang
	}
	n := display.Self.Name(tag)
	if n == "" {
		return lang
	}
	// "deutsch" → "Deutsch": names stand alone in the switcher.
	r := []rune(n)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// Keys are lang's message keys, sorted.
func (c *Catalog) Keys(lang string) []string {
	keys := make([]string, 0, len(c.msgs[lang]))
	for k := range c.msgs[lang] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Has reports whether lang's catalogue has key.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.msgs[lang][key]
	return ok
}

// Plural reports whether key's default message has plural forms.
func (c *Catalog) Plural(lang, key string) bool {
	return c.msgs[lang][key].One != ""
}

// T is key's message in lang with its placeholders filled from args,
// name/value pairs ("app", "Acme"); a "count" (an int) picks the plural
// form. A key missing from lang falls back to the default language, and
// one missing there to the key itself, which the catalogue test catches.
func (c *Catalog) T(lang, key string, args ...any) string {
	m, ok := c.msgs[lang][key]
	if !ok {
		if m, ok = c.msgs[Default][key]; !ok {
			return key
		}
		lang = Default
	}
	s := m.Other
	if m.One != "" {
		if n, ok := count(args); ok && c.form(lang, n) == plural.One {
			s = m.One
		}
	}
	if len(args) == 0 || !strings.Contains(s, "{") {
		return s
	}
	escape := strings.HasSuffix(key, "_html")
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		name, _ := args[i].(string)
		v := fmt.Sprint(args[i+1])
		if escape {
			v = html.EscapeString(v)
		}
		pairs = append(pairs, "{"+name+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// count is the "count" argument, when it is an integer.
func count(args []any) (int, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] != "count" {
			continue
		}
		switch n := args[i+1].(type) {
		case int:
			return n, true
		case int64:
			return int(n), true
		}
	}
	return 0, false
}

func (c *Catalog) form(lang string, n int) plural.Form {
	if n < 0 {
		n = -n
	}
	return plural.Cardinal.MatchPlural(language.Make(lang), n, 0, 0, 0, 0)
}

// Prefs are the sources of a person's language, strongest first.
type Prefs struct {
	// Choice is what they picked with the language switcher.
	Choice string
	// UILocales is the OIDC request's ui_locales: space-separated BCP 47
	// tags, preferred first (OIDC Core §3.1.2.1).
	UILocales string
	// AcceptLanguage is the browser's header.
	AcceptLanguage string
	// Saved is the user's stored locale (their last pick or sign-in).
	Saved string
}

// maxPrefLen bounds what is parsed from a request.
const maxPrefLen = 256

// Negotiate picks the language: the first source that names a language
// with a catalogue (or a close variant: de-AT is de) wins; English when
// none does.
func (c *Catalog) Negotiate(p Prefs) string {
	if lang, ok := c.Pick(p); ok {
		return lang
	}
	return Default
}

// Pick is Negotiate without the fallback: ok is false when no source
// names a language with a catalogue (a caller may then look up the
// user's saved locale, which costs a query, and Pick again).
func (c *Catalog) Pick(p Prefs) (string, bool) {
	for _, src := range []struct {
		v      string
		accept bool
	}{{p.Choice, false}, {p.UILocales, false}, {p.AcceptLanguage, true}, {p.Saved, false}} {
		if lang, ok := c.Match(src.v, src.accept); ok {
			return lang, true
		}
	}
	return "", false
}

// Match is the catalogue that a list of tags asks for: space-separated
// tags (ui_locales, a saved locale) or, with accept, an Accept-Language
// header. ok is false when none is close to a catalogue.
func (c *Catalog) Match(v string, accept bool) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxPrefLen {
		return "", false
	}
	var tags []language.Tag
	if accept {
		t, _, err := language.ParseAcceptLanguage(v)
		if err != nil {
			// One malformed entry does not void the others: keep the
			// entries that parse, in the header's order.
			t = nil
			for _, part := range strings.Split(v, ",") {
				if one, _, err := language.ParseAcceptLanguage(part); err == nil {
					t = append(t, one...)
				}
			}
		}
		tags = t
	} else {
		for _, f := range strings.Fields(strings.ReplaceAll(v, "_", "-")) {
			if t, err := language.Parse(f); err == nil {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) == 0 {
		return "", false
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return "", false
	}
	return c.codes[i], true
}

// Duration says d in lang the way people do ("10 minutes", "2 Tage"):
// whole days, hours or minutes when d is one, seconds otherwise.
func (c *Catalog) Duration(lang string, d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return c.T(lang, "duration.days", "count", int(d/(24*time.Hour)))
	case d >= time.Hour && d%time.Hour == 0:
		return c.T(lang, "duration.hours", "count", int(d/time.Hour))
	case d >= time.Minute:
		return c.T(lang, "duration.minutes", "count", int((d+30*time.Second)/time.Minute))
	default:
		return c.T(lang, "duration.seconds", "count", int(d/time.Second))
	}
}

// Device says a browser and operating system ("Chrome on macOS") in lang;
// browser "" is an unknown one, "go" Go's HTTP client, os "" none known.
func (c *Catalog) Device(lang, browser, os string) string {
	switch browser {
	case "":
		browser = c.T(lang, "time.ua_unknown")
	case "go":
		browser = c.T(lang, "time.ua_program")
	}
	if os == "" {
		return browser
	}
	return c.T(lang, "time.ua_on", "browser", browser, "os", os)
}

// Ago says when t was, seen at now, roughly and by the clock ("5 minutes
// ago (21:04 UTC)"), in lang.
func (c *Catalog) Ago(lang string, t, now time.Time) string {
	d := now.Sub(t)
	var ago string
	switch {
	case d < time.Minute:
		ago = c.T(lang, "time.just_now")
	case d < time.Hour:
		ago = c.T(lang, "time.minutes_ago", "count", int(d/time.Minute))
	default:
		ago = c.T(lang, "time.over_an_hour")
	}
	return c.T(lang, "time.ago_at", "ago", ago, "time", t.UTC().Format(c.T(lang, "time.clock_layout")))
}

// Relative says a past day the way people do ("today", "yesterday", "on
// 2 Jan 2026"), seen at now, in lang.
func (c *Catalog) Relative(lang string, t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return c.T(lang, "time.just_now")
	case d < time.Hour:
		return c.T(lang, "time.within_hour")
	case d < 24*time.Hour:
		return c.T(lang, "time.today")
	case d < 48*time.Hour:
		return c.T(lang, "time.yesterday")
	}
	return c.T(lang, "time.on_date", "date", c.Date(lang, t))
}

// Date is t's day in lang's short form ("2 Jan 2026", "2.1.2026"), in UTC.
func (c *Catalog) Date(lang string, t time.Time) string {
	return t.UTC().Format(c.T(lang, "time.date_layout"))
}

// LongDate is t's day in lang's long form ("2 January 2026", "2. Januar
// 2026"), in UTC. Go's layouts know only English month names, so the
// layout names the month "{month}" and the catalogue's "time.months" (the
// twelve names, space-separated) says it.
func (c *Catalog) LongDate(lang string, t time.Time) string {
	t = t.UTC()
	s := t.Format(c.T(lang, "time.long_date_layout"))
	months := strings.Fields(c.T(lang, "time.months"))
	if len(months) != 12 {
		return strings.ReplaceAll(s, "{month}", t.Month().String())
	}
	return strings.ReplaceAll(s, "{month}", months[t.Month()-1])
}

// Number is n with lang's thousands separator ("12,345", "12.345").
func (c *Catalog) Number(lang string, n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	sep := c.T(lang, "common.thousands_sep")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Percent is a 0..1 share as lang writes it ("42%", "42 %"): "<1%" for a
// share under one in a hundred that is not none.
func (c *Catalog) Percent(lang string, f float64) string {
	switch {
	case f == 0:
		return c.T(lang, "common.percent", "n", "0")
	case f < 0.01:
		return c.T(lang, "common.percent", "n", "<1")
	}
	return c.T(lang, "common.percent", "n", strconv.Itoa(int(f*100+0.5)))
}

// DateTime is t's day and time in lang ("2 Jan 2026 15:04 UTC"), in UTC.
func (c *Catalog) DateTime(lang string, t time.Time) string {
	return t.UTC().Format(c.T(lang, "time.datetime_layout"))
}
