package passkey

import (
	"context"
	"slices"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// Metadata states (MetadataStatus.State).
const (
	// MetadataOff: no metadata is configured (no URL, no file).
	MetadataOff = "off"
	// MetadataMissing: metadata is configured but none could be loaded
	// yet (first fetch failed, file unreadable).
	MetadataMissing = "missing"
	// MetadataCurrent: metadata is in force and not past its nextUpdate
	// plus the grace period.
	MetadataCurrent = "current"
	// MetadataStale: the metadata in force is past its nextUpdate plus
	// the grace period: new revocations may be missed.
	MetadataStale = "stale"
)

// MetadataStates lists the states, for metrics.
var MetadataStates = []string{MetadataOff, MetadataMissing, MetadataCurrent, MetadataStale}

// MetadataStatus is what this replica knows of the FIDO metadata in force.
type MetadataStatus struct {
	State string
	// Source is the URL or file the metadata in force came from.
	Source string
	// Serial and NextUpdate are the BLOB's; CheckedAt is when it was last
	// known current (last good fetch, or the file's load).
	Serial     int64
	NextUpdate time.Time
	CheckedAt  time.Time
	// StaleAfter is NextUpdate plus the grace period.
	StaleAfter time.Time
	// URL is the configured metadata service ("" offline); LastError and
	// LastErrorAt the last failed fetch round's, when it is more recent
	// than the last good one.
	URL         string
	LastError   string
	LastErrorAt time.Time
}

// Age is how long ago the metadata in force was last known current.
func (m MetadataStatus) Age(now time.Time) time.Duration {
	if m.CheckedAt.IsZero() {
		return 0
	}
	return max(now.Sub(m.CheckedAt), 0)
}

// MetadataStatus reports the FIDO metadata in force on this replica.
func (s *Service) MetadataStatus(ctx context.Context) MetadataStatus {
	var st MetadataStatus
	grace := DefaultMDSStaleGrace
	if y := s.sync.Load(); y != nil {
		st.URL, grace = y.cfg.URL, y.cfg.StaleGrace
	}
	if row := s.fetchState.Load(); row != nil && row.LastErrorAt != nil && (row.CheckedAt == nil || row.LastErrorAt.After(*row.CheckedAt)) {
		st.LastError, st.LastErrorAt = row.LastError, *row.LastErrorAt
	}
	c := s.rules(ctx).copy
	if c == nil {
		st.State = MetadataOff
		if st.URL != "" || s.configuredFile(ctx) != "" {
			st.State = MetadataMissing
		}
		return st
	}
	st.Source, st.Serial, st.NextUpdate, st.CheckedAt = c.source, c.serial, c.nextUpdate, c.checkedAt
	st.StaleAfter = c.nextUpdate.Add(grace)
	st.State = MetadataCurrent
	if s.now().After(st.StaleAfter) {
		st.State = MetadataStale
	}
	return st
}

// configuredFile is the MDS file the policy (or configuration) names.
func (s *Service) configuredFile(ctx context.Context) string {
	if s.cfg.Policy != nil {
		if p, err := s.cfg.Policy.PasskeyPolicy(ctx); err == nil {
			return p.MDSFile
		}
	}
	return s.cfg.MDSFile
}

// SupportedACRs lists the acr levels (models/acr.go) a sign-in can reach
// now: every level, but the attested one only while FIDO metadata is in
// force (without it no model's status can be checked, so no credential
// reaches it: CredentialFacts). Discovery lists exactly these.
func (s *Service) SupportedACRs(ctx context.Context) []string {
	if s.rules(ctx).mds != nil {
		return models.ACRLevels
	}
	return slices.DeleteFunc(slices.Clone(models.ACRLevels), func(l string) bool { return l == models.ACRAttested })
}
