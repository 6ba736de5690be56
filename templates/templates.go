// Package templates embeds the server-rendered pages and renders them with
// html/template (contextual escaping). Each page is a file that fills the
// "content" block of layout.html.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed *.html
var files embed.FS

// Renderer renders pages by name (file name without .html).
type Renderer struct {
	pages   map[string]*template.Template
	layouts map[string]string
}

// consolePrefix marks the admin console's pages: they fill the "content"
// block of console_layout.html (left navigation) instead of layout.html.
const consolePrefix = "console_"

// layoutOf returns the layout file a page is rendered in.
func layoutOf(page string) string {
	if strings.HasPrefix(page, consolePrefix) {
		return consolePrefix + "layout.html"
	}
	return "layout.html"
}

// New parses every page with the layout.
func New() (*Renderer, error) {
	names, err := fs.Glob(files, "*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}, layouts: map[string]string{}}
	funcs := template.FuncMap{
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
	for _, n := range names {
		layout := layoutOf(n)
		if n == layout {
			continue
		}
		t, err := template.New(layout).Funcs(funcs).ParseFS(files, layout, n)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", n, err)
		}
		name := strings.TrimSuffix(path.Base(n), ".html")
		r.pages[name] = t
		r.layouts[name] = layout
	}
	return r, nil
}

// Page is what every page gets: its own data in Data.
type Page struct {
	Title   string
	AppName string
	// AppLogo is the client's logo_uri (https or data:image/svg+xml); the
	// header shows the name's initial when it is empty or unusable.
	AppLogo string
	Data    any
}

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

// Render writes page name with status. It renders into a buffer first so a
// template error never leaves a half-written page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, r.layouts[name], p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
