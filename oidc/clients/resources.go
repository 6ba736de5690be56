package clients

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-idp/sesame/models"
)

// Bounds of resources.
const (
	maxResourceNameLen   = 64
	maxResourceURILen    = 2000
	maxScopesPerResource = 50
)

// ResourceSpec is the settable part of a resource (an API for resource
// indicators, RFC 8707).
type ResourceSpec struct {
	// Name is a short unique slug: lower-case letters, digits, . _ -.
	Name        string `json:"name"`
	Description string `json:"description"`
	// Audience is the resource indicator clients send and the aud of its
	// tokens: an absolute URI without a fragment, unique.
	Audience string `json:"audience"`
	// Scopes a token for this resource may carry besides the OpenID ones;
	// each a custom scope. Empty allows any scope the client holds.
	Scopes []string `json:"scopes"`
	// AccessTokenFormat: jwt (the default) or opaque.
	AccessTokenFormat string `json:"access_token_format"`
}

// Normalize trims values, drops empty and repeated scopes and fills the
// default format (jwt).
func (s *ResourceSpec) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.Description = strings.TrimSpace(s.Description)
	s.Audience = strings.TrimSpace(s.Audience)
	s.Scopes = clean(s.Scopes)
	s.AccessTokenFormat = strings.TrimSpace(s.AccessTokenFormat)
	if s.AccessTokenFormat == "" {
		s.AccessTokenFormat = models.TokenFormatJWT
	}
}

// Validate reports every problem of a normalized resource at once; that
// the scopes exist is the caller's to check.
func (s ResourceSpec) Validate() error {
	var errs []error
	add := func(e *ValidationError) { errs = append(errs, e) }
	if !validName(s.Name, maxResourceNameLen) || strings.Contains(s.Name, ":") {
		add(invalid("name", "1 to %d lower-case letters, digits and . _ - (starting with a letter or digit)", maxResourceNameLen))
	}
	if utf8.RuneCountInString(s.Description) > maxDescriptionLen || strings.IndexFunc(s.Description, unicode.IsControl) >= 0 {
		add(invalid("description", "at most %d characters, no control characters", maxDescriptionLen))
	}
	if msg := ResourceURIProblem(s.Audience); msg != "" {
		add(invalid("audience", "%s", msg))
	}
	if len(s.Scopes) > maxScopesPerResource {
		add(invalid("scopes", "at most %d", maxScopesPerResource))
	}
	for _, sc := range s.Scopes {
		if !customScopeName(sc) {
			add(invalid("scopes", "%q is not a custom scope name (the OpenID scopes always go with any resource)", sc))
		}
	}
	if !slices.Contains(AccessTokenFormats, s.AccessTokenFormat) {
		add(invalid("access_token_format", "unsupported %q (allowed: %s)", s.AccessTokenFormat, strings.Join(AccessTokenFormats, ", ")))
	}
	return joinErrs(errs)
}

// ResourceURIProblem says why v cannot be a resource indicator (RFC 8707
// §2: an absolute URI without a fragment), or "".
func ResourceURIProblem(v string) string {
	u, err := url.Parse(v)
	switch {
	case v == "" || strings.TrimSpace(v) != v:
		return "must be an absolute URI (empty, or surrounded by spaces)"
	case len(v) > maxResourceURILen:
		return "is too long"
	case strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "must not contain spaces or control characters"
	case err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == ""):
		return "must be an absolute URI (e.g. https://api.example.com)"
	case strings.Contains(v, "#"):
		return "must not contain a fragment (RFC 8707 §2)"
	}
	return ""
}
