package console

import (
	"context"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/templates"
)

func (u *UI) dashboard(c *gin.Context) error {
	ctx := c.Request.Context()
	r := RangeByName(c.Query("range"))
	d, err := u.stats.Dashboard(ctx, r)
	if err != nil {
		return err
	}
	feed, err := u.stats.Feed(ctx, 20)
	if err != nil {
		return err
	}
	rin := u.rangeIn(c, r)
	pct := func(f float64) string { return u.pages.Catalog().Percent(u.lang(c), f) }
	v := templates.ConsoleDashboardView{
		Range:   templates.RangeLink{Name: r.Name, Label: u.rangeLabel(c, r)},
		SignIns: u.number(c, d.Headline.SignInsToday), Failures: u.number(c, d.Headline.FailuresToday),
		Active: u.number(c, d.Headline.ActiveToday), ActiveMonth: u.number(c, d.Headline.ActiveMonth),
		PasskeyShare: pct(d.Headline.PasskeySignInsToday), PasskeyUsers: pct(d.Headline.PasskeyUsers),
		ByMethod:    drillLegend(u.chart(c, d.ByMethod, true, u.T(c, "console.dashboard.by_method", "range", rin), u.T(c, "console.dashboard.no_signins"), true), d.ByMethod, false, r.Name),
		ByClient:    drillLegend(u.chart(c, d.ByClient, false, u.T(c, "console.dashboard.by_app", "range", rin), u.T(c, "console.dashboard.no_signins"), true), d.ByClient, true, r.Name),
		NewAccounts: u.chart(c, d.NewAccounts, false, u.T(c, "console.dashboard.new_accounts", "range", rin), u.T(c, "console.dashboard.no_accounts"), false),
		SignInShare: pct(d.Adoption.PasskeyShare), UserShare: pct(d.Adoption.UserShare),
		Fallbacks: u.number(c, d.Adoption.Fallbacks), FallbackToKey: u.number(c, d.Adoption.FallbackToKey),
		FallbackShare: pct(ratio(d.Adoption.FallbackToKey, d.Adoption.Fallbacks)),
		Synced:        u.number(c, d.Credentials.Synced), DeviceBound: u.number(c, d.Credentials.DeviceBound),
		SyncedBar: widthClass(ratio(d.Credentials.Synced, d.Credentials.Synced+d.Credentials.DeviceBound)),
	}
	for _, rr := range StatsRanges {
		v.Ranges = append(v.Ranges, templates.RangeLink{Name: rr.Name, Label: u.T(c, "console.range.short_"+rr.Name), Current: rr.Name == r.Name})
	}
	fails := make([]Count, len(d.Failures))
	for i, f := range d.Failures {
		fails[i] = Count{Key: f.Key, Name: u.failureName(c, f), Total: f.Total}
	}
	v.FailureBars = u.bars(c, fails, 8)
	models := make([]Count, len(d.Credentials.TopModels))
	for i, m := range d.Credentials.TopModels {
		models[i] = m
		if m.Name == unknownModel {
			models[i].Name = u.T(c, "console.dashboard.unknown_model")
		}
	}
	v.Models = u.bars(c, models, 8)
	for _, f := range u.feedRows(c, feed) {
		v.Feed = append(v.Feed, templates.FeedRow{Time: f.Time, User: f.User, Method: f.Method, Client: f.Client, Event: f.Event, OK: f.OK, Reason: f.Reason})
	}
	health, funnel, err := u.slow.get(ctx, u)
	if err != nil {
		return err
	}
	if health != nil {
		for _, it := range u.healthItems(c, health, "") {
			if it.Problem {
				v.Health = append(v.Health, it)
			}
		}
	}
	v.Funnel = u.funnelBars(c, funnel)
	if total := d.Credentials.Synced + d.Credentials.DeviceBound; total > 0 {
		v.SyncedShare = pct(ratio(d.Credentials.Synced, total))
	}
	if health != nil && health.OnlySyncedUsers > 0 {
		v.OnlySynced = u.number(c, health.OnlySyncedUsers)
	}
	return u.pages.ConsoleDashboard(c.Writer, 200, u.page(c, "console.dashboard.title"), u.shell(c, "dashboard"), v)
}

// chart is a time chart in the admin's language: its series named from
// their keys (byMethod: the keys are methods), its labels and numbers.
func (u *UI) chart(c *gin.Context, tc TimeChart, byMethod bool, title, empty string, half bool) templates.Chart {
	named := tc
	named.Series = make([]Series, len(tc.Series))
	for i, s := range tc.Series {
		s.Name = u.seriesName(c, byMethod, s)
		named.Series[i] = s
	}
	v := templates.Chart{Title: title, SVG: chartHTML(named, title, half, u.chartWords(c)), Empty: tc.Total() == 0, EmptyText: empty}
	for i, s := range named.Series {
		v.Legend = append(v.Legend, templates.LegendItem{Class: "s" + string(rune('0'+i%6)), Name: s.Name, Total: u.number(c, s.Total)})
	}
	return v
}

func (u *UI) bars(c *gin.Context, cs []Count, n int) []templates.Bar {
	var top int64
	for _, c := range cs {
		top = max(top, c.Total)
	}
	var out []templates.Bar
	for i, cnt := range cs {
		if i == n {
			break
		}
		out = append(out, templates.Bar{Name: cnt.Name, Total: u.number(c, cnt.Total), Width: widthClass(ratio(cnt.Total, top))})
	}
	return out
}

// widthClass maps a 0..1 share to w0 … w20.
func widthClass(f float64) string {
	k := int(f*20 + 0.5)
	if f > 0 && k == 0 {
		k = 1
	}
	return "w" + uiItoa(k)
}

func uiItoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// funnelBars are the funnel's stages as bars on one axis from zero to
// everyone who signed up.
func (u *UI) funnelBars(c *gin.Context, f Funnel) []templates.FunnelBar {
	pct := func(x float64) string { return u.pages.Catalog().Percent(u.lang(c), x) }
	out := make([]templates.FunnelBar, 0, len(f.Stages))
	for i, st := range f.Stages {
		out = append(out, templates.FunnelBar{Name: u.word(c, "console.funnel.", st.Key, st.Name), Users: u.number(c, st.Users), OfSignedUp: pct(st.OfSignedUp),
			OfPrevious: pct(st.OfPrevious), Width: widthClass(st.OfSignedUp), First: i == 0})
	}
	return out
}

// slowTTL is how long the dashboard reuses the credential health and the
// funnel: each reads whole tables (credentials, users), and the live
// dashboard fetches itself again every few seconds while sign-ins arrive.
const slowTTL = time.Minute

// slowParts caches the dashboard's whole-table counts (per UI, not
// global); the health page and the API always count afresh. It keeps
// counts, not words: each page says them in its admin's language.
type slowParts struct {
	mu     sync.Mutex
	at     time.Time
	health *HealthSummary
	funnel Funnel
}

func (p *slowParts) get(ctx context.Context, u *UI) (*HealthSummary, Funnel, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := u.stats.now()
	if !p.at.IsZero() && now.Sub(p.at) < slowTTL && now.After(p.at) {
		return p.health, p.funnel, nil
	}
	var health *HealthSummary
	if u.c != nil {
		sum, err := u.c.Health.Summary(ctx)
		if err != nil {
			return nil, Funnel{}, err
		}
		health = sum
	}
	f, err := u.stats.Funnel(ctx)
	if err != nil {
		return nil, Funnel{}, err
	}
	p.at, p.health, p.funnel = now, health, f
	return p.health, p.funnel, nil
}

// drillLegend links each series of a by-method or by-app chart to its
// drill-down page ("Other apps" has none).
func drillLegend(ch templates.Chart, tc TimeChart, byClient bool, r string) templates.Chart {
	for i := range ch.Legend {
		key := tc.Series[i].Key
		switch {
		case byClient && key == "other":
		case byClient:
			ch.Legend[i].Link = drillLink(&key, "", r)
		default:
			ch.Legend[i].Link = drillLink(nil, key, r)
		}
	}
	return ch
}
