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
)

// loadMDS reads a FIDO MDS3 BLOB, checks its signature chains to root (FIDO's
// production root when empty) and returns a provider that requires an
// entry for every attested authenticator, verifies attestation chains
// against the entry's trust anchors and the attestation type against the
// statement, and refuses models with an undesired status (revoked,
// compromised…).
func loadMDS(path, root string, now time.Time, log *slog.Logger) (metadata.Provider, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mds file: %w", err)
	}
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
		return nil, fmt.Errorf("verify mds file %s: %w", path, err)
	}
	md, err := dec.Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("parse mds file %s: %w", path, err)
	}
	if len(md.Unparsed) > 0 {
		log.Warn("passkey: some FIDO metadata entries could not be parsed and are ignored", "file", path, "count", len(md.Unparsed))
	}
	if md.Parsed.NextUpdate.Before(now) {
		log.Warn("passkey: the FIDO metadata BLOB is past its next update date; download a fresh one", "file", path, "next_update", md.Parsed.NextUpdate.Format(time.DateOnly))
	}
	return memory.New(
		memory.WithMetadata(md.ToMap()),
		memory.WithMetadataKeyIdentifiers(md.ToKeyIdentifierMap()),
		memory.WithValidateEntry(true),
		memory.WithValidateEntryKeyIdentifier(true),
		memory.WithValidateTrustAnchor(true),
		memory.WithValidateStatus(true),
		memory.WithValidateAttestationTypes(true),
	)
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
	mds      metadata.Provider
	failed   string
	failedAt time.Time
}

func (l *liveMDS) get(ctx context.Context, s *Service, path string) metadata.Provider {
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
// authenticator disclosed its model), and with "direct" the allow list and
// the FIDO metadata (status, trust anchors, attestation types). It
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
	if len(r.allow) > 0 && !r.allow[aaguid] {
		return false, fail(ErrAttestationRefused, "authenticator model "+aaguid+" is not on the allow list")
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

// checkMetadataStatus refuses, at sign-in, a credential whose model FIDO
// metadata now lists with an undesired status (e.g. revoked after a key
// compromise). Models absent from the metadata are not refused here: they
// passed (or predate) the registration policy.
func (s *Service) checkMetadataStatus(ctx context.Context, aaguid string) *Error {
	mds := s.rules(ctx).mds
	entry := metadataEntry(ctx, mds, aaguid)
	if entry == nil {
		return nil
	}
	if err := mds.ValidateStatusReports(ctx, entry.StatusReports); err != nil {
		return failWith(ErrAttestationRefused, "authenticator model "+aaguid+" has an undesired FIDO status", err)
	}
	return nil
}
