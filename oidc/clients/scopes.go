package clients

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sesame-idp/sesame/models"
)

// reservedScopes are scope names a custom scope may not take: Sesame's
// own, OIDC Core §5.4's, and Sesame's namespace.
var reservedScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess, ScopeGroups, "address", "phone"}

// ReservedClaims are claim names a custom scope may not release: JWT's
// registered claims (RFC 7519 §4.1), OIDC Core's ID token and standard
// claims (§2, §5.1), introspection's (RFC 7662 §2.2), JWT access token
// and token exchange claims (RFC 9068, RFC 8693), and Sesame's own. A
// custom claim with one of these names would let an attribute pose as
// something the provider vouches for.
var ReservedClaims = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash", "s_hash", "sid",
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "email", "email_verified", "gender", "birthdate",
	"zoneinfo", "locale", "phone_number", "phone_number_verified", "address", "updated_at",
	"active", "scope", "client_id", "username", "token_type", "cnf", "act", "may_act",
	"groups", "ext", "_claim_names", "_claim_sources",
}

// Bounds of custom scopes.
const (
	maxScopeNameLen   = 64
	maxClaimsPerScope = 20
	maxDescriptionLen = 500
)

// ScopeSpec is the settable part of a custom scope.
type ScopeSpec struct {
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Claims      []models.ScopeClaim `json:"claims"`
}

// Normalize trims names.
func (s *ScopeSpec) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.Description = strings.TrimSpace(s.Description)
	for i := range s.Claims {
		c := &s.Claims[i]
		c.Claim, c.Source, c.Attribute = strings.TrimSpace(c.Claim), strings.TrimSpace(c.Source), strings.TrimSpace(c.Attribute)
	}
}

// Validate reports every problem of a normalized scope at once.
func (s ScopeSpec) Validate() error {
	var errs []error
	add := func(e *ValidationError) { errs = append(errs, e) }
	switch {
	case !validName(s.Name, maxScopeNameLen):
		add(invalid("name", "1 to %d lower-case letters, digits and . _ : - (starting with a letter or digit)", maxScopeNameLen))
	case slices.Contains(reservedScopes, s.Name) || strings.HasPrefix(s.Name, "sesame:"):
		add(invalid("name", "%q is a built-in scope", s.Name))
	}
	if utf8.RuneCountInString(s.Description) > maxDescriptionLen || strings.IndexFunc(s.Description, unicode.IsControl) >= 0 {
		add(invalid("description", "at most %d characters, no control characters", maxDescriptionLen))
	}
	// A scope without claims releases nothing: a permission for APIs
	// (a resource's allowed scopes, RFC 8707).
	if len(s.Claims) > maxClaimsPerScope {
		add(invalid("claims", "at most %d", maxClaimsPerScope))
	}
	var seen []string
	for _, c := range s.Claims {
		switch {
		case !validName(c.Claim, maxScopeNameLen) || strings.Contains(c.Claim, ":"):
			add(invalid("claims", "claim %q: 1 to %d lower-case letters, digits and . _ -", c.Claim, maxScopeNameLen))
		case slices.Contains(ReservedClaims, c.Claim):
			add(invalid("claims", "claim %q is a registered or standard claim and cannot be redefined", c.Claim))
		case slices.Contains(seen, c.Claim):
			add(invalid("claims", "claim %q is listed twice", c.Claim))
		}
		seen = append(seen, c.Claim)
		switch c.Source {
		case models.ClaimFromAttribute:
			if msg := AttributeKeyProblem(c.Attribute); msg != "" {
				add(invalid("claims", "claim %q: attribute %s", c.Claim, msg))
			}
		case models.ClaimFromGroups:
			if c.Attribute != "" {
				add(invalid("claims", "claim %q: a groups claim takes no attribute", c.Claim))
			}
		default:
			add(invalid("claims", "claim %q: source must be %q or %q", c.Claim, models.ClaimFromAttribute, models.ClaimFromGroups))
		}
	}
	return joinErrs(errs)
}

// AttributeKeyProblem says what is wrong with a user attribute's key (""
// when it is fine): 1 to 64 letters, digits and . _ -.
func AttributeKeyProblem(k string) string {
	if k == "" || len(k) > 64 {
		return "names must be 1 to 64 characters"
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return fmt.Sprintf("name %q may only hold letters, digits and . _ -", k)
		}
	}
	return ""
}

// validName: lower-case letters, digits and . _ : -, starting with a
// letter or digit, 1 to max bytes.
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._:-", r)) {
			return false
		}
	}
	return true
}

// customScopeName reports whether a client's scope may name a custom
// scope (its existence is the service's check).
func customScopeName(s string) bool {
	return validName(s, maxScopeNameLen) && !slices.Contains(reservedScopes, s) && !strings.HasPrefix(s, "sesame:")
}
