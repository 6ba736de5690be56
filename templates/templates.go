package templates

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/i18n"
)

//go:embed hosted/*.html console/*.html
var files embed.FS

// layout is the file, in each folder, that the folder's pages fill.
const layout = "layout.html"

// folder is a sub-folder of pages sharing a layout.
type folder struct {
	dir string
	// prefix makes a page's name from its file's (console/users.html is
	// "console_users"), so names stay unique across folders.
	prefix string
	// pages are the files the typed methods render, without .html.
	pages []string
}

var folders = []folder{
	{dir: "hosted", pages: []string{
		"login", "signup", "account", "signed_out", "error", "consent", "form_post", "logout", "logged_out",
		"passlink_request", "passlink_sent", "passlink_confirm", "passlink_passkey", "passlink_result",
		"password_login", "password_forgot", "password_reset", "admin_setup", "admin_refused", "verify_email",
		"device", "device_confirm", "device_done", "account_link",
		"login_recovery", "recovery_codes", "upstream_link",
	}},
	{dir: "console", prefix: "console_", pages: []string{
		"error", "dashboard", "clients", "client_form", "client", "client_secret", "users", "user", "user_new", "admin_invite",
		"policies", "keys", "audit", "groups", "group", "group_form", "scopes", "scope", "resources", "resource",
		"credentials", "stats", "branding", "signins", "upstreams", "upstream",
	}},
}

// Renderer renders pages by name, in each language of the catalogue. It
// is safe for concurrent use.
type Renderer struct {
	cat *i18n.Catalog
	// fsys holds the page files; sources names each page's layout and
	// file (name → [layout, file]).
	fsys    fs.FS
	sources map[string][2]string
	// funcs are each language's functions ("t" bound to it, …).
	funcs map[string]template.FuncMap
	// pages caches parsed pages, lang+"\x00"+name → *template.Template.
	// A page is parsed for a language the first time it is rendered in
	// it, so the "t" function it calls is bound to its language without a
	// per-request clone, and pages nobody visits (the console's in a
	// replica serving sign-ins, a language nobody reads) hold no memory:
	// every (page, language) parsed up front was most of the heap.
	pages sync.Map
	// brand gives every page the operator's branding (Page.Brand), with
	// the page's app colours in place of the global ones; nil: Sesame's.
	brand BrandFunc
	// bufs are render buffers reused across requests: a page is 10–20 KB,
	// which a fresh buffer reaches by growing six or seven times.
	bufs sync.Pool
}

// maxPooledBuffer bounds the buffers kept for reuse: an unusually large
// page (a long list in the console) does not pin its memory.
const maxPooledBuffer = 256 << 10

// BrandFunc returns the branding for a page whose app has its own
// primary and accent colours ("" for none).
type BrandFunc func(appPrimary, appAccent string) Brand

// RendererOption configures a Renderer.
type RendererOption func(*Renderer)

// WithBrand makes f the source of every page's Brand.
func WithBrand(f BrandFunc) RendererOption { return func(r *Renderer) { r.brand = f } }

// New parses every page with its folder's layout. It fails, naming the
// file, when a page a typed method renders (or a layout, or an email) is
// missing or does not parse.
func New(opts ...RendererOption) (*Renderer, error) {
	r, err := newFrom(files)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(r)
	}
	if err := checkMail(); err != nil {
		return nil, err
	}
	return r, nil
}

// newFrom checks that every page in fsys (the embedded files, or a
// test's) parses with its layout, so a broken page fails at start naming
// its file; the parsed pages are dropped and parsed again on first use.
func newFrom(fsys fs.FS) (*Renderer, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	r := &Renderer{cat: cat, fsys: fsys, funcs: map[string]template.FuncMap{}}
	for _, lang := range cat.Languages() {
		r.funcs[lang] = langFuncs(cat, lang)
	}
	// The files and the func names are the same in every language, so
	// one language's parse checks them all.
	if r.sources, err = pageSources(fsys); err != nil {
		return nil, err
	}
	for name := range r.sources {
		if _, err := r.parse(i18n.Default, name); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// parse parses page name with its layout and lang's functions.
func (r *Renderer) parse(lang, name string) (*template.Template, error) {
	src, ok := r.sources[name]
	if !ok {
		return nil, fmt.Errorf("render: no page %q", name)
	}
	t, err := template.New(layout).Funcs(funcs).Funcs(r.funcs[lang]).ParseFS(r.fsys, src[0], src[1])
	if err != nil {
		return nil, fmt.Errorf("templates: parse %s: %w", src[1], err)
	}
	return t, nil
}

// page is name parsed for lang, from the cache or parsed now.
func (r *Renderer) page(lang, name string) (*template.Template, error) {
	key := lang + "\x00" + name
	if t, ok := r.pages.Load(key); ok {
		return t.(*template.Template), nil
	}
	t, err := r.parse(lang, name)
	if err != nil {
		return nil, err
	}
	// Two first renders at once may both parse; one copy is kept.
	got, _ := r.pages.LoadOrStore(key, t)
	return got.(*template.Template), nil
}

// pageSources finds every folder's pages (name → [layout, file]) and
// checks that its layout and the pages the typed methods render exist.
func pageSources(fsys fs.FS) (map[string][2]string, error) {
	pages := map[string][2]string{}
	for _, f := range folders {
		lay := path.Join(f.dir, layout)
		if _, err := fs.Stat(fsys, lay); err != nil {
			return nil, fmt.Errorf("templates: missing layout %s", lay)
		}
		for _, p := range f.pages {
			if _, err := fs.Stat(fsys, path.Join(f.dir, p+".html")); err != nil {
				return nil, fmt.Errorf("templates: missing page %s", path.Join(f.dir, p+".html"))
			}
		}
		names, err := fs.Glob(fsys, path.Join(f.dir, "*.html"))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if n == lay {
				continue
			}
			pages[f.prefix+strings.TrimSuffix(path.Base(n), ".html")] = [2]string{lay, n}
		}
	}
	return pages, nil
}

// Catalog is the message catalogue the pages are rendered with.
func (r *Renderer) Catalog() *i18n.Catalog { return r.cat }

// T is key's message in lang (i18n.Catalog.T), for the words a handler
// puts on a page (titles, notices, errors).
func (r *Renderer) T(lang, key string, args ...any) string { return r.cat.T(lang, key, args...) }

// jsPrefix marks the messages the page scripts show; the layout hands
// them over as JSON (static/i18n.js reads them).
const jsPrefix = "js."

// jsConsolePrefix marks, after jsPrefix, the console script's messages.
const jsConsolePrefix = "console_"

// LangLink is one entry of the language switcher.
type LangLink struct {
	Code, Name string
	Current    bool
}

// langFuncs are the functions bound to one language: "t" (its
// messages), "languages" (the switcher), "langURL" and "jsMessages".
func langFuncs(cat *i18n.Catalog, lang string) template.FuncMap {
	// The console's script messages go to console pages only: the hosted
	// pages (a password reset page among them) carry just their own.
	all, hosted := map[string]string{}, map[string]string{}
	for _, k := range cat.Keys(lang) {
		if strings.HasPrefix(k, jsPrefix) {
			name := strings.TrimPrefix(k, jsPrefix)
			all[name] = cat.T(lang, k)
			if !strings.HasPrefix(name, jsConsolePrefix) {
				hosted[name] = all[name]
			}
		}
	}
	// json.Marshal escapes <, > and &, so the block cannot end the
	// <script type="application/json"> it sits in.
	allJSON, _ := json.Marshal(all)
	hostedJSON, _ := json.Marshal(hosted)
	var links []LangLink
	for _, code := range cat.Languages() {
		links = append(links, LangLink{Code: code, Name: cat.Name(code), Current: code == lang})
	}
	return template.FuncMap{
		"t": func(key string, args ...any) any {
			s := cat.T(lang, key, args...)
			if strings.HasSuffix(key, "_html") {
				// Trusted markup from the catalogue; T escaped the values.
				return template.HTML(s)
			}
			return s
		},
		"lang": func() string { return lang },
		// longDate ("6. Dezember 2026") and consoleTime (the console's
		// compact date and time) say a time in lang, in UTC.
		"longDate":    func(t time.Time) string { return cat.LongDate(lang, t) },
		"consoleTime": func(t time.Time) string { return t.UTC().Format(cat.T(lang, "console.common.when_layout")) },
		"languages":   func() []LangLink { return links },
		"langURL":     langURL,
		// jsMessages "console" is every script message, else the hosted
		// pages' (without the console's).
		"jsMessages": func(folder string) template.JS {
			if folder == "console" {
				return template.JS(allJSON)
			}
			return template.JS(hostedJSON)
		},
	}
}

// langURL is the page at requestURI (this request's, from Page.Path) in
// lang: the same path and query with lang set. Only a local path is kept,
// so the link cannot lead off the site; the query is parsed and encoded
// afresh (every special character percent-encoded, pairs that do not
// parse dropped), so nothing of the request reaches the page as it came,
// and a query longer than maxLangQuery is dropped whole.
func langURL(requestURI, lang string) string {
	u, err := url.Parse(requestURI)
	if err != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || u.Host != "" || u.Scheme != "" {
		u = &url.URL{Path: "/"}
	}
	if len(u.RawQuery) > maxLangQuery {
		u.RawQuery = ""
	}
	q := u.Query()
	q.Set("lang", lang)
	return (&url.URL{Path: u.Path, RawQuery: q.Encode()}).String()
}

// maxLangQuery bounds the query a language link carries (a logout
// request's id_token_hint fits).
const maxLangQuery = 4096

var funcs = template.FuncMap{
	"logoURL": logoURL,
	// dict passes several values to a shared block:
	// {{template "x" (dict "Key" value ...)}}.
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			if k, ok := kv[i].(string); ok {
				m[k] = kv[i+1]
			}
		}
		return m
	},
	"initial": func(s string) string {
		s = strings.TrimSpace(s)
		if s == "" {
			return "?"
		}
		return strings.ToUpper(string([]rune(s)[:1]))
	},
}

// Page is what every page gets: the layout's title and the requesting
// app's name and logo, and the page's own view in Data (set by the typed
// render methods).
type Page struct {
	// Lang is the page's language (i18n.Catalog.Negotiate); "" is the
	// default. Path is the request URI the language switcher links to.
	Lang    string
	Path    string
	Title   string
	AppName string
	// AppLogo is the client's logo_uri (https or data:image/svg+xml); the
	// header shows the name's initial when it is empty or unusable.
	AppLogo string
	// AppPrimary and AppAccent are the app's own colours (#rrggbb, ""
	// for the global ones).
	AppPrimary, AppAccent string
	// Brand is set by the renderer (WithBrand), not by handlers.
	Brand Brand
	Data  any
}

// Brand is the operator's branding as the layouts use it: every URL is
// this server's own (the logo and stylesheets are served under
// /branding/), so the pages' CSP needs nothing new.
type Brand struct {
	// Product names the service ("Sesame" by default).
	Product string
	// LogoURL is the uploaded logo ("" for none), ThemeURL the colour
	// stylesheet ("" for Sesame's colours), CSSURL the custom stylesheet.
	LogoURL, ThemeURL, CSSURL string
	// SupportURL and PrivacyURL are shown in the pages' footer.
	SupportURL, PrivacyURL string
}

// sesameBrand is the branding of a renderer without WithBrand.
var sesameBrand = Brand{Product: "Sesame"}

// logoURL returns a logo URI the header may load, or "": only https URLs
// and inline SVG (clients.Spec validates the same on registration; this
// re-checks what reaches the page). A data: URI must be marked safe for
// html/template, which otherwise replaces it.
func logoURL(s string) template.URL {
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "https://"):
		return template.URL(s)
	case strings.HasPrefix(lower, "data:image/svg+xml;") || strings.HasPrefix(lower, "data:image/svg+xml,"):
		return template.URL(s)
	}
	return ""
}

// render sets p.Data to the page's view and renders it.
func (r *Renderer) render(w http.ResponseWriter, status int, name string, p Page, data any) error {
	p.Data = data
	return r.Render(w, status, name, p)
}

// Render writes page name (its file name without .html; a console page's
// is prefixed "console_") with status and p.Data as the page's view,
// unchecked. New code should use the page's typed method (Login, Consent,
// ConsoleUsers …), which takes the view the page reads. Render renders
// into a buffer first so a template error never leaves a half-written
// page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) error {
	lang := p.Lang
	if _, ok := r.funcs[lang]; !ok {
		lang = i18n.Default
	}
	t, err := r.page(lang, name)
	if err != nil {
		return err
	}
	p.Brand = sesameBrand
	if r.brand != nil {
		p.Brand = r.brand(p.AppPrimary, p.AppAccent)
	}
	buf, _ := r.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			buf.Reset()
			r.bufs.Put(buf)
		}
	}()
	if err := t.ExecuteTemplate(buf, layout, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

// DeviceName says the device a User-Agent names ("Chrome on macOS") in lang.
func (r *Renderer) DeviceName(lang, ua string) string {
	browser, os := httpx.UserAgentParts(ua)
	return r.cat.Device(lang, browser, os)
}

// Ago says when t was, seen at now ("5 minutes ago (21:04 UTC)"), in lang.
func (r *Renderer) Ago(lang string, t, now time.Time) string { return r.cat.Ago(lang, t, now) }

// Product is the operator's product name ("Sesame" unless branded), for
// the words a handler puts on a page.
func (r *Renderer) Product() string {
	if r.brand == nil {
		return sesameBrand.Product
	}
	return r.brand("", "").Product
}
