package console

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/models"
)

// The stored codes the console shows (methods, failure reasons, events,
// ranges) in the admin's language. The services and the admin API keep
// English words and codes; each page says them from the codes here, with
// the English word as the fallback for a code the catalogue lacks.

// word is the catalogue's prefix+code message, or fallback when the
// catalogue has none.
func (u *UI) word(c *gin.Context, prefix, code, fallback string) string {
	key := prefix + code
	if code == "" || !u.pages.Catalog().Has(u.lang(c), key) {
		return fallback
	}
	return u.T(c, key)
}

// methodName is a sign-in method ("passkey") in words.
func (u *UI) methodName(c *gin.Context, code string) string {
	if code == "" {
		return u.T(c, "console.method.unknown")
	}
	return u.word(c, "console.method.", code, MethodName(code))
}

// reasonText is a failure reason code in words; an event with several
// (both grace modes, space-separated) gets each in words.
func (u *UI) reasonText(c *gin.Context, code string) string {
	if parts := strings.Fields(code); len(parts) > 1 {
		for i, p := range parts {
			parts[i] = u.reasonText(c, p)
		}
		return strings.Join(parts, "; ")
	}
	return u.word(c, "console.reason.", code, ReasonText(code))
}

// eventText is an event and its result in words.
func (u *UI) eventText(c *gin.Context, event, result string) string {
	suffix := ".ok"
	if result != models.ResultSuccess {
		suffix = ".failed"
	}
	return u.word(c, "console.event.", event+suffix, EventText(event, result))
}

// rangeLabel is a dashboard range heading ("Last 7 days"); rangeIn the
// same inside a sentence ("sign-ins by app, last 7 days").
func (u *UI) rangeLabel(c *gin.Context, r StatsRange) string {
	return u.word(c, "console.range.", r.Name, r.Label)
}

func (u *UI) rangeIn(c *gin.Context, r StatsRange) string {
	return u.word(c, "console.range_in.", r.Name, strings.ToLower(r.Label))
}

// feedRow is a live feed line in the admin's language.
func (u *UI) feedRow(c *gin.Context, it FeedItem) FeedItem {
	k := it.codes
	it.Method = u.methodName(c, k.method)
	switch k.user {
	case "unknown":
		it.User = u.T(c, "console.feed.unknown_user")
	case "deleted":
		it.User = u.T(c, "console.feed.deleted_user")
	}
	it.Client = u.clientLabel(c, k.clientID, it.Client)
	it.Event, it.Reason = u.eventText(c, k.event, k.result), u.reasonText(c, k.reason)
	switch {
	case k.signup:
		it.Event, it.Reason = u.T(c, "console.feed.signed_up"), ""
	case k.event == models.EventRegister && k.method == models.MethodPasskey && it.OK:
		it.Event = u.T(c, "console.feed.passkey_added")
	case k.event == models.EventRegister && k.method == models.MethodPasskey:
		it.Event = u.T(c, "console.feed.passkey_not_added")
	}
	return it
}

// feedRows localises the live feed's lines (the page's and the stream's).
func (u *UI) feedRows(c *gin.Context, items []FeedItem) []FeedItem {
	out := make([]FeedItem, len(items))
	for i, it := range items {
		out[i] = u.feedRow(c, it)
	}
	return out
}

// seriesName is a chart series' name: methods, the app charts' "other
// apps", and the fixed series, from their keys.
func (u *UI) seriesName(c *gin.Context, byMethod bool, s Series) string {
	switch {
	case byMethod:
		return u.methodName(c, s.Key)
	case s.Key == "other":
		return u.T(c, "console.chart.other_apps")
	case s.Key == "new", s.Key == "success", s.Key == "failure":
		return u.T(c, "console.chart.series_"+s.Key)
	}
	return s.Name
}

// failureName is a "method:reason" failure count's label.
func (u *UI) failureName(c *gin.Context, cnt Count) string {
	method, reason, ok := strings.Cut(cnt.Key, ":")
	if !ok {
		return cnt.Name
	}
	if reason == "" {
		reason = "unspecified"
	}
	return u.T(c, "console.dashboard.failure_bar", "method", u.methodName(c, method), "reason", u.reasonText(c, reason))
}

// clientLabel is an app's name, or the words for the account page (no
// client) and the other apps.
func (u *UI) clientLabel(c *gin.Context, id, name string) string {
	switch id {
	case "":
		return u.T(c, "console.feed.account_page")
	case "other":
		return u.T(c, "console.chart.other_apps")
	}
	return name
}
