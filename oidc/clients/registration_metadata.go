package clients

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Metadata is a client's registration as RFC 7591 §2 (and OpenID Connect
// Dynamic Client Registration 1.0 §2, Back- and Front-Channel Logout,
// RFC 9126, RFC 9449) spell it: the body of a registration or update
// request, and the registered values in the answers. Unknown members are
// ignored (RFC 7591 §2); software_id and software_version are accepted
// and not kept.
type Metadata struct {
	RedirectURIs                       []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod            string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes                         []string        `json:"grant_types,omitempty"`
	ResponseTypes                      []string        `json:"response_types,omitempty"`
	ClientName                         string          `json:"client_name,omitempty"`
	ClientURI                          string          `json:"client_uri,omitempty"`
	LogoURI                            string          `json:"logo_uri,omitempty"`
	Scope                              string          `json:"scope,omitempty"`
	Contacts                           []string        `json:"contacts,omitempty"`
	TOSURI                             string          `json:"tos_uri,omitempty"`
	PolicyURI                          string          `json:"policy_uri,omitempty"`
	JWKSURI                            string          `json:"jwks_uri,omitempty"`
	JWKS                               json.RawMessage `json:"jwks,omitempty"`
	SoftwareID                         string          `json:"software_id,omitempty"`
	SoftwareVersion                    string          `json:"software_version,omitempty"`
	SoftwareStatement                  string          `json:"software_statement,omitempty"`
	SubjectType                        string          `json:"subject_type,omitempty"`
	SectorIdentifierURI                string          `json:"sector_identifier_uri,omitempty"`
	IDTokenSignedResponseAlg           string          `json:"id_token_signed_response_alg,omitempty"`
	PostLogoutRedirectURIs             []string        `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI               string          `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired   bool            `json:"backchannel_logout_session_required,omitempty"`
	FrontchannelLogoutURI              string          `json:"frontchannel_logout_uri,omitempty"`
	FrontchannelLogoutSessionRequired  bool            `json:"frontchannel_logout_session_required,omitempty"`
	RequirePushedAuthorizationRequests bool            `json:"require_pushed_authorization_requests,omitempty"`
	DPoPBoundAccessTokens              bool            `json:"dpop_bound_access_tokens,omitempty"`
	// ClientID and ClientSecret are only read from an update request
	// (RFC 7592 §2.2), which must name the client's id and may repeat
	// its secret.
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
}

// ClientInformation is the answer to a registration, read or update
// (RFC 7591 §3.2.1, RFC 7592 §3): the registered metadata, defaults
// included, and the credentials. The client secret and the registration
// access token appear only when they were just issued: Sesame keeps
// hashes of them, never the values.
type ClientInformation struct {
	Metadata
	ClientID              string `json:"client_id"`
	ClientSecret          string `json:"client_secret,omitempty"`
	ClientIDIssuedAt      int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationToken     string `json:"registration_access_token,omitempty"`
	RegistrationClientURI string `json:"registration_client_uri"`
}

// toSpec maps the metadata onto a Spec (RFC 7591's defaults applied:
// authorization_code alone when grant_types is absent, §2), with
// Sesame's own settings left for the caller.
func (m Metadata) toSpec() (Spec, error) {
	s := Spec{
		Name: m.ClientName, RedirectURIs: m.RedirectURIs, PostLogoutRedirectURIs: m.PostLogoutRedirectURIs,
		GrantTypes: m.GrantTypes, ResponseTypes: m.ResponseTypes, Scopes: strings.Fields(m.Scope),
		TokenEndpointAuthMethod: m.TokenEndpointAuthMethod, IDTokenSignedAlg: m.IDTokenSignedResponseAlg,
		JWKSURI: m.JWKSURI, LogoURI: m.LogoURI, ClientURI: m.ClientURI, PolicyURI: m.PolicyURI, TOSURI: m.TOSURI,
		Contacts: m.Contacts, SubjectType: m.SubjectType, SectorIdentifierURI: m.SectorIdentifierURI,
		BackchannelLogoutURI: m.BackchannelLogoutURI, BackchannelLogoutSessionRequired: m.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI: m.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: m.FrontchannelLogoutSessionRequired,
		RequirePushedAuthorizationRequests: m.RequirePushedAuthorizationRequests, DPoPBoundAccessTokens: m.DPoPBoundAccessTokens,
	}
	if len(m.JWKS) > 0 && string(m.JWKS) != "null" {
		var set map[string]json.RawMessage
		if err := json.Unmarshal(m.JWKS, &set); err != nil {
			return Spec{}, invalid("jwks", `must be a JSON Web Key Set object ({"keys": [...]})`)
		}
		s.JWKS = string(m.JWKS)
	}
	if len(s.GrantTypes) == 0 {
		s.GrantTypes = []string{GrantAuthorizationCode}
	}
	// RFC 7591 §2: the default method is client_secret_basic; Spec's
	// public flag follows from "none".
	s.Public = s.TokenEndpointAuthMethod == AuthNone
	return s, nil
}

// metadataOf is the registered metadata of spec, as the answers show it.
func metadataOf(s Spec) Metadata {
	m := Metadata{
		RedirectURIs: s.RedirectURIs, TokenEndpointAuthMethod: s.TokenEndpointAuthMethod, GrantTypes: s.GrantTypes,
		ResponseTypes: s.ResponseTypes, ClientName: s.Name, ClientURI: s.ClientURI, LogoURI: s.LogoURI,
		Scope: strings.Join(s.Scopes, " "), Contacts: s.Contacts, TOSURI: s.TOSURI, PolicyURI: s.PolicyURI,
		JWKSURI: s.JWKSURI, SubjectType: s.SubjectType, SectorIdentifierURI: s.SectorIdentifierURI,
		IDTokenSignedResponseAlg: s.IDTokenSignedAlg, PostLogoutRedirectURIs: s.PostLogoutRedirectURIs,
		BackchannelLogoutURI: s.BackchannelLogoutURI, BackchannelLogoutSessionRequired: s.BackchannelLogoutSessionRequired,
		FrontchannelLogoutURI: s.FrontchannelLogoutURI, FrontchannelLogoutSessionRequired: s.FrontchannelLogoutSessionRequired,
		RequirePushedAuthorizationRequests: s.RequirePushedAuthorizationRequests, DPoPBoundAccessTokens: s.DPoPBoundAccessTokens,
	}
	if s.JWKS != "" {
		m.JWKS = json.RawMessage(s.JWKS)
	}
	return m
}

// The error codes of RFC 7591 §3.2.2 (and RFC 6750 §3.1 for the tokens).
const (
	ErrCodeInvalidRedirectURI       = "invalid_redirect_uri"
	ErrCodeInvalidClientMetadata    = "invalid_client_metadata"
	ErrCodeInvalidSoftwareStatement = "invalid_software_statement"
	ErrCodeInvalidToken             = "invalid_token"
)

// RegistrationError is a refusal of the registration endpoint: Status is
// the HTTP status, Code the error code, Description a sentence for the
// developer.
type RegistrationError struct {
	Status      int
	Code        string
	Description string
}

func (e *RegistrationError) Error() string { return e.Code + ": " + e.Description }

// ErrRegistrationOff: dynamic registration is off; the endpoint does not
// exist (404).
var ErrRegistrationOff = errors.New("dynamic client registration is off")

func badMetadata(format string, args ...any) *RegistrationError {
	return &RegistrationError{Status: http.StatusBadRequest, Code: ErrCodeInvalidClientMetadata, Description: fmt.Sprintf(format, args...)}
}

// badToken is the answer to a missing, wrong, spent or revoked token: one
// answer for all, so the endpoint tells nobody which tokens exist.
func badToken(what string) *RegistrationError {
	return &RegistrationError{Status: http.StatusUnauthorized, Code: ErrCodeInvalidToken, Description: "The " + what + " is missing, invalid, expired or used up."}
}

// registrationError turns validation problems into one RFC 7591 error:
// invalid_redirect_uri when a redirect URI is wrong, else
// invalid_client_metadata; the description lists every problem, with
// the registration's field names (scope, not scopes). Other errors pass.
func registrationError(err error) error {
	var problems []*ValidationError
	collectValidation(err, &problems)
	if len(problems) == 0 {
		return err
	}
	code := ErrCodeInvalidClientMetadata
	msgs := make([]string, 0, len(problems))
	for _, p := range problems {
		field := p.Field
		switch field {
		case "redirect_uris":
			code = ErrCodeInvalidRedirectURI
		case "scopes":
			field = "scope"
		}
		msgs = append(msgs, field+": "+p.Message)
	}
	return &RegistrationError{Status: http.StatusBadRequest, Code: code, Description: strings.Join(msgs, "; ")}
}

func collectValidation(err error, out *[]*ValidationError) {
	var v *ValidationError
	if errors.As(err, &v) && !isJoined(err) {
		*out = append(*out, v)
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collectValidation(e, out)
		}
	}
}

func isJoined(err error) bool { _, ok := err.(interface{ Unwrap() []error }); return ok }

// sesameScope reports whether scope is one of Sesame's own scopes, which
// only an admin may give a client.
func sesameScope(scope string) bool {
	return slices.Contains([]string{ScopeAdmin, ScopeIntrospect}, scope) || strings.HasPrefix(scope, "sesame:")
}
