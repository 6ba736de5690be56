package authn

import "github.com/sesame-idp/sesame/internal/httpx"

// describeUserAgent turns a User-Agent into "Chrome on macOS"-style text
// (httpx.DescribeUserAgent, shared with the console).
func describeUserAgent(ua string) string { return httpx.DescribeUserAgent(ua) }
