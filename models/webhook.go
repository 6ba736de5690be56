package models

import (
	"encoding/json"
	"time"
)

// WebhookEndpoint is a URL an admin registered to hear of events: the
// event types it subscribes to, its signing secret (sealed: encrypted
// with a key derived from the system secret, since signing needs it back)
// and whether it is enabled. FailingSince is the first failed attempt
// since the last success; an endpoint failing for long is disabled
// automatically (DisabledReason says so).
type WebhookEndpoint struct {
	ID             string `gorm:"primaryKey"`
	URL            string `gorm:"column:url"`
	Description    string
	EventTypes     string // space-separated
	SecretSealed   string
	Enabled        bool
	DisabledReason string
	DisabledAt     *time.Time
	FailingSince   *time.Time
	LastSuccessAt  *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName pins the table name.
func (WebhookEndpoint) TableName() string { return "webhook_endpoints" }

// WebhookAutoDisabledFormat is the DisabledReason the automatic rule
// records: since when no delivery succeeded (RFC 3339), the rule's window
// (a Go duration) and the last error. The console reads it back to say it
// in the admin's language.
const WebhookAutoDisabledFormat = "Disabled automatically: no delivery succeeded since %s (%s or longer). Last error: %s"

// WebhookDelivery is one message to one endpoint, in (or done with) the
// webhook outbox: the same states and lease protocol as an OutboxMail. ID
// is the message's webhook-id, the same on every attempt, so a receiver
// can drop a repeat. Payload is the exact body that is signed and sent.
type WebhookDelivery struct {
	ID            string `gorm:"primaryKey"`
	EndpointID    string
	EventID       string
	EventType     string
	Payload       string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	LockedUntil   *time.Time
	ResponseCode  int
	LatencyMS     int64 `gorm:"column:latency_ms"`
	LastAttemptAt *time.Time
	CreatedAt     time.Time
	SentAt        *time.Time
}

// TableName pins the table name.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookAttempt is what one delivery attempt saw: when it ended, the
// receiver's status code (0 when there was no answer) and how long the
// exchange took.
type WebhookAttempt struct {
	At           time.Time
	ResponseCode int
	Latency      time.Duration
}

// WebhookDisabledByAdmin is the disabled reason of an endpoint an admin
// disabled; any other reason is the automatic disable's.
const WebhookDisabledByAdmin = "Disabled by an admin."

// The webhook event catalogue. Every type is derived from something
// Sesame already records — an audit entry (an admin's or the system's
// change) or an auth event (what a person did on the hosted pages) — by
// WebhookTypesForAudit and WebhookTypesForAuthEvent, so the store queues
// deliveries in exactly two places, in the transaction that records the
// fact.
const (
	WebhookUserCreated         = "user.created"
	WebhookUserUpdated         = "user.updated"
	WebhookUserEmailChanged    = "user.email_changed"
	WebhookUserEmailVerified   = "user.email_verified"
	WebhookUserDisabled        = "user.disabled"
	WebhookUserEnabled         = "user.enabled"
	WebhookUserDeleted         = "user.deleted"
	WebhookUserSessionsRevoked = "user.sessions_revoked"
	WebhookCredentialAdded     = "credential.added"
	WebhookCredentialRemoved   = "credential.removed"
	WebhookPasswordChanged     = "password.changed"
	// Recovery codes (authn/recovery): a new set, one used to sign in,
	// the set invalidated by an admin.
	WebhookRecoveryCodesGenerated   = "recovery_codes.generated"
	WebhookRecoveryCodeUsed         = "recovery_codes.used"
	WebhookRecoveryCodesInvalidated = "recovery_codes.invalidated"
	WebhookSigninSucceeded          = "signin.succeeded"
	WebhookSigninFailed             = "signin.failed"
	WebhookClientCreated            = "client.created"
	WebhookClientUpdated            = "client.updated"
	WebhookClientDeleted            = "client.deleted"
	WebhookGroupMemberAdded         = "group.member_added"
	WebhookGroupMemberRemoved       = "group.member_removed"
	WebhookAdminGranted             = "admin.granted"
	WebhookAdminRevoked             = "admin.revoked"
)

// WebhookEventType is one entry of the catalogue.
type WebhookEventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// WebhookCatalogue lists every event type an endpoint may subscribe to,
// in the order the console shows them.
var WebhookCatalogue = []WebhookEventType{
	{WebhookUserCreated, "An account was created: signed up on the hosted pages, added by an admin, or imported."},
	{WebhookUserUpdated, "An admin changed a user's name, address, verified state, profile or attributes."},
	{WebhookUserEmailChanged, "A user's email address changed (by an admin, or by the user after confirming the new address)."},
	{WebhookUserEmailVerified, "A user proved their email address."},
	{WebhookUserDisabled, "An admin disabled a user (their sessions and tokens were revoked)."},
	{WebhookUserEnabled, "An admin enabled a disabled user."},
	{WebhookUserDeleted, "A user was deleted, by an admin or by their own request."},
	{WebhookUserSessionsRevoked, "An admin signed a user out everywhere."},
	{WebhookCredentialAdded, "A passkey or security key was registered."},
	{WebhookCredentialRemoved, "A passkey or security key was removed, by the user or an admin."},
	{WebhookPasswordChanged, "A user changed or reset their password."},
	{WebhookRecoveryCodesGenerated, "A user created a new set of recovery codes (the old set stopped working)."},
	{WebhookRecoveryCodeUsed, "A user signed in with one of their recovery codes."},
	{WebhookRecoveryCodesInvalidated, "An admin invalidated a user's recovery codes."},
	{WebhookSigninSucceeded, "A sign-in succeeded (any method)."},
	{WebhookSigninFailed, "A sign-in failed (wrong password, unknown or refused passkey, expired link, …)."},
	{WebhookClientCreated, "An application (OAuth client) was registered."},
	{WebhookClientUpdated, "An application's settings changed, it was enabled or disabled, or its secret rotated."},
	{WebhookClientDeleted, "An application was deleted."},
	{WebhookGroupMemberAdded, "A user was added to a group."},
	{WebhookGroupMemberRemoved, "A user was removed from a group."},
	{WebhookAdminGranted, "A user became an admin."},
	{WebhookAdminRevoked, "A user stopped being an admin."},
}

// IsWebhookType reports whether t is in the catalogue.
func IsWebhookType(t string) bool {
	for _, e := range WebhookCatalogue {
		if e.Type == t {
			return true
		}
	}
	return false
}

// auditWebhookTypes maps audit actions to event types. Actions not listed
// (policies, keys, scopes, webhooks themselves, …) emit nothing.
var auditWebhookTypes = map[string][]string{
	"user.create":         {WebhookUserCreated},
	"user.update":         {WebhookUserUpdated},
	"user.update_profile": {WebhookUserUpdated},
	"user.disable":        {WebhookUserDisabled},
	"user.enable":         {WebhookUserEnabled},
	"user.delete":         {WebhookUserDeleted},
	// The end of a user's own deletion (the store's purge, by the system).
	"user.deleted": {WebhookUserDeleted},
	// A user's own proven change of address.
	"user.email_change":           {WebhookUserEmailChanged},
	"user.email_revert":           {WebhookUserEmailChanged},
	"user.email_proven":           {WebhookUserEmailVerified},
	"user.revoke_sessions":        {WebhookUserSessionsRevoked},
	"user.remove_credential":      {WebhookCredentialRemoved},
	"user.grant_admin":            {WebhookAdminGranted},
	"user.revoke_admin":           {WebhookAdminRevoked},
	"admin.setup":                 {WebhookAdminGranted},
	"client.create":               {WebhookClientCreated},
	"client.update":               {WebhookClientUpdated},
	"client.update_rotate_secret": {WebhookClientUpdated},
	"client.rotate_secret":        {WebhookClientUpdated},
	"client.enable":               {WebhookClientUpdated},
	"client.disable":              {WebhookClientUpdated},
	"client.delete":               {WebhookClientDeleted},
	"group.add_member":            {WebhookGroupMemberAdded},
	// Recovery codes: the user's own (authn) and the admin's (console).
	AuditRecoveryCodesGenerated:   {WebhookRecoveryCodesGenerated},
	AuditRecoveryCodeUsed:         {WebhookRecoveryCodeUsed},
	AuditRecoveryCodesInvalidated: {WebhookRecoveryCodesInvalidated},
	"group.remove_member":         {WebhookGroupMemberRemoved},
}

var (
	typesUserCreated        = []string{WebhookUserCreated}
	typesUserUpdated        = []string{WebhookUserUpdated}
	typesUserUpdatedAddress = []string{WebhookUserUpdated, WebhookUserEmailChanged}
)

// WebhookTypesForAudit returns the event types an audit entry emits
// (nil for most). It allocates nothing for an action that emits nothing:
// it runs on every audit write.
func WebhookTypesForAudit(e *AuditEntry) []string {
	switch e.Action {
	case "user.import":
		// An import row creates or updates.
		if e.BeforeJSON == "" {
			return typesUserCreated
		}
		return typesUserUpdated
	case "user.update":
		if emailOf(e.BeforeJSON) != emailOf(e.AfterJSON) {
			return typesUserUpdatedAddress
		}
	}
	return auditWebhookTypes[e.Action]
}

// emailOf is the "email" member of a user view's JSON ("" when none).
func emailOf(doc string) string {
	if doc == "" {
		return ""
	}
	var v struct {
		Email string `json:"email"`
	}
	if json.Unmarshal([]byte(doc), &v) != nil {
		return ""
	}
	return v.Email
}

// Results and reasons of auth events that the webhook types read.
const (
	reasonSignup = "signup"
)

var (
	typesSigninOK        = []string{WebhookSigninSucceeded}
	typesSigninFailed    = []string{WebhookSigninFailed}
	typesSignupSignin    = []string{WebhookUserCreated, WebhookSigninSucceeded}
	typesCredentialAdded = []string{WebhookCredentialAdded}
	typesSignupPasskey   = []string{WebhookUserCreated, WebhookCredentialAdded}
	typesPassword        = []string{WebhookPasswordChanged}
	typesEmailVerified   = []string{WebhookUserEmailVerified}
	typesCredentialGone  = []string{WebhookCredentialRemoved}
)

// Auth events that only webhooks (and a user's history) read.
const (
	// EventCredentialRemoved: the user removed one of their own passkeys or
	// security keys on the account page.
	EventCredentialRemoved = "credential_removed"
)

// WebhookTypesForAuthEvent returns the event types an auth event emits
// (nil for most: requests, approvals, step-ups, failed registrations). It
// allocates nothing: it runs on every sign-in.
func WebhookTypesForAuthEvent(e *AuthEvent) []string {
	ok := e.Result == ResultSuccess
	switch e.Event {
	case EventLogin:
		switch {
		case !ok:
			return typesSigninFailed
		case e.Reason == reasonSignup:
			// A link's sign-up: the account is created by the sign-in.
			return typesSignupSignin
		}
		return typesSigninOK
	case EventRegister:
		switch {
		case !ok:
			return nil
		case e.Reason == reasonSignup:
			return typesSignupPasskey
		}
		return typesCredentialAdded
	case "password_change", "reset":
		if ok {
			return typesPassword
		}
	case "verify_email":
		if ok {
			return typesEmailVerified
		}
	case EventCredentialRemoved:
		if ok {
			return typesCredentialGone
		}
	}
	return nil
}
