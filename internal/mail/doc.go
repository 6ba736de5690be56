// Package mail sends Sesame's mails (passlinks) through an outbox.
//
// A caller renders a Message (templates are the caller's business) and
// calls Outbox.Enqueue, normally inside the store transaction that creates
// whatever the mail is about, so the mail exists exactly when that does;
// after the commit it calls Outbox.Kick. Outbox.Run, on every replica,
// delivers due mails through a Sender: SMTP (NewSMTPSender, wneessen/go-mail)
// in production, the log (LogSender) in dev mode without SMTP.
//
// Delivery guarantees. A worker claims a mail with a lease (one conditional
// UPDATE, RowsAffected == 1 wins), so two replicas never send the same mail
// at the same time; it then sends, and marks the mail sent, or schedules a
// retry with exponential back-off and jitter, or marks it failed after
// MaxAttempts (or at once on a permanent SMTP 5xx answer). An SMTP outage or
// a restart therefore loses no mail, and a mail that is due is sent once.
// The one honest exception is at-least-once: a crash (or a lost database)
// between the SMTP server accepting a mail and the outbox marking it sent
// leaves the mail pending, and it is sent again when the lease expires.
// The lease (2 minutes) is far longer than an SMTP transaction may take
// (30 seconds, enforced as a hard deadline on the connection), so a slow
// send never makes a second worker send the same mail. A resent mail keeps
// its Message-ID (derived from the outbox id), so mail clients can spot the
// duplicate.
//
// Messages are checked before anything is stored: the recipient must be one
// address that net/mail parses, and neither it nor the subject may contain
// CR or LF, so no caller-supplied text can add a header (Bcc: …).
package mail
