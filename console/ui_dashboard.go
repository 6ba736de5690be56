package console

import (
	"strings"

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
		ByMethod:    uiChart(d.ByMethod, "Sign-ins by method, "+strings.ToLower(r.Label), "No sign-ins in this range yet.", true),
		ByClient:    uiChart(d.ByClient, "Sign-ins by app, "+strings.ToLower(r.Label), "No sign-ins in this range yet.", true),
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
