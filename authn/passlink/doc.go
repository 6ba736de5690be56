// Package passlink is the sign-in-by-email method: a person types an
// address, receives a single-use link, and using it signs them in. It is
// also the way back in for someone who lost every passkey, and the proof
// of an email address. No HTTP here: authn's handlers call Service.
//
// A request (Service.Request) always makes the same work and the same
// answer, whether the address has an account or not: one passlink row and
// (unless configured to stay silent) one outbox mail, in one transaction.
// What the mail says depends on the account: a sign-in link, an offer to
// create the account (open sign-up), or a "no account here" notice.
// Per-address and per-IP rate limits (database-backed, so they hold across
// replicas) stop floods; over a limit the answer is the same and no mail
// is sent.
//
// The link carries 256 random bits; only their SHA-256 is stored. Opening
// it (Service.Lookup) changes nothing: mail scanners fetch links. Using it
// is a conditional update (exactly one caller wins):
//   - in the browser that asked (the browser-binding hash matches),
//     Service.SignIn signs in there;
//   - anywhere else, Service.Approve needs the six-digit code that only the
//     requesting screen showed (at most five tries), so a link someone
//     requested for another person's address is useless to them when the
//     victim clicks it; the requesting browser then takes the approval once
//     (Service.Complete). Service.Deny ends it.
//
// A password reset (Request with Reset) is a passlink of purpose
// models.PasslinkReset: same limits, same answer, a "no account here"
// notice for an unknown address (never a sign-up). Its link leads to
// ResetPath, not to a sign-in: only LookupReset and Reset know it, and
// Reset spends it in the transaction that stores the new password. It
// works in any browser: it only proves the mailbox, and whoever opens it
// chooses the password. Lookup never finds a reset link, nor LookupReset
// a sign-in link.
//
// An administrator's link (Service.SendAdmin, purpose models.PasslinkAdmin)
// was asked for by no browser: it has no binding and no code, so the
// browser that opens it signs in (after the confirmation POST), once; it
// counts against the address's limit and the sender's.
//
// A passlink proves the mailbox, not a phishing-resistant credential: the
// result is amr ["otp"] (RFC 8176) with acr models.ACRBasic.
package passlink
