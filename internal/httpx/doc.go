// Package httpx holds the HTTP plumbing shared by every Sesame HTTP surface
// (OAuth 2.0 / OpenID Connect endpoints, hosted login pages, the console
// and the admin API): gin middlewares, and the one copy of three rules
// that authn and console both need.
//
// Middlewares. Each is small and independent. A typical chain, outermost
// first:
//
//	r := gin.New()
//	r.Use(
//		httpx.RequestID(),            // id first so everything below can log it
//		httpx.Logger(log),            // sees the final status, including recovered panics
//		httpx.Recovery(log),          // turns panics into a generic 500
//		httpx.SecurityHeaders(hsts),  // CSP and friends on every response
//		httpx.BodyLimit(1 << 20),     // before any handler reads the body
//	)
//	pages.Use(httpx.SameOriginForms(issuerOrigin), httpx.NoStore())
//	r.POST("/oauth2/token", httpx.NoStore(), tokenHandler)
//
// Shared rules:
//
//   - SafeReturn(p, roots...) is the return-path guard ("/login?return=…"):
//     only a same-origin absolute path inside the given trees, normalised;
//     no scheme or host, no "//", no backslash (plain or encoded), no
//     control characters, no fragment. Anything else gives "".
//
//   - JSONReader guards and reads the JSON bodies of the pages' and the
//     admin API's endpoints: same origin (optional), the X-CSRF-Token
//     header checked by a CSRFChecker (optional), Content-Type
//     application/json, a bounded body, optionally strict decoding. It
//     returns sentinel errors (ErrCrossSite, ErrCSRF, ErrNotJSON,
//     ErrTooLarge, ErrInvalidJSON) that each caller maps to its own shape.
//
//   - Problem and WriteProblem: RFC 9457 application/problem+json, the
//     console's and the admin API's error shape.
//
//   - OutboundClient: the HTTP client for URLs others chose (a client's
//     jwks_uri). Loopback, private, link-local, CGNAT, multicast and
//     unspecified addresses are refused at connect time (net.Dialer
//     Control, so DNS rebinding cannot slip past) unless an allow-list
//     names their network; 5 s per exchange, 64 KiB per body, no proxy,
//     no redirects (outbound.go).
//
//   - Outage and OutageProblem: a database outage (models.ErrUnavailable,
//     or the deadline of RequestTimeout) is a 503 with Retry-After on every
//     surface; each answers it in its own shape (outage.go).
//
// Only the standard library, log/slog, gin and models (for its outage
// sentinel) are used.
package httpx
