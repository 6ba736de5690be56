package console

import (
	"context"
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
