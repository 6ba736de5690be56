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

// modelList is one allow list and its mode: the global policy's parsed
// set (kept per policy version, checkedPolicy), or a client's list as
// its spec stores it (validated and lower-cased on save: onList compares
// it in place, no parsing or allocation per sign-in).
type modelList struct {
	set   map[string]bool
	list  []string
	grace bool
}

// lists are the allow lists a ceremony with client data runs under.
func (s *Service) lists(ctx context.Context, data *ceremonyData) []modelList {
	r := s.rules(ctx)
	out := []modelList{{set: r.allow, grace: r.allowGrace}}
	if len(data.ModelAllow) > 0 {
		out = append(out, modelList{list: data.ModelAllow, grace: data.ModelGrace})
	}
	return out
}

// empty reports whether l allows every model.
func (l modelList) empty() bool { return len(l.set) == 0 && len(l.list) == 0 }

func passes(l modelList, aaguid, format string) bool {
	if l.empty() {
		return true
	}
	if format == "" || format == "none" {
		return false
	}
	if l.set != nil {
		return l.set[aaguid]
	}
	return onList(l.list, aaguid)
}

// onList reports whether a client's list names the model aaguid (the
// store's form: lower-case, hyphenated). An entry in another form a
// UUID may take (upper case, braces, urn:uuid:, no hyphens) is parsed; an
// entry that is no UUID names nothing, so a list of nothing usable
// allows nothing.
func onList(list []string, aaguid string) bool {
	for _, a := range list {
		if a == aaguid {
			return true
		}
		if len(a) != len(aaguid) || strings.ToLower(a) != a {
			if id, err := uuid.Parse(strings.TrimSpace(a)); err == nil && id.String() == aaguid {
				return true
			}
		}
	}
	return false
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
		if !l.empty() && !l.grace {
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
