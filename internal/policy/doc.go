// Package policy is the live, admin-editable global policy: one document
// (Policy, stored as JSON under the name Global) whose settings override
// the configuration's defaults while Sesame runs.
//
// The server builds one Live first and hands it at construction to every
// reader, each of which asks through a small interface of its own:
//
//   - the OIDC provider: TokenLifespans, for each token it issues (a
//     client's own lifetimes still win; the code lifetime is configuration
//     only), and TokenExchange, at each token request and discovery
//     document (the grant is served and listed exactly while it is on);
//   - the session manager (websession): LoginSessionTTL, for each new login
//     session (sessions already started keep their expiry);
//   - the passkey service: PasskeyPolicy, at each ceremony (user
//     verification, attestation, AAGUID lists, and the MDS file, which the
//     service reloads when the path changes);
//   - the passlink service: PasslinkPolicy, at each request (expiry, rate
//     limits, open sign-up);
//   - the hosted pages: SignupOpen, and RequireVerifiedEmail at each
//     passkey sign-in of an unproven address;
//   - the console: Current, for the policy page and the default login
//     methods of new clients, and Save, after its own validation and
//     before its audit entry.
//
// Nothing waits for a restart, and nothing is written into the
// configuration: a reader that cannot read the policy uses its
// configuration (and logs why).
//
// Caching: Live keeps the document for CacheTTL, so a hot path may ask on
// every request. Save drops the copy, so the saving replica sees a change
// at once; other replicas within CacheTTL.
//
// The package is a leaf: it knows the store and the configuration, never
// its readers. Rules that belong to a reader (an MDS file that verifies,
// the configuration's ranges) are checked by the console before Save.
package policy
