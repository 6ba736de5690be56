package console

import (
	"time"

	"github.com/gin-gonic/gin"
)

// The admin API's credential health and adoption funnel (health.go,
// stats_funnel.go).

func (c *Console) apiCredentialHealth(g *gin.Context) error {
	return answer(g)(c.Health.Summary(g.Request.Context()))
}

func (c *Console) apiListCredentials(g *gin.Context) error {
	_, limit, err := page(g)
	if err != nil {
		return err
	}
	q := HealthListQuery{Limit: limit}
	for name, dst := range map[string]*string{"finding": &q.Finding, "user_id": &q.UserID, "cursor": &q.Cursor} {
		if *dst, err = query(g, name); err != nil {
			return err
		}
	}
	return answer(g)(c.Health.List(g.Request.Context(), q))
}

func (c *Console) apiStatsFunnel(g *gin.Context) error {
	return answer(g)(c.stats.Funnel(g.Request.Context()))
}

// drillView is a drill-down as the API shows it.
type drillView struct {
	Range       string  `json:"range"`
	ClientID    *string `json:"client_id"`
	Client      string  `json:"client"`
	Method      string  `json:"method"`
	SignIns     int64   `json:"sign_ins"`
	Failures    int64   `json:"failures"`
	FailureRate float64 `json:"failure_rate"`
	Buckets     []struct {
		Start    time.Time `json:"start"`
		SignIns  int64     `json:"sign_ins"`
		Failures int64     `json:"failures"`
	} `json:"buckets"`
	Reasons  []countView `json:"failure_reasons"`
	ByMethod []countView `json:"by_method"`
	ByClient []countView `json:"by_client"`
}

type countView struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Total int64  `json:"total"`
}

func countViews(cs []Count) []countView {
	out := make([]countView, 0, len(cs))
	for _, c := range cs {
		out = append(out, countView(c))
	}
	return out
}

// drillFilter reads the drill-down's range, client_id (present and empty:
// the account page) and method.
func drillFilter(g *gin.Context) (StatsRange, DrillFilter, error) {
	var f DrillFilter
	name := g.DefaultQuery("range", "24h")
	r := RangeByName(name)
	if r.Name != name {
		return r, f, invalid("range", "one of 1h, 24h, 7d, 30d")
	}
	if id, ok := g.GetQuery("client_id"); ok {
		f.ClientID = &id
	}
	f.Method = g.Query("method")
	return r, f, nil
}

func (c *Console) apiStatsDrilldown(g *gin.Context) error {
	r, f, err := drillFilter(g)
	if err != nil {
		return err
	}
	d, err := c.stats.Drilldown(g.Request.Context(), r, f)
	if err != nil {
		return err
	}
	v := drillView{Range: r.Name, ClientID: f.ClientID, Client: d.Client, Method: f.Method, SignIns: d.SignIns, Failures: d.Failures,
		FailureRate: d.FailureRate, Reasons: countViews(d.Reasons), ByMethod: countViews(d.ByMethod), ByClient: countViews(d.ByClient)}
	v.Buckets = make([]struct {
		Start    time.Time `json:"start"`
		SignIns  int64     `json:"sign_ins"`
		Failures int64     `json:"failures"`
	}, len(d.Chart.Times))
	for i, t := range d.Chart.Times {
		v.Buckets[i].Start = t
		v.Buckets[i].SignIns = d.Chart.Series[0].Points[i]
		v.Buckets[i].Failures = d.Chart.Series[1].Points[i]
	}
	g.JSON(200, v)
	return nil
}
