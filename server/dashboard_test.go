package server_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sesame-idp/sesame/server/servertest"
)

// dashboardFile is the Grafana dashboard shipped for operators.
const dashboardFile = "../deploy/grafana/sesame-dashboard.json"

// TestGrafanaDashboardQueriesExportedMetrics: the dashboard in deploy/
// parses, every panel has a query and a unique id, and every metric name
// its queries (and template variables) use is one a running Sesame
// exports (histogram series by their _bucket/_sum/_count names); and
// every sesame_ metric is on the dashboard. A renamed or removed metric
// fails here rather than as an empty panel in production.
func TestGrafanaDashboardQueriesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard without title, uid or panels")
	}

	exported := exportedMetrics(t)
	var exprs []string
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("panel %q has an empty query", p.Title)
			}
			exprs = append(exprs, q.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	used := map[string]bool{}
	for _, e := range exprs {
		for _, name := range metricNames(e) {
			used[name] = true
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suffix); ok && exported[b] {
					base = b
				}
			}
			if !exported[base] {
				t.Errorf("the dashboard queries %s, which Sesame does not export (in %s)", name, e)
			}
		}
	}
	for name := range exported {
		if !strings.HasPrefix(name, "sesame_") {
			continue
		}
		if !used[name] && !used[name+"_bucket"] && !used[name+"_count"] {
			t.Errorf("%s is not on the dashboard", name)
		}
	}
}

// exportedMetrics are the names every metric of a running server's
// registry describes (a vector with no series yet included).
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	env := servertest.New(t)
	ch := make(chan *prometheus.Desc, 1024)
	go func() {
		env.Server.Metrics().Registry().Describe(ch)
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	out := map[string]bool{}
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			out[m[1]] = true
		}
	}
	if !out["sesame_http_requests_total"] || !out["go_sql_open_connections"] {
		t.Fatalf("the registry describes %d metrics, without the expected ones", len(out))
	}
	return out
}

// promQLWords are the functions, aggregations and keywords of the
// dashboard's queries: every other identifier outside braces, quotes and
// brackets is a metric name.
var promQLWords = []string{"sum", "max", "min", "count", "avg", "topk", "bottomk", "by", "without", "rate", "irate",
	"increase", "histogram_quantile", "label_values", "on", "ignoring", "group_left", "group_right", "and", "or", "unless"}

// metricNames lists the metric names in a PromQL expression (or a
// Grafana label_values(metric, label) query): label matchers, strings,
// range durations, grouping labels and numbers are dropped first.
func metricNames(expr string) []string {
	expr = regexp.MustCompile(`label_values\(([^,]*),\s*[a-zA-Z_]+\s*\)`).ReplaceAllString(expr, "$1")
	for _, re := range []*regexp.Regexp{regexp.MustCompile(`\b\d+(?:\.\d+)?(?:e\d+)?\b`), regexp.MustCompile(`"(?:[^"\\]|\\.)*"`), regexp.MustCompile(`\{[^}]*\}`), regexp.MustCompile(`\[[^\]]*\]`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\([^)]*\)`)} {
		expr = re.ReplaceAllString(expr, " ")
	}
	var out []string
	for _, w := range regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`).FindAllString(expr, -1) {
		if !slices.Contains(promQLWords, w) {
			out = append(out, w)
		}
	}
	return out
}
