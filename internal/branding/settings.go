package branding

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Name is the branding document's name in the policy store.
const Name = "branding"

// DefaultProduct is the product name when none is set.
const DefaultProduct = "Sesame"

// Limits of what the settings may hold: a logo is shown at 40 px and
// must fit a request (the server bounds bodies at 64 KiB); the
// stylesheet is a few overrides, not a theme framework.
const (
	MaxLogoBytes   = 48 << 10
	MaxCSSBytes    = 32 << 10
	MaxProductName = 60
	MaxURL         = 2048
)

// Settings are the admin-editable branding fields ("" means Sesame's own).
type Settings struct {
	ProductName  string `json:"product_name"`
	PrimaryColor string `json:"primary_color"`
	AccentColor  string `json:"accent_color"`
	SupportURL   string `json:"support_url"`
	PrivacyURL   string `json:"privacy_url"`
	CustomCSS    string `json:"custom_css"`
}

// Logo is an uploaded logo: its sniffed content type and bytes.
type Logo struct {
	Type string `json:"type"`
	Data []byte `json:"data"`
}

// Hash is the logo's content hash (hex, 16 characters): its version in
// URLs and its ETag.
func (l *Logo) Hash() string {
	if l == nil || len(l.Data) == 0 {
		return ""
	}
	return shortHash(l.Data)
}

// Document is what is stored: the settings and the logo.
type Document struct {
	Settings
	Logo *Logo `json:"logo,omitempty"`
}

func shortHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// Issue is one refused field, with a message saying what to do.
type Issue struct {
	Field   string
	Message string
	// Format and Args are what Message was made from, for the console to
	// say it in the admin's language.
	Format string
	Args   []any
}

// Normalize trims the text fields and writes colours as #rrggbb.
func (s Settings) Normalize() Settings {
	s.ProductName = strings.TrimSpace(s.ProductName)
	s.SupportURL = strings.TrimSpace(s.SupportURL)
	s.PrivacyURL = strings.TrimSpace(s.PrivacyURL)
	s.PrimaryColor, s.AccentColor = NormalizeColor(s.PrimaryColor), NormalizeColor(s.AccentColor)
	return s
}

// NormalizeColor writes a colour as #rrggbb (anything else trimmed and
// left for the validation to refuse).
func NormalizeColor(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	if v, err := ParseColor(c); err == nil {
		return v.Hex()
	}
	return c
}

// Validate checks every field and reports every problem at once.
func (s Settings) Validate() []Issue {
	var out []Issue
	add := func(field, format string, args ...any) {
		out = append(out, Issue{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args})
	}
	if n := utf8.RuneCountInString(s.ProductName); n > MaxProductName {
		add("product_name", "at most %d characters (got %d)", MaxProductName, n)
	}
	if strings.IndexFunc(s.ProductName, unicode.IsControl) >= 0 {
		add("product_name", "must not contain control characters")
	}
	if msg := ColorProblem(s.PrimaryColor, minText); msg != "" {
		add("primary_color", "%s", msg)
	}
	if msg := ColorProblem(s.AccentColor, minNonTxt); msg != "" {
		add("accent_color", "%s", msg)
	}
	for _, f := range []struct{ name, v string }{{"support_url", s.SupportURL}, {"privacy_url", s.PrivacyURL}} {
		if msg := urlProblem(f.v); msg != "" {
			add(f.name, "%s", msg)
		}
	}
	if msg := CSSProblem(s.CustomCSS); msg != "" {
		add("custom_css", "%s", msg)
	}
	return out
}

// ColorProblem says why c cannot be a brand colour needing min contrast
// against the light pages ("" when it can, or is empty).
func ColorProblem(c string, min float64) string {
	if c == "" {
		return ""
	}
	v, err := ParseColor(c)
	if err != nil {
		return err.Error()
	}
	if r := lightRatio(v); r < min {
		return fmt.Sprintf("%s has a contrast of %.2f:1 with the pages' white background; it needs at least %.1f:1 to stay readable: choose a darker colour", v.Hex(), r, min)
	}
	return ""
}

// urlProblem says why u cannot be a support or privacy link.
func urlProblem(u string) string {
	if u == "" {
		return ""
	}
	if len(u) > MaxURL {
		return fmt.Sprintf("at most %d characters", MaxURL)
	}
	p, err := url.Parse(u)
	if err == nil && p.Scheme == "mailto" && strings.Contains(p.Opaque, "@") && !strings.ContainsAny(p.Opaque, "<>\"\\ ") {
		return ""
	}
	if err != nil || p.Host == "" || p.User != nil {
		return "must be an absolute https URL (or mailto:)"
	}
	switch {
	case p.Scheme == "https":
	case p.Scheme == "http" && (p.Hostname() == "localhost" || p.Hostname() == "127.0.0.1"):
	default:
		return "must be an absolute https URL (or mailto:)"
	}
	return ""
}

// CSSProblem says why css cannot be the custom stylesheet.
func CSSProblem(css string) string {
	switch {
	case len(css) > MaxCSSBytes:
		return fmt.Sprintf("at most %d KiB (got %d bytes)", MaxCSSBytes>>10, len(css))
	case !utf8.ValidString(css) || strings.ContainsRune(css, 0):
		return "must be UTF-8 text"
	case strings.Contains(strings.ToLower(css), "@import"):
		// The CSP would block another origin's sheet anyway; say so now.
		return "@import is not allowed: put the rules themselves here"
	}
	return ""
}

// CheckLogo sniffs data's type (a declared type is never trusted) and
// returns it, or says why the logo is refused: too large, not PNG, JPEG,
// GIF, WebP or SVG, or an SVG that could run script or load anything.
func CheckLogo(data []byte) (string, error) {
	switch {
	case len(data) == 0:
		return "", fmt.Errorf("the logo is empty")
	case len(data) > MaxLogoBytes:
		return "", fmt.Errorf("the logo is %d KiB; at most %d KiB", (len(data)+1023)>>10, MaxLogoBytes>>10)
	}
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "image/jpeg", nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "image/gif", nil
	case len(data) > 12 && bytes.Equal(data[:4], []byte("RIFF")) && bytes.Equal(data[8:12], []byte("WEBP")):
		return "image/webp", nil
	}
	if err := checkSVG(data); err != nil {
		return "", err
	}
	return "image/svg+xml", nil
}
