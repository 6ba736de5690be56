package console

import (
	"html/template"
	"strings"

	"github.com/gin-gonic/gin"
)

type rangeLink struct {
	Name, Label string
	Current     bool
}

type legendItem struct {
	Class, Name, Total string
}

type chartView struct {
	Title  string
	SVG    template.HTML
	Legend []legendItem
	Empty  bool
	// EmptyText says what an empty chart means.
	EmptyText string
}

type barItem struct {
	Name, Total string
	// Width is a CSS class w0 … w20 (5% steps): the CSP forbids inline style.
	Width string
}

type dashboardView struct {
	Range         StatsRange
	Ranges        []rangeLink
	Headline      Headline
	SignIns       string
	Failures      string
	Active        string
	ActiveMonth   string
	PasskeyShare  string
	PasskeyUsers  string
	ByMethod      chartView
	ByClient      chartView
	NewAccounts   chartView
	FailureBars   []barItem
	Adoption      Adoption
	SignInShare   string
	UserShare     string
	Fallbacks     string
	FallbackToKey string
	FallbackShare string
	Synced        string
	DeviceBound   string
	SyncedBar     string
	Models        []barItem
	Feed          []FeedItem
}

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
	v := dashboardView{
		Range: r, Headline: d.Headline, Feed: feed, Adoption: d.Adoption,
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
		v.Ranges = append(v.Ranges, rangeLink{Name: rr.Name, Label: rr.Name, Current: rr.Name == r.Name})
	}
	v.FailureBars = uiBars(d.Failures, 8)
	v.Models = uiBars(d.Credentials.TopModels, 8)
	return u.render(c, 200, "console_dashboard", "Dashboard", "dashboard", v)
}

func uiChart(c TimeChart, title, empty string, half bool) chartView {
	v := chartView{Title: title, SVG: chartHTML(c, title, half), Empty: c.Total() == 0, EmptyText: empty}
	for i, s := range c.Series {
		v.Legend = append(v.Legend, legendItem{Class: "s" + string(rune('0'+i%6)), Name: s.Name, Total: uiNumber(s.Total)})
	}
	return v
}

func uiBars(cs []Count, n int) []barItem {
	var top int64
	for _, c := range cs {
		top = max(top, c.Total)
	}
	var out []barItem
	for i, c := range cs {
		if i == n {
			break
		}
		out = append(out, barItem{Name: c.Name, Total: uiNumber(c.Total), Width: widthClass(ratio(c.Total, top))})
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
