package httpx

import (
	"strings"
)

// DescribeUserAgent turns a User-Agent into "Chrome on macOS"-style text.
// It is for people reading their session list, not for decisions.
func DescribeUserAgent(ua string) string {
	browser, os := UserAgentParts(ua)
	switch browser {
	case "":
		browser = "Unknown browser"
	case GoProgram:
		browser = "Go program"
	}
	if os == "" {
		return browser
	}
	return browser + " on " + os
}

// GoProgram is UserAgentParts' browser for Go's default User-Agent, a
// description rather than a name (pages say it in their language).
const GoProgram = "go"

// UserAgentParts are a User-Agent's browser and operating system names
// ("Chrome", "macOS"): "" for one it does not know, GoProgram for Go's
// client. Pages put them into words in their language.
func UserAgentParts(ua string) (browser, os string) {
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
		browser = GoProgram
	}
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
	return browser, os
}
