package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sesame-idp/sesame/authn"
	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc"
)

// GlobalPolicy is the name of the global defaults document.
const GlobalPolicy = "global"

// PolicyCacheTTL bounds how stale a replica's view of the policies is.
const PolicyCacheTTL = 10 * time.Second

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

// Policy is the global defaults an admin sets in the console.
//
// Which component reads what, and when (RestartRequired lists the
// fields that wait for a restart):
//   - default_login_methods: read live (cached) by Clients.Create for a
//     client registered without allowed_login_methods;
//   - signup_open, user_verification, attestation, aaguid_allow,
//     aaguid_deny, mds_file, passlink_ttl, passlink_rate_email,
//     passlink_rate_ip: read live (cached, PolicyCacheTTL) by the hosted
//     pages, the passkey service and the passlink service on each
//     request, through the PolicySource methods below; the passkey
//     service loads an MDS file when the path changes (a file that fails
//     to load keeps the previous metadata, logged);
//   - login_session_ttl: read live by the session manager for each new
//     login session (sessions already started keep their expiry);
//   - access_token_ttl, refresh_token_ttl, id_token_ttl: read live by the
//     OIDC provider for each token it issues, unless the client set its
//     own lifetime. The authorization code lifetime is configuration only.
//
// server.New also applies the stored policy over the configuration at
// start-up (ApplyStoredPolicy), so start-time consumers (the signing key
// retention, sized by the ID token lifetime) see it.
type Policy struct {
	SignupOpen          bool     `json:"signup_open"`
	DefaultLoginMethods []string `json:"default_login_methods"`
	UserVerification    string   `json:"user_verification"`
	Attestation         string   `json:"attestation"`
	AAGUIDAllow         []string `json:"aaguid_allow"`
	AAGUIDDeny          []string `json:"aaguid_deny"`
	PasslinkTTL         Duration `json:"passlink_ttl"`
	PasslinkRateEmail   int      `json:"passlink_rate_email"`
	PasslinkRateIP      int      `json:"passlink_rate_ip"`
	LoginSessionTTL     Duration `json:"login_session_ttl"`
	AccessTokenTTL      Duration `json:"access_token_ttl"`
	RefreshTokenTTL     Duration `json:"refresh_token_ttl"`
	IDTokenTTL          Duration `json:"id_token_ttl"`
	MDSFile             string   `json:"mds_file"`
}

// RestartRequired names the policy fields that take effect only when a
// replica restarts.
// None do: every field is read live (cached, PolicyCacheTTL).
var RestartRequired = []string{}

var loginMethods = []string{models.MethodPasskey, models.MethodPasslink, models.MethodPasswordKey}

// PolicyFromConfig is the policy a configuration implies (the defaults
// before an admin saved any).
func PolicyFromConfig(c config.Config) Policy {
	return Policy{
		SignupOpen: c.SignupOpen, DefaultLoginMethods: slices.Clone(loginMethods),
		UserVerification: c.UserVerification, Attestation: c.Attestation,
		AAGUIDAllow: nonNil(slices.Clone(c.AAGUIDAllow)), AAGUIDDeny: nonNil(slices.Clone(c.AAGUIDDeny)),
		PasslinkTTL: Duration(c.PasslinkTTL), PasslinkRateEmail: c.PasslinkRateEmail, PasslinkRateIP: c.PasslinkRateIP,
		LoginSessionTTL: Duration(c.LoginSessionTTL), AccessTokenTTL: Duration(c.AccessTokenTTL),
		RefreshTokenTTL: Duration(c.RefreshTokenTTL), IDTokenTTL: Duration(c.IDTokenTTL),
		MDSFile: c.MDSFile,
	}
}

// Apply writes p's settings over c.
func (p Policy) Apply(c *config.Config) {
	c.SignupOpen = p.SignupOpen
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
	// MDSFile is not applied: the passkey service starts with the
	// configuration's file and switches to the policy's live, so a stored
	// file that went missing cannot stop Sesame from starting.
}

// Validate checks p with the configuration's own rules (ranges, enums,
// AAGUID syntax), applied over base.
func (p Policy) Validate(base config.Config) error {
	if len(p.DefaultLoginMethods) == 0 {
		return invalid("default_login_methods", "at least one is required")
	}
	for _, m := range p.DefaultLoginMethods {
		if !slices.Contains(loginMethods, m) {
			return invalid("default_login_methods", "unsupported %q (allowed: %v)", m, loginMethods)
		}
	}
	if len(p.AAGUIDAllow) > 500 || len(p.AAGUIDDeny) > 500 {
		return invalid("aaguid_allow", "at most 500 entries per list")
	}
	if len(p.MDSFile) > 4096 {
		return invalid("mds_file", "at most 4096 characters")
	}
	if p.MDSFile != "" && p.Attestation != "direct" {
		return invalid("mds_file", `an MDS file needs attestation "direct"`)
	}
	c := base
	p.Apply(&c)
	// Only problems the policy brings count: the base configuration was
	// accepted at start-up (and may hold test-only values).
	known := map[string]bool{}
	for _, e := range configErrors(base.Validate()) {
		known[e] = true
	}
	var out *Problem
	for _, e := range configErrors(c.Validate()) {
		if known[e] {
			continue
		}
		if out == nil {
			out = invalid("policy", "%s", e)
			continue
		}
		out.Errors = append(out.Errors, FieldError{Field: "policy", Message: e})
	}
	if out != nil {
		return out
	}
	return nil
}

// configErrors splits config.Validate's joined error into messages.
func configErrors(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, configErrors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// Policies reads and writes the global policy, with a short cache so a hot
// path can ask on every request.
type Policies struct {
	st    *store.Store
	base  config.Config
	audit *Audit
	// checkMDS verifies a policy's MDS file before it is saved (the
	// passkey service's, with its root; FIDO's root by default).
	checkMDS func(path string) error

	mu      sync.Mutex
	cached  *Policy
	expires time.Time
}

// Current returns the effective policy: the stored one, or the
// configuration's.
func (s *Policies) Current(ctx context.Context) (Policy, error) {
	s.mu.Lock()
	if s.cached != nil && time.Now().Before(s.expires) {
		p := *s.cached
		s.mu.Unlock()
		return p, nil
	}
	s.mu.Unlock()
	p, err := loadPolicy(ctx, s.st, s.base)
	if err != nil {
		return Policy{}, err
	}
	s.mu.Lock()
	s.cached, s.expires = &p, time.Now().Add(PolicyCacheTTL)
	s.mu.Unlock()
	return p, nil
}

var (
	_ passkey.PolicySource    = (*Policies)(nil)
	_ passlink.PolicySource   = (*Policies)(nil)
	_ authn.PolicySource      = (*Policies)(nil)
	_ oidc.PolicySource       = (*Policies)(nil)
	_ websession.PolicySource = (*Policies)(nil)
)

// TokenLifespans is the token part of the current policy.
func (s *Policies) TokenLifespans(ctx context.Context) (oidc.Lifespans, error) {
	p, err := s.Current(ctx)
	if err != nil {
		return oidc.Lifespans{}, err
	}
	return oidc.Lifespans{AccessToken: time.Duration(p.AccessTokenTTL), RefreshToken: time.Duration(p.RefreshTokenTTL),
		IDToken: time.Duration(p.IDTokenTTL)}, nil
}

// LoginSessionTTL is the login-session lifetime of the current policy.
func (s *Policies) LoginSessionTTL(ctx context.Context) (time.Duration, error) {
	p, err := s.Current(ctx)
	if err != nil {
		return 0, err
	}
	return time.Duration(p.LoginSessionTTL), nil
}

// PasskeyPolicy is the passkey part of the current policy.
func (s *Policies) PasskeyPolicy(ctx context.Context) (passkey.Policy, error) {
	p, err := s.Current(ctx)
	if err != nil {
		return passkey.Policy{}, err
	}
	return passkey.Policy{UserVerification: p.UserVerification, Attestation: p.Attestation,
		AAGUIDAllow: slices.Clone(p.AAGUIDAllow), AAGUIDDeny: slices.Clone(p.AAGUIDDeny), MDSFile: p.MDSFile}, nil
}

// PasslinkPolicy is the passlink part of the current policy.
func (s *Policies) PasslinkPolicy(ctx context.Context) (passlink.Policy, error) {
	p, err := s.Current(ctx)
	if err != nil {
		return passlink.Policy{}, err
	}
	return passlink.Policy{TTL: time.Duration(p.PasslinkTTL), RateEmail: p.PasslinkRateEmail, RateIP: p.PasslinkRateIP,
		SignupOpen: p.SignupOpen}, nil
}

// SignupOpen reports whether the current policy lets anyone sign up.
func (s *Policies) SignupOpen(ctx context.Context) (bool, error) {
	p, err := s.Current(ctx)
	if err != nil {
		return false, err
	}
	return p.SignupOpen, nil
}

func loadPolicy(ctx context.Context, st *store.Store, base config.Config) (Policy, error) {
	p := PolicyFromConfig(base)
	row, err := st.GetPolicy(ctx, GlobalPolicy)
	if errors.Is(err, models.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return Policy{}, err
	}
	if err := json.Unmarshal([]byte(row.Value), &p); err != nil {
		return Policy{}, fmt.Errorf("decode stored policy: %w", err)
	}
	p.AAGUIDAllow, p.AAGUIDDeny = nonNil(p.AAGUIDAllow), nonNil(p.AAGUIDDeny)
	return p, nil
}

// Update validates and stores p.
func (s *Policies) Update(ctx context.Context, p Policy) (Policy, error) {
	p.AAGUIDAllow, p.AAGUIDDeny = nonNil(p.AAGUIDAllow), nonNil(p.AAGUIDDeny)
	if err := p.Validate(s.base); err != nil {
		return Policy{}, err
	}
	before, err := s.Current(ctx)
	if err != nil {
		return Policy{}, err
	}
	if p.MDSFile != "" {
		check := s.checkMDS
		if check == nil {
			check = func(path string) error { return passkey.CheckMDSFile(path, "") }
		}
		if err := check(p.MDSFile); err != nil {
			return Policy{}, invalid("mds_file", "not a usable FIDO MDS3 BLOB: %v", err)
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return Policy{}, err
	}
	act := ActorFrom(ctx)
	if err := s.st.PutPolicy(ctx, &models.Policy{Name: GlobalPolicy, Value: string(b), UpdatedBy: act.Kind + ":" + act.ID}); err != nil {
		return Policy{}, err
	}
	s.mu.Lock()
	s.cached = nil
	s.mu.Unlock()
	if err := s.audit.Record(ctx, "policy.update", "policy", GlobalPolicy, before, p); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// ApplyStoredPolicy overlays the stored global policy (if any) on cfg; the
// server calls it at start-up, before it builds the components that read
// these settings. A stored policy that no longer validates against cfg is
// reported and not applied.
func ApplyStoredPolicy(ctx context.Context, st *store.Store, cfg *config.Config) error {
	row, err := st.GetPolicy(ctx, GlobalPolicy)
	if errors.Is(err, models.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p := PolicyFromConfig(*cfg)
	if err := json.Unmarshal([]byte(row.Value), &p); err != nil {
		return fmt.Errorf("stored policy: %w", err)
	}
	if err := p.Validate(*cfg); err != nil {
		return fmt.Errorf("stored policy not applied: %w", err)
	}
	p.Apply(cfg)
	return nil
}
