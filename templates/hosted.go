package templates

import (
	"html/template"
	"net/http"
	"net/url"
)

// The hosted pages (templates/hosted/*.html, in hosted/layout.html): one
// view type and one render method per page. Each method sets p.Data to
// its view; p carries the title and the requesting app's name and logo.

// LoginView is the data of the sign-in and sign-up pages.
type LoginView struct {
	Interaction string
	LoginHint   string
	CSRF        string
	Passkey     bool
	// Passlink offers "Email me a sign-in link".
	Passlink bool
	// Password offers "Use password and security key".
	Password   bool
	SignupOpen bool
	RPID       string
	// StrongOnly: the request asks for a phishing-resistant sign-in, so
	// the page offers only methods that give one.
	StrongOnly bool
	// Level describes, in words, the assurance level the request asks for
	// when it is above basic ("" otherwise).
	Level string
	// StepUp: StepUpEmail's account is signed in below the passkey level
	// the app asks for; the page asks for one of its qualifying passkeys
	// (Qualifying of them), or, with none, offers to add one.
	StepUp      bool
	StepUpEmail string
	Qualifying  int
	// Recovery offers "Use a recovery code" (the policy allows it and
	// the request accepts a basic sign-in).
	Recovery bool
	// Upstreams are the "Continue with …" buttons of upstream providers.
	Upstreams []UpstreamButton
	// Ceremony and CeremonyOptions are a discoverable passkey sign-in
	// begun for the page (sealed; its WebAuthn request options as JSON):
	// the autofill starts with them, without an options request.
	Ceremony, CeremonyOptions string
}

// UpstreamButton is one upstream identity provider on the login page.
type UpstreamButton struct {
	ID, Name, Href string
	// Icon is an https URL or data: URI ("" shows the name's initial).
	Icon string
}

// UpstreamLinkView is the page of a new upstream identity whose verified
// address belongs to an account: sign in to that account to link it.
type UpstreamLinkView struct {
	Provider, MaskedEmail string
	LoginHref             string
	// PasslinkHref is "" when mail is off.
	PasslinkHref string
	Expiry       string
}

// UpstreamLink renders the linking page (/login/upstream/link).
func (r *Renderer) UpstreamLink(w http.ResponseWriter, status int, p Page, v UpstreamLinkView) error {
	return r.render(w, status, "upstream_link", p, v)
}

// Login renders the sign-in page (/login).
func (r *Renderer) Login(w http.ResponseWriter, status int, p Page, v LoginView) error {
	return r.render(w, status, "login", p, v)
}

// Signup renders the sign-up page (/signup).
func (r *Renderer) Signup(w http.ResponseWriter, status int, p Page, v LoginView) error {
	return r.render(w, status, "signup", p, v)
}

// IdentityView is an upstream identity linked to the account.
type IdentityView struct {
	ID, Provider, Email, Since string
}

// AccountView is the data of the account page.
type AccountView struct {
	// Identities are the linked upstream identities (authn/upstream).
	Identities []IdentityView
	User       AccountUser
	// UserHandle is the WebAuthn user handle (base64url of the user id).
	UserHandle string
	RPID       string
	Passkeys   []CredentialView
	// Keys are the security keys (second factor after a password).
	Keys     []CredentialView
	Password AccountPassword
	// Accepted is the JSON array of the user's credential ids.
	Accepted string
	Apps     []AppView
	Sessions []SessionView
	CSRF     string
	// Notice is the confirmation or refusal to show (?done=…).
	Notice string
	// Self-service (account_self.go): whether the address may change
	// here (mail is on), whether the last sign-in is a fresh passkey
	// one (changes that need it are offered; otherwise "sign in again"),
	// the pending deletion's date ("" when none) and the grace period.
	CanChangeEmail bool
	Fresh          bool
	DeletionDue    string
	DeletionGrace  string
	EmailError     string
	PendingEmail   string
	// Recovery is the recovery-codes section (shown when the policy
	// offers codes).
	Recovery AccountRecovery
}

// AccountRecovery is the recovery-codes part of the account page.
type AccountRecovery struct {
	On bool
	// Has: the account has a set (Left of its codes unused, of Count).
	Has   bool
	Left  int64
	Count int
}

// AccountUser is who the account page is about.
type AccountUser struct {
	Email       string
	DisplayName string
}

// CredentialView is a passkey or security key on the account page.
type CredentialView struct {
	ID       string
	Name     string
	Kind     string
	Created  string
	LastUsed string
	Sync     string
	Flagged  bool
}

// AccountPassword is the password and security key part of the account page.
type AccountPassword struct {
	// On: the method is configured.
	On          bool
	HasPassword bool
	// Recent: signed in recently enough to change the password.
	Recent     bool
	RequireKey bool
	MinLength  int
	Error      string
}

// AppView is an app the user granted access (a remembered consent).
type AppView struct {
	ClientID string
	Name     string
	Scopes   []string
	Since    string
}

// SessionView is one of the user's login sessions.
type SessionView struct {
	ID       string
	Device   string
	Since    string
	LastSeen string
	Current  bool
}

// Account renders the signed-in user's account page (/account).
func (r *Renderer) Account(w http.ResponseWriter, status int, p Page, v AccountView) error {
	return r.render(w, status, "account", p, v)
}

// SignedOut renders the account page's "you are not signed in".
func (r *Renderer) SignedOut(w http.ResponseWriter, status int, p Page) error {
	return r.render(w, status, "signed_out", p, nil)
}

// ErrorView is the data of the error page.
type ErrorView struct {
	Message string
	Hint    string
	// RequestID lets support find the log line.
	RequestID string
	// Link, when set, is the page's one way on (LinkLabel says where).
	Link, LinkLabel string
}

// Error renders the hosted error page.
func (r *Renderer) Error(w http.ResponseWriter, status int, p Page, v ErrorView) error {
	return r.render(w, status, "error", p, v)
}

// ConsentView is the data of the consent page.
type ConsentView struct {
	Interaction string
	CSRF        string
	UserEmail   string
	Scopes      []ScopeView
	// Resources are the APIs the access is for (RFC 8707 resource
	// parameters): Title their description or name, Description their
	// audience.
	Resources []ScopeView
	// PolicyURI and TOSURI are the app's privacy policy and terms of
	// service (its registered policy_uri and tos_uri; "" when none).
	PolicyURI, TOSURI string
}

// ScopeView is a requested scope in everyday words.
type ScopeView struct{ Title, Description string }

// Consent renders the consent page.
func (r *Renderer) Consent(w http.ResponseWriter, status int, p Page, v ConsentView) error {
	return r.render(w, status, "consent", p, v)
}

// FormPostView is the data of the form_post response mode's page.
type FormPostView struct {
	// Action is the client's redirect URI.
	Action string
	Values url.Values
}

// FormPost renders the self-submitting form that carries an authorization
// response to the client (OAuth 2.0 Form Post Response Mode).
func (r *Renderer) FormPost(w http.ResponseWriter, status int, p Page, v FormPostView) error {
	return r.render(w, status, "form_post", p, v)
}

// LogoutView is the data of the sign-out confirmation page.
type LogoutView struct {
	// Params are the end-session request's parameters, posted again.
	Params map[string]string
	CSRF   string
}

// Logout renders the sign-out confirmation page.
func (r *Renderer) Logout(w http.ResponseWriter, status int, p Page, v LogoutView) error {
	return r.render(w, status, "logout", p, v)
}

// LoggedOutView is the data of "you are signed out": the apps' front-channel
// logout pages to load in hidden iframes, and where to go once they have
// loaded (the app's post-logout redirect URI, "" to stay).
type LoggedOutView struct {
	Frames   []LogoutFrame
	Continue string
}

// LogoutFrame is one app's front-channel logout page.
type LogoutFrame struct {
	URL  string
	Name string // the app's name, for the iframe's title
}

// LoggedOut renders "you are signed out" after an end-session request.
func (r *Renderer) LoggedOut(w http.ResponseWriter, status int, p Page, v LoggedOutView) error {
	return r.render(w, status, "logged_out", p, v)
}

// PasslinkRequestView is the data of the "email me a sign-in link" form.
type PasslinkRequestView struct {
	Interaction string
	Email       string
	CSRF        string
	Error       string
}

// PasslinkRequest renders the "email me a sign-in link" form.
func (r *Renderer) PasslinkRequest(w http.ResponseWriter, status int, p Page, v PasslinkRequestView) error {
	return r.render(w, status, "passlink_request", p, v)
}

// PasslinkSentView is the data of "check your inbox".
type PasslinkSentView struct {
	RequestID   string
	Code        string
	CodeSpoken  string
	MaskedEmail string
	Expiry      string
	ExpiresMS   int64
	CSRF        string
	NewLink     string
}

// PasslinkSent renders "check your inbox".
func (r *Renderer) PasslinkSent(w http.ResponseWriter, status int, p Page, v PasslinkSentView) error {
	return r.render(w, status, "passlink_sent", p, v)
}

// PasslinkConfirmView is the data of the page an emailed link opens.
type PasslinkConfirmView struct {
	Token       string
	CSRF        string
	SameBrowser bool
	Signup      bool
	MaskedEmail string
	Device      string
	Requested   string
	Error       string
	Name        string
	// Admin: an administrator sent the link; it signs in this browser.
	Admin bool
}

// PasslinkConfirm renders the page an emailed link opens.
func (r *Renderer) PasslinkConfirm(w http.ResponseWriter, status int, p Page, v PasslinkConfirmView) error {
	return r.render(w, status, "passlink_confirm", p, v)
}

// PasslinkPasskeyView is the data of "add a passkey" after a passlink.
type PasslinkPasskeyView struct {
	CSRF          string
	Next          string
	Email         string
	RPID          string
	AddressProven bool
	// Recovery: the sign-in used a recovery code (CodesLeft remain).
	Recovery  bool
	CodesLeft int64
}

// PasslinkPasskey renders "add a passkey so next time is one tap".
func (r *Renderer) PasslinkPasskey(w http.ResponseWriter, status int, p Page, v PasslinkPasskeyView) error {
	return r.render(w, status, "passlink_passkey", p, v)
}

// RecoveryLoginView is the data of "Use a recovery code" (/login/recovery).
type RecoveryLoginView struct {
	Interaction string
	Identifier  string
	CSRF        string
	Error       string
}

// RecoveryLogin renders the sign-in with a recovery code.
func (r *Renderer) RecoveryLogin(w http.ResponseWriter, status int, p Page, v RecoveryLoginView) error {
	return r.render(w, status, "login_recovery", p, v)
}

// RecoveryCodesView is the data of the recovery codes page: the new
// codes, shown once (Codes set), or the offer to create them.
type RecoveryCodesView struct {
	Codes []string
	// Text is the codes one per line (copy); Download a data: URL of
	// the same text, saved as FileName.
	Text     string
	Download template.URL
	FileName string
	// Replaced: an earlier set stopped working.
	Replaced bool
	// Required: the policy asks this account to create codes now.
	Required bool
	// Fresh: the sign-in is recent enough to create codes.
	Fresh bool
	Count int
	CSRF  string
	// Next is where to continue.
	Next string
}

// RecoveryCodes renders the recovery codes page (/account/recovery-codes).
func (r *Renderer) RecoveryCodes(w http.ResponseWriter, status int, p Page, v RecoveryCodesView) error {
	return r.render(w, status, "recovery_codes", p, v)
}

// PasslinkResultView is the data of a passlink's outcome page.
type PasslinkResultView struct {
	OK          bool
	Message     string
	Hint        string
	ButtonLabel string
	ButtonHref  string
	SecondLabel string
	SecondHref  string
}

// AccountLinkView is the page a mailed account link opens (a change of
// address to confirm or undo, a deletion to cancel): what the link does,
// and the one button that does it (the GET changes nothing).
type AccountLinkView struct {
	Message, Hint string
	Button        string
	Danger        bool
	Action        string
	CSRF          string
}

// AccountLink renders the page of a mailed account link.
func (r *Renderer) AccountLink(w http.ResponseWriter, status int, p Page, v AccountLinkView) error {
	return r.render(w, status, "account_link", p, v)
}

// PasslinkResult renders a passlink's outcome.
func (r *Renderer) PasslinkResult(w http.ResponseWriter, status int, p Page, v PasslinkResultView) error {
	return r.render(w, status, "passlink_result", p, v)
}

// PasswordLoginView is the data of the password sign-in page.
type PasswordLoginView struct {
	Interaction string
	Email       string
	CSRF        string
	RPID        string
	// Notice is a state to explain ("key_ready", "reset").
	Notice string
	// Other links back to the login page when it offers more.
	Other bool
	// Forgot offers a reset link (mail is on).
	Forgot bool
	// Passlink offers "Email me a sign-in link".
	Passlink bool
}

// PasswordLogin renders the email + password sign-in page.
func (r *Renderer) PasswordLogin(w http.ResponseWriter, status int, p Page, v PasswordLoginView) error {
	return r.render(w, status, "password_login", p, v)
}

// PasswordForgotView is the data of "reset your password".
type PasswordForgotView struct {
	Interaction string
	Email       string
	CSRF        string
	Error       string
}

// PasswordForgot renders "reset your password".
func (r *Renderer) PasswordForgot(w http.ResponseWriter, status int, p Page, v PasswordForgotView) error {
	return r.render(w, status, "password_forgot", p, v)
}

// PasswordResetView is the data of "choose a new password".
type PasswordResetView struct {
	Token     string
	CSRF      string
	Email     string
	MinLength int
	Error     string
}

// PasswordReset renders "choose a new password" (from a reset link).
func (r *Renderer) PasswordReset(w http.ResponseWriter, status int, p Page, v PasswordResetView) error {
	return r.render(w, status, "password_reset", p, v)
}

// AdminSetupView is the data of the first-admin setup link's page.
type AdminSetupView struct {
	CSRF, Token, Message string
	// Action labels the button that creates the passkey; empty when the
	// page can only explain.
	Action string
}

// AdminSetup renders the first-admin setup link's page (hosted layout).
func (r *Renderer) AdminSetup(w http.ResponseWriter, status int, p Page, v AdminSetupView) error {
	return r.render(w, status, "admin_setup", p, v)
}

// AdminRefusedView is the data of the console's refusal of a non-admin.
type AdminRefusedView struct {
	Email string
	// Login signs in with another account and comes back.
	Login string
}

// AdminRefused renders the console's refusal of a signed-in non-admin
// (hosted layout).
func (r *Renderer) AdminRefused(w http.ResponseWriter, status int, p Page, v AdminRefusedView) error {
	return r.render(w, status, "admin_refused", p, v)
}

// VerifyEmailView is the data of the page that asks for the code mailed to
// prove an address (or, with Token, confirms the mailed link).
type VerifyEmailView struct {
	RequestID   string
	MaskedEmail string
	Expiry      string
	CSRF        string
	// Error is the refusal of the code typed; Notice a confirmation
	// ("A new code is on its way").
	Error  string
	Notice string
	// Created: a passkey sign-up (its passkey is saved).
	Created bool
	// Skippable: the policy does not require the proof.
	Skippable bool
	// Token: the page a mailed link opens in the browser that waits.
	Token string
}

// VerifyEmail renders the email verification page (/verify-email).
func (r *Renderer) VerifyEmail(w http.ResponseWriter, status int, p Page, v VerifyEmailView) error {
	return r.render(w, status, "verify_email", p, v)
}

// DeviceView is the data of the device page (/device), where a person
// types the code a device (TV, CLI) shows (RFC 8628 §3.3).
type DeviceView struct {
	CSRF string
	// Code is the code to show in the field: the one typed, or the one
	// from verification_uri_complete.
	Code string
	// Prefilled: the code came with the link (a QR code); the person is
	// asked to check it against the device's.
	Prefilled bool
	Error     string
}

// Device renders the device page.
func (r *Renderer) Device(w http.ResponseWriter, status int, p Page, v DeviceView) error {
	return r.render(w, status, "device", p, v)
}

// DeviceConfirmView is the data of the device confirmation page: which
// app, on which device, asks for what.
type DeviceConfirmView struct {
	Interaction string
	CSRF        string
	UserEmail   string
	// Device describes the asking device ("Go program on Linux"),
	// Requested says when it asked and IP from where.
	Device, Requested, IP string
	Scopes                []ScopeView
	// Resources are the APIs the device asked access to (RFC 8707), as
	// on the consent page.
	Resources []ScopeView
}

// DeviceConfirm renders the device confirmation page.
func (r *Renderer) DeviceConfirm(w http.ResponseWriter, status int, p Page, v DeviceConfirmView) error {
	return r.render(w, status, "device_confirm", p, v)
}

// DeviceDoneView is the data of the page after a device decision.
type DeviceDoneView struct{ Approved bool }

// DeviceDone renders the page after a device was approved or denied.
func (r *Renderer) DeviceDone(w http.ResponseWriter, status int, p Page, v DeviceDoneView) error {
	return r.render(w, status, "device_done", p, v)
}

// DataURL is a data: URL of text with the media type mt (a download
// link that needs no script and no request).
func DataURL(mt, text string) template.URL {
	return template.URL("data:" + mt + "," + url.PathEscape(text))
}
