// Package middleware protects an HTTP API with access tokens issued by
// Sesame (or any OpenID provider that publishes discovery).
//
// A [Verifier] accepts two kinds of bearer tokens:
//
//   - JWT access tokens (RFC 9068): the signature is checked against the
//     issuer's JWKS, kept in memory and fetched again when a token names a
//     key the verifier has not seen (key rotation) — at most once per
//     [Config].JWKSMinRefresh, so tokens with made-up key ids cannot make
//     it hammer the issuer. The header's typ must be at+jwt, so an ID token
//     is never accepted as an access token; iss, aud, exp and nbf are
//     checked with [Config].Leeway.
//   - Opaque tokens (Sesame's default), through the issuer's introspection
//     endpoint (RFC 7662), authenticated as the API's own client (register
//     it with the scope sesame:introspect so it may introspect tokens
//     issued to other clients). Answers are cached by the token's SHA-256
//     in a bounded LRU for [Config].IntrospectionCacheTTL (never past the
//     token's expiry), so a revoked token may be honoured that long.
//
// A DPoP-bound token (RFC 9449: cnf.jkt in the JWT or in the
// introspection answer) is accepted only as "Authorization: DPoP" with a
// DPoP proof of its key for this request (htm, htu, iat within
// [Config].DPoPMaxAge, ath, a jti not seen before by this process; see
// dpop.go); otherwise the answer is 401 with a "WWW-Authenticate: DPoP"
// challenge. [Config].RequireDPoP refuses bearer tokens.
//
// [Verifier.Require] is net/http middleware that answers RFC 6750 errors:
// 401 with WWW-Authenticate error="invalid_token" for a missing, bad or
// expired token, 403 error="insufficient_scope" when a required scope or
// group is missing. Handlers read the verified token with [FromContext].
//
// chi takes the middleware as it is, echo through its own wrapper:
//
//	r.With(v.Require(middleware.Scopes("orders:read"))).Get("/orders", list) // chi
//	e.Use(echo.WrapMiddleware(v.Require(middleware.Scopes("orders:read"))))  // echo
//
// and gin through [Verifier.Authenticate] and [WriteError]:
//
//	r.Use(func(c *gin.Context) {
//		tok, err := v.Authenticate(c.Request, middleware.Scopes("orders:read"))
//		if err != nil {
//			middleware.WriteError(c.Writer, err)
//			c.Abort()
//			return
//		}
//		c.Request = c.Request.WithContext(middleware.NewContext(c.Request.Context(), tok))
//	})
package middleware
