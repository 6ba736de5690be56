// Package console is Sesame's admin side: the services every admin action
// goes through (clients, users, keys, policies, audit), the console's
// access rules (an admin's phishing-resistant login session with an idle
// timeout, step-up before destructive actions, CSRF), the first-admin
// setup link, and the admin REST API under /api/admin/v1.
//
// The console has no sign-in of its own: admins sign in at the hosted
// /login like everyone (authn). A console page asked for without a good
// admin session (none, a link by email only, idle) is redirected to
// /login?return=<the page> (LoginURL; the return path is checked by
// httpx.SafeReturn on both sides), and a passkey or password + security
// key sign-in comes back there. A signed-in non-admin gets a page saying
// so (templates/hosted/admin_refused.html), never the console.
//
// The flow of an admin request:
//  1. Auth resolves the caller: a bearer access token Sesame issued by
//     client_credentials with the sesame:admin scope (checked in-process
//     through oidc.Provider), or the login session cookie (admin role, acr
//     phishing-resistant, not idle; unsafe methods need the CSRF header).
//     Anyone else is refused: 401/403 problem+json, or the redirect above.
//  2. The Actor (who, from where) rides in the request context.
//  3. RequireStepUp guards destructive routes: within the last five
//     minutes, a passkey assertion with user verification, or the password
//     again and a security key assertion (stepup_password.go); the dialog
//     is static/console.js's SesameConsole.stepUp.
//  4. Handlers are thin: they call a service; services validate, change
//     the store, invalidate caches and write the audit entry.
//
// Errors are httpx.Problem (RFC 9457) written by httpx.WriteProblem; JSON
// bodies are read by httpx.JSONReader (same origin, CSRF, bounded; strict
// for the API). The services depend on consumer-side slices of the store
// (stores.go), not on *store.Store.
//
// The console UI (ui_*.go) and the statistics (stats*.go) live beside this
// code and use the same services; the CLI uses them too.
//
// The global policy is internal/policy's: its readers (provider, methods,
// sessions) get it from the server at construction. The console only
// changes it: Policies.Update validates (the configuration's rules, the
// MDS file through the passkey service), saves through policy.Live and
// audits.
package console
