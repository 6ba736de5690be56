// Package webhook signs and delivers Sesame's webhooks (docs/webhooks.md).
//
// Events are queued by models/store in the transaction that records the
// fact they report (an audit entry or an auth event), one row per
// subscribed endpoint. Deliverer sends them on the outbox pump
// (internal/outbox: leased across replicas, retried with exponential
// back-off and jitter, at least once) through the guarded outbound client
// (internal/httpx: no internal address unless outbound_allow_cidrs allows
// it, no redirect followed, bounded time and response size).
//
// Messages follow the Standard Webhooks specification
// (https://www.standardwebhooks.com): a JSON body {id, type, timestamp,
// data} and three headers — webhook-id (the message id, the same on every
// attempt), webhook-timestamp (Unix seconds of this attempt) and
// webhook-signature ("v1," + base64 of HMAC-SHA256 over
// "{webhook-id}.{webhook-timestamp}.{body}" keyed with the base64-decoded
// part of the endpoint's "whsec_…" secret). Verify is the receiver's
// check, used by the tests and documented for integrators.
//
// Invariants: a delivery exists exactly when its fact was recorded; a
// fact no endpoint subscribes to costs no statement; a row is retried at
// most MaxAttempts times, then failed; an endpoint with no successful
// delivery for DisableAfter is disabled (with a system audit entry), and
// its queued rows fail instead of being sent.
package webhook
