package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
)

// FIDO Metadata Service, kept current. One replica at a time fetches the
// MDS3 BLOB from its URL (it claims a round on the shared row,
// store.ClaimFIDOMetadataFetch), verifies it with go-webauthn's decoder
// (signature chain to the configured root, nextUpdate not past, serial not
// older than the stored one) and stores it; a bad or expired BLOB is
// recorded as the round's error and the last good copy stays. The store
// announces a new copy on the change feed and every replica loads it
// (Reload); a poll of the row (a few columns, not the BLOB) is the safety
// net for a missed announcement. After each round the claimant checks the
// enrolled credentials' models against the metadata in force: credentials
// of a model reported compromised or revoked are flagged
// (models.WebAuthnCredential.CompromisedStatus) and, under the policy
// suspend_compromised_passkeys, suspended and audited.

// MetadataStore is the part of the data layer the metadata sync uses;
// *store.Store satisfies it.
type MetadataStore interface {
	FIDOMetadataState(ctx context.Context, id string) (*models.FIDOMetadata, error)
	GetFIDOMetadata(ctx context.Context, id string) (*models.FIDOMetadata, error)
	ClaimFIDOMetadataFetch(ctx context.Context, id string, seen int64, at time.Time) (bool, error)
	SaveFIDOMetadata(ctx context.Context, m *models.FIDOMetadata) (bool, error)
	RecordFIDOMetadataError(ctx context.Context, id, msg string, at time.Time) error
	CredentialAAGUIDs(ctx context.Context) ([]string, error)
	MarkCompromisedModels(ctx context.Context, statuses map[string]string, at time.Time) (flagged, cleared []models.WebAuthnCredential, err error)
	SuspendCredential(ctx context.Context, id string, at time.Time) error
	CompromisedCredentials(ctx context.Context, limit int) (int64, []models.WebAuthnCredential, error)
	CreateAuditEntry(ctx context.Context, e *models.AuditEntry) error
	// WithTx runs fn in one transaction (joining one ctx already has): a
	// flag or a suspension and its audit entry commit together.
	WithTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// SyncConfig configures the metadata sync.
type SyncConfig struct {
	// URL is the MDS3 BLOB's address (https://mds3.fidoalliance.org/);
	// "" fetches nothing: the hand-supplied file (mds_file) is the only
	// metadata, as on an offline site.
	URL string
	// Refresh is how often a good BLOB is fetched again (default 24h); a
	// failed round is retried after min(Refresh, 10m). The credentials
	// are checked at every round, at most every Refresh or hour.
	Refresh time.Duration
	// StaleGrace is how long past its nextUpdate the metadata in force may
	// be before it is reported stale (default 72h).
	StaleGrace time.Duration
	// Client fetches the BLOB (default: 30 s timeout).
	Client *http.Client
}

// Sync keeps the FIDO metadata of a Service current.
type Sync struct {
	cfg SyncConfig
	svc *Service
	st  MetadataStore
	// wake asks Run for a reload at once (the change feed).
	wake chan struct{}
}

// maxBlobBytes bounds a fetched BLOB (FIDO's is about 6 MB).
const maxBlobBytes = 64 << 20

// DefaultMDSRefresh and DefaultMDSStaleGrace are SyncConfig's defaults.
const (
	DefaultMDSRefresh    = 24 * time.Hour
	DefaultMDSStaleGrace = 72 * time.Hour
)

// NewSync returns the metadata sync of svc.
func NewSync(cfg SyncConfig, svc *Service, st MetadataStore) *Sync {
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultMDSRefresh
	}
	if cfg.StaleGrace <= 0 {
		cfg.StaleGrace = DefaultMDSStaleGrace
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	y := &Sync{cfg: cfg, svc: svc, st: st, wake: make(chan struct{}, 1)}
	svc.sync.Store(y)
	return y
}

// poll is how often each replica reads the row: the bound on a missed
// announcement, and the pace of the rounds.
func (y *Sync) poll() time.Duration { return min(y.cfg.Refresh, time.Minute) }

// Notify tells the sync a new BLOB was announced (store.ChangeFIDOMetadata
// or a resync); it returns at once, Run reloads.
func (y *Sync) Notify() {
	select {
	case y.wake <- struct{}{}:
	default:
	}
}

// Run loads the stored BLOB, then keeps it current until ctx ends.
func (y *Sync) Run(ctx context.Context) {
	t := time.NewTicker(y.poll())
	defer t.Stop()
	for {
		if err := y.Tick(ctx); err != nil && ctx.Err() == nil {
			y.svc.log.WarnContext(ctx, "passkey: FIDO metadata sync", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-y.wake:
		}
	}
}

// Tick is one step of Run: load a newer stored BLOB, and run a round
// (fetch, check the credentials) when one is due and this replica claims
// it.
func (y *Sync) Tick(ctx context.Context) error {
	st, err := y.st.FIDOMetadataState(ctx, models.FIDOMetadataMDS3)
	if errors.Is(err, models.ErrNotFound) {
		st, err = &models.FIDOMetadata{ID: models.FIDOMetadataMDS3}, nil
	}
	if err != nil {
		return err
	}
	if err := y.reload(ctx, st); err != nil {
		return err
	}
	if !y.due(st) {
		return nil
	}
	claimed, err := y.st.ClaimFIDOMetadataFetch(ctx, models.FIDOMetadataMDS3, st.Attempts, y.svc.now())
	if err != nil || !claimed {
		return err
	}
	err = y.round(ctx, st)
	if now, serr := y.st.FIDOMetadataState(ctx, models.FIDOMetadataMDS3); serr == nil {
		y.svc.fetchState.Store(now) // the round's outcome, for MetadataStatus
	}
	return err
}

// due reports whether a round is due: the credentials are checked every
// min(Refresh, 1h); the BLOB is fetched when the last good fetch is
// Refresh old, and retried after a failed one.
func (y *Sync) due(st *models.FIDOMetadata) bool {
	now := y.svc.now()
	if st.AttemptAt == nil {
		return true
	}
	return !now.Before(st.AttemptAt.Add(min(y.cfg.Refresh, time.Hour))) || (y.cfg.URL != "" && y.fetchDue(st, now))
}

func (y *Sync) fetchDue(st *models.FIDOMetadata, now time.Time) bool {
	if st.AttemptAt == nil || st.CheckedAt == nil {
		return st.AttemptAt == nil || !now.Before(st.AttemptAt.Add(y.retry()))
	}
	if st.LastErrorAt != nil && st.LastErrorAt.After(*st.CheckedAt) {
		return !now.Before(st.AttemptAt.Add(y.retry()))
	}
	return !now.Before(st.CheckedAt.Add(y.cfg.Refresh))
}

func (y *Sync) retry() time.Duration { return min(y.cfg.Refresh, 10*time.Minute) }

// round fetches the BLOB when due, then checks the credentials.
func (y *Sync) round(ctx context.Context, st *models.FIDOMetadata) error {
	var ferr error
	if y.cfg.URL != "" && y.fetchDue(st, y.svc.now()) {
		if ferr = y.fetch(ctx); ferr != nil {
			y.svc.log.WarnContext(ctx, "passkey: FIDO metadata not updated; the last good copy stays in force", "url", y.cfg.URL, "err", ferr)
			if err := y.st.RecordFIDOMetadataError(ctx, models.FIDOMetadataMDS3, ferr.Error(), y.svc.now()); err != nil {
				return errors.Join(ferr, err)
			}
		}
	}
	return errors.Join(ferr, y.CheckCredentials(ctx))
}

// fetch downloads, verifies and stores the BLOB, and loads it here.
func (y *Sync) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, y.cfg.URL, nil)
	if err != nil {
		return fmt.Errorf("fetch mds blob: %w", err)
	}
	res, err := y.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch mds blob: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch mds blob: %s answered %s", y.cfg.URL, res.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxBlobBytes+1))
	if err != nil {
		return fmt.Errorf("fetch mds blob: %w", err)
	}
	if len(raw) > maxBlobBytes {
		return fmt.Errorf("fetch mds blob: larger than %d bytes", maxBlobBytes)
	}
	c, err := parseMDS(raw, y.svc.cfg.MDSRoot, y.svc.log)
	if err != nil {
		return err
	}
	now := y.svc.now()
	if c.nextUpdate.Before(now) {
		return fmt.Errorf("mds blob %d expired: its nextUpdate %s is past", c.serial, c.nextUpdate.Format(time.DateOnly))
	}
	next := c.nextUpdate
	replaced, err := y.st.SaveFIDOMetadata(ctx, &models.FIDOMetadata{ID: models.FIDOMetadataMDS3, Source: y.cfg.URL, Blob: string(raw),
		Serial: c.serial, NextUpdate: &next, CheckedAt: &now})
	if errors.Is(err, models.ErrConsumed) {
		return fmt.Errorf("mds blob %d is older than the stored one (a rollback?): %w", c.serial, err)
	}
	if err != nil {
		return err
	}
	if replaced {
		y.svc.log.InfoContext(ctx, "passkey: new FIDO metadata BLOB stored", "serial", c.serial, "next_update", c.nextUpdate.Format(time.DateOnly), "url", y.cfg.URL)
	}
	c.source, c.checkedAt = y.cfg.URL, now
	y.svc.setFetched(c)
	return nil
}

// reload loads the stored BLOB when its serial differs from the one in
// memory, and otherwise brings the copy's status (last check) up to date.
func (y *Sync) reload(ctx context.Context, st *models.FIDOMetadata) error {
	y.svc.fetchState.Store(st)
	if st.Serial == 0 && st.CheckedAt == nil {
		return nil // nothing fetched yet
	}
	cur := y.svc.fetched.Load()
	if cur != nil && cur.serial == st.Serial {
		if st.CheckedAt != nil && st.CheckedAt.After(cur.checkedAt) {
			c := *cur
			c.checkedAt = *st.CheckedAt
			y.svc.fetched.CompareAndSwap(cur, &c)
		}
		return nil
	}
	row, err := y.st.GetFIDOMetadata(ctx, models.FIDOMetadataMDS3)
	if err != nil {
		return err
	}
	c, err := parseMDS([]byte(row.Blob), y.svc.cfg.MDSRoot, y.svc.log)
	if err != nil {
		// Another replica verified it with its root; this one's differs.
		return fmt.Errorf("stored mds blob %d: %w", row.Serial, err)
	}
	c.source = row.Source
	if row.CheckedAt != nil {
		c.checkedAt = *row.CheckedAt
	}
	y.svc.setFetched(c)
	y.svc.log.InfoContext(ctx, "passkey: FIDO metadata loaded from the database", "serial", c.serial, "next_update", c.nextUpdate.Format(time.DateOnly))
	return nil
}

// setFetched puts a fetched copy in force unless a newer one already is.
func (s *Service) setFetched(c *mdsCopy) {
	for {
		cur := s.fetched.Load()
		if cur != nil && cur.serial > c.serial {
			return
		}
		if s.fetched.CompareAndSwap(cur, c) {
			return
		}
	}
}

// CheckCredentials compares the models of the enrolled credentials with
// the metadata in force: it flags the credentials of models reported
// compromised or revoked, clears those whose status was lifted, and under
// suspend_compromised_passkeys suspends the flagged ones; each change is
// logged and audited once. Without metadata it does nothing.
func (y *Sync) CheckCredentials(ctx context.Context) error {
	r := y.svc.rules(ctx)
	if r.mds == nil {
		return nil
	}
	aaguids, err := y.st.CredentialAAGUIDs(ctx)
	if err != nil {
		return err
	}
	statuses := map[string]string{}
	for _, a := range aaguids {
		if st := y.svc.undesiredStatus(ctx, r.mds, a); st != "" {
			statuses[a] = st
		}
	}
	now := y.svc.now()
	// Each change commits with its audit entry: another replica (or a
	// reader) never sees a flag that is not audited yet.
	var flagged, cleared []models.WebAuthnCredential
	err = y.st.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if flagged, cleared, err = y.st.MarkCompromisedModels(ctx, statuses, now); err != nil {
			return err
		}
		for _, c := range flagged {
			if err := y.audit(ctx, "credential.model_compromised", c, map[string]any{"compromised_status": c.CompromisedStatus}); err != nil {
				return err
			}
		}
		for _, c := range cleared {
			if err := y.audit(ctx, "credential.model_status_cleared", c, map[string]any{"compromised_status": ""}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range flagged {
		y.svc.log.WarnContext(ctx, "passkey: the FIDO metadata reports a credential's authenticator model compromised",
			"credential_id", c.ID, "user_id", c.UserID, "aaguid", c.AAGUID, "status", c.CompromisedStatus)
	}
	for _, c := range cleared {
		y.svc.log.InfoContext(ctx, "passkey: a credential's authenticator model is no longer reported compromised",
			"credential_id", c.ID, "aaguid", c.AAGUID, "previous_status", c.CompromisedStatus)
	}
	if !r.suspend {
		return nil
	}
	_, list, err := y.st.CompromisedCredentials(ctx, 1000)
	if err != nil {
		return err
	}
	for _, c := range list {
		if c.SuspendedAt != nil {
			continue
		}
		if err := y.svc.suspend(ctx, y.st, &c); err != nil {
			return err
		}
	}
	return nil
}

// suspend suspends a credential of a compromised model and audits it once.
// The suspension and its audit entry commit together.
func (s *Service) suspend(ctx context.Context, st MetadataStore, c *models.WebAuthnCredential) error {
	err := st.WithTx(ctx, func(ctx context.Context) error {
		if err := st.SuspendCredential(ctx, c.ID, s.now()); err != nil {
			return err
		}
		return auditCredential(ctx, st, s.now(), "credential.suspended", c, map[string]any{"suspended": true, "compromised_status": c.CompromisedStatus})
	})
	if errors.Is(err, models.ErrConsumed) {
		return nil // suspended meanwhile (another replica, a sign-in)
	}
	if err != nil {
		return err
	}
	s.log.WarnContext(ctx, "passkey: credential suspended: its authenticator model is reported compromised",
		"credential_id", c.ID, "user_id", c.UserID, "aaguid", c.AAGUID, "status", c.CompromisedStatus)
	return nil
}

func (y *Sync) audit(ctx context.Context, action string, c models.WebAuthnCredential, after map[string]any) error {
	return auditCredential(ctx, y.st, y.svc.now(), action, &c, after)
}

func auditCredential(ctx context.Context, st MetadataStore, at time.Time, action string, c *models.WebAuthnCredential, after map[string]any) error {
	after["credential_id"], after["user_id"], after["aaguid"] = c.ID, c.UserID, c.AAGUID
	raw, _ := json.Marshal(after)
	before, _ := json.Marshal(map[string]any{"compromised_status": c.CompromisedStatus, "suspended": c.SuspendedAt != nil})
	return st.CreateAuditEntry(ctx, &models.AuditEntry{ID: uuid.NewString(), At: at, ActorID: "fido-metadata", ActorKind: models.ActorSystem,
		ActorLabel: "FIDO metadata check", Action: action, TargetType: "user", TargetID: c.UserID, BeforeJSON: string(before), AfterJSON: string(raw)})
}

// undesiredStatuses are the statuses that make a model's credentials
// untrustworthy: go-webauthn's defaults (metadata.defaultUndesiredAuthenticatorStatus).
var undesiredStatuses = []metadata.AuthenticatorStatus{
	metadata.AttestationKeyCompromise, metadata.UserVerificationBypass, metadata.UserKeyRemoteCompromise,
	metadata.UserKeyPhysicalCompromise, metadata.Revoked,
}

// undesiredStatus is the status in force that makes a model's
// credentials untrustworthy (the provider's own ValidateStatusReports
// refuses it), the latest such report's, or "" when there is none (or no
// entry).
func (s *Service) undesiredStatus(ctx context.Context, mds metadata.Provider, aaguid string) string {
	entry := metadataEntry(ctx, mds, aaguid)
	if entry == nil || mds.ValidateStatusReports(ctx, entry.StatusReports) == nil {
		return ""
	}
	status := string(metadata.Revoked) // refused for a reason not listed below: treat as revoked
	for _, r := range metadata.EffectiveStatusReports(entry.StatusReports, s.now()) {
		if slices.Contains(undesiredStatuses, r.Status) {
			status = string(r.Status)
		}
	}
	return status
}
