package console

import (
	"cmp"
	"context"
	"slices"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Drill-down: the dashboard's sign-in statistics for one app or one
// method (or both) — sign-ins and failures per bucket, failures by
// reason, and the other dimension's split — from one grouped read of the
// rollups.

// DrillFilter narrows the statistics: ClientID, when set, to one app (""
// is the account page); Method, when set, to one sign-in method.
type DrillFilter struct {
	ClientID *string
	Method   string
}

// Drilldown is the statistics of one app or method over a range.
type Drilldown struct {
	Range StatsRange
	// Client and Method are the filter in words ("" when not filtered).
	Client, Method string
	SignIns        int64
	Failures       int64
	// FailureRate is failures over all attempts, 0..1.
	FailureRate float64
	// Chart stacks sign-ins and failures per bucket.
	Chart TimeChart
	// Reasons are the failures by reason, most first.
	Reasons []Count
	// ByMethod (for an app) or ByClient (for a method): successful
	// sign-ins of the other dimension, most first.
	ByMethod []Count
	ByClient []Count
}

// Drilldown computes the statistics f selects over r.
func (s *StatsService) Drilldown(ctx context.Context, r StatsRange, f DrillFilter) (*Drilldown, error) {
	if f.Method != "" && !slices.Contains(methodOrder, f.Method) {
		return nil, invalid("method", "one of passkey, passlink, password_security_key")
	}
	if f.ClientID != nil && len(*f.ClientID) > MaxQueryLen {
		return nil, invalid("client_id", "at most %d characters", MaxQueryLen)
	}
	names, err := s.clientNames(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	from, to := r.bounds(now)
	d := &Drilldown{Range: r, Chart: TimeChart{Times: r.times(from), Step: r.Step}}
	if f.ClientID != nil {
		d.Client = clientName(names, *f.ClientID)
	}
	if f.Method != "" {
		d.Method = MethodName(f.Method)
	}
	q := store.CountQuery{Grain: r.Grain, From: from, To: to, Event: models.EventLogin, ClientID: f.ClientID,
		By: []string{"bucket", "method", "client_id", "result", "reason"}}
	if f.Method != "" {
		q.Methods = []string{f.Method}
	}
	rows, err := s.st.CountAuthEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	ok, failed := make([]int64, len(d.Chart.Times)), make([]int64, len(d.Chart.Times))
	reasons, methods, clients := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, row := range rows {
		i := int(row.Bucket.Sub(from) / r.Step)
		if i < 0 || i >= len(ok) {
			continue
		}
		switch row.Result {
		case models.ResultSuccess:
			ok[i] += row.Total
			d.SignIns += row.Total
			methods[row.Method] += row.Total
			clients[row.ClientID] += row.Total
		case models.ResultFailure:
			failed[i] += row.Total
			d.Failures += row.Total
			reasons[row.Reason] += row.Total
		}
	}
	d.FailureRate = ratio(d.Failures, d.SignIns+d.Failures)
	d.Chart.Series = []Series{series("success", "Signed in", ok), series("failure", "Failed", failed)}
	for reason, n := range reasons {
		text := "unspecified"
		if reason != "" {
			text = reason
		}
		d.Reasons = append(d.Reasons, Count{Key: reason, Name: ReasonText(text), Total: n})
	}
	for m, n := range methods {
		d.ByMethod = append(d.ByMethod, Count{Key: m, Name: MethodName(m), Total: n})
	}
	for id, n := range clients {
		d.ByClient = append(d.ByClient, Count{Key: id, Name: clientName(names, id), Total: n})
	}
	for _, l := range [][]Count{d.Reasons, d.ByMethod, d.ByClient} {
		slices.SortFunc(l, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Name, b.Name)) })
	}
	return d, nil
}
