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
		title = append(title, u.clientLabel(c, *f.ClientID, d.Client))
	}
	if d.Method != "" {
		title = append(title, u.methodName(c, f.Method))
	}
	if len(title) == 0 {
		title = append(title, u.T(c, "console.stats.all"))
	}
	relabel := func(cs []Count, name func(Count) string) []Count {
		out := make([]Count, len(cs))
		for i, cnt := range cs {
			out[i] = Count{Key: cnt.Key, Name: name(cnt), Total: cnt.Total}
		}
		return out
	}
	v := templates.ConsoleStatsView{Title: u.T(c, "console.stats.title", "what", strings.Join(title, ", ")), Range: templates.RangeLink{Name: r.Name, Label: u.rangeLabel(c, r)},
		SignIns: u.number(c, d.SignIns), Failures: u.number(c, d.Failures), FailureRate: u.pages.Catalog().Percent(u.lang(c), d.FailureRate),
		Chart: u.chart(c, d.Chart, false, u.T(c, "console.stats.chart", "range", u.rangeIn(c, r)), u.T(c, "console.stats.no_attempts"), false),
		Reasons: u.bars(c, relabel(d.Reasons, func(cnt Count) string {
			if cnt.Key == "" {
				return u.reasonText(c, "unspecified")
			}
			return u.reasonText(c, cnt.Key)
		}), 10)}
	for _, rr := range StatsRanges {
		v.Ranges = append(v.Ranges, templates.RangeLink{Name: drillLink(f.ClientID, f.Method, rr.Name), Label: u.T(c, "console.range.short_"+rr.Name), Current: rr.Name == r.Name})
	}
	if f.ClientID != nil {
		v.SplitTitle, v.Split = u.T(c, "console.stats.by_method"), u.bars(c, relabel(d.ByMethod, func(cnt Count) string { return u.methodName(c, cnt.Key) }), 10)
	} else {
		v.SplitTitle, v.Split = u.T(c, "console.stats.by_app"), u.bars(c, relabel(d.ByClient, func(cnt Count) string { return u.clientLabel(c, cnt.Key, cnt.Name) }), 10)
	}
	filters := url.Values{"method": {f.Method}}
	if f.ClientID != nil {
		filters.Set("client_id", *f.ClientID)
	}
	v.ExportCSV, v.ExportJSONL = exportLinks("events", filters)
	return u.pages.ConsoleStats(c.Writer, 200, templates.Page{Title: v.Title}, u.shell(c, "dashboard"), v)
}
