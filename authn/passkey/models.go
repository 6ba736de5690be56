package passkey

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
)

// AAGUID allow lists: the global policy's (aaguid_allow) and a client's
// own, a minimum on top of it. A passkey passes a list when it was
// attested at enrolment (an attestation statement, not "none": the model
// was proven, not just claimed) and its AAGUID is on it. It must pass
// both lists, at enrolment and at every sign-in (a list saved later
// applies to passkeys enrolled before it). A list in grace mode
// (policy.ModelGrace) accepts a passkey that fails it, and the caller
// warns and records GraceModel with the event, so the console shows whom
// enforcing it would lock out.

// GraceModel is the reason recorded with a sign-in or sign-up that an
// enforced allow list would have refused.
const GraceModel = "grace:aaguid_allow"

// modelList is one allow list and its mode.
type modelList struct {
	allow map[string]bool
	grace bool
}

// lists are the allow lists a ceremony with client data runs under.
func (s *Service) lists(ctx context.Context, data *ceremonyData) []modelList {
	r := s.rules(ctx)
	out := []modelList{{allow: r.allow, grace: r.allowGrace}}
	if len(data.ModelAllow) > 0 {
		own := make(map[string]bool, len(data.ModelAllow))
		for _, a := range data.ModelAllow {
			if id, err := uuid.Parse(strings.TrimSpace(a)); err == nil {
				own[id.String()] = true
			}
		}
		if len(own) == 0 {
			own[ZeroAAGUID] = true // a list of nothing usable allows nothing
		}
		out = append(out, modelList{allow: own, grace: data.ModelGrace})
	}
	return out
}

func passes(l modelList, aaguid, format string) bool {
	return len(l.allow) == 0 || (format != "" && format != "none" && l.allow[aaguid])
}

// checkModel applies the allow lists to a passkey of model aaguid
// enrolled with attestation format: refused by an enforced list it
// fails; grace when it fails only lists in grace mode.
func (s *Service) checkModel(ctx context.Context, data *ceremonyData, aaguid, format string) (grace bool, e *Error) {
	for _, l := range s.lists(ctx, data) {
		if passes(l, aaguid, format) {
			continue
		}
		if !l.grace {
			return false, fail(ErrAttestationRefused, "authenticator model "+aaguid+" ("+format+" attestation) is not on the allow list")
		}
		grace = true
	}
	return grace, nil
}

// ModelQualifies reports whether credential c passes the enforced allow
// lists of a ceremony begun with o (lists in grace mode let everything
// through): a step-up lists only those.
func (s *Service) ModelQualifies(ctx context.Context, o Options, c *models.WebAuthnCredential) bool {
	_, e := s.checkModel(ctx, (&ceremonyData{}).clientRules(o), c.AAGUID, c.AttestationFormat)
	return e == nil
}

// ModelGraced reports whether credential c, accepted under o, fails an
// allow list in grace mode (its use is warned and recorded).
func (s *Service) ModelGraced(ctx context.Context, o Options, c *models.WebAuthnCredential) bool {
	g, e := s.checkModel(ctx, (&ceremonyData{}).clientRules(o), c.AAGUID, c.AttestationFormat)
	return e == nil && g
}

// ModelsEnforced reports whether a ceremony begun with o runs under an
// enforced allow list (the global one, or the client's).
func (s *Service) ModelsEnforced(ctx context.Context, o Options) bool {
	for _, l := range s.lists(ctx, (&ceremonyData{}).clientRules(o)) {
		if len(l.allow) > 0 && !l.grace {
			return true
		}
	}
	return false
}

// ModelName names an authenticator model for people: its description in
// the FIDO metadata in force, else the bundled list's name, else "".
func (s *Service) ModelName(ctx context.Context, aaguid string) string {
	if e := metadataEntry(ctx, s.rules(ctx).mds, aaguid); e != nil && strings.TrimSpace(e.MetadataStatement.Description) != "" {
		return strings.TrimSpace(e.MetadataStatement.Description)
	}
	return AuthenticatorName(aaguid)
}

// AttestedModel is the model of credential c when its enrolment proved it
// (an attestation statement), "" otherwise: what a login session keeps
// for the allow lists of the apps it is used for.
func AttestedModel(c *models.WebAuthnCredential) string {
	if c.AttestationFormat == "" || c.AttestationFormat == "none" {
		return ""
	}
	return c.AAGUID
}
