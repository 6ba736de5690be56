package models

import "time"

// MethodUpstream is a sign-in through an upstream identity provider
// (authn/upstream): the method recorded on auth events.
const MethodUpstream = "upstream"

// Upstream provider kinds.
const (
	// UpstreamOIDC is any OpenID Connect provider (discovery, code + PKCE,
	// a validated ID token); the presets are configurations of it.
	UpstreamOIDC = "oidc"
	// UpstreamGitHub is GitHub's OAuth 2 (no OIDC): the user and emails
	// API give the subject and the verified addresses.
	UpstreamGitHub = "github"
)

// Provisioning rules of an upstream provider.
const (
	// ProvisionCreate creates an account for a new identity (when sign-up
	// is open) besides linking existing ones.
	ProvisionCreate = "create"
	// ProvisionLink only links identities to existing accounts.
	ProvisionLink = "link"
)

// UpstreamProvider is an identity provider people may sign in through.
type UpstreamProvider struct {
	// ID is a short slug ("acme"), part of the callback's state only.
	ID   string `gorm:"primaryKey"`
	Name string
	Kind string
	// Issuer is the OIDC issuer (discovery at Issuer/.well-known/...).
	Issuer   string
	ClientID string
	// ClientSecretSealed is the client secret sealed with a key derived
	// from the system secret (authn/upstream.Box).
	ClientSecretSealed string
	Scopes             StringList
	// Claims maps Sesame's names (subject, email, email_verified, name,
	// groups) to the upstream's claim names; missing ones take the
	// standard name.
	Claims StringMap `gorm:"column:claims"`
	// Icon is an https URL or a data:image/svg+xml URI shown on the button.
	Icon string
	// Provisioning is ProvisionCreate or ProvisionLink.
	Provisioning string
	// GroupMap maps an upstream group to a Sesame group name.
	GroupMap StringMap `gorm:"column:group_map"`
	// Domains are the email domains bound to this provider (home-realm
	// discovery): such an address goes straight there.
	Domains StringList
	// LocalMethods lets users of Domains still use Sesame's own methods.
	LocalMethods bool
	// PassAMR passes the upstream's amr and acr through (opt-in trust).
	PassAMR   bool `gorm:"column:pass_amr"`
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UpstreamIdentity links an upstream (provider, subject) to an account.
type UpstreamIdentity struct {
	ID         string `gorm:"primaryKey"`
	ProviderID string
	Subject    string
	UserID     string
	// Email is the verified address the upstream gave when linked (shown
	// to the person; never a lookup key).
	Email      string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Stages of an upstream flow.
const (
	// UpstreamRedirected: the browser went to the upstream.
	UpstreamRedirected = "redirected"
	// UpstreamLinkPending: the upstream answered with a new identity whose
	// verified address belongs to LinkUserID; the person must prove
	// that account before the link is made.
	UpstreamLinkPending = "link_pending"
)

// UpstreamFlow is one redirect to an upstream: the state (only its hash
// stored), nonce and PKCE verifier (sealed), bound to the browser and the
// interaction. It is used once.
type UpstreamFlow struct {
	ID             string `gorm:"primaryKey"`
	StateHash      string
	ProviderID     string
	InteractionID  string
	BrowserHash    string
	Nonce          string
	VerifierSealed string
	Subject        string
	Email          string
	Name           string
	LinkUserID     string
	Stage          string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	UsedAt         *time.Time
}

// Auth events of upstream identities (the sign-in itself is EventLogin
// with MethodUpstream; the reason is the provider id).
const (
	EventUpstreamLinked   = "upstream_linked"
	EventUpstreamUnlinked = "upstream_unlinked"
)
