package passkey

import (
	"errors"
	"net/http"
	"strings"
)

// Sentinel errors. Every error the service returns for a bad request wraps
// exactly one of them (test with errors.Is); HTTPStatusAndCode maps them to
// an answer for the browser.
var (
	// ErrCeremonyNotFound: no ceremony with that id (never begun, or swept).
	ErrCeremonyNotFound = errors.New("ceremony not found")
	// ErrCeremonyExpired: the ceremony outlived CeremonyTTL.
	ErrCeremonyExpired = errors.New("ceremony expired")
	// ErrCeremonyUsed: the ceremony was already finished (single use).
	ErrCeremonyUsed = errors.New("ceremony already used")
	// ErrCeremonyWrongBrowser: the ceremony was begun by another browser, or
	// is of the other kind (a registration finished as a login).
	ErrCeremonyWrongBrowser = errors.New("ceremony belongs to another browser")
	// ErrInvalidResponse: the browser's JSON, clientDataJSON,
	// attestationObject or authenticatorData does not parse.
	ErrInvalidResponse = errors.New("malformed authenticator response")
	// ErrVerification: the response parses but does not verify (type,
	// challenge, origin, RP ID hash, flags, signature, attestation).
	ErrVerification = errors.New("authenticator response does not verify")
	// ErrUserVerificationRequired: the policy requires user verification
	// and the authenticator did not perform it (UV flag clear).
	ErrUserVerificationRequired = errors.New("user verification required")
	// ErrCounterRegression: the signature counter did not increase, so the
	// credential may be cloned (WebAuthn §7.2 step 22); it is now refused.
	ErrCounterRegression = errors.New("signature counter regression")
	// ErrCredentialExists: the credential id is already registered.
	ErrCredentialExists = errors.New("credential already registered")
	// ErrUnknownCredential: no credential with the asserted id (never
	// registered here, or deleted). CredentialID(err) gives the id.
	ErrUnknownCredential = errors.New("unknown credential")
	// ErrForeignCredential: the credential exists but does not belong to the
	// user the ceremony is for.
	ErrForeignCredential = errors.New("credential belongs to another account")
	// ErrWrongCredentialKind: a security key (a second factor) used where a
	// passkey is needed, or the reverse.
	ErrWrongCredentialKind = errors.New("wrong kind of credential")
	// ErrUserDisabled: the account is disabled.
	ErrUserDisabled = errors.New("account disabled")
	// ErrEmailTaken: sign-up with an address that already has an account.
	ErrEmailTaken = errors.New("email address already registered")
	// ErrAttestationRefused: the authenticator model is not allowed (AAGUID
	// lists, FIDO metadata).
	ErrAttestationRefused = errors.New("authenticator not allowed")
	// ErrSyncedRefused: a passkey that may sync between devices (backup
	// eligible) where the synced-passkey policy blocks them.
	ErrSyncedRefused = errors.New("synced passkey not allowed")
	// ErrCredentialSuspended: the credential was suspended because the
	// FIDO metadata reports its authenticator model compromised or revoked
	// (policy suspend_compromised_passkeys).
	ErrCredentialSuspended = errors.New("credential suspended: authenticator model compromised")
	// ErrTooLarge: the browser's response is larger than MaxResponseBytes.
	ErrTooLarge = errors.New("response too large")
	// ErrBadInput: the caller passed an invalid argument (empty email, unknown
	// credential kind, empty browser binding).
	ErrBadInput = errors.New("invalid request")
)

// Error is the error type of failed ceremonies: Kind is one of the
// sentinels above; the ids say what was known when it failed, for the
// page (signalUnknownCredential) and the auth event.
type Error struct {
	Kind         error
	Detail       string
	CredentialID string // base64url, when a credential was named
	UserID       string // when the user was known
	AAGUID       string // when the credential was known
	// InteractionID is the authorization the ceremony served, so a failure
	// can be counted against its client.
	InteractionID string
	Cause         error
}

// withInteraction stamps a failed ceremony's error with its interaction.
func withInteraction(err *error, interactionID string) {
	var e *Error
	if *err != nil && errors.As(*err, &e) && e.InteractionID == "" {
		e.InteractionID = interactionID
	}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("passkey: ")
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap exposes both the sentinel and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

func fail(kind error, detail string) *Error { return &Error{Kind: kind, Detail: detail} }

func failWith(kind error, detail string, cause error) *Error {
	return &Error{Kind: kind, Detail: detail, Cause: cause}
}

// with fills in what is known about the credential and user.
func (e *Error) with(credID, userID, aaguid string) *Error {
	if e.CredentialID == "" {
		e.CredentialID = credID
	}
	if e.UserID == "" {
		e.UserID = userID
	}
	if e.AAGUID == "" {
		e.AAGUID = aaguid
	}
	return e
}

// CredentialID returns the credential id (base64url) a failed ceremony
// named, "" if none: with ErrUnknownCredential the page passes it to
// PublicKeyCredential.signalUnknownCredential.
func CredentialID(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.CredentialID
	}
	return ""
}

type errorAnswer struct {
	kind    error
	status  int
	code    string
	message string
}

// answers maps each sentinel to an HTTP status, a stable code and a message
// for people. Codes are part of the API (the page's JS branches on them).
var answers = []errorAnswer{
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large", "The response from your device was too large."},
	{ErrCeremonyNotFound, http.StatusBadRequest, "ceremony_not_found", "This request is unknown or has expired. Please try again."},
	{ErrCeremonyExpired, http.StatusBadRequest, "ceremony_expired", "This request took too long and has expired. Please try again."},
	{ErrCeremonyUsed, http.StatusConflict, "ceremony_used", "This request was already used. Please try again."},
	{ErrCeremonyWrongBrowser, http.StatusForbidden, "wrong_browser", "This request was started in another browser. Please start again here."},
	{ErrInvalidResponse, http.StatusBadRequest, "invalid_response", "Your device sent a response that could not be read. Please try again."},
	{ErrUserVerificationRequired, http.StatusForbidden, "user_verification_required", "Your device must verify it is you (PIN, fingerprint or face). Please try again and unlock it when asked."},
	{ErrVerification, http.StatusBadRequest, "verification_failed", "Your device's response could not be verified. Please try again."},
	{ErrCounterRegression, http.StatusForbidden, "credential_suspended", "This passkey looks like it was copied and has been blocked for your safety. Sign in another way and remove it from your account."},
	{ErrCredentialExists, http.StatusConflict, "credential_exists", "This passkey is already registered."},
	{ErrUnknownCredential, http.StatusBadRequest, "unknown_credential", "This passkey is not registered here; it may have been removed. Choose another passkey or sign in another way."},
	{ErrForeignCredential, http.StatusBadRequest, "wrong_credential", "This passkey does not belong to this account. Choose another passkey."},
	{ErrWrongCredentialKind, http.StatusBadRequest, "wrong_credential_kind", "This security key cannot be used on its own here. Choose a passkey or sign in another way."},
	{ErrUserDisabled, http.StatusForbidden, "account_disabled", "This account is disabled. Contact your administrator."},
	{ErrEmailTaken, http.StatusConflict, "email_taken", "An account could not be created with this email address. If you already have an account, sign in instead."},
	{ErrAttestationRefused, http.StatusForbidden, "authenticator_not_allowed", "This kind of passkey or security key is not allowed here. Please use another one."},
	{ErrSyncedRefused, http.StatusForbidden, "synced_passkey_refused", "Passkeys that sync between devices are not accepted here. Use a security key, or a passkey saved only on this device."},
	{ErrCredentialSuspended, http.StatusForbidden, "credential_model_compromised", "This passkey has been suspended: its maker reported this kind of device as unsafe. Sign in another way, such as a link by email, then add a new passkey to your account."},
	{ErrBadInput, http.StatusBadRequest, "invalid_request", "The request was not valid."},
}

// HTTPStatusAndCode maps an error from this package to a 4xx status, a
// short stable code and a message fit for people, so a handler can answer
// {"error": code, "message": message}. Anything else is a 500
// "server_error" (log it; do not show it).
func HTTPStatusAndCode(err error) (status int, code string, message string) {
	for _, a := range answers {
		if errors.Is(err, a.kind) {
			return a.status, a.code, a.message
		}
	}
	return http.StatusInternalServerError, "server_error", "Something went wrong on our side. Please try again."
}
