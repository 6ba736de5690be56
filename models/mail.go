package models

import "time"

// States of an outbox mail. A mail is pending until it is delivered (sent)
// or given up on (failed); only pending mails are ever claimed.
const (
	MailPending = "pending"
	MailSent    = "sent"
	MailFailed  = "failed"
)

// OutboxMail is one mail waiting in, or done with, the outbox. It is written
// in the same transaction as whatever caused it (e.g. a passlink request), so
// the mail exists exactly when that did, and delivered by a worker that
// claims it with a lease (LockedUntil) so that two replicas never send it at
// the same time.
type OutboxMail struct {
	ID string `gorm:"primaryKey"`
	// Kind says what the mail is for (e.g. "passlink"), for logs and stats.
	Kind      string
	ToAddress string
	Subject   string
	// TextBody and HTMLBody may hold a live sign-in link: they are cleared
	// once the mail is sent or has failed, so only mails still waiting
	// keep one.
	TextBody string
	HTMLBody string `gorm:"column:html_body"`
	Status   string
	// Attempts counts delivery attempts made, successful or not.
	Attempts      int
	NextAttemptAt time.Time
	// LastError is the latest delivery error, truncated.
	LastError string
	// LockedUntil is the lease of the worker that claimed the mail; its
	// value doubles as that worker's fencing token.
	LockedUntil *time.Time
	CreatedAt   time.Time
	SentAt      *time.Time
}

// TableName pins the table name.
func (OutboxMail) TableName() string { return "mail_outbox" }
