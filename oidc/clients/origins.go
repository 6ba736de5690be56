package clients

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sesame-idp/sesame/models"
)

// OriginProblem says why raw is not a web origin a client may register,
// or "". An origin is exactly what a browser sends in its Origin header
// (RFC 6454 §6.1): scheme://host[:port], lower case, no default port, no
// path (not even "/"), query, fragment, user info or wildcard; https, or
// http on a loopback host like redirect URIs (RFC 8252 §8.3). "null"
// (sandboxed frames, file: pages) is shared by every such page, so it can
// never identify an app.
func OriginProblem(raw string) string {
	switch {
	case len(raw) > maxURILen:
		return fmt.Sprintf("is longer than %d characters", maxURILen)
	case strings.EqualFold(raw, "null"):
		return `must not be "null": every sandboxed or file: page sends it`
	case strings.Contains(raw, "*"):
		return "must not contain wildcards; register every origin exactly"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "must be an origin: scheme://host[:port], such as https://app.example"
	}
	if u.User != nil {
		return "must not contain user info"
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return fmt.Sprintf("must be an origin without path, query or fragment: %s", canonicalOrigin(u))
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "must use https (http is allowed only for localhost, 127.0.0.1 or [::1])"
		}
	default:
		return "must use https, or http on a loopback host"
	}
	host := u.Hostname()
	if host == "" || strings.ContainsFunc(host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':')
	}) {
		return "must name a host in ASCII (punycode for international names), as browsers send it"
	}
	if c := canonicalOrigin(u); c != raw {
		return fmt.Sprintf("must be written as browsers send it: %s", c)
	}
	return ""
}

// canonicalOrigin is the serialization of u's origin (RFC 6454 §6.2):
// lower-case scheme and host, the port only when it is not the default.
func canonicalOrigin(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

// WebOrigins are the browser origins whose pages may read the protocol
// endpoints' answers for c: its allowed_web_origins, or when it registered
// none and is public (a single-page app), the origins of its http(s)
// redirect URIs. A confidential client gets none unless it registers
// some: its code exchange runs on a server.
func WebOrigins(c *models.Client) []string {
	if len(c.AllowedWebOrigins) > 0 {
		return slices.Clone([]string(c.AllowedWebOrigins))
	}
	if !c.Public {
		return nil
	}
	var out []string
	for _, ru := range c.RedirectURIs {
		u, err := url.Parse(ru)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		if o := canonicalOrigin(u); !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}
