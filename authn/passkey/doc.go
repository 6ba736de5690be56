// Package passkey is the WebAuthn core of Sesame: passkey and security-key
// registration (including sign-up), username-first and usernameless
// (discoverable, conditional-UI) sign-in, on go-webauthn. It has no HTTP
// routing: the hosted pages in package authn call it.
//
// Flow. Begin* creates the options the browser passes to
// PublicKeyCredential.parse{Creation,Request}OptionsFromJSON and stores the
// ceremony (challenge and go-webauthn session data) in the database, bound
// to the browser (a hash of a browser cookie) and to the interaction, with
// a short expiry; its id goes in a cookie. Finish* takes the browser's
// credential.toJSON() body, consumes the ceremony (single use, so a
// ceremony begun on one replica finishes on another, once), verifies the
// response (origin, RP ID hash, challenge, UP/UV flags, signature,
// attestation policy, sign counter) and only then writes: the credential
// (and, for sign-up, the user, in one transaction), or the credential's new
// counter and flags. A failure writes nothing but the spent ceremony, a
// clone flag when a counter went backwards, and the auth event the handler
// records with Record/RecordFailure.
package passkey
