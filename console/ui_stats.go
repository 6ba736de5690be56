package console

import (
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/templates"
)

// The drill-down page (/console/stats?client_id=…|method=…&range=…): the
// dashboard's sign-in statistics for one app or one method, reached from
// the dashboard charts' legends.

// drillLink is the drill-down page of an app (clientID != nil) or a
// method over range r.
func drillLink(clientID *string, method, r string) string {
	q := url.Values{}
	if clientID != nil {
		q.Set("client_id", *clientID)
	}
	if method != "" {
		q.Set("method", method)
	}
	if r != "" {
		q.Set("range", r)
	}
	return "/console/stats?" + q.Encode()
}

func (u *UI) statsDrilldown(c *gin.Context) error {
	r, f, err := drillFilter(c)
	if err != nil {
		r, f = RangeByName(""), DrillFilter{Method: f.Method, ClientID: f.ClientID}
	}
	d, err := u.stats.Drilldown(c.Request.Context(), r, f)
	if err != nil {
		return err
	}
	var title []string
	if d.Client != "" {
		title = append(title, d.Client)
	}
	if d.Method != "" {
		title = append(title, d.Method)
	}
	if len(title) == 0 {
		title = append(title, "All sign-ins")
	}
	v := templates.ConsoleStatsView{Title: "Sign-ins: " + strings.Join(title, ", "), Range: templates.RangeLink{Name: r.Name, Label: r.Label},
		SignIns: uiNumber(d.SignIns), Failures: uiNumber(d.Failures), FailureRate: uiPercent(d.FailureRate),
		Chart:   uiChart(d.Chart, "Sign-ins and failures, "+strings.ToLower(r.Label), "No sign-in attempts in this range.", false),
		Reasons: uiBars(d.Reasons, 10)}
	for _, rr := range StatsRanges {
		v.Ranges = append(v.Ranges, templates.RangeLink{Name: drillLink(f.ClientID, f.Method, rr.Name), Label: rr.Name, Current: rr.Name == r.Name})
	}
	if f.ClientID != nil {
		v.SplitTitle, v.Split = "Sign-ins by method", uiBars(d.ByMethod, 10)
	} else {
		v.SplitTitle, v.Split = "Sign-ins by app", uiBars(d.ByClient, 10)
	}
	filters := url.Values{"method": {f.Method}}
	if f.ClientID != nil {
		filters.Set("client_id", *f.ClientID)
	}
	v.ExportCSV, v.ExportJSONL = exportLinks("events", filters)
	return u.pages.ConsoleStats(c.Writer, 200, templates.Page{Title: v.Title}, u.shell(c, "dashboard"), v)
}
