// Package recovery is the recovery-code method: ten single-use codes a
// person keeps on paper, for the day their passkeys are gone.
//
// Codes: 16 characters from Crockford's base-32 alphabet (no i, l, o, u),
// written in four groups of four ("7kq2-m9xd-…"): 80 random bits each,
// from crypto/rand. Typing is forgiving: case, spaces and dashes are
// ignored, and i/l read as 1, o as 0.
//
// Storage: only HMAC-SHA-256(key, user id, code) is kept, under a key
// derived from the system secret (the codes are random, so a fast keyed
// hash is enough; without the key a stolen table proves nothing). The
// set is replaced as a whole (regenerating invalidates the old codes) and
// lives until it is used up, replaced or invalidated by an admin.
//
// Sign-in (Verify, then Spend): throttled per client address and per
// account (the identifier as typed, normalised, so unknown accounts are
// counted the same way) before anything else; the account's unused
// hashes are compared with the typed code's in constant time, and an
// unknown or disabled account compares against dummies, so the answer and
// the work are the same for an unknown account and a wrong code. Spend is
// one conditional update (store.UseRecoveryCode): of two concurrent uses
// of one code exactly one succeeds. A sign-in with a code is basic
// assurance (models.ACRBasic, amr "otp"): it is not phishing-resistant.
package recovery
