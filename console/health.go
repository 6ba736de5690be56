package console

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Credential health: which passkeys and security keys need attention, in
// total (the dashboard card, the health page, GET /credentials/health) and
// per user (the user page). The findings' rules are the store's
// (models/store/health.go); this service supplies what they are judged
// against: the stale date, the policy's AAGUID lists, and the models that
// status sources report compromised.

// StaleAfter is how long a credential may go unused before it is stale.
const StaleAfter = 90 * 24 * time.Hour

// ModelStatusSource reports authenticator models (AAGUIDs, any case)
// whose credentials should be treated as compromised, with the status in
// words ("revoked", "user key remote compromise"). FIDO metadata is one
// such source; each is one more entry in Health's list.
type ModelStatusSource interface {
	CompromisedModels(ctx context.Context) (map[string]string, error)
}

// healthStore backs Health.
type healthStore interface {
	CountCredentialHealth(ctx context.Context, q store.HealthQuery) (store.HealthCounts, error)
	ListCredentialHealth(ctx context.Context, f store.HealthFilter, limit int) ([]store.CredentialHealth, error)
	FIDOMetadataState(ctx context.Context, id string) (*models.FIDOMetadata, error)
	UsersWithOnlySyncedPasskeys(ctx context.Context, limit int) (int64, []models.User, error)
}

// Health computes credential health.
type Health struct {
	// names names authenticator models (SetModelNamer).
	names   ModelNamer
	st      healthStore
	live    LivePolicy
	sources []ModelStatusSource
	now     func() time.Time
	// metadataInForce reports whether FIDO metadata is in force (fetched
	// or a hand-supplied file): the metadata check then flags the
	// credentials of compromised models, so the finding is judged.
	metadataInForce func(ctx context.Context) bool
}

// AddStatusSource adds a source of compromised models (at wiring time,
// before serving).
func (h *Health) AddStatusSource(s ModelStatusSource) { h.sources = append(h.sources, s) }

// HealthItem is one finding with its counts.
type HealthItem struct {
	Finding     string `json:"finding"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Problem: the finding asks for action (synced and device-bound are
	// facts, not problems).
	Problem     bool  `json:"problem"`
	Credentials int64 `json:"credentials"`
	Users       int64 `json:"users"`
	// Checked is false when nothing could judge the finding (no status
	// source for compromised models): its counts are then 0, not "none".
	Checked bool `json:"checked"`
}

// HealthSummary is credential health over every credential.
type HealthSummary struct {
	Credentials int64  `json:"credentials"`
	Users       int64  `json:"users"`
	StaleAfter  string `json:"stale_after"`
	// SyncedShare is the share of the credentials that may sync between
	// devices (backup eligible), 0..1.
	SyncedShare float64 `json:"synced_share"`
	// OnlySyncedUsers counts the people whose every passkey syncs: whom
	// blocking synced passkeys would leave without one that signs in.
	OnlySyncedUsers int64        `json:"only_synced_users"`
	Items           []HealthItem `json:"items"`
}

// findingText are the findings in words: title and what to do.
var findingText = map[string][2]string{
	store.FindingCloneWarning:     {"Possibly cloned", "The signature counter went backwards, so a copy of the key may exist. Sesame refuses it; remove it and ask the user to add a new one."},
	store.FindingCompromisedModel: {"Compromised model", "FIDO metadata reports the authenticator model compromised or revoked (see the policy's suspend setting)."},
	store.FindingDeniedModel:      {"Model not allowed", "The authenticator model is on the policy's deny list (or off its allow list): it can no longer sign in."},
	store.FindingNeverUsed:        {"Never used", "Registered, and not used to sign in since."},
	store.FindingStale:            {"Unused for 90 days", "Not used (or, never used, registered) in the last 90 days: the device may be lost or replaced."},
	store.FindingSynced:           {"Synced", "Backed up by a passkey manager and usable on the user's other devices."},
	store.FindingDeviceBound:      {"Device-bound", "Cannot leave the authenticator it was created on."},
}

// FindingTitle is a finding's name in words.
func FindingTitle(f string) string { return findingText[f][0] }

// isProblem reports whether a finding asks for action.
func isProblem(f string) bool { return f != store.FindingSynced && f != store.FindingDeviceBound }

// query is what the findings are judged against now.
func (h *Health) query(ctx context.Context) (store.HealthQuery, bool, error) {
	q := store.HealthQuery{StaleBefore: h.now().Add(-StaleAfter)}
	p, err := h.live.Current(ctx)
	if err != nil {
		return q, false, err
	}
	q.DeniedAAGUIDs, q.AllowedAAGUIDs = normAAGUIDs(p.AAGUIDDeny), normAAGUIDs(p.AAGUIDAllow)
	bad := map[string]bool{}
	for _, s := range h.sources {
		m, err := s.CompromisedModels(ctx)
		if err != nil {
			return q, false, err
		}
		for id := range m {
			bad[id] = true
		}
	}
	q.CompromisedAAGUIDs = normAAGUIDs(slices.Collect(maps.Keys(bad)))
	// Compromised models are known once FIDO metadata was loaded (its
	// check flags the credentials: fetched, or a hand-supplied file) or a
	// source answered.
	checked := len(h.sources) > 0 || (h.metadataInForce != nil && h.metadataInForce(ctx))
	if m, err := h.st.FIDOMetadataState(ctx, models.FIDOMetadataMDS3); err == nil {
		checked = checked || m.FetchedAt != nil
	} else if !errors.Is(err, models.ErrNotFound) {
		return q, false, err
	}
	return q, checked, nil
}

// normAAGUIDs writes AAGUIDs as the store keeps them (lower-case UUID
// text); entries that are not UUIDs are left out (the policy refuses them
// on save).
func normAAGUIDs(in []string) []string {
	var out []string
	for _, s := range in {
		if id, err := uuid.Parse(strings.TrimSpace(s)); err == nil {
			out = append(out, id.String())
		}
	}
	slices.Sort(out)
	return out
}

// Summary counts every finding.
func (h *Health) Summary(ctx context.Context) (*HealthSummary, error) {
	q, checked, err := h.query(ctx)
	if err != nil {
		return nil, err
	}
	c, err := h.st.CountCredentialHealth(ctx, q)
	if err != nil {
		return nil, err
	}
	only, _, err := h.st.UsersWithOnlySyncedPasskeys(ctx, 0)
	if err != nil {
		return nil, err
	}
	out := &HealthSummary{Credentials: c.Total.Credentials, Users: c.Total.Users, StaleAfter: "2160h", OnlySyncedUsers: only}
	if c.Total.Credentials > 0 {
		out.SyncedShare = float64(c.By[store.FindingSynced].Credentials) / float64(c.Total.Credentials)
	}
	for _, f := range store.Findings {
		it := HealthItem{Finding: f, Title: findingText[f][0], Description: findingText[f][1], Problem: isProblem(f),
			Credentials: c.By[f].Credentials, Users: c.By[f].Users, Checked: f != store.FindingCompromisedModel || checked}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// CredentialHealthView is a credential with its owner and findings.
type CredentialHealthView struct {
	CredentialView
	UserID   string   `json:"user_id"`
	Email    string   `json:"email"`
	Findings []string `json:"findings"`
}

// HealthListQuery selects credentials: Finding ("" for all), UserID
// (optional), a cursor from the previous page, a page size.
type HealthListQuery struct {
	Finding string
	UserID  string
	Cursor  string
	Limit   int
}

// List returns a page of the credentials q selects, by id.
func (h *Health) List(ctx context.Context, lq HealthListQuery) (List[CredentialHealthView], error) {
	var out List[CredentialHealthView]
	if lq.Finding != "" && !slices.Contains(store.Findings, lq.Finding) {
		return out, invalid("finding", "one of %s", strings.Join(store.Findings, ", "))
	}
	if len(lq.UserID) > MaxQueryLen || len(lq.Cursor) > MaxQueryLen {
		return out, invalid("cursor", "at most %d characters", MaxQueryLen)
	}
	q, _, err := h.query(ctx)
	if err != nil {
		return out, err
	}
	limit := ClampLimit(lq.Limit)
	rows, err := h.st.ListCredentialHealth(ctx, store.HealthFilter{HealthQuery: q, Finding: lq.Finding, UserID: lq.UserID, AfterID: lq.Cursor}, limit+1)
	if err != nil {
		return out, err
	}
	if len(rows) > limit {
		rows, out.HasMore = rows[:limit], true
	}
	out.Items = make([]CredentialHealthView, 0, len(rows))
	for _, r := range rows {
		c := r.WebAuthnCredential
		out.Items = append(out.Items, CredentialHealthView{
			CredentialView: CredentialView{ID: c.ID, Kind: c.Kind, Name: c.Name, AAGUID: c.AAGUID, Model: h.names.name(ctx, c.AAGUID),
				Synced: c.BackupEligible, UV: c.UserVerified, Flagged: c.CloneWarning, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt},
			UserID: c.UserID, Email: r.Email, Findings: nonNil(r.Findings)})
	}
	if out.HasMore {
		out.NextCursor = rows[len(rows)-1].ID
	}
	return out, nil
}

// OfUser returns the findings of each of a user's credentials (by id).
func (h *Health) OfUser(ctx context.Context, userID string) (map[string][]string, error) {
	l, err := h.List(ctx, HealthListQuery{UserID: userID, Limit: MaxLimit})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(l.Items))
	for _, c := range l.Items {
		out[c.ID] = c.Findings
	}
	return out, nil
}
