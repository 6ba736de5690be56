package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/models"
)

// Credential health: which registered passkeys and security keys need an
// administrator's attention. Each finding is one SQL condition over a
// credential row, written once in healthConditions: the counts, the list
// of affected credentials and a user's own credentials all evaluate the
// same text, so the dashboard card, the health page and the user page
// cannot disagree.

// Credential findings (HealthFilter.Finding, HealthCounts.By).
const (
	// FindingNeverUsed: registered, and no sign-in with it since.
	FindingNeverUsed = "never_used"
	// FindingStale: not used (nor registered) since HealthQuery.StaleBefore.
	FindingStale = "stale"
	// FindingCloneWarning: its signature counter went backwards; it is
	// refused from then on.
	FindingCloneWarning = "clone_warning"
	// FindingDeniedModel: its authenticator model (AAGUID) is on the
	// policy's deny list, or off its allow list when there is one.
	FindingDeniedModel = "denied_model"
	// FindingCompromisedModel: FIDO metadata reports its model
	// compromised or revoked (the credential's compromised_status, set by
	// the metadata check), or a status source names its AAGUID.
	FindingCompromisedModel = "compromised_model"
	// FindingSynced and FindingDeviceBound split the credentials by
	// backup eligibility: facts more than problems, counted alike.
	FindingSynced      = "synced"
	FindingDeviceBound = "device_bound"
)

// Findings lists the findings in the order the console shows them.
var Findings = []string{FindingCloneWarning, FindingCompromisedModel, FindingDeniedModel, FindingNeverUsed, FindingStale, FindingSynced, FindingDeviceBound}

// HealthQuery is what the findings are judged against.
type HealthQuery struct {
	// StaleBefore: a credential last used (or, never used, registered)
	// before it is stale. Zero: nothing is stale.
	StaleBefore time.Time
	// DeniedAAGUIDs are the deny-listed models; AllowedAAGUIDs, when not
	// empty, the only models allowed (lower-case UUID text, as stored).
	DeniedAAGUIDs  []string
	AllowedAAGUIDs []string
	// CompromisedAAGUIDs are the models a status source reports
	// compromised.
	CompromisedAAGUIDs []string
}

// condition is a finding's SQL with its arguments.
type condition struct {
	sql  string
	args []any
}

// never is a condition no row meets (portable: no boolean literal).
var never = condition{sql: "1 = 0"}

func inList(col string, vals []string) condition {
	if len(vals) == 0 {
		return never
	}
	return condition{sql: col + " IN ?", args: []any{vals}}
}

// healthConditions are the findings' conditions, in Findings order, over
// the credentials table named t ("" when it is the only one).
func (q HealthQuery) healthConditions(t string) []condition {
	if t != "" {
		t += "."
	}
	stale := never
	if !q.StaleBefore.IsZero() {
		stale = condition{sql: "COALESCE(" + t + "last_used_at, " + t + "created_at) < ?", args: []any{dbTime(q.StaleBefore)}}
	}
	// The FIDO metadata check marks each credential of a compromised or
	// revoked model (compromised_status); sources add models by AAGUID.
	bad := inList(t+"aaguid", q.CompromisedAAGUIDs)
	compromised := condition{sql: "(" + t + "compromised_status <> '' OR " + bad.sql + ")", args: bad.args}
	denied := inList(t+"aaguid", q.DeniedAAGUIDs)
	if len(q.AllowedAAGUIDs) > 0 {
		denied = condition{sql: "(" + denied.sql + " OR " + t + "aaguid NOT IN ?)", args: append(denied.args, q.AllowedAAGUIDs)}
	}
	return []condition{
		{sql: t + "clone_warning = ?", args: []any{true}},
		compromised,
		denied,
		{sql: t + "last_used_at IS NULL"},
		stale,
		{sql: t + "backup_eligible = ?", args: []any{true}},
		{sql: t + "backup_eligible = ?", args: []any{false}},
	}
}

// conditionOf returns the condition of a finding over table t.
func (q HealthQuery) conditionOf(t, finding string) (condition, error) {
	for i, f := range Findings {
		if f == finding {
			return q.healthConditions(t)[i], nil
		}
	}
	return condition{}, fmt.Errorf("unknown credential finding %q", finding)
}

// HealthCount is how many credentials, of how many users, have a finding.
type HealthCount struct {
	Credentials int64
	Users       int64
}

// HealthCounts are the totals and each finding's count.
type HealthCounts struct {
	Total HealthCount
	By    map[string]HealthCount
}

// CountCredentialHealth counts the credentials and their users, in total
// and per finding: one statement, one pass over the credentials table
// (small beside the events: a handful of rows per user).
func (s *Store) CountCredentialHealth(ctx context.Context, q HealthQuery) (HealthCounts, error) {
	conds := q.healthConditions("")
	var sel strings.Builder
	var args []any
	sel.WriteString("SELECT COUNT(*), COUNT(DISTINCT user_id)")
	for _, c := range conds {
		sel.WriteString(", SUM(CASE WHEN " + c.sql + " THEN 1 ELSE 0 END), COUNT(DISTINCT CASE WHEN " + c.sql + " THEN user_id END)")
		args = append(args, c.args...)
		args = append(args, c.args...)
	}
	sel.WriteString(" FROM webauthn_credentials")
	out := HealthCounts{By: make(map[string]HealthCount, len(Findings))}
	sums := make([]*int64, 2*len(conds)) // SUM over no rows is NULL
	dest := []any{&out.Total.Credentials, &out.Total.Users}
	for i := range sums {
		dest = append(dest, &sums[i])
	}
	if err := s.conn(ctx).Raw(sel.String(), args...).Row().Scan(dest...); err != nil {
		return out, mapErr("count credential health", err)
	}
	for i, f := range Findings {
		var c HealthCount
		if sums[2*i] != nil {
			c.Credentials = *sums[2*i]
		}
		if sums[2*i+1] != nil {
			c.Users = *sums[2*i+1]
		}
		out.By[f] = c
	}
	return out, nil
}

// HealthFilter selects credentials with their findings.
type HealthFilter struct {
	HealthQuery
	// Finding keeps only credentials with it; "" keeps all.
	Finding string
	// UserID keeps only one user's credentials.
	UserID string
	// AfterID pages on: credentials whose id sorts after it.
	AfterID string
}

// CredentialHealth is a credential with its owner's address and its
// findings (in Findings order).
type CredentialHealth struct {
	models.WebAuthnCredential
	Email    string
	Findings []string
}

// ListCredentialHealth returns up to limit credentials f selects, by id,
// each with its findings evaluated by the same conditions as the counts.
func (s *Store) ListCredentialHealth(ctx context.Context, f HealthFilter, limit int) ([]CredentialHealth, error) {
	conds := f.healthConditions("c")
	cols := "c.*, u.email AS email"
	var args []any
	for i, c := range conds {
		cols += fmt.Sprintf(", CASE WHEN %s THEN 1 ELSE 0 END AS f%d", c.sql, i)
		args = append(args, c.args...)
	}
	tx := s.conn(ctx).Table("webauthn_credentials AS c").Joins("JOIN users u ON u.id = c.user_id").Select(cols, args...)
	if f.Finding != "" {
		c, err := f.conditionOf("c", f.Finding)
		if err != nil {
			return nil, fmt.Errorf("list credential health: %w", err)
		}
		tx = tx.Where(c.sql, c.args...)
	}
	if f.UserID != "" {
		tx = tx.Where("c.user_id = ?", f.UserID)
	}
	if f.AfterID != "" {
		tx = tx.Where("c.id > ?", f.AfterID)
	}
	rows, err := tx.Order("c.id").Limit(limit).Rows()
	if err != nil {
		return nil, mapErr("list credential health", err)
	}
	defer func() { _ = rows.Close() }()
	var out []CredentialHealth
	for rows.Next() {
		var r struct {
			models.WebAuthnCredential
			Email                      string
			F0, F1, F2, F3, F4, F5, F6 int
		}
		if err := s.conn(ctx).ScanRows(rows, &r); err != nil {
			return nil, mapErr("list credential health", err)
		}
		flags := []int{r.F0, r.F1, r.F2, r.F3, r.F4, r.F5, r.F6}
		h := CredentialHealth{WebAuthnCredential: r.WebAuthnCredential, Email: r.Email}
		for i, on := range flags {
			if on == 1 {
				h.Findings = append(h.Findings, Findings[i])
			}
		}
		out = append(out, h)
	}
	return out, mapErr("list credential health", rows.Err())
}
