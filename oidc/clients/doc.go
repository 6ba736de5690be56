// Package clients registers OAuth 2.0 / OpenID Connect clients (relying
// parties): the one place where a client's settings are normalized and
// checked before they reach the store. The CLI uses it now and the admin
// console later, so both apply the same rules.
//
// A Spec is what an administrator may set, spelled as in OpenID Connect
// Dynamic Client Registration 1.0 §2. Normalize fills defaults and removes
// duplicates; Validate enforces the rules that keep the provider standards-
// exact and safe: redirect URIs per RFC 6749 §3.1.2 and RFC 8252 §7 (https,
// http only on loopback, private-use schemes for native apps, no fragments,
// no wildcards), public clients without a secret and without
// client_credentials, and private_key_jwt clients with public keys only.
//
// Client secrets are 256-bit random strings shown once and stored as
// argon2id hashes.
package clients
