package passkey

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
)

// Assurance levels from authenticator facts (models/acr.go). A passkey
// sign-in reaches:
//
//	no user verification                       urn:sesame:acr:basic
//	UV, backup eligible (can be synced)        urn:sesame:acr:passkey:uv
//	UV, not backup eligible (device-bound)     urn:sesame:acr:passkey:device-bound
//	… and attested at enrolment, model still   urn:sesame:acr:passkey:attested
//	  certified in the FIDO metadata now
//
// UV and BE come from the assertion's authenticator data (BE cannot change
// for a credential: WebAuthn §6.1.3), the attestation from the enrolment
// (models.WebAuthnCredential.Attested), the model's status from the FIDO
// metadata in force at the sign-in: without metadata now, an attested
// credential reaches only device-bound (its model's status is unknown).

// Facts are what one ceremony proved about a credential.
type Facts struct {
	// UserVerified: the UV flag of this assertion (or registration).
	UserVerified bool
	// BackupEligible: the BE flag; a credential that may be synced.
	BackupEligible bool
	// Attested: verified against FIDO metadata at enrolment and
	// certified, with no undesired status, in the metadata now.
	Attested bool
	// Compromised: the FIDO metadata reports the credential's model
	// compromised or revoked (now, or at the last check). Its claims (user
	// verification, device binding) prove nothing: the sign-in reaches
	// the basic level only.
	Compromised bool
	// UVMethod is "pin" or "fpt" (RFC 8176) when the FIDO metadata says
	// that is the only way this model verifies its user; "" otherwise.
	UVMethod string
}

// ACRFor is the acr a passkey ceremony with these facts reaches.
func ACRFor(f Facts) string {
	switch {
	case !f.UserVerified, f.Compromised:
		// One factor, possession: never phishing-resistant MFA.
		return models.ACRBasic
	case f.BackupEligible:
		return models.ACRUserVerified
	case !f.Attested:
		return models.ACRDeviceBound
	}
	return models.ACRAttested
}

// AMRFor is the RFC 8176 amr of a passkey ceremony with these facts:
// "pop" always; "hwk" for a key that cannot leave its hardware (BE=0) or
// "swk" for one that may be synced (BE=1); "user" for the presence test
// every passkey ceremony has; with user verification "mfa", and "pin" or
// "fpt" when the authenticator's metadata says which.
func AMRFor(f Facts) []string {
	amr := []string{"pop"}
	if f.BackupEligible {
		amr = append(amr, "swk")
	} else {
		amr = append(amr, "hwk")
	}
	amr = append(amr, "user")
	if f.UserVerified && !f.Compromised {
		amr = append(amr, "mfa")
		if f.UVMethod != "" {
			amr = append(amr, f.UVMethod)
		}
	}
	return amr
}

// CanReach reports whether credential c can reach the level min at a
// sign-in that asks for user verification: the facts fixed at enrolment
// (backup eligibility, attestation) allow it. The user verification and
// the model's status are known only at the sign-in itself. Security keys
// (a password's second factor) reach no passkey level.
func CanReach(c *models.WebAuthnCredential, min string) bool {
	if c.Kind != models.CredentialPasskey || c.CloneWarning || c.SuspendedAt != nil {
		return false
	}
	if c.CompromisedStatus != "" {
		return min == models.ACRBasic
	}
	switch min {
	case models.ACRDeviceBound:
		return !c.BackupEligible
	case models.ACRAttested:
		return !c.BackupEligible && c.Attested
	}
	return models.ACRLevel(min) >= 0
}

// CredentialFacts returns what the last ceremony of credential c (its
// stored UV and BE flags: FinishLogin and FinishRegistration leave them
// as the authenticator data said) proved, looking its model up in the
// FIDO metadata in force.
func (s *Service) CredentialFacts(ctx context.Context, c *models.WebAuthnCredential) Facts {
	f := Facts{UserVerified: c.UserVerified, BackupEligible: c.BackupEligible}
	mds := s.rules(ctx).mds
	f.Compromised = c.CompromisedStatus != "" || s.undesiredStatus(ctx, mds, c.AAGUID) != ""
	if f.Compromised {
		return f
	}
	entry := metadataEntry(ctx, mds, c.AAGUID)
	if entry == nil {
		return f
	}
	f.Attested = c.Attested && !f.BackupEligible && certified(entry.StatusReports, s.now()) &&
		mds.ValidateStatusReports(ctx, entry.StatusReports) == nil
	if f.UserVerified {
		f.UVMethod = uvMethod(entry.MetadataStatement.UserVerificationDetails)
	}
	return f
}

// metadataEntry is the FIDO metadata entry of a model, or nil without
// metadata or without an entry.
func metadataEntry(ctx context.Context, mds metadata.Provider, aaguid string) *metadata.Entry {
	if mds == nil {
		return nil
	}
	id, err := uuid.Parse(aaguid)
	if err != nil || id == uuid.Nil {
		return nil
	}
	entry, err := mds.GetEntry(ctx, id)
	if err != nil {
		return nil
	}
	return entry
}

// certified reports whether a status report in force says the model
// passed FIDO certification (FIDO_CERTIFIED, _L1 … _L3plus).
func certified(reports []metadata.StatusReport, at time.Time) bool {
	for _, r := range reports {
		if strings.HasPrefix(string(r.Status), string(metadata.FidoCertified)) && r.InEffectAt(at) {
			return true
		}
	}
	return false
}

// uvMethod names the way a model verifies its user, when its metadata
// lists one kind only: every alternative that verifies the user (not
// just presence) is a passcode ("pin") or every one a fingerprint
// ("fpt"). Several kinds, or none, say nothing.
func uvMethod(details [][]metadata.VerificationMethodDescriptor) string {
	var kinds []string
	for _, and := range details {
		for _, m := range and {
			var k string
			switch m.UserVerificationMethod {
			case "presence_internal", "none":
				continue
			case "passcode_internal", "passcode_external":
				k = "pin"
			case "fingerprint_internal":
				k = "fpt"
			default:
				k = "other"
			}
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	if len(kinds) == 1 && kinds[0] != "other" {
		return kinds[0]
	}
	return ""
}

// attested reports whether a registration's attestation, already
// checked against the metadata by checkAttestationPolicy, makes the
// credential attested: a certificate chain (basic or attestation CA, not
// self or none) and a certified model.
func (s *Service) attested(ctx context.Context, mds metadata.Provider, att *protocol.AttestationObject, aaguid string) bool {
	if mds == nil || att.Format == string(protocol.AttestationFormatNone) {
		return false
	}
	if x5c, _ := att.AttStatement["x5c"].([]any); len(x5c) == 0 {
		return false
	}
	entry := metadataEntry(ctx, mds, aaguid)
	return entry != nil && certified(entry.StatusReports, s.now())
}

// syncedRule is the synced-passkey policy a ceremony runs under: its
// client's (kept with the ceremony), else the global one.
func (s *Service) syncedRule(ctx context.Context, data *ceremonyData) string {
	if data.Synced != "" {
		return data.Synced
	}
	return s.rules(ctx).synced
}

// SyncedPolicy is the synced-passkey policy for a client whose own is
// clientRule ("" follows the global policy): policy.SyncedAllow,
// SyncedBlock or SyncedGrace ("" means allow).
func (s *Service) SyncedPolicy(ctx context.Context, clientRule string) string {
	return s.syncedRule(ctx, &ceremonyData{Synced: clientRule})
}

// checkSynced applies the synced-passkey policy to a passkey whose
// authenticator data says backupEligible: refused under "block";
// accepted and reported (grace) under "grace". Security keys, the second
// factor of a password, are not subject to it.
func (s *Service) checkSynced(ctx context.Context, data *ceremonyData, backupEligible bool) (grace bool, e *Error) {
	if !backupEligible || data.Kind != models.CredentialPasskey {
		return false, nil
	}
	switch s.syncedRule(ctx, data) {
	case policy.SyncedBlock:
		return false, fail(ErrSyncedRefused, "backup eligible passkey under a policy that blocks synced passkeys")
	case policy.SyncedGrace:
		return true, nil
	}
	return false, nil
}

// GraceSynced is the reason recorded with a sign-in or sign-up that a
// "block" would have refused: a synced passkey under the grace policy.
const GraceSynced = "grace:synced_passkey"
