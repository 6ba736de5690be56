// Package authn is the interaction layer: the hosted pages where people
// sign in and manage their account. It knows nothing of OAuth: the
// provider (oidc) parks an authorization request as an interaction (with
// what the pages need from it: client, scopes, redirect URI, acr, prompt,
// login hint) and sends the browser to /login; authn authenticates the
// user, starts a login session (websession), marks the interaction and
// sends the browser back to the resume URL the provider handed over at
// construction (Deps.ResumeURL). Consent is the provider's step, not
// authn's. Sign-in methods live in sub-packages and produce an
// authenticated subject with amr, acr and auth_time: passkey (WebAuthn),
// passlink (sign-in links by email; its pages are in
// passlink_handlers.go, and a user without a passkey is offered one after
// a passlink sign-in) and password + security key (password_handlers.go:
// the password, then an assertion with one of the user's security keys or
// the enrolment of a first one; reset by a passlink of purpose "reset").
// Which methods a page offers is the client's allowed_login_methods,
// narrowed to those that meet the request's acr_values.
package authn
