package clients

import (
	"github.com/sesame-idp/sesame/internal/branding"

	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
)

// Grant types, response types, scopes, authentication methods and ID token
// algorithms a client may register.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	// GrantDeviceCode is the device authorization grant (RFC 8628): TVs,
	// CLIs and kiosks sign people in on another screen.
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	// GrantTokenExchange is token exchange (RFC 8693): a confidential
	// client (an API) trades a token it received for one for another
	// resource, acting for the token's subject (oidc/exchange.go).
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

	ResponseTypeCode = "code"

	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
	// ScopeGroups releases the groups claim.
	ScopeGroups = "groups"
	// ScopeAdmin grants the admin API (/api/admin/v1). Only a confidential
	// client that uses client_credentials alone may hold it, so the token
	// stands for the client and never for a user who happened to consent;
	// only the CLI and the admin API (as an admin) register such clients.
	ScopeAdmin = "sesame:admin"
	// ScopeIntrospect, registered on a confidential client (a resource
	// server), lets it introspect tokens issued to other clients (RFC 7662
	// §4: the server decides who may learn what). Without it a client
	// learns only about its own tokens; anything else is {"active":false}.
	ScopeIntrospect = "sesame:introspect"

	AuthNone              = "none"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"

	SubjectPublic   = "public"
	SubjectPairwise = "pairwise"

	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// Limits that keep a registration sane to store and display.
const (
	maxNameLen = 200
	maxURILen  = 2000
	maxURIs    = 50
	maxJWKSLen = 64 << 10
)

var (
	grantTypes    = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode, GrantTokenExchange}
	responseTypes = []string{ResponseTypeCode}
	scopes        = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}
	// userScopes are the scopes a client may register beyond the defaults.
	userScopes   = append(slices.Clip(scopes), ScopeGroups)
	confAuth     = []string{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT}
	algs         = []string{AlgRS256, AlgES256, AlgEdDSA}
	loginMethods = []string{models.MethodPasskey, models.MethodPasslink, models.MethodPasswordKey}
)

// Spec is the settable part of a client, with the field names of OpenID
// Connect Dynamic Client Registration (scopes as a list rather than DCR's
// space-separated "scope", plus Sesame's own skip_consent,
// allowed_login_methods and public).
type Spec struct {
	Name                    string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scopes                  []string `json:"scopes"`
	Public                  bool     `json:"public"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	IDTokenSignedAlg        string   `json:"id_token_signed_response_alg"`
	// JWKS is a JSON Web Key Set (as JSON text) with the client's public
	// keys, for private_key_jwt.
	JWKS                string   `json:"jwks,omitempty"`
	JWKSURI             string   `json:"jwks_uri,omitempty"`
	SkipConsent         bool     `json:"skip_consent"`
	AllowedLoginMethods []string `json:"allowed_login_methods"`
	// Disabled clients are refused everywhere until enabled again.
	Disabled bool `json:"disabled"`
	// LogoURI (DCR's logo_uri) is shown on the hosted pages: an https URL
	// or a data:image/svg+xml URI; "" shows the name's initial.
	LogoURI string `json:"logo_uri"`
	// PrimaryColor and AccentColor are the app's own colours on the
	// hosted pages (#rrggbb; "" for the global branding's), held to the
	// same contrast rules (internal/branding).
	PrimaryColor string `json:"primary_color,omitempty"`
	AccentColor  string `json:"accent_color,omitempty"`
	// Token lifetimes in whole seconds; 0 uses the global setting. Each
	// must lie within the global bounds: access and ID tokens 60 s to 24 h,
	// refresh tokens 1 h to 8760 h (the same as the server's flags).
	AccessTokenTTL  int `json:"access_token_ttl"`
	RefreshTokenTTL int `json:"refresh_token_ttl"`
	IDTokenTTL      int `json:"id_token_ttl"`
	// MinACR is an acr every sign-in for this client must reach, as if
	// each request's acr_values contained it; "" for none.
	MinACR string `json:"min_acr"`
	// UserVerification is the passkey user verification this client asks
	// for: required, preferred or discouraged; "" follows the global policy.
	UserVerification string `json:"user_verification"`
	// SyncedPasskeys is what happens to passkeys that may sync between
	// devices (backup eligible) at this client's sign-ins and sign-ups:
	// allow, block, or grace (accepted, each use warned and recorded); ""
	// follows the global policy.
	SyncedPasskeys string `json:"synced_passkeys"`
	// AAGUIDAllow, when not empty, are the only authenticator models whose
	// attested passkeys sign in and sign up to this client, on top of the
	// global allow list (a minimum: a passkey must pass both).
	// AAGUIDAllowMode is enforce (refused; "" too) or grace (accepted,
	// each use warned and recorded).
	AAGUIDAllow     []string `json:"aaguid_allow"`
	AAGUIDAllowMode string   `json:"aaguid_allow_mode"`
	// AllowedGroups names the groups whose members may use this client;
	// empty lets every user in. Each must name an existing group.
	AllowedGroups []string `json:"allowed_groups"`
	// AllowedWebOrigins are the browser origins (scheme://host[:port]) whose
	// pages may call the token, userinfo, revocation and introspection
	// endpoints (CORS). Empty: the origins of the redirect URIs for a public
	// client, none for a confidential one (see WebOrigins).
	AllowedWebOrigins []string `json:"allowed_web_origins"`
	// RequireVerifiedEmail: everyone who signs in to this client proves
	// their address first, whatever the global require_verified_email.
	RequireVerifiedEmail bool `json:"require_verified_email"`
	// BackchannelLogoutURI receives a signed logout token when a session
	// that signed in to this client ends (OIDC Back-Channel Logout 1.0):
	// an https URL, or http on a loopback host; "" for none.
	BackchannelLogoutURI string `json:"backchannel_logout_uri"`
	// BackchannelLogoutSessionRequired: the client needs the sid claim in
	// its logout tokens (Sesame always sends it).
	BackchannelLogoutSessionRequired bool `json:"backchannel_logout_session_required"`
	// FrontchannelLogoutURI is loaded in a hidden iframe by Sesame's
	// logout page when someone signs out in the browser (OIDC Front-Channel
	// Logout 1.0); its scheme, host and port must be those of a redirect
	// URI. "" for none.
	FrontchannelLogoutURI string `json:"frontchannel_logout_uri"`
	// FrontchannelLogoutSessionRequired: the iframe's URL gets the iss and
	// sid query parameters.
	FrontchannelLogoutSessionRequired bool `json:"frontchannel_logout_session_required"`
	// RequirePushedAuthorizationRequests: the client's authorization
	// requests must be pushed first (RFC 9126 §6); a request sent only
	// through the browser is refused.
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests"`
	// SubjectType is "public" (the default: sub is the user's id,
	// the same for every client) or "pairwise" (OIDC Core §8.1: a sub of
	// its own per sector identifier, so apps cannot correlate users).
	SubjectType string `json:"subject_type"`
	// SectorIdentifierURI (pairwise only) is an https URL serving a JSON
	// array that lists every redirect URI of the client; its host is the
	// sector identifier, shared by clients that should see the same sub.
	// Without one, the redirect URIs must all have the same host.
	SectorIdentifierURI string `json:"sector_identifier_uri"`
	// AccessTokenFormat is how this client's access tokens are issued:
	// "opaque" (the default; only introspection describes them) or "jwt"
	// (RFC 9068, verifiable against the JWKS). A resource named in the
	// resource parameter may ask for JWTs too.
	AccessTokenFormat string `json:"access_token_format"`
	// DPoPBoundAccessTokens: every token request of this client must carry
	// a DPoP proof, so all its tokens are bound to its key (RFC 9449 §5.2).
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens"`
	// TokenExchangeResources are the registered resources (their
	// audiences) this client may exchange tokens for with the token
	// exchange grant (RFC 8693); at least one with that grant, none
	// without it.
	TokenExchangeResources []string `json:"token_exchange_resources"`
	// TokenExchangeSubjectAudiences are the audiences (the APIs this client
	// serves) a subject token may carry for this client to exchange it,
	// besides the client's own id (RFC 8693 §2.1: the client must be a
	// rightful holder of the token it presents).
	TokenExchangeSubjectAudiences []string `json:"token_exchange_subject_audiences"`
	// ClientURI, PolicyURI and TOSURI are the app's home page, privacy
	// policy and terms of service (RFC 7591 §2): https URLs the consent
	// page links to; "" for none.
	ClientURI string `json:"client_uri"`
	PolicyURI string `json:"policy_uri"`
	TOSURI    string `json:"tos_uri"`
	// Contacts are email addresses of people responsible for the app
	// (RFC 7591 §2), for admins only; never shown to users.
	Contacts []string `json:"contacts"`
}

// AccessTokenFormats are the values of access_token_format.
var AccessTokenFormats = []string{models.TokenFormatOpaque, models.TokenFormatJWT}

// Bounds of per-client token lifetimes, in seconds: the global bounds of
// config.Validate.
const (
	MinTokenTTL        = 60
	MaxTokenTTL        = 24 * 3600
	MinRefreshTokenTTL = 3600
	MaxRefreshTokenTTL = 8760 * 3600
	maxLogoLen         = 64 << 10
	maxAllowedGroups   = 50
	maxContacts        = 10
	maxContactLen      = 254 // RFC 5321 §4.5.3.1.3: the longest path
)

// UserVerifications are the values of user_verification besides "".
var UserVerifications = []string{"required", "preferred", "discouraged"}

// ValidationError is one rejected setting. Field is the JSON name.
type ValidationError struct {
	Field   string
	Message string
	// Format and Args are what Message was made from, for pages that say
	// it in another language (the console).
	Format string
	Args   []any
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// UsesSecret reports whether the auth method authenticates with a shared
// client secret.
func UsesSecret(method string) bool {
	return method == AuthClientSecretBasic || method == AuthClientSecretPost
}

// Normalize trims values, removes empty entries and duplicates (keeping the
// first occurrence) and fills defaults:
//   - grant_types: authorization_code and refresh_token;
//   - response_types: code when authorization_code is granted;
//   - scopes: openid, profile, email and offline_access, except for
//     clients that only use client_credentials, which default to none;
//   - token_endpoint_auth_method: none for public clients,
//     client_secret_basic otherwise; registering "none" makes a client
//     public, as in Dynamic Client Registration;
//   - id_token_signed_response_alg: RS256 (OIDC Registration §2);
//   - allowed_login_methods: all of them.
//
// Redirect URIs are kept byte for byte apart from surrounding spaces,
// because the authorization endpoint compares them exactly.
func (s *Spec) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	s.RedirectURIs = clean(s.RedirectURIs)
	s.PostLogoutRedirectURIs = clean(s.PostLogoutRedirectURIs)
	s.GrantTypes = clean(s.GrantTypes)
	s.ResponseTypes = clean(s.ResponseTypes)
	s.Scopes = clean(s.Scopes)
	s.AllowedLoginMethods = clean(s.AllowedLoginMethods)
	s.AllowedGroups = clean(s.AllowedGroups)
	s.AllowedWebOrigins = clean(s.AllowedWebOrigins)
	s.TokenExchangeResources = clean(s.TokenExchangeResources)
	s.TokenExchangeSubjectAudiences = clean(s.TokenExchangeSubjectAudiences)
	s.TokenEndpointAuthMethod = strings.TrimSpace(s.TokenEndpointAuthMethod)
	s.IDTokenSignedAlg = strings.TrimSpace(s.IDTokenSignedAlg)
	s.JWKS = strings.TrimSpace(s.JWKS)
	s.JWKSURI = strings.TrimSpace(s.JWKSURI)
	s.LogoURI = strings.TrimSpace(s.LogoURI)
	s.PrimaryColor = branding.NormalizeColor(s.PrimaryColor)
	s.AccentColor = branding.NormalizeColor(s.AccentColor)
	s.MinACR = strings.TrimSpace(s.MinACR)
	s.UserVerification = strings.TrimSpace(s.UserVerification)
	s.SyncedPasskeys = strings.TrimSpace(s.SyncedPasskeys)
	s.AAGUIDAllowMode = strings.TrimSpace(s.AAGUIDAllowMode)
	s.AAGUIDAllow = normalAAGUIDs(s.AAGUIDAllow)
	s.BackchannelLogoutURI = strings.TrimSpace(s.BackchannelLogoutURI)
	s.FrontchannelLogoutURI = strings.TrimSpace(s.FrontchannelLogoutURI)
	s.SubjectType = strings.TrimSpace(s.SubjectType)
	if s.SubjectType == "" {
		s.SubjectType = SubjectPublic
	}
	s.SectorIdentifierURI = strings.TrimSpace(s.SectorIdentifierURI)
	s.ClientURI = strings.TrimSpace(s.ClientURI)
	s.PolicyURI = strings.TrimSpace(s.PolicyURI)
	s.TOSURI = strings.TrimSpace(s.TOSURI)
	s.Contacts = clean(s.Contacts)
	s.AccessTokenFormat = strings.TrimSpace(s.AccessTokenFormat)
	if s.AccessTokenFormat == "" {
		s.AccessTokenFormat = models.TokenFormatOpaque
	}

	if len(s.GrantTypes) == 0 {
		s.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	if len(s.ResponseTypes) == 0 && slices.Contains(s.GrantTypes, GrantAuthorizationCode) {
		s.ResponseTypes = []string{ResponseTypeCode}
	}
	if len(s.Scopes) == 0 && !s.clientCredentialsOnly() {
		s.Scopes = slices.Clone(scopes)
	}
	if s.TokenEndpointAuthMethod == AuthNone {
		s.Public = true
	}
	if s.TokenEndpointAuthMethod == "" {
		if s.Public {
			s.TokenEndpointAuthMethod = AuthNone
		} else {
			s.TokenEndpointAuthMethod = AuthClientSecretBasic
		}
	}
	if s.IDTokenSignedAlg == "" {
		s.IDTokenSignedAlg = AlgRS256
	}
	if len(s.AllowedLoginMethods) == 0 {
		s.AllowedLoginMethods = slices.Clone(loginMethods)
	}
}

func (s *Spec) clientCredentialsOnly() bool {
	return len(s.GrantTypes) == 1 && s.GrantTypes[0] == GrantClientCredentials
}

// clean trims entries and drops empty ones and duplicates. The result is
// never nil, so JSON shows [] rather than null.
func clean(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Validate checks a normalized spec and reports every problem at once: the
// result is nil, a *ValidationError, or several joined with errors.Join.
func (s Spec) Validate() error {
	var errs []error
	add := func(e *ValidationError) { errs = append(errs, e) }

	switch n := utf8.RuneCountInString(s.Name); {
	case n == 0:
		add(invalid("client_name", "required"))
	case n > maxNameLen:
		add(invalid("client_name", "at most %d characters", maxNameLen))
	case strings.IndexFunc(s.Name, unicode.IsControl) >= 0:
		add(invalid("client_name", "must not contain control characters"))
	}

	if bad := notIn(s.GrantTypes, grantTypes); bad != "" {
		add(invalid("grant_types", "unsupported %q (allowed: %s)", bad, strings.Join(grantTypes, ", ")))
	}
	if len(s.GrantTypes) == 0 {
		add(invalid("grant_types", "at least one is required"))
	}
	authCode := slices.Contains(s.GrantTypes, GrantAuthorizationCode)
	signsIn := authCode || slices.Contains(s.GrantTypes, GrantDeviceCode)
	if slices.Contains(s.GrantTypes, GrantRefreshToken) && !signsIn {
		// Refresh tokens are only issued where a user signs in here
		// (client_credentials gets none, RFC 6749 §4.4.3).
		add(invalid("grant_types", "refresh_token needs authorization_code or the device grant"))
	}

	if bad := notIn(s.ResponseTypes, responseTypes); bad != "" {
		add(invalid("response_types", "unsupported %q (only code is supported)", bad))
	}
	switch {
	case authCode && len(s.ResponseTypes) == 0:
		add(invalid("response_types", "code is required with the authorization_code grant"))
	case !authCode && len(s.ResponseTypes) > 0:
		add(invalid("response_types", "must be empty without the authorization_code grant"))
	}

	if authCode && len(s.RedirectURIs) == 0 {
		add(invalid("redirect_uris", "at least one is required with the authorization_code grant"))
	}
	if len(s.RedirectURIs) > maxURIs {
		add(invalid("redirect_uris", "at most %d", maxURIs))
	}
	for _, u := range s.RedirectURIs {
		if msg := redirectURIProblem(u); msg != "" {
			add(invalid("redirect_uris", "%q %s", u, msg))
		}
	}
	if len(s.PostLogoutRedirectURIs) > maxURIs {
		add(invalid("post_logout_redirect_uris", "at most %d", maxURIs))
	}
	for _, u := range s.PostLogoutRedirectURIs {
		if msg := redirectURIProblem(u); msg != "" {
			add(invalid("post_logout_redirect_uris", "%q %s", u, msg))
		}
	}

	// Other names must be custom scopes: Service checks they exist.
	for _, sc := range s.Scopes {
		if !slices.Contains(userScopes, sc) && sc != ScopeAdmin && sc != ScopeIntrospect && !customScopeName(sc) {
			add(invalid("scopes", "unsupported %q (allowed: %s, %s, %s, or a custom scope)", sc, strings.Join(userScopes, ", "), ScopeAdmin, ScopeIntrospect))
		}
	}
	if len(s.AllowedGroups) > maxAllowedGroups {
		add(invalid("allowed_groups", "at most %d", maxAllowedGroups))
	}
	for _, g := range s.AllowedGroups {
		if msg := models.GroupNameProblem(g); msg != "" {
			add(invalid("allowed_groups", "%q: %s", g, msg))
		}
	}
	if len(s.AllowedGroups) > 0 && !signsIn {
		add(invalid("allowed_groups", "only limits clients that sign users in (the authorization_code or device grant)"))
	}
	if slices.Contains(s.Scopes, ScopeIntrospect) && s.Public {
		add(invalid("scopes", "%s is only for confidential clients (resource servers that authenticate)", ScopeIntrospect))
	}
	if slices.Contains(s.Scopes, ScopeAdmin) && (!s.clientCredentialsOnly() || s.Public) {
		add(invalid("scopes", "%s is only for confidential clients whose only grant type is client_credentials", ScopeAdmin))
	}

	if s.Public {
		if s.TokenEndpointAuthMethod != AuthNone {
			add(invalid("token_endpoint_auth_method", "must be none for a public client (it cannot keep a secret)"))
		}
		if slices.Contains(s.GrantTypes, GrantClientCredentials) {
			// RFC 6749 §4.4: client_credentials is for confidential clients only.
			add(invalid("grant_types", "client_credentials needs a confidential client"))
		}
		if slices.Contains(s.GrantTypes, GrantTokenExchange) {
			// A token it was handed is only a subject token in the hands
			// of a client that proves who it is (RFC 8693 §2.1, §5).
			add(invalid("grant_types", "token exchange needs a confidential client"))
		}
	} else if !slices.Contains(confAuth, s.TokenEndpointAuthMethod) {
		add(invalid("token_endpoint_auth_method", "unsupported %q (allowed: none for public clients, %s)", s.TokenEndpointAuthMethod, strings.Join(confAuth, ", ")))
	}

	if s.TokenEndpointAuthMethod == AuthPrivateKeyJWT {
		switch {
		case s.JWKS == "" && s.JWKSURI == "":
			add(invalid("jwks", "private_key_jwt needs the client's public keys in jwks or jwks_uri"))
		case s.JWKS != "" && s.JWKSURI != "":
			// OIDC Registration §2: jwks and jwks_uri MUST NOT both be present.
			add(invalid("jwks", "set either jwks or jwks_uri, not both"))
		case s.JWKS != "":
			if msg := jwksProblem(s.JWKS); msg != "" {
				add(invalid("jwks", "%s", msg))
			}
		default:
			if msg := jwksURIProblem(s.JWKSURI); msg != "" {
				add(invalid("jwks_uri", "%q %s", s.JWKSURI, msg))
			}
		}
	} else {
		if s.JWKS != "" {
			add(invalid("jwks", "only used with private_key_jwt"))
		}
		if s.JWKSURI != "" {
			add(invalid("jwks_uri", "only used with private_key_jwt"))
		}
	}

	if !slices.Contains(algs, s.IDTokenSignedAlg) {
		add(invalid("id_token_signed_response_alg", "unsupported %q (allowed: %s)", s.IDTokenSignedAlg, strings.Join(algs, ", ")))
	}
	if bad := notIn(s.AllowedLoginMethods, loginMethods); bad != "" {
		add(invalid("allowed_login_methods", "unsupported %q (allowed: %s)", bad, strings.Join(loginMethods, ", ")))
	}
	if len(s.AllowedLoginMethods) == 0 {
		add(invalid("allowed_login_methods", "at least one is required"))
	}

	if s.LogoURI != "" {
		if msg := logoURIProblem(s.LogoURI); msg != "" {
			add(invalid("logo_uri", "%s", msg))
		}
	}
	if msg := branding.ColorProblem(s.PrimaryColor, branding.MinTextContrast); msg != "" {
		add(invalid("primary_color", "%s", msg))
	}
	if msg := branding.ColorProblem(s.AccentColor, branding.MinAccentContrast); msg != "" {
		add(invalid("accent_color", "%s", msg))
	}
	for _, ttl := range []struct {
		field    string
		v        int
		min, max int
	}{
		{"access_token_ttl", s.AccessTokenTTL, MinTokenTTL, MaxTokenTTL},
		{"refresh_token_ttl", s.RefreshTokenTTL, MinRefreshTokenTTL, MaxRefreshTokenTTL},
		{"id_token_ttl", s.IDTokenTTL, MinTokenTTL, MaxTokenTTL},
	} {
		if ttl.v != 0 && (ttl.v < ttl.min || ttl.v > ttl.max) {
			add(invalid(ttl.field, "must be 0 (the global setting) or between %d and %d seconds", ttl.min, ttl.max))
		}
	}
	if s.MinACR != "" && models.ACRLevel(s.MinACR) < 0 {
		add(invalid("min_acr", "unsupported %q (allowed: %s)", s.MinACR, strings.Join(models.ACRLevels, ", ")))
	}
	if s.MinACR == models.ACRPhishingResistant && len(s.AllowedLoginMethods) > 0 &&
		!slices.Contains(s.AllowedLoginMethods, models.MethodPasskey) && !slices.Contains(s.AllowedLoginMethods, models.MethodPasswordKey) {
		add(invalid("min_acr", "%s needs a phishing-resistant login method (passkey or password_security_key)", s.MinACR))
	}
	if models.ACRAtLeast(s.MinACR, models.ACRUserVerified) && len(s.AllowedLoginMethods) > 0 && !slices.Contains(s.AllowedLoginMethods, models.MethodPasskey) {
		add(invalid("min_acr", "%s is reached only with a passkey: allow the passkey login method", s.MinACR))
	}
	if len(s.AllowedWebOrigins) > maxURIs {
		add(invalid("allowed_web_origins", "at most %d", maxURIs))
	}
	for _, o := range s.AllowedWebOrigins {
		if msg := OriginProblem(o); msg != "" {
			add(invalid("allowed_web_origins", "%q %s", o, msg))
		}
	}
	if s.BackchannelLogoutURI != "" {
		if msg := logoutURIProblem(s.BackchannelLogoutURI); msg != "" {
			add(invalid("backchannel_logout_uri", "%q %s", s.BackchannelLogoutURI, msg))
		} else if !authCode {
			add(invalid("backchannel_logout_uri", "only for clients that sign users in (the authorization_code grant)"))
		}
	}
	if s.RequirePushedAuthorizationRequests && !authCode {
		add(invalid("require_pushed_authorization_requests", "only applies to the authorization_code grant"))
	}
	if s.BackchannelLogoutSessionRequired && s.BackchannelLogoutURI == "" {
		add(invalid("backchannel_logout_session_required", "needs a backchannel_logout_uri"))
	}
	if s.FrontchannelLogoutURI != "" {
		if msg := logoutURIProblem(s.FrontchannelLogoutURI); msg != "" {
			add(invalid("frontchannel_logout_uri", "%q %s", s.FrontchannelLogoutURI, msg))
		} else if !sameOriginAsOne(s.FrontchannelLogoutURI, s.RedirectURIs) {
			// Front-Channel Logout 1.0 §2: the scheme, host and port of a
			// registered redirect URI; the logout page frames no other site.
			add(invalid("frontchannel_logout_uri", "%q must have the scheme, host and port of one of the redirect URIs", s.FrontchannelLogoutURI))
		}
	}
	switch s.SubjectType {
	case SubjectPublic:
		if s.SectorIdentifierURI != "" {
			add(invalid("sector_identifier_uri", "only used with subject_type pairwise"))
		}
	case SubjectPairwise:
		switch {
		case !authCode:
			add(invalid("subject_type", "pairwise is only for clients that sign users in (the authorization_code grant)"))
		case s.SectorIdentifierURI != "":
			if msg := jwksURIProblem(s.SectorIdentifierURI); msg != "" {
				add(invalid("sector_identifier_uri", "%q %s", s.SectorIdentifierURI, msg))
			}
		case SectorIdentifier(s.SectorIdentifierURI, s.RedirectURIs) == "":
			// OIDC Registration §2 (sector_identifier_uri), Core §8.1.
			add(invalid("sector_identifier_uri", "required when the redirect URIs do not all have the same host"))
		}
	default:
		add(invalid("subject_type", "unsupported %q (allowed: public, pairwise)", s.SubjectType))
	}
	if s.FrontchannelLogoutSessionRequired && s.FrontchannelLogoutURI == "" {
		add(invalid("frontchannel_logout_session_required", "needs a frontchannel_logout_uri"))
	}
	if s.SyncedPasskeys != "" && !slices.Contains(policy.SyncedPolicies, s.SyncedPasskeys) {
		add(invalid("synced_passkeys", "unsupported %q (allowed: %s, or empty for the global policy)", s.SyncedPasskeys, strings.Join(policy.SyncedPolicies, ", ")))
	}
	if s.AAGUIDAllowMode != "" && !slices.Contains(policy.ModelModes, s.AAGUIDAllowMode) {
		add(invalid("aaguid_allow_mode", "unsupported %q (allowed: %s, or empty for enforce)", s.AAGUIDAllowMode, strings.Join(policy.ModelModes, ", ")))
	}
	if len(s.AAGUIDAllow) > 100 {
		add(invalid("aaguid_allow", "at most 100 models"))
	}
	for _, a := range s.AAGUIDAllow {
		if id, err := uuid.Parse(a); err != nil || id == uuid.Nil {
			add(invalid("aaguid_allow", "%q is not an authenticator model's AAGUID (a UUID such as cb69481e-8ff7-4039-93ec-0a2729a154a8)", a))
			break
		}
	}
	if s.UserVerification != "" && !slices.Contains(UserVerifications, s.UserVerification) {
		add(invalid("user_verification", "unsupported %q (allowed: %s, or empty for the global policy)", s.UserVerification, strings.Join(UserVerifications, ", ")))
	}

	for _, u := range []struct{ field, v string }{{"client_uri", s.ClientURI}, {"policy_uri", s.PolicyURI}, {"tos_uri", s.TOSURI}} {
		if u.v != "" {
			if msg := pageURIProblem(u.v); msg != "" {
				add(invalid(u.field, "%q %s", u.v, msg))
			}
		}
	}
	if len(s.Contacts) > maxContacts {
		add(invalid("contacts", "at most %d", maxContacts))
	}
	for _, c := range s.Contacts {
		if msg := contactProblem(c); msg != "" {
			add(invalid("contacts", "%q %s", c, msg))
		}
	}

	if !slices.Contains(AccessTokenFormats, s.AccessTokenFormat) {
		add(invalid("access_token_format", "unsupported %q (allowed: %s)", s.AccessTokenFormat, strings.Join(AccessTokenFormats, ", ")))
	}
	s.validateTokenExchange(add)

	return joinErrs(errs)
}

// validateTokenExchange checks the token exchange settings: targets only
// with the grant, and at least one (a grant without one exchanges
// nothing), each a resource indicator.
func (s Spec) validateTokenExchange(add func(*ValidationError)) {
	exchange := slices.Contains(s.GrantTypes, GrantTokenExchange)
	for _, f := range []struct {
		field string
		v     []string
	}{
		{"token_exchange_resources", s.TokenExchangeResources},
		{"token_exchange_subject_audiences", s.TokenExchangeSubjectAudiences},
	} {
		switch {
		case !exchange && len(f.v) > 0:
			add(invalid(f.field, "only used with the %s grant", GrantTokenExchange))
		case len(f.v) > maxURIs:
			add(invalid(f.field, "at most %d", maxURIs))
		}
		for _, v := range f.v {
			if msg := ResourceURIProblem(v); msg != "" {
				add(invalid(f.field, "%q %s", v, msg))
			}
		}
	}
	if exchange && len(s.TokenExchangeResources) == 0 {
		add(invalid("token_exchange_resources", "name at least one resource this client may exchange tokens for"))
	}
}

// joinErrs is nil, the one error, or all of them joined.
func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return errors.Join(errs...)
	}
}

// notIn returns the first value not in allowed, or "".
func notIn(values, allowed []string) string {
	for _, v := range values {
		if !slices.Contains(allowed, v) {
			return v
		}
	}
	return ""
}

// redirectURIProblem says why u cannot be a redirect URI, or "". The rules:
// absolute and without fragment (RFC 6749 §3.1.2); no wildcards, since
// redirect URIs are compared exactly; https; http only on a loopback host
// (RFC 8252 §7.3, §8.3); or a private-use scheme in reverse-domain form,
// which must contain a dot (RFC 8252 §7.1), e.g. com.example.app:/cb.
func redirectURIProblem(raw string) string {
	if len(raw) > maxURILen {
		return fmt.Sprintf("is longer than %d characters", maxURILen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "must not contain spaces or control characters"
	}
	if strings.Contains(raw, "*") {
		return "must not contain wildcards; register every URI exactly"
	}
	if strings.Contains(raw, "#") {
		return "must not contain a fragment (RFC 6749 §3.1.2)"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "must be an absolute URI"
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return "must name a host"
		}
		if u.User != nil {
			return "must not contain user info"
		}
	case "http":
		if u.Host == "" {
			return "must name a host"
		}
		if !isLoopback(u.Hostname()) {
			return "must use https (http is allowed only for localhost, 127.0.0.1 or [::1], RFC 8252 §7.3)"
		}
		if u.User != nil {
			return "must not contain user info"
		}
	default:
		if !strings.Contains(scheme, ".") {
			return "must use https, http on a loopback host, or a private-use scheme with a dot such as com.example.app:/callback (RFC 8252 §7.1)"
		}
		if u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
			return "must have a path after the scheme, such as com.example.app:/callback (RFC 8252 §7.1)"
		}
	}
	return ""
}

// logoURIProblem says why raw cannot be a logo, or "": an absolute https
// URL, or an SVG image inline (data:image/svg+xml, the only data type
// allowed; an <img> never runs an SVG's scripts).
func logoURIProblem(raw string) string {
	if strings.HasPrefix(strings.ToLower(raw), "data:") {
		if len(raw) > maxLogoLen {
			return fmt.Sprintf("is larger than %d bytes", maxLogoLen)
		}
		meta, _, ok := strings.Cut(raw[len("data:"):], ",")
		mediaType, _, _ := strings.Cut(meta, ";")
		if !ok || !strings.EqualFold(mediaType, "image/svg+xml") {
			return "must be an https URL or a data:image/svg+xml URI"
		}
		return ""
	}
	if len(raw) > maxURILen {
		return fmt.Sprintf("is longer than %d characters", maxURILen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "must not contain spaces or control characters"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		return "must be an https URL or a data:image/svg+xml URI"
	}
	if u.User != nil {
		return "must not contain user info"
	}
	return ""
}

// pageURIProblem says why raw cannot be a page people are sent to
// (client_uri, policy_uri, tos_uri), or "": an absolute https URL without
// user info, which the consent page links to.
func pageURIProblem(raw string) string {
	if len(raw) > maxURILen {
		return fmt.Sprintf("is longer than %d characters", maxURILen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "must not contain spaces or control characters"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		return "must be an absolute https URL"
	}
	if u.User != nil {
		return "must not contain user info"
	}
	return ""
}

// contactProblem says why c is not a contact email address, or "": a bare
// address (no display name), as RFC 7591 §2's contacts are.
func contactProblem(c string) string {
	if len(c) > maxContactLen {
		return fmt.Sprintf("is longer than %d characters", maxContactLen)
	}
	a, err := mail.ParseAddress(c)
	if err != nil || a.Address != c || a.Name != "" {
		return "must be an email address such as dev@example.com"
	}
	return ""
}

func isLoopback(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

// logoutURIProblem says why raw cannot be a logout URI (back- or
// front-channel), or "": absolute, https (http only on a loopback host, for
// development), no fragment (OIDC Back-Channel Logout 1.0 §2.2, Front-
// Channel Logout 1.0 §2), no user info. Where it may point is checked
// again at delivery: the outbound client refuses internal addresses.
// PushURIProblem checks a URL Sesame posts to (a back-channel logout URI,
// a webhook endpoint): absolute https (http only on loopback), no spaces,
// fragment or user info. It returns "" or what is wrong.
func PushURIProblem(raw string) string { return logoutURIProblem(raw) }

func logoutURIProblem(raw string) string {
	if len(raw) > maxURILen {
		return fmt.Sprintf("is longer than %d characters", maxURILen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "must not contain spaces or control characters"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "must be an absolute https URL"
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "must use https (http is allowed only for localhost, 127.0.0.1 or [::1])"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not contain a fragment"
	}
	if u.User != nil {
		return "must not contain user info"
	}
	return ""
}

// SectorIdentifier is the sector identifier of a pairwise client (OIDC
// Core §8.1): the host of sectorURI when set, else the one host all
// redirectURIs share (lower-cased); "" when they have none or several.
func SectorIdentifier(sectorURI string, redirectURIs []string) string {
	if sectorURI != "" {
		u, err := url.Parse(sectorURI)
		if err != nil {
			return ""
		}
		return strings.ToLower(u.Hostname())
	}
	host := ""
	for _, r := range redirectURIs {
		u, err := url.Parse(r)
		if err != nil || u.Hostname() == "" {
			return ""
		}
		h := strings.ToLower(u.Hostname())
		if host != "" && h != host {
			return ""
		}
		host = h
	}
	return host
}

// sameOriginAsOne reports whether raw has the scheme, host and port of one
// of uris (compared as parsed, scheme and host case-insensitively).
func sameOriginAsOne(raw string, uris []string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, r := range uris {
		v, err := url.Parse(r)
		if err == nil && strings.EqualFold(u.Scheme, v.Scheme) && strings.EqualFold(u.Host, v.Host) {
			return true
		}
	}
	return false
}

func jwksURIProblem(raw string) string {
	if len(raw) > maxURILen {
		return fmt.Sprintf("is longer than %d characters", maxURILen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		return "must be an absolute https URL"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not contain a fragment"
	}
	if u.User != nil {
		return "must not contain user info"
	}
	return ""
}

// privateMembers are JWK members that carry secret material (RFC 7518 §6):
// a registration that contains them has leaked the client's private key.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// jwksProblem says why raw is not a usable JWK Set of public keys, or "".
func jwksProblem(raw string) string {
	if len(raw) > maxJWKSLen {
		return fmt.Sprintf("is larger than %d bytes", maxJWKSLen)
	}
	var set struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return `must be a JSON Web Key Set ({"keys": [...]})`
	}
	if len(set.Keys) == 0 {
		return "must contain at least one key"
	}
	for i, k := range set.Keys {
		for _, m := range privateMembers {
			if _, ok := k[m]; ok {
				if m == "k" {
					return fmt.Sprintf("key %d is a symmetric key; register public keys only", i)
				}
				return fmt.Sprintf("key %d contains private key material (%q); register public keys only", i, m)
			}
		}
	}
	for i, k := range set.Keys {
		if msg := publicJWKProblem(k); msg != "" {
			return fmt.Sprintf("key %d %s", i, msg)
		}
	}
	return ""
}

// publicJWKProblem checks the members a public signing key needs (RFC 7518
// §6.2, §6.3; RFC 8037 §2). Full parsing happens where the keys are used;
// this catches typos at registration time.
func publicJWKProblem(k map[string]json.RawMessage) string {
	str := func(name string) string {
		var v string
		if raw, ok := k[name]; ok {
			_ = json.Unmarshal(raw, &v)
		}
		return v
	}
	need := func(names ...string) string {
		for _, n := range names {
			if str(n) == "" {
				return fmt.Sprintf("lacks %q", n)
			}
		}
		return ""
	}
	if use, ok := k["use"]; ok && str("use") != "sig" {
		return fmt.Sprintf("has use %s; client assertion keys must be for signing (\"sig\")", use)
	}
	switch kty := str("kty"); kty {
	case "RSA":
		return need("n", "e")
	case "EC":
		return need("crv", "x", "y")
	case "OKP":
		return need("crv", "x")
	case "":
		return `lacks "kty"`
	default:
		return fmt.Sprintf("has unsupported kty %q (RSA, EC or OKP)", kty)
	}
}

// normalAAGUIDs trims, lower-cases and de-duplicates an AAGUID list (as
// the passkey service compares them), keeping its order.
func normalAAGUIDs(l []string) []string {
	out := make([]string, 0, len(l))
	for _, a := range l {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
