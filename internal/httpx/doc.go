// Package httpx holds the HTTP plumbing and gin middlewares shared by every Sesame HTTP
// surface (OAuth 2.0 / OpenID Connect endpoints, hosted login pages and the
// admin API).
//
// Each middleware is small and independent. A typical chain, outermost first:
//
//	r := gin.New()
//	r.Use(
//		middleware.RequestID(),            // id first so everything below can log it
//		middleware.Logger(log),            // sees the final status, including recovered panics
//		middleware.Recovery(log),          // turns panics into a generic 500
//		middleware.SecurityHeaders(hsts),  // CSP and friends on every response
//		middleware.BodyLimit(1 << 20),     // before any handler reads the body
//	)
//	pages.Use(middleware.SameOriginForms(issuerOrigin), middleware.NoStore())
//	r.POST("/oauth2/token", middleware.NoStore(), tokenHandler)
//
// Only the standard library, log/slog and gin are used.
package httpx
