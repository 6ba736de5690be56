package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// ProfileSpec is the admin-editable profile of a user: the standard
// claims Sesame releases with the profile scope (OIDC Core §5.1), a
// username for preferred_username, and attributes that custom scopes
// release as claims. PUT replaces all of it: an omitted field is cleared.
type ProfileSpec struct {
	// Username is lower-cased and unique; "" clears it.
	Username   string `json:"username"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	// Locale is a BCP 47 language tag such as en-GB.
	Locale string `json:"locale"`
	// Picture is an https URL.
	Picture string `json:"picture"`
	// Attributes is a JSON object of at most MaxAttributesBytes; null or
	// absent is {}.
	Attributes json.RawMessage `json:"attributes,omitempty"`
}

// Bounds of a profile.
const (
	// MaxAttributesBytes bounds a user's attributes (compact JSON): they
	// may travel in every token of the user.
	MaxAttributesBytes = 4096
	maxUsernameLen     = 64
	maxNameLen         = 100
	maxLocaleLen       = 35
	maxPictureLen      = 2048
)

// localeRe is the shape of the BCP 47 tags in use (RFC 5646 §2.1):
// language, then optional script, region and variants, hyphen-separated.
var localeRe = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$`)

// ProfileOf returns the profile of u.
func ProfileOf(u *models.User) ProfileSpec {
	p := ProfileSpec{GivenName: u.GivenName, FamilyName: u.FamilyName, Locale: u.Locale, Picture: u.Picture, Attributes: json.RawMessage("{}")}
	if u.Username != nil {
		p.Username = *u.Username
	}
	if len(u.Attributes) > 0 {
		if b, err := marshalJSON(u.Attributes, ""); err == nil {
			p.Attributes = b
		}
	}
	return p
}

// normalize trims the fields and lower-cases the username.
func (p *ProfileSpec) normalize() {
	p.Username = strings.ToLower(strings.TrimSpace(p.Username))
	p.GivenName, p.FamilyName = strings.TrimSpace(p.GivenName), strings.TrimSpace(p.FamilyName)
	p.Locale, p.Picture = strings.TrimSpace(p.Locale), strings.TrimSpace(p.Picture)
}

// Validate normalizes p and reports every problem at once; on success it
// returns what the store writes.
func (p *ProfileSpec) Validate() (store.UserProfile, error) {
	p.normalize()
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &clients.ValidationError{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args})
	}
	if msg := UsernameProblem(p.Username); p.Username != "" && msg != "" {
		add("username", "%s", msg)
	}
	for field, v := range map[string]string{"given_name": p.GivenName, "family_name": p.FamilyName} {
		if utf8.RuneCountInString(v) > maxNameLen || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			add(field, "at most %d characters, on one line", maxNameLen)
		}
	}
	if p.Locale != "" && (len(p.Locale) > maxLocaleLen || !localeRe.MatchString(p.Locale)) {
		add("locale", "a BCP 47 language tag such as en, en-GB or zh-Hant-TW")
	}
	if msg := pictureProblem(p.Picture); msg != "" {
		add("picture", "%s", msg)
	}
	attrs, attrErrs := attributesOf(p.Attributes)
	errs = append(errs, attrErrs...)
	if len(errs) > 0 {
		return store.UserProfile{}, errors.Join(errs...)
	}
	out := store.UserProfile{GivenName: p.GivenName, FamilyName: p.FamilyName, Locale: p.Locale, Picture: p.Picture, Attributes: attrs}
	if p.Username != "" {
		out.Username = &p.Username
	}
	return out, nil
}

// UsernameProblem says what is wrong with a (lower-cased) username, or
// "": 1 to 64 letters, digits and . _ -, starting with a letter or digit
// — no "@", so a username never poses as an address.
func UsernameProblem(name string) string {
	if name == "" || len(name) > maxUsernameLen {
		return fmt.Sprintf("1 to %d characters", maxUsernameLen)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._-", r)) {
			return "only lower-case letters, digits and . _ - (starting with a letter or digit)"
		}
	}
	return ""
}

// pictureProblem: "" or an absolute https URL with a host, no user info.
func pictureProblem(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case len(raw) > maxPictureLen:
		return fmt.Sprintf("at most %d characters", maxPictureLen)
	case err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" || strings.ContainsAny(raw, " \t\r\n"):
		return "an https URL, such as https://example.com/ada.png"
	case u.User != nil:
		return "must not contain user info"
	}
	return ""
}

// attributesOf parses and checks a user's attributes: a JSON object of at
// most MaxAttributesBytes (compact), whose keys look like claim names and
// shadow no registered or standard claim (clients.ReservedClaims): an
// attribute released as "sub" or "email" would pose as something the
// provider vouches for. Numbers keep their exact digits.
func attributesOf(raw json.RawMessage) (models.JSONObject, []error) {
	bad := func(format string, args ...any) []error {
		return []error{&clients.ValidationError{Field: "attributes", Message: fmt.Sprintf(format, args...)}}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return models.JSONObject{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if raw[0] != '{' || dec.Decode(&obj) != nil || dec.More() {
		return nil, bad("must be a JSON object, such as {\"department\": \"R&D\"}")
	}
	compact, err := marshalJSON(obj, "")
	if err != nil {
		return nil, bad("must be a JSON object")
	}
	var errs []error
	if len(compact) > MaxAttributesBytes {
		errs = append(errs, bad("%d bytes, at most %d (%d KiB) are allowed", len(compact), MaxAttributesBytes, MaxAttributesBytes/1024)...)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case clients.AttributeKeyProblem(k) != "":
			errs = append(errs, bad("key %q: %s", k, clients.AttributeKeyProblem(k))...)
		case slices.Contains(clients.ReservedClaims, strings.ToLower(k)):
			errs = append(errs, bad("key %q is a registered claim and cannot be shadowed", k)...)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return models.JSONObject(obj), nil
}

// errUsernameTaken answers a username another user holds.
var errUsernameTaken = fieldConflict("username", "another user has this username")

// SetProfile validates and replaces a user's profile; bad input is
// refused with every problem named and nothing written.
func (s *Users) SetProfile(ctx context.Context, id string, spec ProfileSpec) (*ProfileSpec, error) {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := spec.Validate()
	if err != nil {
		return nil, err
	}
	before := ProfileOf(u)
	if err := s.st.SetUserProfile(ctx, id, p); err != nil {
		if errors.Is(err, models.ErrAlreadyExists) {
			return nil, errUsernameTaken
		}
		return nil, err
	}
	if u, err = s.st.GetUser(ctx, id); err != nil {
		return nil, err
	}
	after := ProfileOf(u)
	if err := s.audit.Record(ctx, "user.update_profile", "user", id, before, after); err != nil {
		return nil, err
	}
	return &after, nil
}

// Profile returns a user's profile.
func (s *Users) Profile(ctx context.Context, id string) (*ProfileSpec, error) {
	u, err := s.st.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	p := ProfileOf(u)
	return &p, nil
}

// marshalJSON encodes v as JSON without escaping <, > and & (attributes
// are data, not HTML: "R&D" stays "R&D" and counts 3 bytes), indented
// when indent is set.
func marshalJSON(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
