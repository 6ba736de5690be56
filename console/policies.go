package console

import (
	"context"
	"fmt"
	"slices"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
)

// RestartRequired names the policy fields that take effect only when a
// replica restarts.
// None do: every field is read live (cached, policy.CacheTTL).
var RestartRequired = []string{}

// LivePolicy is the live global policy (*policy.Live): the console reads
// it for its pages and saves what an admin changed.
type LivePolicy interface {
	Current(ctx context.Context) (policy.Policy, error)
	Save(ctx context.Context, p policy.Policy, updatedBy string) error
}

// Policies lets admins read and change the global policy: Update
// validates, saves through the live policy (which every reader asks) and
// audits.
type Policies struct {
	live  LivePolicy
	base  config.Config
	audit *Audit
	// lock counts whom a stricter passkey policy locks out (lockout.go).
	lock lockoutStore
	// checkMDS verifies a policy's MDS file before it is saved (the
	// passkey service's, with its root; FIDO's root by default).
	checkMDS func(path string) error
}

// Current returns the effective policy.
func (s *Policies) Current(ctx context.Context) (policy.Policy, error) { return s.live.Current(ctx) }

// Validate checks p with the configuration's own rules (ranges, enums,
// AAGUID syntax), applied over the configuration the console runs with.
func (s *Policies) Validate(p policy.Policy) error {
	if len(p.DefaultLoginMethods) == 0 {
		return invalid("default_login_methods", "at least one is required")
	}
	for _, m := range p.DefaultLoginMethods {
		if !slices.Contains(policy.LoginMethods, m) {
			return invalid("default_login_methods", "unsupported %q (allowed: %v)", m, policy.LoginMethods)
		}
	}
	if p.SyncedPasskeys != "" && !slices.Contains(policy.SyncedPolicies, p.SyncedPasskeys) {
		return invalid("synced_passkeys", "unsupported %q (allowed: %v, or empty for allow)", p.SyncedPasskeys, policy.SyncedPolicies)
	}
	if p.RecoveryCodes != "" && !slices.Contains(policy.RecoveryPolicies, p.RecoveryCodes) {
		return invalid("recovery_codes", "unsupported %q (allowed: %v)", p.RecoveryCodes, policy.RecoveryPolicies)
	}
	if p.AAGUIDAllowMode != "" && !slices.Contains(policy.ModelModes, p.AAGUIDAllowMode) {
		return invalid("aaguid_allow_mode", "unsupported %q (allowed: %v, or empty for enforce)", p.AAGUIDAllowMode, policy.ModelModes)
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
	if p.RequirePushedAuthorizationRequests && !p.PushedAuthorizationRequests {
		return invalid("require_pushed_authorization_requests", "needs pushed_authorization_requests on (the PAR endpoint)")
	}
	if err := validateRegistration(p); err != nil {
		return err
	}
	// Only problems the policy brings count: the base configuration was
	// accepted at start-up (and may hold test-only values).
	known := map[string]bool{}
	for _, e := range configErrors(s.base.Validate()) {
		known[e] = true
	}
	var out *Problem
	for _, e := range configErrors(p.Over(s.base).Validate()) {
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

// validateRegistration checks the dynamic registration fields, naming
// each field at fault (config.Validate checks them again, by flag name).
func validateRegistration(p policy.Policy) error {
	var out *Problem
	add := func(field, format string, args ...any) {
		if out == nil {
			out = invalid(field, format, args...)
			return
		}
		out.Errors = append(out.Errors, FieldError{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args})
	}
	if !slices.Contains(config.RegistrationModes, p.Registration) {
		add("registration", "unsupported %q (allowed: %v)", p.Registration, config.RegistrationModes)
	}
	if len(p.RegistrationGrantTypes) == 0 {
		add("registration_grant_types", "at least one is required")
	}
	for _, g := range p.RegistrationGrantTypes {
		if !slices.Contains(config.RegistrationGrantTypes, g) {
			add("registration_grant_types", "unsupported %q (allowed: %v)", g, config.RegistrationGrantTypes)
		}
	}
	if len(p.RegistrationRedirectSchemes) == 0 {
		add("registration_redirect_schemes", "at least one is required")
	}
	for _, sc := range p.RegistrationRedirectSchemes {
		if !slices.Contains(config.RegistrationRedirectSchemes, sc) {
			add("registration_redirect_schemes", "unsupported %q (allowed: %v)", sc, config.RegistrationRedirectSchemes)
		}
	}
	if p.RegistrationMaxRedirectURIs < 1 || p.RegistrationMaxRedirectURIs > 50 {
		add("registration_max_redirect_uris", "must be between 1 and 50")
	}
	if p.RegistrationRateIP < 1 || p.RegistrationRateIP > 100000 {
		add("registration_rate_ip", "must be between 1 and 100000")
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

// Update validates and saves p, and records it in the audit log. The
// saving replica applies it at once, the others within policy.CacheTTL.
func (s *Policies) Update(ctx context.Context, p policy.Policy) (policy.Policy, error) {
	p = p.Normalize()
	if err := s.Validate(p); err != nil {
		return policy.Policy{}, err
	}
	before, err := s.live.Current(ctx)
	if err != nil {
		return policy.Policy{}, err
	}
	if p.MDSFile != "" {
		check := s.checkMDS
		if check == nil {
			check = func(path string) error { return passkey.CheckMDSFile(path, "") }
		}
		if err := check(p.MDSFile); err != nil {
			return policy.Policy{}, invalid("mds_file", "not a usable FIDO MDS3 BLOB: %v", err)
		}
	}
	act := ActorFrom(ctx)
	if err := s.live.Save(ctx, p, act.Kind+":"+act.ID); err != nil {
		return policy.Policy{}, err
	}
	if err := s.audit.Record(ctx, "policy.update", "policy", policy.Global, before, p); err != nil {
		return policy.Policy{}, err
	}
	return p, nil
}
