package passkey

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
)

// mdsCopy is one loaded FIDO metadata BLOB: the provider the checks
// use, and what the status reports say about the copy.
type mdsCopy struct {
	provider metadata.Provider
	// serial is the BLOB's "no"; nextUpdate its nextUpdate.
	serial     int64
	nextUpdate time.Time
	// source is the file's path or the URL it was fetched from.
	source string
	// checkedAt is when the copy was last known current: the file's load,
	// or the last good fetch (models.FIDOMetadata.CheckedAt).
	checkedAt time.Time
}

// loadMDS reads a FIDO MDS3 BLOB from a file; see parseMDS.
func loadMDS(path, root string, now time.Time, log *slog.Logger) (*mdsCopy, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mds file: %w", err)
	}
	c, err := parseMDS(raw, root, log)
	if err != nil {
		return nil, fmt.Errorf("mds file %s: %w", path, err)
	}
	if c.nextUpdate.Before(now) {
		log.Warn("passkey: the FIDO metadata BLOB is past its next update date; download a fresh one", "file", path, "next_update", c.nextUpdate.Format(time.DateOnly))
	}
	c.source, c.checkedAt = path, now
	return c, nil
}

// parseMDS verifies a FIDO MDS3 BLOB with go-webauthn's decoder (its
// signature chains to root, FIDO's production root when empty), parses it
// and returns a provider that requires an entry for every attested
// authenticator, verifies attestation chains against the entry's trust
// anchors and the attestation type against the statement, and refuses
// models with an undesired status (revoked, compromised…).
func parseMDS(raw []byte, root string, log *slog.Logger) (*mdsCopy, error) {
	opts := []metadata.DecoderOption{metadata.WithIgnoreEntryParsingErrors()}
	if root != "" {
		opts = append(opts, metadata.WithRootCertificate(root))
	}
	dec, err := metadata.NewDecoder(opts...)
	if err != nil {
		return nil, fmt.Errorf("mds decoder: %w", err)
	}
	payload, err := dec.DecodeBytes(bytes.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("verify mds blob: %w", err)
	}
	md, err := dec.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("parse mds blob: %w", err)
	}
	if len(md.Unparsed) > 0 {
		log.Warn("passkey: some FIDO metadata entries could not be parsed and are ignored", "count", len(md.Unparsed))
	}
	p, err := memory.New(
		memory.WithMetadata(md.ToMap()),
		memory.WithMetadataKeyIdentifiers(md.ToKeyIdentifierMap()),
		memory.WithValidateEntry(true),
		memory.WithValidateEntryKeyIdentifier(true),
		memory.WithValidateTrustAnchor(true),
		memory.WithValidateStatus(true),
		memory.WithValidateAttestationTypes(true),
	)
	if err != nil {
		return nil, fmt.Errorf("mds provider: %w", err)
	}
	return &mdsCopy{provider: p, serial: int64(md.Parsed.Number), nextUpdate: md.Parsed.NextUpdate}, nil
}

func (c *mdsCopy) mds() metadata.Provider {
	if c == nil {
		return nil
	}
	return c.provider
}

// mdsRetry is how long a policy's MDS file that failed to load is left
// alone before the next attempt (the admin may fix the file in place).
const mdsRetry = time.Minute

// liveMDS is the metadata the live policy names: loaded when the policy's
// path differs from the one in use, so a save in the console switches
// every replica over without a restart. A file that fails to load (gone,
// unreadable, badly signed) keeps the previous metadata in force and is
// logged; it is retried after mdsRetry, not on every ceremony.
type liveMDS struct {
	mu       sync.Mutex
	path     string
	mds      *mdsCopy
	failed   string
	failedAt time.Time
}

func (l *liveMDS) get(ctx context.Context, s *Service, path string) *mdsCopy {
	l.mu.Lock()
	defer l.mu.Unlock()
	if path == l.path {
		return l.mds
	}
	if path == "" {
		s.log.InfoContext(ctx, "passkey: FIDO metadata turned off by policy", "previous_file", l.path)
		l.path, l.mds, l.failed = "", nil, ""
		return nil
	}
	now := s.now()
	if path == l.failed && now.Sub(l.failedAt) < mdsRetry {
		return l.mds
	}
	mds, err := loadMDS(path, s.cfg.MDSRoot, now, s.log)
	if err != nil {
		s.log.WarnContext(ctx, "passkey: FIDO metadata file from policy not loaded; keeping the previous metadata",
			"file", path, "previous_file", l.path, "err", err)
		l.failed, l.failedAt = path, now
		return l.mds
	}
	s.log.InfoContext(ctx, "passkey: FIDO metadata loaded from policy", "file", path, "previous_file", l.path)
	l.path, l.mds, l.failed = path, mds, ""
	return mds
}

// CheckMDSFile reports whether path is a FIDO MDS3 BLOB this service would
// load: it exists, its signature chains to the configured root and it
// parses. The console calls it before saving a policy that names a file.
func (s *Service) CheckMDSFile(path string) error {
	return CheckMDSFile(path, s.cfg.MDSRoot)
}

// CheckMDSFile reports whether path is a FIDO MDS3 BLOB whose signature
// chains to root (base64 DER; FIDO's production root when empty) and that
// parses.
func CheckMDSFile(path, root string) error {
	_, err := loadMDS(path, root, time.Now(), slog.New(slog.DiscardHandler))
	return err
}

// checkAttestationPolicy applies the registration policy to a verified
// attestation: the AAGUID deny list (with "none" only when the
// authenticator disclosed its model), and with "direct" the FIDO metadata (status, trust anchors, attestation types). It
// reports whether the credential is attested (see Service.attested).
//
// Without MDSFile the AAGUID is what the authenticator claims (self
// attestation proves nothing about the model); with it, go-webauthn's
// metadata validation ties an attested AAGUID to its vendor's roots.
func (s *Service) checkAttestationPolicy(ctx context.Context, att *protocol.AttestationObject, aaguid string) (bool, *Error) {
	r := s.rules(ctx)
	disclosed := aaguid != ZeroAAGUID
	if r.deny[aaguid] && (disclosed || r.direct) {
		return false, fail(ErrAttestationRefused, "authenticator model "+aaguid+" is denied")
	}
	if !r.direct {
		return false, nil
	}
	if r.mds == nil {
		return false, nil
	}
	id, err := uuid.Parse(aaguid)
	if err != nil {
		return false, fail(ErrAttestationRefused, "malformed AAGUID")
	}
	x5cs, _ := att.AttStatement["x5c"].([]any)
	if perr := protocol.ValidateMetadataWithAuthenticatorData(ctx, r.mds, id, att.Type, att.Format, x5cs, &att.AuthData); perr != nil {
		return false, failWith(ErrAttestationRefused, "FIDO metadata check failed: "+strings.TrimSpace(perr.Details+" "+perr.DevInfo), perr.Err)
	}
	return s.attested(ctx, r.mds, att, aaguid), nil
}

// checkMetadataStatus applies, at sign-in, the FIDO status of the
// credential's model: a model the metadata in force reports compromised or
// revoked (or that the last check flagged, CompromisedStatus) suspends the
// credential under the policy suspend_compromised_passkeys, and is
// refused; without that policy the sign-in goes on at the basic level only
// (CredentialFacts). Models absent from the metadata are not refused
// here: they passed (or predate) the registration policy.
func (s *Service) checkMetadataStatus(ctx context.Context, rec *models.WebAuthnCredential) *Error {
	r := s.rules(ctx)
	status := rec.CompromisedStatus
	if st := s.undesiredStatus(ctx, r.mds, rec.AAGUID); st != "" {
		status = st
	}
	if status == "" || !r.suspend {
		return nil
	}
	if ms, ok := s.st.(MetadataStore); ok {
		c := *rec
		c.CompromisedStatus = status
		if err := s.suspend(ctx, ms, &c); err != nil {
			s.log.ErrorContext(ctx, "passkey: suspend credential", "credential_id", rec.ID, "err", err)
		}
	}
	return fail(ErrCredentialSuspended, "authenticator model "+rec.AAGUID+" has FIDO status "+status)
}
