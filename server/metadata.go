package server

import (
	"context"
	"time"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/telemetry"
	"github.com/sesame-idp/sesame/models/store"
)

// newMetadataSync builds the FIDO metadata sync (authn/passkey/mdsfetch.go):
// it fetches the MDS3 BLOB from mds_url on one replica at a time, keeps
// the last good copy in the database, and reloads it on every replica as
// soon as the change feed announces a new one. Its metrics are registered
// with m.
func newMetadataSync(st *store.Store, passkeys *passkey.Service, m *telemetry.Metrics, url string, refresh, grace time.Duration) (*passkey.Sync, func()) {
	y := passkey.NewSync(passkey.SyncConfig{URL: url, Refresh: refresh, StaleGrace: grace}, passkeys, st)
	unsubscribe := st.Changes().Subscribe(func(c store.Change) {
		if c.Kind == store.ChangeFIDOMetadata || c.Kind == store.ChangeResync {
			y.Notify()
		}
	})
	m.AddFIDOMetadata(func(ctx context.Context) (telemetry.FIDOMetadata, error) {
		s := passkeys.MetadataStatus(ctx)
		flagged, suspended, err := st.CompromisedCredentialCounts(ctx)
		return telemetry.FIDOMetadata{State: s.State, States: passkey.MetadataStates, CheckedAt: s.CheckedAt, NextUpdate: s.NextUpdate,
			Compromised: flagged, Suspended: suspended}, err
	}, time.Now)
	return y, unsubscribe
}

// MetadataSync is the server's FIDO metadata sync; Run starts its loop,
// tests drive it with Tick.
func (s *Server) MetadataSync() *passkey.Sync { return s.metadata }
