// Package keys manages the ID-token signing keys and signs with them.
//
// Each supported algorithm (RS256, ES256, EdDSA) has one "current" key that
// signs and one "next" key that is already published in the JWKS, so relying
// parties have it cached before it signs. Rotation retires current (it stays
// published until the last token it signed has expired), promotes next and
// creates a new next, in one transaction guarded by conditional state
// updates: two replicas racing on the same rotation cannot both win.
//
// Private keys are JWKs (jwx) encrypted at rest with AES-256-GCM under a key
// derived from the system secret; the kid (an RFC 7638 thumbprint) is the
// additional data, so a database dump alone reveals no private key and a
// ciphertext cannot be moved to another row.
//
// Every replica keeps the key set in memory: decrypted signers and a
// pre-serialized JWKS document, reloaded from the database after CacheTTL, so
// a rotation on one replica is seen by all others within CacheTTL. Signer
// adapts the Manager to fosite's jwt.Signer for ID tokens; the algorithm of
// each request travels in the context (WithAlg).
package keys
