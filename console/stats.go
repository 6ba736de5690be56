package console

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// The statistics service reads the rollups the store keeps beside the auth
// events (per-minute and per-hour counters, active user days) and the
// credentials table. No query here scans a range of raw auth_events, which
// is what keeps the dashboard fast with millions of events (see
// stats_bench_test.go for the figures).

// StatsRange is a time range of the dashboard and its bucket size.
type StatsRange struct {
	Name  string // "1h", "24h", "7d", "30d"
	Label string // "Last hour"
	Span  time.Duration
	Step  time.Duration
	// Grain is the rollup read: a minute, an hour or a day (the step is a
	// multiple of it).
	Grain time.Duration
}

// StatsRanges are the ranges the dashboard offers.
var StatsRanges = []StatsRange{
	{Name: "1h", Label: "Last hour", Span: time.Hour, Step: time.Minute, Grain: time.Minute},
	{Name: "24h", Label: "Last 24 hours", Span: 24 * time.Hour, Step: time.Hour, Grain: time.Hour},
	{Name: "7d", Label: "Last 7 days", Span: 7 * 24 * time.Hour, Step: 3 * time.Hour, Grain: time.Hour},
	{Name: "30d", Label: "Last 30 days", Span: 30 * 24 * time.Hour, Step: 24 * time.Hour, Grain: 24 * time.Hour},
}

// RangeByName returns the named range, or 24h for an unknown name.
func RangeByName(name string) StatsRange {
	for _, r := range StatsRanges {
		if r.Name == name {
			return r
		}
	}
	return StatsRanges[1]
}

// Series is one line of a chart: a count per bucket.
type Series struct {
	Key    string
	Name   string
	Points []int64
	Total  int64
}

// TimeChart is counts over time: Times[i] starts bucket i.
type TimeChart struct {
	Times  []time.Time
	Step   time.Duration
	Series []Series
}

// Max is the largest point of any series.
func (c TimeChart) Max() int64 {
	var m int64
	for _, s := range c.Series {
		for _, p := range s.Points {
			m = max(m, p)
		}
	}
	return m
}

// MaxStack is the largest bucket of all series added up (the top of a
// stacked bar chart).
func (c TimeChart) MaxStack() int64 {
	var m int64
	for i := range c.Times {
		var sum int64
		for _, s := range c.Series {
			if i < len(s.Points) {
				sum += s.Points[i]
			}
		}
		m = max(m, sum)
	}
	return m
}

// Total sums every series.
func (c TimeChart) Total() int64 {
	var t int64
	for _, s := range c.Series {
		t += s.Total
	}
	return t
}

// Count is a named number.
type Count struct {
	Key   string
	Name  string
	Total int64
}

// Headline is the row of numbers at the top of the dashboard.
type Headline struct {
	SignInsToday  int64 `json:"signInsToday"`
	FailuresToday int64 `json:"failuresToday"`
	ActiveToday   int64 `json:"activeToday"`
	ActiveMonth   int64 `json:"activeMonth"`
	// PasskeySignInsToday is the passkey share of today's sign-ins, 0..1.
	PasskeySignInsToday float64 `json:"passkeySignInsToday"`
	// PasskeyUsers is the share of monthly active users with a passkey.
	PasskeyUsers float64 `json:"passkeyUsers"`
}

// Adoption is how passkeys spread in the range.
type Adoption struct {
	SignIns        int64   // successful sign-ins
	PasskeySignIns int64   // of which by passkey
	PasskeyShare   float64 // PasskeySignIns / SignIns
	ActiveUsers    int64   // users with a sign-in in the range (whole days)
	WithPasskey    int64   // of which have a passkey
	UserShare      float64
	Fallbacks      int64 // passlink sign-ins
	FallbackToKey  int64 // passlink sign-ins followed by a new passkey within FallbackWindow
}

// Credentials summarises the registered WebAuthn credentials.
type Credentials struct {
	Passkeys     int64
	SecurityKeys int64
	Synced       int64 // backup eligible: a passkey manager syncs it
	DeviceBound  int64
	TopModels    []Count
}

// Dashboard is everything the dashboard shows for one range.
type Dashboard struct {
	Range       StatsRange
	Now         time.Time
	Headline    Headline
	ByMethod    TimeChart
	ByClient    TimeChart
	NewAccounts TimeChart
	Failures    []Count // by method and reason, most first
	Adoption    Adoption
	Credentials Credentials
}

// StatsService computes the console's statistics.
type StatsService struct {
	log *slog.Logger
	st  StatsStore
	now func() time.Time
	hub *statsHub
	// closed ends every live stream (Close, at server shutdown).
	closed    chan struct{}
	closeOnce sync.Once
}

// Close ends every open live-feed stream now and any opened later: a
// server shutting down must not wait for dashboards left open.
func (s *StatsService) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// StatsOptions tune the service; zero values are fine.
type StatsOptions struct {
	// Now is the clock (tests); time.Now by default.
	Now func() time.Time
	// PollInterval is how often the live feed looks for new events in the
	// database besides when woken (Wake, from the store's change feed):
	// 2 s by default, a safety net only (one indexed query, and only while
	// a dashboard is open).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// NewStatsService returns the statistics service over st.
func NewStatsService(st StatsStore, opts StatsOptions) *StatsService {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &StatsService{st: st, log: opts.Logger, now: func() time.Time { return opts.Now().UTC() }, closed: make(chan struct{})}
	s.hub = newStatsHub(s, opts.PollInterval)
	return s
}

// MethodName is how the console names a sign-in method.
func MethodName(m string) string {
	switch m {
	case models.MethodPasskey:
		return "Passkey"
	case models.MethodPasslink:
		return "Email link"
	case models.MethodPasswordKey:
		return "Password + security key"
	case models.MethodRecoveryCode:
		return "Recovery code"
	case models.MethodUpstream:
		return "Upstream provider"
	case "":
		return "Unknown"
	}
	return m
}

// methodOrder keeps the method colours stable from chart to chart.
var methodOrder = []string{models.MethodPasskey, models.MethodPasslink, models.MethodPasswordKey, models.MethodUpstream}

// maxClientSeries is how many clients get their own line; the rest are
// summed as "Other apps".
const maxClientSeries = 5

// bounds returns the start of the first bucket and the end of the last one
// (the current, partial bucket included).
func (r StatsRange) bounds(now time.Time) (from, to time.Time) {
	to = now.Truncate(r.Step).Add(r.Step)
	return to.Add(-r.Span), to
}

func (r StatsRange) times(from time.Time) []time.Time {
	n := int(r.Span / r.Step)
	out := make([]time.Time, n)
	for i := range out {
		out[i] = from.Add(time.Duration(i) * r.Step)
	}
	return out
}

// Headline computes the numbers at the top of the dashboard.
func (s *StatsService) Headline(ctx context.Context) (Headline, error) {
	now := s.now()
	day := now.Truncate(24 * time.Hour)
	var h Headline
	rows, err := s.st.CountAuthEvents(ctx, store.CountQuery{Grain: 24 * time.Hour, From: day, To: day.Add(24 * time.Hour),
		Event: models.EventLogin, By: []string{"method", "result"}})
	if err != nil {
		return h, err
	}
	var passkeys int64
	for _, r := range rows {
		switch r.Result {
		case models.ResultSuccess:
			h.SignInsToday += r.Total
			if r.Method == models.MethodPasskey {
				passkeys += r.Total
			}
		case models.ResultFailure:
			h.FailuresToday += r.Total
		}
	}
	h.PasskeySignInsToday = ratio(passkeys, h.SignInsToday)
	if h.ActiveToday, err = s.st.CountActiveUsersSince(ctx, day, false); err != nil {
		return h, err
	}
	monthFrom := day.Add(-29 * 24 * time.Hour)
	if h.ActiveMonth, err = s.st.CountActiveUsersSince(ctx, monthFrom, false); err != nil {
		return h, err
	}
	withKey, err := s.st.CountActiveUsersSince(ctx, monthFrom, true)
	if err != nil {
		return h, err
	}
	h.PasskeyUsers = ratio(withKey, h.ActiveMonth)
	return h, nil
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Dashboard computes the whole dashboard for range r.
func (s *StatsService) Dashboard(ctx context.Context, r StatsRange) (*Dashboard, error) {
	now := s.now()
	from, to := r.bounds(now)
	d := &Dashboard{Range: r, Now: now}
	var err error
	if d.Headline, err = s.Headline(ctx); err != nil {
		return nil, err
	}
	times := r.times(from)
	index := func(t time.Time) int {
		i := int(t.Sub(from) / r.Step)
		if i < 0 || i >= len(times) {
			return -1
		}
		return i
	}

	// Successful sign-ins by bucket and method, and by bucket and client:
	// two narrow GROUP BYs return fewer rows than one over both.
	rows, err := s.st.CountAuthEvents(ctx, store.CountQuery{Grain: r.Grain, From: from, To: to,
		Event: models.EventLogin, Result: models.ResultSuccess, By: []string{"bucket", "method"}})
	if err != nil {
		return nil, err
	}
	byMethod := map[string][]int64{}
	for _, row := range rows {
		i := index(row.Bucket)
		if i < 0 {
			continue
		}
		if byMethod[row.Method] == nil {
			byMethod[row.Method] = make([]int64, len(times))
		}
		byMethod[row.Method][i] += row.Total
	}
	rows, err = s.st.CountAuthEvents(ctx, store.CountQuery{Grain: r.Grain, From: from, To: to,
		Event: models.EventLogin, Result: models.ResultSuccess, By: []string{"bucket", "client_id"}})
	if err != nil {
		return nil, err
	}
	byClient := map[string][]int64{}
	clientTotals := map[string]int64{}
	for _, row := range rows {
		i := index(row.Bucket)
		if i < 0 {
			continue
		}
		if byClient[row.ClientID] == nil {
			byClient[row.ClientID] = make([]int64, len(times))
		}
		byClient[row.ClientID][i] += row.Total
		clientTotals[row.ClientID] += row.Total
	}
	d.ByMethod = TimeChart{Times: times, Step: r.Step}
	methods := slices.Clone(methodOrder)
	for m := range byMethod {
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	for _, m := range methods {
		pts := byMethod[m]
		if pts == nil {
			if !slices.Contains(methodOrder, m) {
				continue
			}
			pts = make([]int64, len(times))
		}
		d.ByMethod.Series = append(d.ByMethod.Series, series(m, MethodName(m), pts))
	}
	names, err := s.clientNames(ctx)
	if err != nil {
		return nil, err
	}
	d.ByClient = TimeChart{Times: times, Step: r.Step}
	ids := make([]string, 0, len(byClient))
	for id := range byClient {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(clientTotals[b], clientTotals[a]), cmp.Compare(a, b))
	})
	other := make([]int64, len(times))
	for i, id := range ids {
		if i < maxClientSeries {
			d.ByClient.Series = append(d.ByClient.Series, series(id, clientName(names, id), byClient[id]))
			continue
		}
		for j, p := range byClient[id] {
			other[j] += p
		}
	}
	if len(ids) > maxClientSeries {
		d.ByClient.Series = append(d.ByClient.Series, series("other", "Other apps", other))
	}

	// Failures by method and reason.
	fails, err := s.st.CountAuthEvents(ctx, store.CountQuery{Grain: r.Grain, From: from, To: to,
		Result: models.ResultFailure, By: []string{"method", "reason"}})
	if err != nil {
		return nil, err
	}
	for _, f := range fails {
		reason := f.Reason
		if reason == "" {
			reason = "unspecified"
		}
		d.Failures = append(d.Failures, Count{Key: f.Method + ":" + f.Reason, Name: MethodName(f.Method) + ": " + ReasonText(reason), Total: f.Total})
	}
	slices.SortFunc(d.Failures, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Name, b.Name)) })

	// New accounts (hourly counts, re-bucketed; ranges under an hour use
	// the hour as the bucket too, so they are shown per hour).
	accStep := max(r.Step, time.Hour)
	var acc map[time.Time]int64
	if accStep%(24*time.Hour) == 0 {
		acc, err = s.st.NewAccountsPerDay(ctx, from.Truncate(24*time.Hour), to)
	} else {
		acc, err = s.st.NewAccountsPerHour(ctx, from.Truncate(time.Hour), to)
	}
	if err != nil {
		return nil, err
	}
	accFrom := from.Truncate(accStep)
	nacc := int((to.Sub(accFrom) + accStep - 1) / accStep)
	accPts := make([]int64, nacc)
	accTimes := make([]time.Time, nacc)
	for i := range accTimes {
		accTimes[i] = accFrom.Add(time.Duration(i) * accStep)
	}
	for h, n := range acc {
		if i := int(h.Sub(accFrom) / accStep); i >= 0 && i < nacc {
			accPts[i] += n
		}
	}
	d.NewAccounts = TimeChart{Times: accTimes, Step: accStep, Series: []Series{series("new", "New accounts", accPts)}}

	if d.Adoption, err = s.adoption(ctx, r, from, to, d.ByMethod); err != nil {
		return nil, err
	}
	if d.Credentials, err = s.credentials(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func series(key, name string, pts []int64) Series {
	var t int64
	for _, p := range pts {
		t += p
	}
	return Series{Key: key, Name: name, Points: pts, Total: t}
}

func (s *StatsService) adoption(ctx context.Context, r StatsRange, from, to time.Time, byMethod TimeChart) (Adoption, error) {
	var a Adoption
	for _, se := range byMethod.Series {
		a.SignIns += se.Total
		switch se.Key {
		case models.MethodPasskey:
			a.PasskeySignIns = se.Total
		case models.MethodPasslink:
			a.Fallbacks = se.Total
		}
	}
	a.PasskeyShare = ratio(a.PasskeySignIns, a.SignIns)
	fb, err := s.st.CountAuthEvents(ctx, store.CountQuery{Grain: r.Grain, From: from, To: to, Event: models.EventPasskeyAfterFallback})
	if err != nil {
		return a, err
	}
	for _, row := range fb {
		a.FallbackToKey += row.Total
	}
	// Active users are kept per day: the range's whole days (every range
	// ends now, so "last active on or after its first day" is the count).
	dayFrom := from.Truncate(24 * time.Hour)
	if a.ActiveUsers, err = s.st.CountActiveUsersSince(ctx, dayFrom, false); err != nil {
		return a, err
	}
	if a.WithPasskey, err = s.st.CountActiveUsersSince(ctx, dayFrom, true); err != nil {
		return a, err
	}
	a.UserShare = ratio(a.WithPasskey, a.ActiveUsers)
	return a, nil
}

// topModels is how many authenticator models the dashboard lists.
const topModels = 8

func (s *StatsService) credentials(ctx context.Context) (Credentials, error) {
	var c Credentials
	rows, err := s.st.CountCredentials(ctx)
	if err != nil {
		return c, err
	}
	byModel := map[string]int64{}
	for _, r := range rows {
		switch r.Kind {
		case models.CredentialSecurityKey:
			c.SecurityKeys += r.Total
		default:
			c.Passkeys += r.Total
		}
		if r.BackupEligible {
			c.Synced += r.Total
		} else {
			c.DeviceBound += r.Total
		}
		name := passkey.AuthenticatorName(r.AAGUID)
		if name == "" {
			name = unknownModel
		}
		byModel[name] += r.Total
	}
	for name, n := range byModel {
		c.TopModels = append(c.TopModels, Count{Key: name, Name: name, Total: n})
	}
	slices.SortFunc(c.TopModels, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Name, b.Name)) })
	if len(c.TopModels) > topModels {
		c.TopModels = c.TopModels[:topModels]
	}
	return c, nil
}

// clientNames maps client ids to names (clients are few).
func (s *StatsService) clientNames(ctx context.Context) (map[string]string, error) {
	cs, err := s.st.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.ID] = c.Name
	}
	return out, nil
}

func clientName(names map[string]string, id string) string {
	switch {
	case id == "":
		return "Account page"
	case id == "other":
		return "Other apps"
	case names[id] != "":
		return names[id]
	}
	return id + " (deleted)"
}

// unknownModel names the authenticators FIDO metadata does not know.
const unknownModel = "Unknown model"

// FeedItem is one line of the live feed.
type FeedItem struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Time   string    `json:"time"` // "15:04:05" UTC
	User   string    `json:"user"`
	Method string    `json:"method"`
	Client string    `json:"client"`
	Event  string    `json:"event"` // "Signed in", "Sign-in failed", "Passkey added" …
	OK     bool      `json:"ok"`
	Reason string    `json:"reason,omitempty"`
	// codes are what the words above say, for the console to say them in
	// the admin's language (ui_words.go).
	codes feedCodes
}

// feedCodes are a feed line's stored codes.
type feedCodes struct {
	event, result, reason, method, clientID string
	// user is "unknown" (no user id) or "deleted" when the line names no
	// address; signup marks a sign-up.
	user   string
	signup bool
}

// feedEvent reports whether e belongs in the live feed: sign-ins and new
// credentials, not the steps of a passlink (request, approve).
func feedEvent(e *models.AuthEvent) bool {
	return e.Event == models.EventLogin || e.Event == models.EventRegister
}

// Feed returns the latest sign-ins and registrations, newest first.
func (s *StatsService) Feed(ctx context.Context, limit int) ([]FeedItem, error) {
	evs, err := s.st.RecentAuthEvents(ctx, time.Time{}, limit*2)
	if err != nil {
		return nil, err
	}
	items, err := s.feedItems(ctx, evs)
	if err != nil {
		return nil, err
	}
	if len(items) > limit {
		items = items[:limit]
	}
	return items, nil
}

func (s *StatsService) feedItems(ctx context.Context, evs []models.AuthEvent) ([]FeedItem, error) {
	var ids []string
	for i := range evs {
		if feedEvent(&evs[i]) && evs[i].UserID != "" && !slices.Contains(ids, evs[i].UserID) {
			ids = append(ids, evs[i].UserID)
		}
	}
	users, err := s.st.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	names, err := s.clientNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []FeedItem
	for i := range evs {
		e := &evs[i]
		if !feedEvent(e) {
			continue
		}
		it := FeedItem{ID: e.ID, At: e.At.UTC(), Time: e.At.UTC().Format("15:04:05"), Method: MethodName(e.Method),
			Client: clientName(names, e.ClientID), OK: e.Result == models.ResultSuccess, Reason: e.Reason,
			codes: feedCodes{event: e.Event, result: e.Result, reason: e.Reason, method: e.Method, clientID: e.ClientID}}
		if u := users[e.UserID]; u != nil {
			it.User = u.Email
		} else if e.UserID == "" {
			it.User, it.codes.user = "Unknown user", "unknown"
		} else {
			it.User, it.codes.user = "Deleted user", "deleted"
		}
		// Words, not codes; a sign-up is "Signed up" whichever method
		// made it (a link's is a sign-in, a passkey's a registration).
		it.Event, it.Reason = EventText(e.Event, e.Result), ReasonText(e.Reason)
		switch {
		case it.OK && e.Reason == "signup":
			it.Event, it.Reason, it.codes.signup = "Signed up", "", true
		case e.Event == models.EventRegister && e.Method == models.MethodPasskey:
			it.Event = map[bool]string{true: "Passkey added", false: "Passkey not added"}[it.OK]
		}
		out = append(out, it)
	}
	return out, nil
}
