package models

import "time"

// Login methods a client's policy may allow.
const (
	MethodPasskey     = "passkey"
	MethodPasslink    = "passlink"
	MethodPasswordKey = "password_security_key"
	// MethodRecoveryCode is a sign-in with a single-use recovery code
	// (authn/recovery): switched by the global policy, not per client.
	MethodRecoveryCode = "recovery_code"
)

// Client is a registered OAuth 2.0 / OIDC client (relying party).
type Client struct {
	ID   string `gorm:"primaryKey"`
	Name string
	// SecretHash is an argon2id hash of the client secret; empty for public
	// clients and for private_key_jwt clients.
	SecretHash              string
	Public                  bool
	RedirectURIs            StringList
	PostLogoutRedirectURIs  StringList
	GrantTypes              StringList
	ResponseTypes           StringList
	Scopes                  StringList
	TokenEndpointAuthMethod string
	IDTokenSignedAlg        string `gorm:"column:id_token_signed_alg"`
	// JWKS (JSON) or JWKSURI hold the client's public keys for private_key_jwt.
	JWKS                string `gorm:"column:jwks"`
	JWKSURI             string `gorm:"column:jwks_uri"`
	SkipConsent         bool
	AllowedLoginMethods StringList
	// Disabled clients are refused everywhere (authorize, token, existing
	// grants) until enabled again.
	Disabled bool
	// LogoURI is shown on the hosted pages: https or data:image/svg+xml.
	LogoURI string
	// PrimaryColor and AccentColor replace the global branding's colours
	// on the pages this client asks for (#rrggbb; '' for the global ones).
	PrimaryColor string `gorm:"column:primary_color"`
	AccentColor  string `gorm:"column:accent_color"`
	// Token lifetimes in seconds; 0 means the global setting.
	AccessTokenTTL  int `gorm:"column:access_token_ttl"`
	RefreshTokenTTL int `gorm:"column:refresh_token_ttl"`
	IDTokenTTL      int `gorm:"column:id_token_ttl"`
	// MinACR is an acr every authorization request of this client asks for
	// at least, as if its acr_values contained it; "" for none.
	MinACR string `gorm:"column:min_acr"`
	// UserVerification is the passkey user verification this client asks
	// for ("required", "preferred", "discouraged"); "" for the global policy.
	UserVerification string
	// SyncedPasskeys is what happens to passkeys that may sync between
	// devices at this client's sign-ins and sign-ups: "allow", "block",
	// "grace" (accepted, warned and recorded); "" follows the global
	// policy (migration 00021).
	SyncedPasskeys string
	// AAGUIDAllow, when not empty, are the only authenticator models
	// whose attested passkeys sign in to this client (a minimum on top of
	// the global list); AAGUIDAllowMode is "enforce" ("" too) or "grace"
	// (accepted, warned and recorded) (migration 00033).
	AAGUIDAllow     StringList `gorm:"column:aaguid_allow"`
	AAGUIDAllowMode string     `gorm:"column:aaguid_allow_mode"`
	// AllowedGroups are the names of the groups whose members may sign in
	// to this client; empty lets every user in (migration 00013).
	AllowedGroups StringList
	// AllowedWebOrigins are the browser origins (scheme://host[:port]) whose
	// pages may read the protocol endpoints' answers (CORS); empty means the
	// origins of the redirect URIs for a public client and none otherwise.
	AllowedWebOrigins StringList
	// RequireVerifiedEmail: everyone who signs in to this client must have
	// proven their address first, whatever the global policy
	// (require_verified_email) says (migration 00014).
	RequireVerifiedEmail bool
	// BackchannelLogoutURI receives a logout token when a session this
	// client signed in to ends (OIDC Back-Channel Logout 1.0); "" for none.
	// BackchannelLogoutSessionRequired: the client needs sid in it
	// (migration 00016; Sesame always sends sid).
	BackchannelLogoutURI             string `gorm:"column:backchannel_logout_uri"`
	BackchannelLogoutSessionRequired bool
	// FrontchannelLogoutURI is loaded in a hidden iframe of the logout page
	// when a session this client signed in to signs out in the browser
	// (OIDC Front-Channel Logout 1.0); "" for none. With
	// FrontchannelLogoutSessionRequired it gets iss and sid as query
	// parameters (migration 00018).
	FrontchannelLogoutURI             string `gorm:"column:frontchannel_logout_uri"`
	FrontchannelLogoutSessionRequired bool
	// RequirePushedAuthorizationRequests: this client's authorization
	// requests must come through the PAR endpoint (RFC 9126 §6,
	// migration 00023).
	RequirePushedAuthorizationRequests bool `gorm:"column:require_pushed_authorization_requests"`
	// SubjectType is "public" (sub is the user's id) or "pairwise" (sub
	// is derived from the user's id and the sector identifier: the host of
	// SectorIdentifierURI when set, else of the redirect URIs; migration
	// 00020; oidc/pairwise.go).
	SubjectType         string
	SectorIdentifierURI string `gorm:"column:sector_identifier_uri"`
	// AccessTokenFormat is TokenFormatJWT for RFC 9068 JWT access tokens;
	// "" or TokenFormatOpaque for opaque ones (a resource asked for with
	// the resource parameter may still ask for JWTs; migration 00015).
	AccessTokenFormat string
	// DPoPBoundAccessTokens: the client must bind every token to a DPoP
	// key (RFC 9449 §5.2, dpop_bound_access_tokens).
	DPoPBoundAccessTokens bool `gorm:"column:dpop_bound_access_tokens"`
	// TokenExchangeResources are the resource audiences this client may
	// exchange a token for (RFC 8693, oidc/exchange.go); its subject tokens
	// must name the client's id or one of TokenExchangeSubjectAudiences
	// (the APIs it serves) in their audience (migration 00029).
	TokenExchangeResources        StringList
	TokenExchangeSubjectAudiences StringList
	// ClientURI, PolicyURI and TOSURI are the app's home page, privacy
	// policy and terms (RFC 7591 §2), linked from the consent page;
	// Contacts are people responsible for it (migration 00031).
	ClientURI string `gorm:"column:client_uri"`
	PolicyURI string `gorm:"column:policy_uri"`
	TOSURI    string `gorm:"column:tos_uri"`
	Contacts  StringList
	// Dynamic: registered through the registration endpoint (RFC 7591)
	// rather than by an admin. InitialAccessTokenID names the initial
	// access token that allowed it ("" in open mode); RegisteredIP is the
	// address the registration came from.
	Dynamic              bool
	InitialAccessTokenID string `gorm:"column:initial_access_token_id"`
	RegisteredIP         string `gorm:"column:registered_ip"`
	// RegistrationTokenHash is the HMAC-SHA-256 of the registration access
	// token (RFC 7592) that reads, updates and deletes a dynamically
	// registered client; "" for none.
	RegistrationTokenHash string
	CreatedAt             time.Time
	UpdatedAt             time.Time
}
