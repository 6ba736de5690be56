// Command sesame runs the Sesame OpenID Connect provider and administers it.
//
//	sesame serve               run the provider (add --dev on a laptop)
//	sesame config              print the effective configuration, secrets masked
//	sesame migrate up|status   apply or list database migrations
//	sesame client ...          register and manage OIDC clients
//	sesame user ...            create, list, show, disable users
//	sesame keys list|rotate    inspect and rotate ID token signing keys
//
// Every command reads the same configuration (flags, SESAME_* environment
// variables, an optional YAML file), so the admin commands reach the same
// database the server uses. Exit status: 0 success, 2 bad configuration or
// usage, 1 anything else.
package main
