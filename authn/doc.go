// Package authn is the interaction layer: the hosted pages where people
// sign in, consent and manage their account. It knows nothing of OAuth:
// the provider (oidc) parks an authorization request as an interaction and
// sends the browser to /login or /consent; authn authenticates the user,
// starts a login session (websession), marks the interaction and sends the
// browser back to /oauth2/authorize/resume. Sign-in methods live in
// sub-packages and produce an authenticated subject with amr, acr and
// auth_time: passkey (WebAuthn) and passlink (sign-in links by email; its
// pages are in passlink_handlers.go, and a user without a passkey is
// offered one after a passlink sign-in).
package authn
