// Package oidc is Sesame's OpenID Connect provider, built on ory/fosite.
//
// The flow: /oauth2/authorize validates the request with fosite. When the
// browser holds a login session that satisfies prompt, max_age and
// acr_values, and consent is on record (or the client skips it), a code is
// issued at once. Otherwise the request is parked as an interaction in the
// database (its query, which only this package reads, plus the scopes and
// the redirect URI fosite resolved), bound to this browser, and the
// browser goes either to the hosted sign-in pages (authn), which sign the
// user in and mark the interaction done, or to the provider's own consent
// page (consent.go, mounted by MountPages), which records the grant or
// access_denied. The browser then comes back to /oauth2/authorize/resume
// (ResumeURL, handed to authn at construction), where the stored request
// is validated by fosite again and the code issued. oidc and authn never
// import each other: they meet at the interaction row and two URLs.
//
// Tokens are opaque HMAC tokens whose signatures are stored (one table,
// see models.OAuth2Request); ID tokens are JWTs signed by oidc/keys.
// Access tokens may be RFC 9068 JWTs instead, per client or per resource
// (jwtaccess.go), stored by their signature all the same; the resource
// parameter (RFC 8707, resources.go) sets and narrows their audience; DPoP
// (RFC 9449, dpop.go) binds tokens to the client's key.
package oidc
