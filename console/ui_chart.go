package console

import (
	"fmt"
	"hash/crc32"
	"html"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Charts are drawn on the server as inline SVG: no JavaScript library, no
// inline style (the CSP forbids it) — colours come from classes in
// console.css, so dark mode works. Each chart carries a title and a text
// description for screen readers; the legend beside it lists the totals.

const (
	padL, padR = 44, 12
	padT, padB = 12, 28
)

// niceMax rounds m up to 1, 2 or 5 times a power of ten (at least 4), so
// the grid lines fall on round numbers.
func niceMax(m int64) int64 {
	if m < 4 {
		return 4
	}
	p := int64(1)
	for p*10 <= m {
		p *= 10
	}
	for _, f := range []int64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}

// chartWords are a chart's words in the admin's language: the layouts of
// a day and of a day and time on the axis, and the description a screen
// reader hears.
type chartWords struct {
	day, dayTime string
	desc         func(title, from, to, totals string) string
}

// chartWords are the request's language's chart words.
func (u *UI) chartWords(c *gin.Context) chartWords {
	return chartWords{day: u.T(c, "console.chart.day_layout"), dayTime: u.T(c, "console.chart.day_time_layout"),
		desc: func(title, from, to, totals string) string {
			return u.T(c, "console.chart.desc", "title", title, "from", from, "to", to, "totals", totals)
		}}
}

// timeLabel formats a bucket start for the x axis.
func timeLabel(t time.Time, step time.Duration, w chartWords) string {
	if step >= time.Hour {
		if step >= 24*time.Hour || t.Hour() == 0 {
			return t.Format(w.day)
		}
		return t.Format(w.dayTime)
	}
	return t.Format("15:04")
}

// chartHTML draws c for a full-width panel twice, wide for laptops and
// narrow for phones (CSS shows one), so the labels keep a readable size
// on both. A half-width panel is about as wide as a phone: one narrow
// drawing serves both.
func chartHTML(c TimeChart, title string, half bool, w chartWords) template.HTML {
	if half {
		return chartSVG(c, title, "half", 400, 210, w)
	}
	return chartSVG(c, title, "wide", 900, 200, w) + chartSVG(c, title, "narrow", 360, 210, w)
}

// chartSVG draws c as stacked bars, one bar per bucket and one colour per
// series (class s0, s1 …): counts per hour or day are amounts, and bars
// read as such where a line suggests a flow between the buckets. The y
// axis starts at zero and tops at a round number above the largest stack.
func chartSVG(c TimeChart, title, class string, chartW, chartH int, w chartWords) template.HTML {
	n := len(c.Times)
	if n == 0 {
		return ""
	}
	top := niceMax(c.MaxStack())
	plotW := float64(chartW - padL - padR)
	plotH := float64(chartH - padT - padB)
	slot := plotW / float64(n)
	// A gap between bars where there is room for one.
	barW := slot
	if slot >= 4 {
		barW = slot * 0.75
	}
	x := func(i int) float64 { return padL + slot*float64(i) + slot/2 }
	y := func(v int64) float64 { return padT + plotH - plotH*float64(v)/float64(top) }

	var b strings.Builder
	id := "chart-" + class + "-" + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(title))), 36)
	var desc []string
	for _, s := range c.Series {
		desc = append(desc, fmt.Sprintf("%s: %d", s.Name, s.Total))
	}
	fmt.Fprintf(&b, `<svg class="chart %s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d">`, class, chartW, chartH, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`,
		id, html.EscapeString(title), id, html.EscapeString(w.desc(title, c.Times[0].Format(w.dayTime), c.Times[n-1].Add(c.Step).Format(w.dayTime), strings.Join(desc, "; "))))
	// Grid and y labels.
	for _, v := range []int64{0, top / 2, top} {
		yy := y(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, yy, yy)
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%d</text>`, padL-6, yy+4, v)
	}
	// X labels: start, middle, end.
	for _, i := range []int{0, n / 2, n - 1} {
		if i == n/2 && chartW < 380 {
			continue
		}
		anchor, xx := "middle", x(i)
		switch i {
		case 0:
			anchor, xx = "start", padL
		case n - 1:
			anchor, xx = "end", float64(chartW-padR)
		}
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="%s">%s</text>`, xx, chartH-8, anchor, html.EscapeString(timeLabel(c.Times[i], c.Step, w)))
	}
	for i := range n {
		var base int64
		for k, s := range c.Series {
			if i >= len(s.Points) || s.Points[i] == 0 {
				continue
			}
			v := s.Points[i]
			y0, y1 := y(base), y(base+v)
			fmt.Fprintf(&b, `<rect class="col s%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, k%6, x(i)-barW/2, y1, barW, y0-y1)
			base += v
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built above from numbers and escaped text
}
