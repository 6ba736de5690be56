package authn

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The password + security key method (issue 5). Sign-in is two steps on
// one page (static/password.js): POST /login/password checks the email
// and password (password.Service: throttled, uniform for unknown
// addresses) and answers with the WebAuthn options of the second step: an
// assertion restricted to the user's security keys, or, for a user
// without one when the policy demands it, the registration of one. The
// half-authenticated state between the steps is that WebAuthn ceremony
// row: server-side, bound to this browser, single use, five minutes, and
// only ever created after a right password; no cookie says "password
// done". POST /login/password/key or /login/password/enrol finishes it
// and only then starts the login session.
//
// amr/acr say what happened (RFC 8176): password + key assertion is
// ["pwd", "hwk", "mfa"] ("swk" for a key that can sync) at
// urn:sesame:acr:phr; a password alone, and the first sign-in that
// enrols a key, are ["pwd"] at urn:sesame:acr:basic: whoever knew the
// password could have enrolled that key, so it proves nothing more yet.
//
// Reset: /password/forgot sends a reset passlink (purpose "reset"); its
// page /password/reset/{token} chooses a new password, which spends the
// link, stores the password and signs the user out everywhere in one
// transaction. /account changes or sets the password after a recent
// sign-in and adds security keys.

// Labels that bind the method's WebAuthn ceremonies to the browser, so
// that the passkey endpoints (bound to the plain browser hash) can never
// finish them, nor these endpoints a passkey ceremony: finishing an
// enrolment at /webauthn/register/verify would otherwise look like a
// passkey sign-up and start a phishing-resistant session on a password.
func secondFactorBinding(browser string) string {
	return websession.Hash(browser + "\x00password:security-key")
}

func enrolBinding(browser string) string { return websession.Hash(browser + "\x00password:enrol") }

// accountKeyBinding binds the registration of a security key from the
// account page to this browser and its login session.
func accountKeyBinding(browser string, ls *models.LoginSession) string {
	return websession.Hash(registrationBinding(browser, ls) + "\x00account:security-key")
}

// recentAuth is how recent a sign-in must be to change the password.
const recentAuth = 10 * time.Minute

func (h *Handler) mountPasswords(r gin.IRouter) {
	if h.passwords == nil {
		return
	}
	r.GET("/login/password", h.page(h.handlePasswordPage))
	r.POST("/login/password", h.api(h.handlePasswordSignIn))
	r.POST("/login/password/key", h.api(h.handlePasswordKey))
	r.POST("/login/password/enrol", h.api(h.handlePasswordEnrol))
	r.POST("/account/password", h.page(h.handleAccountPassword))
	r.POST("/account/security-keys/options", h.api(h.handleSecurityKeyOptions))
	r.POST("/account/security-keys/verify", h.api(h.handleSecurityKeyVerify))
	if h.passlinks != nil {
		r.GET("/password/forgot", h.page(h.handleForgotForm))
		r.POST("/password/forgot", h.page(h.handleForgotRequest))
		r.GET(passlink.ResetPath+":token", h.page(h.handleResetForm))
		r.POST(passlink.ResetPath+":token", h.page(h.handleResetPost))
	}
}

// handlePasswordPage shows the email + password form. The login page
// sends people here; a client that allows only this method lands here.
func (h *Handler) handlePasswordPage(c *gin.Context) error {
	in, client, err := h.methodAllowed(c, c.Query("interaction"), models.MethodPasswordKey)
	if err != nil {
		return err
	}
	view := templates.PasswordLoginView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), RPID: h.rpID, Forgot: h.passlinks != nil, Other: true}
	view.Email = formEmail(strings.TrimSpace(c.Query("email")))
	switch n := c.Query("done"); n {
	case "key_ready", "reset":
		view.Notice = n
	}
	if in == nil && c.Query("return") != "" {
		h.rememberReturn(c) // login_return.go
	}
	t := h.tr(c)
	title := t.T("password.title")
	var app *models.Client
	if in != nil {
		view.Interaction = in.ID
		if view.Email == "" {
			view.Email = in.LoginHint
		}
		view.Other = h.passkeys != nil && clientAllows(client, models.MethodPasskey)
		view.Passlink = !view.Other && h.passlinks != nil && passlinkOffered(in, client)
		title, app = t.T("password.title_app", "app", client.Name), client
	}
	c.Header("Cache-Control", "no-store")
	return h.pages.PasswordLogin(c.Writer, http.StatusOK, t.appPage(title, app), view)
}

// passwordRequest is the first step: who and the password.
type passwordRequest struct {
	Interaction string `json:"interaction"`
	Email       string `json:"email"`
	Password    string `json:"password"`
}

// stepResponse says what the page does next: a security key assertion
// ("key"), a security key registration ("enrol"), or go (Redirect).
type stepResponse struct {
	Step      string          `json:"step,omitempty"`
	Ceremony  string          `json:"ceremony,omitempty"`
	PublicKey json.RawMessage `json:"publicKey,omitempty"`
	Redirect  string          `json:"redirect,omitempty"`
}

// passwordEvent is an auth event of the password + security key method.
func passwordEvent(userID, interactionID, name, result, reason, aaguid string) authEvent {
	return authEvent{method: models.MethodPasswordKey, userID: userID, interactionID: interactionID, name: name,
		result: result, reason: reason, aaguid: aaguid}
}

// handlePasswordSignIn checks the email and password and begins the
// second step. Every refusal of the password is the same answer, whatever
// the account.
func (h *Handler) handlePasswordSignIn(c *gin.Context) error {
	ctx := c.Request.Context()
	var req passwordRequest
	if err := h.readJSON(c, &req); err != nil {
		return err
	}
	// The client's policy first: a forged post for a client that does not
	// allow passwords is refused before anything is looked up or counted.
	in, _, err := h.methodAllowed(c, req.Interaction, models.MethodPasswordKey)
	if err != nil {
		return err
	}
	inID := interactionID(in)
	if req.Password == "" {
		return refuse(http.StatusBadRequest, "password_missing", "api.password_missing")
	}
	v, err := h.passwords.SignIn(ctx, password.Attempt{Email: req.Email, Password: req.Password, IP: c.ClientIP()})
	var throttled *password.ThrottledError
	switch {
	case errors.Is(err, password.ErrTooLong):
		return refuse(http.StatusBadRequest, "password_too_long", "api.password_too_long", "max", password.MaxBytes)
	case errors.Is(err, password.ErrInvalidEmail):
		return refuse(http.StatusBadRequest, "invalid_email", "api.email_example")
	case errors.As(err, &throttled):
		h.log.InfoContext(ctx, "password sign-in throttled", "by", throttled.By, "retry_after", throttled.RetryAfter)
		h.record(c, passwordEvent("", inID, "login", models.ResultFailure, "throttled", ""))
		c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Round(time.Second)/time.Second)+1))
		key := "api.throttled"
		if h.passlinks != nil {
			key = "api.throttled_reset"
		}
		return refuse(http.StatusTooManyRequests, "throttled", key, "wait", aboutDuration(h.tr(c), throttled.RetryAfter))
	case errors.Is(err, password.ErrWrongPassword):
		// The event names the account when the address has one, so the
		// console shows whose password was wrong (the person who typed it
		// learns nothing: the answer is the same either way).
		uid := ""
		if u, uerr := h.st.GetUserByEmail(ctx, req.Email); uerr == nil {
			uid = u.ID
		}
		h.record(c, passwordEvent(uid, inID, "login", models.ResultFailure, "wrong_password", ""))
		return refuse(http.StatusUnauthorized, "wrong_password", "api.wrong_password")
	case errors.Is(err, password.ErrDisabled):
		return refuse(http.StatusForbidden, "account_disabled", "api.account_disabled")
	case err != nil:
		return err
	}
	u := v.User
	creds, err := h.st.ListUserCredentials(ctx, u.ID)
	if err != nil {
		return err
	}
	keys := 0
	for _, cr := range creds {
		if cr.Kind == models.CredentialSecurityKey {
			keys++
		}
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	var resp stepResponse
	switch {
	case keys > 0:
		resp.Step = "key"
		resp.PublicKey, resp.Ceremony, err = h.passkeys.BeginSecurityKeyLogin(ctx, u, secondFactorBinding(browser), inID)
	case h.passwords.RequireSecurityKey() || (in != nil && !models.ACRSatisfies(models.ACRBasic, strings.Fields(in.ACRValues))):
		// No key yet: enrol one now, before any session. (Also when the
		// policy lets a password alone in but this request asks for more
		// than a password gives.)
		resp.Step = "enrol"
		resp.PublicKey, resp.Ceremony, err = h.passkeys.BeginRegistration(ctx, u, nil, models.CredentialSecurityKey, enrolBinding(browser), inID)
	default:
		resp.Redirect, err = h.completeSignIn(c, signIn{user: u, method: models.MethodPasswordKey, amr: []string{"pwd"}, acr: models.ACRBasic,
			interactionID: inID, reason: "password_only"})
		if err != nil {
			return err
		}
	}
	if err != nil {
		return h.ceremonyError(c, passwordMethod, err, u.ID, "")
	}
	return noStoreJSON(c, http.StatusOK, resp)
}

// handlePasswordKey finishes the second step: the security key assertion
// of the ceremony the right password began.
func (h *Handler) handlePasswordKey(c *gin.Context) error {
	req, err := h.readVerify(c, keyUnreadable)
	if err != nil {
		return err
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	res, err := h.passkeys.FinishLogin(c.Request.Context(), req.Ceremony, secondFactorBinding(browser), req.Credential)
	if err != nil {
		return h.ceremonyError(c, passwordMethod, err, "", "login")
	}
	if res.Credential.Kind != models.CredentialSecurityKey {
		// Cannot happen: only BeginSecurityKeyLogin makes ceremonies with
		// this binding, and FinishLogin holds the credential to its kind.
		return refuse(http.StatusBadRequest, "wrong_credential_kind", "api.key_for_password")
	}
	key := "hwk" // RFC 8176: a hardware-bound key…
	if res.Credential.BackupEligible {
		key = "swk" // …or one that can leave the device (synced)
	}
	amr, acr := []string{"pwd", key, "mfa"}, models.ACRPhishingResistant
	if res.Facts.Compromised {
		// The FIDO metadata reports the key's model compromised: the
		// password is all that is proven (passkey.Facts.Compromised).
		amr, acr = []string{"pwd", key}, models.ACRBasic
	}
	next, err := h.completeSignIn(c, signIn{user: res.User, method: models.MethodPasswordKey, amr: amr,
		acr: acr, interactionID: res.InteractionID, aaguid: res.Credential.AAGUID, strong: true})
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, gin.H{"redirect": next})
}

// handlePasswordEnrol finishes the enrolment of a first security key
// after a right password, and signs in with the password: acr basic
// (see the top of this file). When the authorization asks for more, the
// person signs in once more, now with the key.
func (h *Handler) handlePasswordEnrol(c *gin.Context) error {
	req, err := h.readVerify(c, keyUnreadable)
	if err != nil {
		return err
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	u, cred, inID, err := h.passkeys.FinishRegistration(c.Request.Context(), req.Ceremony, enrolBinding(browser), req.Credential)
	if err != nil {
		return h.ceremonyError(c, passwordMethod, err, "", "register")
	}
	h.record(c, passwordEvent(u.ID, inID, "register", models.ResultSuccess, "security_key", cred.AAGUID))
	s := signIn{user: u, method: models.MethodPasswordKey, amr: []string{"pwd"}, acr: models.ACRBasic,
		interactionID: inID, reason: "enrolled", aaguid: cred.AAGUID}
	if in := h.liveInteraction(c, inID); in != nil && !models.ACRSatisfies(models.ACRBasic, strings.Fields(in.ACRValues)) {
		// The app asks for a phishing-resistant sign-in: do it now
		// with the new key rather than bounce through the provider.
		s.holdInteraction = "/login/password?" + url.Values{"interaction": {inID}, "email": {u.Email}, "done": {"key_ready"}}.Encode()
	}
	next, err := h.completeSignIn(c, s)
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, gin.H{"redirect": next})
}

// keyUnreadable answers a security key response that cannot be read.
const keyUnreadable = "api.key_unreadable"

// keyAnswers words the passkey service's refusals for a security key.
var keyAnswers = map[string]bool{
	"unknown_credential": true, "wrong_credential": true, "wrong_credential_kind": true, "credential_suspended": true,
	"credential_exists": true, "ceremony_not_found": true, "ceremony_expired": true, "ceremony_used": true, "wrong_browser": true,
}

// aboutDuration says a wait the way people do: "45 seconds", "2 minutes".
func aboutDuration(t tr, d time.Duration) string {
	switch {
	case d < time.Minute:
		return t.duration(max(d.Round(time.Second), time.Second))
	case d < time.Hour:
		return t.duration(((d + time.Minute - 1) / time.Minute) * time.Minute)
	default:
		return t.T("duration.about", "duration", t.duration(((d+time.Hour-1)/time.Hour)*time.Hour))
	}
}
