// Package authn is the interaction layer: the hosted pages where people
// sign in and manage their account. It knows nothing of OAuth: the
// provider (oidc) parks an authorization request as an interaction and
// sends the browser to /login; authn authenticates the user and hands the
// browser back to the resume URL injected at construction (Deps.ResumeURL).
// Consent is the provider's step, not authn's.
//
// The shape: the methods live in sub-packages (passkey, passlink,
// password) and only authenticate; their pages here (passkeys.go,
// passlink_*.go, password_*.go, login.go, account.go) parse, call the
// method and return an error, which one responder (respond.go) turns into
// the HTML error page or the JSON refusal the page scripts read. Every
// sign-in ends in completeSignIn (complete.go): login session, auth event,
// interaction marked, next URL (the console's return path for a strong
// sign-in without an app; the passkey offer after a link is the passlink
// page's). Events go through one EventRecorder (events.go) and take their
// client from the interaction read once per request (interaction.go).
// Which methods a page offers is the client's allowed_login_methods,
// narrowed to those that meet the request's acr_values; a passkey level
// asked of someone signed in below it turns the login page into a
// step-up page for that account (assurance.go).
package authn
