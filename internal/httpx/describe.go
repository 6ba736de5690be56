package httpx

import (
	"fmt"
	"strings"
	"time"
)

// DescribeUserAgent turns a User-Agent into "Chrome on macOS"-style text.
// It is for people reading their session list, not for decisions.
func DescribeUserAgent(ua string) string {
	browser := "Unknown browser"
	switch {
	case strings.Contains(ua, "Edg/"):
		browser = "Edge"
	case strings.Contains(ua, "OPR/"):
		browser = "Opera"
	case strings.Contains(ua, "Firefox/"):
		browser = "Firefox"
	case strings.Contains(ua, "HeadlessChrome/"), strings.Contains(ua, "Chrome/"), strings.Contains(ua, "Chromium/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	case strings.HasPrefix(ua, "curl/"):
		browser = "curl"
	case strings.HasPrefix(ua, "Go-http-client"):
		browser = "Go program"
	}
	os := ""
	switch {
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		os = "iOS"
	case strings.Contains(ua, "Android"):
		os = "Android"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		os = "macOS"
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "CrOS"):
		os = "ChromeOS"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	if os == "" {
		return browser
	}
	return browser + " on " + os
}

// RequestedAgo says when a request was made, approximately and exactly.
func RequestedAgo(t, now time.Time) string {
	d := now.Sub(t)
	var ago string
	switch {
	case d < time.Minute:
		ago = "just now"
	case d < 2*time.Minute:
		ago = "1 minute ago"
	case d < time.Hour:
		ago = fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	default:
		ago = "over an hour ago"
	}
	return ago + " (" + t.UTC().Format("15:04 MST") + ")"
}
