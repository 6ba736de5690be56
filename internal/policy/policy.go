package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/models"
)

// Global is the name of the global defaults document in the store.
const Global = "global"

// Duration is a time.Duration written as Go duration text ("10m0s").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a duration such as "15m" or "720h"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`must be a duration such as "15m" or "720h" (got %q)`, s)
	}
	*d = Duration(v)
	return nil
}

// Policy is the global defaults an admin sets in the console. Which reader
// asks for which field is listed in the package documentation; every field
// is read live (cached, CacheTTL).
type Policy struct {
	SignupOpen bool `json:"signup_open"`
	// RequireVerifiedEmail: passkey sign-ups (and unproven accounts at
	// sign-in) prove their address before they are signed in.
	RequireVerifiedEmail bool     `json:"require_verified_email"`
	DefaultLoginMethods  []string `json:"default_login_methods"`
	UserVerification     string   `json:"user_verification"`
	Attestation          string   `json:"attestation"`
	AAGUIDAllow          []string `json:"aaguid_allow"`
	AAGUIDDeny           []string `json:"aaguid_deny"`
	// AAGUIDAllowMode is what the allow list does to a passkey of another
	// model (or without an attestation): ModelEnforce (or "") refuses it
	// at enrolment and sign-in, ModelGrace accepts it and warns and
	// records each use (auth event reason GraceModel).
	AAGUIDAllowMode   string   `json:"aaguid_allow_mode"`
	PasslinkTTL       Duration `json:"passlink_ttl"`
	PasslinkRateEmail int      `json:"passlink_rate_email"`
	PasslinkRateIP    int      `json:"passlink_rate_ip"`
	LoginSessionTTL   Duration `json:"login_session_ttl"`
	AccessTokenTTL    Duration `json:"access_token_ttl"`
	RefreshTokenTTL   Duration `json:"refresh_token_ttl"`
	IDTokenTTL        Duration `json:"id_token_ttl"`
	MDSFile           string   `json:"mds_file"`
	// SyncedPasskeys is what happens to passkeys that may sync between
	// devices (backup eligible) of apps that do not set their own:
	// SyncedAllow (or ""), SyncedBlock (refused at sign-up and sign-in)
	// or SyncedGrace (accepted, each use warned and recorded).
	SyncedPasskeys string `json:"synced_passkeys"`
	// SuspendCompromisedPasskeys: a credential whose authenticator model
	// the FIDO metadata reports compromised or revoked is suspended (it
	// signs nobody in again; the user enrols another). Off, such a
	// credential still signs in, at the basic assurance level only, and
	// the console shows it.
	SuspendCompromisedPasskeys bool `json:"suspend_compromised_passkeys"`
	// Version is the stored document's version (models.Policy.Version):
	// it changes with every save, so readers may keep what they derive
	// from a policy (parsed lists) until it changes. 0: the
	// configuration's defaults, before an admin saved a policy. Not part
	// of the document.
	Version int `json:"-"`
	// Registration is dynamic client registration (RFC 7591): "off",
	// "protected" (initial access tokens) or "open"; the limits below
	// bound what a registration may ask for (Registration).
	Registration                string   `json:"registration"`
	RegistrationGrantTypes      []string `json:"registration_grant_types"`
	RegistrationRedirectSchemes []string `json:"registration_redirect_schemes"`
	RegistrationMaxRedirectURIs int      `json:"registration_max_redirect_uris"`
	RegistrationRateIP          int      `json:"registration_rate_ip"`
	// RecoveryCodes is the recovery-code method (authn/recovery):
	// RecoveryOff (or ""), RecoveryOffer (people may create codes on
	// their account page and sign in with one) or RecoveryRequire (also:
	// after a passkey sign-in, an account without a second passkey and
	// without codes is asked to create them).
	RecoveryCodes string `json:"recovery_codes"`
	// TokenExchange serves the token exchange grant (RFC 8693) to the
	// clients registered for it; off, the token endpoint answers
	// unsupported_grant_type and discovery does not list the grant. A
	// document saved before the switch existed keeps the configuration's
	// value (token_exchange).
	TokenExchange bool `json:"token_exchange"`
	// BackchannelLogout, FrontchannelLogout and PairwiseSubjects switch
	// the logout channels and pairwise subjects (OIDC Back-Channel and
	// Front-Channel Logout 1.0, OIDC Core §8.1): discovery advertises each
	// exactly while it is on. Off, no logout token is sent (notices of
	// sessions ending meanwhile are dropped, not held), the logout page
	// loads no app's page, and no client can be made pairwise (those
	// already pairwise keep their subjects). A document saved before the
	// switches existed keeps the configuration's values.
	BackchannelLogout  bool `json:"backchannel_logout"`
	FrontchannelLogout bool `json:"frontchannel_logout"`
	PairwiseSubjects   bool `json:"pairwise_subjects"`
	// DeviceGrant, DPoP, PushedAuthorizationRequests and
	// RequirePushedAuthorizationRequests switch the device authorization
	// grant (RFC 8628), DPoP (RFC 9449), the PAR endpoint and PAR for
	// every client (RFC 9126, which needs the endpoint on): discovery
	// follows each. Off, the device endpoints and pages are 404 and the
	// token endpoint answers unsupported_grant_type for the grant; DPoP
	// proofs are ignored (bearer tokens) and clients that require DPoP get
	// no token. A document saved before the switches existed keeps the
	// configuration's values.
	DeviceGrant                        bool `json:"device_grant"`
	DPoP                               bool `json:"dpop"`
	PushedAuthorizationRequests        bool `json:"pushed_authorization_requests"`
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests"`
}

// The recovery-code policies (Policy.RecoveryCodes).
const (
	RecoveryOff     = "off"
	RecoveryOffer   = "offer"
	RecoveryRequire = "require"
)

// RecoveryPolicies are the values of Policy.RecoveryCodes.
var RecoveryPolicies = []string{RecoveryOff, RecoveryOffer, RecoveryRequire}

// The synced-passkey policies (Policy.SyncedPasskeys, and a client's).
const (
	SyncedAllow = "allow"
	SyncedBlock = "block"
	SyncedGrace = "grace"
)

// The modes of an AAGUID allow list (Policy.AAGUIDAllowMode, and a
// client's).
const (
	ModelEnforce = "enforce"
	ModelGrace   = "grace"
)

// ModelModes are the values of an allow list's mode besides "".
var ModelModes = []string{ModelEnforce, ModelGrace}

// SyncedPolicies are the values of a synced-passkey policy besides "".
var SyncedPolicies = []string{SyncedAllow, SyncedBlock, SyncedGrace}

// LoginMethods are the sign-in methods a policy may name as defaults.
var LoginMethods = []string{models.MethodPasskey, models.MethodPasslink, models.MethodPasswordKey}

// FromConfig is the policy a configuration implies (the defaults before an
// admin saved any).
func FromConfig(c config.Config) Policy {
	return Policy{
		SignupOpen: c.SignupOpen, RequireVerifiedEmail: c.RequireVerifiedEmail, DefaultLoginMethods: slices.Clone(LoginMethods),
		UserVerification: c.UserVerification, Attestation: c.Attestation,
		AAGUIDAllow: nonNil(slices.Clone(c.AAGUIDAllow)), AAGUIDDeny: nonNil(slices.Clone(c.AAGUIDDeny)),
		PasslinkTTL: Duration(c.PasslinkTTL), PasslinkRateEmail: c.PasslinkRateEmail, PasslinkRateIP: c.PasslinkRateIP,
		LoginSessionTTL: Duration(c.LoginSessionTTL), AccessTokenTTL: Duration(c.AccessTokenTTL),
		RefreshTokenTTL: Duration(c.RefreshTokenTTL), IDTokenTTL: Duration(c.IDTokenTTL),
		MDSFile:      c.MDSFile,
		Registration: c.Registration, RegistrationGrantTypes: nonNil(slices.Clone(c.RegistrationGrantTypes)),
		RegistrationRedirectSchemes: nonNil(slices.Clone(c.RegistrationRedirectSchemes)),
		RegistrationMaxRedirectURIs: c.RegistrationMaxRedirectURIs, RegistrationRateIP: c.RegistrationRateIP,
		RecoveryCodes: RecoveryOff, TokenExchange: c.TokenExchange,
		BackchannelLogout: c.BackchannelLogout, FrontchannelLogout: c.FrontchannelLogout, PairwiseSubjects: c.PairwiseSubjects,
		DeviceGrant: c.DeviceGrant, DPoP: c.DPoP, PushedAuthorizationRequests: c.PushedAuthorizationRequests,
		RequirePushedAuthorizationRequests: c.RequirePushedAuthorizationRequests,
	}
}

// Over returns base with p's settings in place of its own: the
// configuration p implies, for checking p with the configuration's rules.
// base itself is not changed.
func (p Policy) Over(base config.Config) config.Config {
	c := base
	c.SignupOpen = p.SignupOpen
	c.RequireVerifiedEmail = p.RequireVerifiedEmail
	c.UserVerification = p.UserVerification
	c.Attestation = p.Attestation
	c.AAGUIDAllow = slices.Clone(p.AAGUIDAllow)
	c.AAGUIDDeny = slices.Clone(p.AAGUIDDeny)
	c.PasslinkTTL = time.Duration(p.PasslinkTTL)
	c.PasslinkRateEmail = p.PasslinkRateEmail
	c.PasslinkRateIP = p.PasslinkRateIP
	c.LoginSessionTTL = time.Duration(p.LoginSessionTTL)
	c.AccessTokenTTL = time.Duration(p.AccessTokenTTL)
	c.RefreshTokenTTL = time.Duration(p.RefreshTokenTTL)
	c.IDTokenTTL = time.Duration(p.IDTokenTTL)
	c.Registration = p.Registration
	c.RegistrationGrantTypes = slices.Clone(p.RegistrationGrantTypes)
	c.RegistrationRedirectSchemes = slices.Clone(p.RegistrationRedirectSchemes)
	c.RegistrationMaxRedirectURIs = p.RegistrationMaxRedirectURIs
	c.RegistrationRateIP = p.RegistrationRateIP
	c.TokenExchange = p.TokenExchange
	c.BackchannelLogout = p.BackchannelLogout
	c.FrontchannelLogout = p.FrontchannelLogout
	c.PairwiseSubjects = p.PairwiseSubjects
	c.DeviceGrant = p.DeviceGrant
	c.DPoP = p.DPoP
	c.PushedAuthorizationRequests = p.PushedAuthorizationRequests
	c.RequirePushedAuthorizationRequests = p.RequirePushedAuthorizationRequests
	// MDSFile is left out: the configuration's file is checked when the
	// passkey service starts, the policy's when it is saved.
	return c
}

// Normalize makes absent AAGUID lists empty, so they encode as [] rather
// than null, and fills absent registration settings with the defaults.
func (p Policy) Normalize() Policy {
	p.AAGUIDAllow, p.AAGUIDDeny = nonNil(p.AAGUIDAllow), nonNil(p.AAGUIDDeny)
	// A document saved before registration existed (or an API client that
	// does not know it) leaves registration off, with the default limits.
	def := config.Default()
	if p.Registration == "" {
		p.Registration = config.RegistrationOff
	}
	if p.RecoveryCodes == "" {
		p.RecoveryCodes = RecoveryOff
	}
	if len(p.RegistrationGrantTypes) == 0 {
		p.RegistrationGrantTypes = slices.Clone(def.RegistrationGrantTypes)
	}
	if len(p.RegistrationRedirectSchemes) == 0 {
		p.RegistrationRedirectSchemes = slices.Clone(def.RegistrationRedirectSchemes)
	}
	if p.RegistrationMaxRedirectURIs == 0 {
		p.RegistrationMaxRedirectURIs = def.RegistrationMaxRedirectURIs
	}
	if p.RegistrationRateIP == 0 {
		p.RegistrationRateIP = def.RegistrationRateIP
	}
	return p
}

// Lifespans are the global token lifetimes; a zero field means "the
// configuration's".
type Lifespans struct {
	AccessToken  time.Duration
	RefreshToken time.Duration
	IDToken      time.Duration
}

// Passkey is the passkey part of the policy. The passkey service checks
// the values as it checks its configuration and ignores (logs) a part it
// would refuse.
type Passkey struct {
	UserVerification string
	Attestation      string
	AAGUIDAllow      []string
	AAGUIDDeny       []string
	// AAGUIDAllowMode is Policy.AAGUIDAllowMode.
	AAGUIDAllowMode string
	// MDSFile is the FIDO MDS3 BLOB to check attestations against; ""
	// means none. The passkey service loads a file it has not loaded yet;
	// one that fails to load leaves the previous metadata in force.
	MDSFile string
	// SyncedPasskeys is Policy.SyncedPasskeys.
	SyncedPasskeys string
	// SuspendCompromised is Policy.SuspendCompromisedPasskeys.
	SuspendCompromised bool
	// Version is Policy.Version: a reader may cache what it derives from
	// these fields (the parsed AAGUID lists) until it changes.
	Version int
}

// Registration is the dynamic client registration part of the policy
// (oidc/clients.Registrar).
type Registration struct {
	// Mode is config.RegistrationOff, RegistrationProtected or
	// RegistrationOpen.
	Mode            string
	GrantTypes      []string
	RedirectSchemes []string
	MaxRedirectURIs int
	RateIP          int
}

// Passlink is the passlink part of the policy.
type Passlink struct {
	// TTL, RateEmail and RateIP replace the configuration's when positive.
	TTL       time.Duration
	RateEmail int
	RateIP    int
	// SignupOpen replaces the configuration's.
	SignupOpen bool
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
