package upstream

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/sesame-idp/sesame/models"
)

// Spec is the settable part of a provider, as the admin API, the console
// and the CLI send it. ClientSecret is write-only: empty on an update keeps
// the stored one.
type Spec struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Preset       string            `json:"preset,omitempty"`
	Kind         string            `json:"kind"`
	Issuer       string            `json:"issuer"`
	ClientID     string            `json:"client_id"`
	ClientSecret string            `json:"client_secret,omitempty"`
	Scopes       []string          `json:"scopes"`
	Claims       map[string]string `json:"claims"`
	Icon         string            `json:"icon"`
	Provisioning string            `json:"provisioning"`
	GroupMap     map[string]string `json:"group_map"`
	Domains      []string          `json:"domains"`
	LocalMethods bool              `json:"local_methods"`
	PassAMR      bool              `json:"pass_amr"`
	Disabled     bool              `json:"disabled"`
}

// Preset is a known provider: the generic OIDC path (or the GitHub
// adapter) with its issuer, scopes and claims filled in.
type Preset struct {
	Name   string
	Kind   string
	Issuer string
	Scopes []string
	Claims map[string]string
	// Hint says what the admin still has to fill in.
	Hint string
	// FormPost: the provider answers only with response_mode=form_post
	// (Apple, whenever scopes are asked for): the callback comes as a
	// cross-site POST.
	FormPost bool
	// UserForm: the provider sends the person's name only in the
	// form_post's "user" field of the first authorization (Apple), never
	// in the ID token.
	UserForm bool
}

// Presets by id. Entra ID's issuer names the tenant: the preset holds the
// "organizations" placeholder the admin replaces with the tenant id.
var Presets = map[string]Preset{
	"google": {Name: "Google", Kind: models.UpstreamOIDC, Issuer: "https://accounts.google.com",
		Scopes: []string{"openid", "email", "profile"}},
	"microsoft": {Name: "Microsoft", Kind: models.UpstreamOIDC, Issuer: "https://login.microsoftonline.com/TENANT_ID/v2.0",
		Scopes: []string{"openid", "email", "profile"},
		// Entra ID's email claim is not verified by Microsoft for every
		// account type; xms_edov says when the domain owner verified it.
		Claims: map[string]string{"email_verified": "xms_edov"},
		Hint: "give --issuer with your directory (tenant) id in place of TENANT_ID, and add the optional ID token claims email and " +
			"xms_edov in the app registration (without xms_edov no address counts as verified)"},
	"apple": {Name: "Apple", Kind: models.UpstreamOIDC, Issuer: "https://appleid.apple.com",
		Scopes:   []string{"openid", "email", "name"},
		Hint:     "Apple's client secret is a JWT you sign with your Apple key and renew every six months",
		FormPost: true, UserForm: true},
	"gitlab": {Name: "GitLab", Kind: models.UpstreamOIDC, Issuer: "https://gitlab.com",
		Scopes: []string{"openid", "email", "profile"}, Claims: map[string]string{"groups": "groups_direct"}},
	"github": {Name: "GitHub", Kind: models.UpstreamGitHub, Issuer: "https://github.com",
		Scopes: []string{"read:user", "user:email"}},
}

// formPost reports whether p is a provider whose preset needs the
// form_post response mode (matched on the issuer, so a provider added
// without the preset gets it too).
func formPost(p *models.UpstreamProvider) bool {
	pr, ok := presetOf(p)
	return ok && pr.FormPost
}

// NameInForm reports whether p is a provider that sends the person's name
// in the form_post's user field (Apple; matched on the issuer).
func NameInForm(p *models.UpstreamProvider) bool {
	pr, ok := presetOf(p)
	return ok && pr.UserForm
}

// presetOf is the preset whose kind and issuer p has.
func presetOf(p *models.UpstreamProvider) (Preset, bool) {
	for _, pr := range Presets {
		if p.Kind == pr.Kind && strings.TrimRight(p.Issuer, "/") == pr.Issuer {
			return pr, true
		}
	}
	return Preset{}, false
}

// PresetIDs are the presets in the order the console offers them.
var PresetIDs = []string{"google", "microsoft", "apple", "gitlab", "github"}

// DefaultScopes are what a provider of kind asks for when its spec names
// none: the OIDC basics, or GitHub's profile and email addresses.
func DefaultScopes(kind string) []string {
	if kind == models.UpstreamGitHub {
		return []string{"read:user", "user:email"}
	}
	return []string{"openid", "email", "profile"}
}

// FieldError is one rejected field of a Spec.
type FieldError struct {
	Field, Message string
	// Format and Args are what Message was made from, for the console to
	// say it in the admin's language.
	Format string
	Args   []any
}

// ClaimKeys are the claims a provider may map.
var ClaimKeys = []string{"subject", "email", "email_verified", "name", "groups"}

var (
	idRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// ApplyPreset fills what the spec leaves empty from its preset.
func (s *Spec) ApplyPreset() error {
	if s.Preset == "" {
		return nil
	}
	p, ok := Presets[s.Preset]
	if !ok {
		return fmt.Errorf("unknown preset %q (known: %s)", s.Preset, strings.Join(PresetIDs, ", "))
	}
	if s.Name == "" {
		s.Name = p.Name
	}
	if s.ID == "" {
		s.ID = s.Preset
	}
	if s.Kind == "" {
		s.Kind = p.Kind
	}
	if s.Issuer == "" {
		s.Issuer = p.Issuer
	}
	if len(s.Scopes) == 0 {
		s.Scopes = slices.Clone(p.Scopes)
	}
	if len(s.Claims) == 0 && len(p.Claims) > 0 {
		s.Claims = map[string]string{}
		for k, v := range p.Claims {
			s.Claims[k] = v
		}
	}
	return nil
}

// Normalize trims and lower-cases what has one spelling, and fills the
// defaults: kind oidc, provisioning create.
func (s *Spec) Normalize() {
	s.ID = strings.ToLower(strings.TrimSpace(s.ID))
	s.Name = strings.TrimSpace(s.Name)
	s.Issuer = strings.TrimRight(strings.TrimSpace(s.Issuer), "/")
	s.ClientID = strings.TrimSpace(s.ClientID)
	s.Icon = strings.TrimSpace(s.Icon)
	if s.Kind == "" {
		s.Kind = models.UpstreamOIDC
	}
	if s.Provisioning == "" {
		s.Provisioning = models.ProvisionCreate
	}
	var scopes []string
	for _, sc := range s.Scopes {
		for _, f := range strings.Fields(sc) {
			if !slices.Contains(scopes, f) {
				scopes = append(scopes, f)
			}
		}
	}
	// The defaults are stored, so the API and the console show what is
	// asked for.
	if len(scopes) == 0 {
		scopes = DefaultScopes(s.Kind)
	}
	s.Scopes = scopes
	var ds []string
	for _, d := range s.Domains {
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
		if d != "" && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	s.Domains = ds
}

// Validate reports every problem of a normalized spec at once. creating
// says whether a client secret is needed now (an update keeps the stored
// one when none is given).
func (s *Spec) Validate(creating bool) []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args})
	}
	if !idRE.MatchString(s.ID) {
		add("id", "lower-case letters, digits and dashes, at most 40, e.g. \"acme\"")
	}
	if s.Name == "" || len(s.Name) > 60 {
		add("name", "required, at most 60 characters (shown on the button)")
	}
	switch s.Kind {
	case models.UpstreamOIDC:
		if msg := issuerProblem(s.Issuer); msg != "" {
			add("issuer", "%s", msg)
		}
		if strings.Contains(s.Issuer, "TENANT_ID") {
			add("issuer", "replace TENANT_ID with your directory (tenant) id")
		}
		if len(s.Scopes) > 0 && !slices.Contains(s.Scopes, "openid") {
			add("scopes", "an OpenID Connect provider needs the openid scope")
		}
	case models.UpstreamGitHub:
		if s.Issuer != "" {
			if msg := issuerProblem(s.Issuer); msg != "" {
				add("issuer", "%s", msg)
			}
		}
	default:
		add("kind", "unsupported %q (allowed: oidc, github)", s.Kind)
	}
	if s.ClientID == "" {
		add("client_id", "required: the client id this provider issued to Sesame")
	}
	if creating && s.ClientSecret == "" {
		add("client_secret", "required: the client secret this provider issued to Sesame")
	}
	for k, v := range s.Claims {
		if !slices.Contains(ClaimKeys, k) {
			add("claims", "unknown claim %q (mappable: %s)", k, strings.Join(ClaimKeys, ", "))
		}
		if strings.TrimSpace(v) == "" {
			add("claims", "claim %q maps to an empty name", k)
		}
	}
	if s.Icon != "" {
		if msg := iconProblem(s.Icon); msg != "" {
			add("icon", "%s", msg)
		}
	}
	if s.Provisioning != models.ProvisionCreate && s.Provisioning != models.ProvisionLink {
		add("provisioning", "unsupported %q (allowed: create, link)", s.Provisioning)
	}
	for _, d := range s.Domains {
		if !domainRE.MatchString(d) {
			add("domains", "%q is not a domain name", d)
		}
	}
	return errs
}

func issuerProblem(iss string) string {
	u, err := url.Parse(iss)
	switch {
	case iss == "":
		return "required: the provider's issuer URL (discovery is read from it)"
	case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return "an absolute URL without query or fragment"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
		// Development and tests on loopback (the outbound guard still
		// needs outbound_allow_cidrs to reach it).
		return ""
	}
	return "must use https"
}

func iconProblem(icon string) string {
	if strings.HasPrefix(icon, "data:image/svg+xml") || strings.HasPrefix(icon, "data:image/png;base64,") {
		if len(icon) > 16<<10 {
			return "an inline icon of at most 16 KiB"
		}
		return ""
	}
	u, err := url.Parse(icon)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "an https URL or a data:image/svg+xml or data:image/png URI"
	}
	return ""
}

// Provider turns a valid spec into the stored provider, sealing the
// client secret (keep is the stored sealed secret an update without a new
// one keeps).
func (s *Spec) Provider(box *Box, keep string) *models.UpstreamProvider {
	p := &models.UpstreamProvider{ID: s.ID, Name: s.Name, Kind: s.Kind, Issuer: s.Issuer, ClientID: s.ClientID,
		ClientSecretSealed: keep, Scopes: models.StringList(s.Scopes), Claims: models.StringMap(s.Claims), Icon: s.Icon,
		Provisioning: s.Provisioning, GroupMap: models.StringMap(s.GroupMap), Domains: models.StringList(s.Domains),
		LocalMethods: s.LocalMethods, PassAMR: s.PassAMR, Disabled: s.Disabled}
	if s.ClientSecret != "" {
		p.ClientSecretSealed = box.Seal(s.ID, s.ClientSecret)
	}
	return p
}

// SpecOf is the spec of a stored provider, without its secret (empty
// lists and maps, never null, as the API documents them).
func SpecOf(p *models.UpstreamProvider) Spec {
	s := Spec{ID: p.ID, Name: p.Name, Kind: p.Kind, Issuer: p.Issuer, ClientID: p.ClientID, Scopes: slices.Clone([]string(p.Scopes)),
		Claims: map[string]string{}, Icon: p.Icon, Provisioning: p.Provisioning, GroupMap: map[string]string{}, Domains: slices.Clone([]string(p.Domains)),
		LocalMethods: p.LocalMethods, PassAMR: p.PassAMR, Disabled: p.Disabled}
	maps.Copy(s.Claims, p.Claims)
	maps.Copy(s.GroupMap, p.GroupMap)
	if s.Scopes == nil {
		s.Scopes = []string{}
	}
	if s.Domains == nil {
		s.Domains = []string{}
	}
	return s
}
