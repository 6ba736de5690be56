package console

import (
	"context"
	"strings"
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
	v := templates.ConsoleDashboardView{
		Range:   templates.RangeLink{Name: r.Name, Label: r.Label},
		SignIns: uiNumber(d.Headline.SignInsToday), Failures: uiNumber(d.Headline.FailuresToday),
		Active: uiNumber(d.Headline.ActiveToday), ActiveMonth: uiNumber(d.Headline.ActiveMonth),
		PasskeyShare: uiPercent(d.Headline.PasskeySignInsToday), PasskeyUsers: uiPercent(d.Headline.PasskeyUsers),
		ByMethod:    drillLegend(uiChart(d.ByMethod, "Sign-ins by method, "+strings.ToLower(r.Label), "No sign-ins in this range yet.", true), d.ByMethod, false, r.Name),
		ByClient:    drillLegend(uiChart(d.ByClient, "Sign-ins by app, "+strings.ToLower(r.Label), "No sign-ins in this range yet.", true), d.ByClient, true, r.Name),
		NewAccounts: uiChart(d.NewAccounts, "New accounts, "+strings.ToLower(r.Label), "No new accounts in this range.", false),
		SignInShare: uiPercent(d.Adoption.PasskeyShare), UserShare: uiPercent(d.Adoption.UserShare),
		Fallbacks: uiNumber(d.Adoption.Fallbacks), FallbackToKey: uiNumber(d.Adoption.FallbackToKey),
		FallbackShare: uiPercent(ratio(d.Adoption.FallbackToKey, d.Adoption.Fallbacks)),
		Synced:        uiNumber(d.Credentials.Synced), DeviceBound: uiNumber(d.Credentials.DeviceBound),
		SyncedBar: widthClass(ratio(d.Credentials.Synced, d.Credentials.Synced+d.Credentials.DeviceBound)),
	}
	for _, rr := range StatsRanges {
		v.Ranges = append(v.Ranges, templates.RangeLink{Name: rr.Name, Label: rr.Name, Current: rr.Name == r.Name})
	}
	v.FailureBars = uiBars(d.Failures, 8)
	v.Models = uiBars(d.Credentials.TopModels, 8)
	for _, f := range feed {
		v.Feed = append(v.Feed, templates.FeedRow{Time: f.Time, User: f.User, Method: f.Method, Client: f.Client, Event: f.Event, OK: f.OK, Reason: f.Reason})
	}
	slow, err := u.slow.get(ctx, u)
	if err != nil {
		return err
	}
	v.Health, v.Funnel = slow.health, slow.funnel
	if total := d.Credentials.Synced + d.Credentials.DeviceBound; total > 0 {
		v.SyncedShare = uiPercent(ratio(d.Credentials.Synced, total))
	}
	if slow.onlySynced > 0 {
		v.OnlySynced = uiNumber(slow.onlySynced)
	}
	return u.pages.ConsoleDashboard(c.Writer, 200, templates.Page{Title: "Dashboard"}, u.shell(c, "dashboard"), v)
}

func uiChart(c TimeChart, title, empty string, half bool) templates.Chart {
	v := templates.Chart{Title: title, SVG: chartHTML(c, title, half), Empty: c.Total() == 0, EmptyText: empty}
	for i, s := range c.Series {
		v.Legend = append(v.Legend, templates.LegendItem{Class: "s" + string(rune('0'+i%6)), Name: s.Name, Total: uiNumber(s.Total)})
	}
	return v
}

func uiBars(cs []Count, n int) []templates.Bar {
	var top int64
	for _, c := range cs {
		top = max(top, c.Total)
	}
	var out []templates.Bar
	for i, c := range cs {
		if i == n {
			break
		}
		out = append(out, templates.Bar{Name: c.Name, Total: uiNumber(c.Total), Width: widthClass(ratio(c.Total, top))})
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
func funnelBars(f Funnel) []templates.FunnelBar {
	out := make([]templates.FunnelBar, 0, len(f.Stages))
	for i, st := range f.Stages {
		out = append(out, templates.FunnelBar{Name: st.Name, Users: uiNumber(st.Users), OfSignedUp: uiPercent(st.OfSignedUp),
			OfPrevious: uiPercent(st.OfPrevious), Width: widthClass(st.OfSignedUp), First: i == 0})
	}
	return out
}

// slowTTL is how long the dashboard reuses the credential health and the
// funnel: each reads whole tables (credentials, users), and the live
// dashboard fetches itself again every few seconds while sign-ins arrive.
const slowTTL = time.Minute

// slowParts caches the dashboard's whole-table counts (per UI, not
// global); the health page and the API always count afresh.
type slowParts struct {
	mu   sync.Mutex
	at   time.Time
	last slowCounts
}

// slowCounts are the dashboard's whole-table counts: the health findings
// that ask for action, the funnel, and the people whose every passkey
// syncs.
type slowCounts struct {
	health     []templates.HealthItem
	funnel     []templates.FunnelBar
	onlySynced int64
}

func (p *slowParts) get(ctx context.Context, u *UI) (slowCounts, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := u.stats.now()
	if !p.at.IsZero() && now.Sub(p.at) < slowTTL && now.After(p.at) {
		return p.last, nil
	}
	var out slowCounts
	if u.c != nil {
		sum, err := u.c.Health.Summary(ctx)
		if err != nil {
			return slowCounts{}, err
		}
		for _, it := range healthItems(sum, "") {
			if it.Problem {
				out.health = append(out.health, it)
			}
		}
		out.onlySynced = sum.OnlySyncedUsers
	}
	f, err := u.stats.Funnel(ctx)
	if err != nil {
		return slowCounts{}, err
	}
	out.funnel = funnelBars(f)
	p.at, p.last = now, out
	return out, nil
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
