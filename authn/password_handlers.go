package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	r.GET("/login/password", h.handlePasswordPage)
	r.POST("/login/password", h.handlePasswordSignIn)
	r.POST("/login/password/key", h.handlePasswordKey)
	r.POST("/login/password/enrol", h.handlePasswordEnrol)
	r.POST("/account/password", h.handleAccountPassword)
	r.POST("/account/security-keys/options", h.handleSecurityKeyOptions)
	r.POST("/account/security-keys/verify", h.handleSecurityKeyVerify)
	if h.passlinks != nil {
		r.GET("/password/forgot", h.handleForgotForm)
		r.POST("/password/forgot", h.handleForgotRequest)
		r.GET(passlink.ResetPath+":token", h.handleResetForm)
		r.POST(passlink.ResetPath+":token", h.handleResetPost)
	}
}

// passwordView is the data of the password sign-in page.
type passwordView struct {
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
	// Passlink offers "Email me a sign-in link" (no passkey page to
	// offer it).
	Passlink bool
}

// handlePasswordPage shows the email + password form. The login page
// sends people here; a client that allows only this method lands here.
func (h *Handler) handlePasswordPage(c *gin.Context) {
	in, client, err := h.methodAllowed(c, c.Query("interaction"), models.MethodPasswordKey)
	if err != nil {
		h.fail(c, err)
		return
	}
	view := passwordView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), RPID: h.rpID, Forgot: h.passlinks != nil, Other: true}
	view.Email = formEmail(strings.TrimSpace(c.Query("email")))
	switch n := c.Query("done"); n {
	case "key_ready", "reset":
		view.Notice = n
	}
	if in == nil && c.Query("return") != "" {
		h.rememberReturn(c) // login_return.go
	}
	title, app, logo := "Sign in", "", ""
	if in != nil {
		view.Interaction = in.ID
		if view.Email == "" {
			view.Email = in.LoginHint
		}
		view.Other = h.passkeys != nil && clientAllows(client, models.MethodPasskey)
		view.Passlink = !view.Other && h.passlinks != nil && passlinkOffered(in, client)
		title, app, logo = "Sign in to "+client.Name, client.Name, client.LogoURI
	}
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, http.StatusOK, "password_login", templates.Page{Title: title, AppName: app, AppLogo: logo, Data: view}); err != nil {
		h.fail(c, err)
	}
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

// handlePasswordSignIn checks the email and password and begins the
// second step. Every refusal of the password is the same answer, whatever
// the account.
func (h *Handler) handlePasswordSignIn(c *gin.Context) {
	ctx := c.Request.Context()
	var req passwordRequest
	if !h.readJSON(c, &req) {
		return
	}
	// The client's policy first: a forged post for a client that does not
	// allow passwords is refused before anything is looked up or counted.
	in, _, ok := h.allowedJSON(c, req.Interaction, models.MethodPasswordKey)
	if !ok {
		return
	}
	inID := interactionID(in)
	if req.Password == "" {
		h.jsonError(c, http.StatusBadRequest, "password_missing", "Enter your password.")
		return
	}
	v, err := h.passwords.SignIn(ctx, password.Attempt{Email: req.Email, Password: req.Password, IP: c.ClientIP()})
	var throttled *password.ThrottledError
	switch {
	case errors.Is(err, password.ErrTooLong):
		h.jsonError(c, http.StatusBadRequest, "password_too_long", fmt.Sprintf("That password is too long: passwords here are at most %d bytes.", password.MaxBytes))
		return
	case errors.Is(err, password.ErrInvalidEmail):
		h.jsonError(c, http.StatusBadRequest, "invalid_email", "Enter a valid email address, like name@example.com.")
		return
	case errors.As(err, &throttled):
		h.log.InfoContext(ctx, "password sign-in throttled", "by", throttled.By, "retry_after", throttled.RetryAfter)
		h.recordEvent(c, passwordMethod, "", inID, "login", models.ResultFailure, "throttled", "")
		c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Round(time.Second)/time.Second)+1))
		msg := "Too many attempts. Try again in " + aboutDuration(throttled.RetryAfter) + "."
		if h.passlinks != nil {
			msg += " Forgot your password? Reset it."
		}
		h.jsonError(c, http.StatusTooManyRequests, "throttled", msg)
		return
	case errors.Is(err, password.ErrWrongPassword):
		h.recordEvent(c, passwordMethod, "", inID, "login", models.ResultFailure, "wrong_password", "")
		h.jsonError(c, http.StatusUnauthorized, "wrong_password", "Your email or password is wrong.")
		return
	case errors.Is(err, password.ErrDisabled):
		h.jsonError(c, http.StatusForbidden, "account_disabled", "This account is disabled. Contact your administrator.")
		return
	case err != nil:
		h.pageErrJSON(c, err)
		return
	}
	u := v.User
	creds, err := h.st.ListUserCredentials(ctx, u.ID)
	if err != nil {
		h.pageErrJSON(c, err)
		return
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
		ls, serr := h.sessions.Start(ctx, c.Writer, c.Request, websession.Login{
			UserID: u.ID, AMR: []string{"pwd"}, ACR: models.ACRBasic, AuthTime: time.Now(),
		})
		if serr != nil {
			h.pageErrJSON(c, serr)
			return
		}
		h.recordEvent(c, passwordMethod, u.ID, inID, "login", models.ResultSuccess, "password_only", "")
		resp.Redirect = h.afterLogin(c, inID, ls.ID)
	}
	if err != nil {
		h.ceremonyError(c, passwordMethod, err, u.ID, "")
		return
	}
	noStoreJSON(c, http.StatusOK, resp)
}

// handlePasswordKey finishes the second step: the security key assertion
// of the ceremony the right password began.
func (h *Handler) handlePasswordKey(c *gin.Context) {
	ctx := c.Request.Context()
	req, ok := h.readVerify(c, keyUnreadable)
	if !ok {
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	res, err := h.passkeys.FinishLogin(ctx, req.Ceremony, secondFactorBinding(browser), req.Credential)
	if err != nil {
		h.ceremonyError(c, passwordMethod, err, "", "login")
		return
	}
	if res.Credential.Kind != models.CredentialSecurityKey {
		// Cannot happen: only BeginSecurityKeyLogin makes ceremonies with
		// this binding, and FinishLogin holds the credential to its kind.
		h.jsonError(c, http.StatusBadRequest, "wrong_credential_kind", "Use the security key registered for your password sign-in.")
		return
	}
	key := "hwk" // RFC 8176: a hardware-bound key…
	if res.Credential.BackupEligible {
		key = "swk" // …or one that can leave the device (synced)
	}
	ls, err := h.sessions.Start(ctx, c.Writer, c.Request, websession.Login{
		UserID: res.User.ID, AMR: []string{"pwd", key, "mfa"}, ACR: models.ACRPhishingResistant, AuthTime: time.Now(),
	})
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	h.recordEvent(c, passwordMethod, res.User.ID, res.InteractionID, "login", models.ResultSuccess, "", res.Credential.AAGUID)
	noStoreJSON(c, http.StatusOK, gin.H{"redirect": h.afterStrongLogin(c, res.InteractionID, ls.ID)})
}

// handlePasswordEnrol finishes the enrolment of a first security key
// after a right password, and signs in with the password: acr basic
// (see the top of this file). When the authorization asks for more, the
// person signs in once more, now with the key.
func (h *Handler) handlePasswordEnrol(c *gin.Context) {
	ctx := c.Request.Context()
	req, ok := h.readVerify(c, keyUnreadable)
	if !ok {
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	u, cred, inID, err := h.passkeys.FinishRegistration(ctx, req.Ceremony, enrolBinding(browser), req.Credential)
	if err != nil {
		h.ceremonyError(c, passwordMethod, err, "", "register")
		return
	}
	h.recordEvent(c, passwordMethod, u.ID, inID, "register", models.ResultSuccess, "security_key", cred.AAGUID)
	ls, err := h.sessions.Start(ctx, c.Writer, c.Request, websession.Login{
		UserID: u.ID, AMR: []string{"pwd"}, ACR: models.ACRBasic, AuthTime: time.Now(),
	})
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	h.recordEvent(c, passwordMethod, u.ID, inID, "login", models.ResultSuccess, "enrolled", cred.AAGUID)
	next := ""
	if inID != "" {
		if in, err := h.st.GetInteraction(ctx, inID); err == nil && !models.ACRSatisfies(models.ACRBasic, strings.Fields(in.ACRValues)) {
			// The app asks for a phishing-resistant sign-in: do it now
			// with the new key rather than bounce through the provider.
			next = "/login/password?" + url.Values{"interaction": {inID}, "email": {u.Email}, "done": {"key_ready"}}.Encode()
		}
	}
	if next == "" {
		next = h.afterLogin(c, inID, ls.ID)
	}
	noStoreJSON(c, http.StatusOK, gin.H{"redirect": next})
}

// keyUnreadable answers a security key response that cannot be read.
const keyUnreadable = "The security key's response could not be read."

// keyAnswers words the passkey service's refusals for a security key.
var keyAnswers = map[string]string{
	"unknown_credential":    "This security key isn't registered to your account. Use the key you set up for it.",
	"wrong_credential":      "This security key isn't registered to your account. Use the key you set up for it.",
	"wrong_credential_kind": "That is a passkey, not a security key. Use the security key you set up, or go back and sign in with the passkey.",
	"credential_suspended":  "This security key looks like it was copied and has been blocked. Sign in another way and add a new key on your account page.",
	"credential_exists":     "This security key is already registered. Use it to sign in, or use another key.",
	"ceremony_not_found":    "This sign-in expired. Start again.",
	"ceremony_expired":      "This sign-in took too long and expired. Start again.",
	"ceremony_used":         "This sign-in was already used. Start again.",
	"wrong_browser":         "This sign-in was started in another browser or tab. Start again here.",
}

// aboutDuration says a wait the way people do: "45 seconds", "2 minutes".
func aboutDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return passlink.HumanDuration(max(d.Round(time.Second), time.Second))
	case d < time.Hour:
		return passlink.HumanDuration(((d + time.Minute - 1) / time.Minute) * time.Minute)
	default:
		return "about " + passlink.HumanDuration(((d+time.Hour-1)/time.Hour)*time.Hour)
	}
}

// --- Reset by passlink ---

type forgotView struct {
	Interaction string
	Email       string
	CSRF        string
	Error       string
}

// resetInteraction loads the interaction a reset page names (or none)
// and checks that its client allows passwords.
func (h *Handler) resetInteraction(c *gin.Context, id string) (*models.Interaction, *models.Client, error) {
	return h.methodAllowed(c, id, models.MethodPasswordKey)
}

// handleForgotForm asks for the address to send a reset link to.
func (h *Handler) handleForgotForm(c *gin.Context) {
	in, client, err := h.resetInteraction(c, c.Query("interaction"))
	if err != nil {
		h.fail(c, err)
		return
	}
	view := forgotView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request)}
	view.Email = formEmail(strings.TrimSpace(c.Query("email")))
	view.Interaction = interactionID(in)
	h.renderForgot(c, http.StatusOK, client, view)
}

func (h *Handler) renderForgot(c *gin.Context, status int, client *models.Client, view forgotView) {
	app := ""
	if client != nil {
		app = client.Name
	}
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, status, "password_forgot", templates.Page{Title: "Reset your password", AppName: app, AppLogo: appLogo(client), Data: view}); err != nil {
		h.fail(c, err)
	}
}

// handleForgotRequest sends a reset link. The answer is the same page for
// every valid address, known or not, limited or not.
func (h *Handler) handleForgotRequest(c *gin.Context) {
	ctx := c.Request.Context()
	in, client, req, ok := h.linkForm(c, h.resetInteraction)
	if !ok {
		return
	}
	req.Reset = true
	sent, ok := h.sendLink(c, req, func(msg string) {
		h.renderForgot(c, http.StatusBadRequest, client, forgotView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Error: msg,
			Interaction: interactionID(in), Email: formEmail(c.PostForm("email"))})
	})
	if !ok {
		return
	}
	if sent.Limited {
		h.log.InfoContext(ctx, "password reset request rate limited", "by", sent.LimitedBy)
		h.recordEvent(c, passwordMethod, "", req.InteractionID, "reset_request", models.ResultFailure, "rate_limited", "")
	} else {
		h.recordEvent(c, passwordMethod, sent.UserID, req.InteractionID, "reset_request", models.ResultSuccess, "", "")
	}
	back := "/login/password"
	var app *models.Client
	if in != nil {
		back += "?interaction=" + url.QueryEscape(in.ID)
		app = client
	}
	h.renderResult(c, http.StatusOK, "Check your inbox", app, resultView{OK: true,
		Message:     "We sent a link to " + sent.MaskedEmail + " to choose a new password. It works for " + passlink.HumanDuration(h.passlinks.TTL(c.Request.Context())) + ".",
		Hint:        "No mail? Check your spam folder, or make sure you typed the address you signed up with.",
		ButtonLabel: "Back to sign-in", ButtonHref: back,
	})
}

type resetView struct {
	Token     string
	CSRF      string
	Email     string
	MinLength int
	Error     string
}

// handleResetForm shows "choose a new password" for a reset link. It
// changes nothing (mail scanners prefetch links).
func (h *Handler) handleResetForm(c *gin.Context) {
	l, err := h.passlinks.LookupReset(c.Request.Context(), c.Param("token"))
	if err != nil {
		h.resetProblem(c, err)
		return
	}
	h.renderReset(c, http.StatusOK, l, "")
}

func (h *Handler) renderReset(c *gin.Context, status int, l *passlink.Link, msg string) {
	// The token is in the path; Referrer-Policy same-origin (the
	// middleware's) keeps it from other sites, and the page links nowhere.
	c.Header("Cache-Control", "no-store")
	err := h.pages.Render(c.Writer, status, "password_reset", templates.Page{Title: "Choose a new password", Data: resetView{
		Token: c.Param("token"), CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Email: l.Email,
		MinLength: h.passwords.MinLength(), Error: msg,
	}})
	if err != nil {
		h.fail(c, err)
	}
}

// handleResetPost sets the new password: the rules first (nothing is
// spent on a refused password), then the link is spent, the password
// stored and every session of the user ended, in one transaction.
func (h *Handler) handleResetPost(c *gin.Context) {
	ctx := c.Request.Context()
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		h.fail(c, errBadForm)
		return
	}
	token := c.Param("token")
	l, err := h.passlinks.LookupReset(ctx, token)
	if err != nil {
		h.resetProblem(c, err)
		return
	}
	hash, err := h.passwords.NewHash(c.PostForm("password"), l.Email)
	var rule *password.RuleError
	if errors.As(err, &rule) {
		h.renderReset(c, http.StatusBadRequest, l, rule.Message)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	res, err := h.passlinks.Reset(ctx, token, func(ctx context.Context, u *models.User) error {
		return h.st.ResetUserPassword(ctx, u.ID, hash)
	})
	if err != nil {
		h.resetProblem(c, err)
		return
	}
	h.recordEvent(c, passwordMethod, res.User.ID, res.InteractionID, "reset", models.ResultSuccess, "", "")
	// The reset signed this browser out too: clear its cookie.
	if err := h.sessions.End(ctx, c.Writer, c.Request); err != nil {
		h.log.WarnContext(ctx, "end session after reset", "err", err)
	}
	next := url.Values{"email": {res.User.Email}, "done": {"reset"}}
	if res.InteractionID != "" {
		if in, err := h.st.GetInteraction(ctx, res.InteractionID); err == nil && h.sessions.SameBrowser(c.Request, in.BrowserHash) {
			next.Set("interaction", in.ID)
		}
	}
	c.Redirect(http.StatusSeeOther, "/login/password?"+next.Encode())
}

// resetProblem explains a reset link that cannot be used.
func (h *Handler) resetProblem(c *gin.Context, err error) {
	v := resultView{ButtonLabel: "Email me a new link", ButtonHref: "/password/forgot"}
	status, title := http.StatusGone, ""
	switch {
	case errors.Is(err, passlink.ErrInvalidLink):
		status, title = http.StatusBadRequest, "This link doesn't work"
		v.Message = "The link is incomplete or was changed. Open it exactly as it arrived, or ask for a new one."
	case errors.Is(err, passlink.ErrExpired):
		title = "This link has expired"
		v.Message = "Password reset links work for " + passlink.HumanDuration(h.passlinks.TTL(c.Request.Context())) + ", and this one is older."
	case errors.Is(err, passlink.ErrUsed):
		title = "This link was already used"
		v.Message = "Each link works once. If you chose a new password with it, sign in with that password."
		v.SecondLabel, v.SecondHref = "Sign in", "/login/password"
	case errors.Is(err, passlink.ErrUserUnavailable):
		status, title = http.StatusForbidden, "This account can't sign in"
		v.Message = "The account for this address is not available."
		v.Hint, v.ButtonLabel, v.ButtonHref = "Contact your administrator.", "", ""
	default:
		h.fail(c, err)
		return
	}
	h.renderResult(c, status, title, nil, v)
}

// --- Account ---

// passwordAccount is the password and security key part of /account.
type passwordAccount struct {
	// On: the method is configured.
	On          bool
	HasPassword bool
	// Recent: signed in within recentAuth, so the password may change.
	Recent     bool
	RequireKey bool
	MinLength  int
	Error      string
}

func (h *Handler) passwordAccount(c *gin.Context, ls *models.LoginSession, u *models.User) (passwordAccount, error) {
	if h.passwords == nil {
		return passwordAccount{}, nil
	}
	pa := passwordAccount{On: true, RequireKey: h.passwords.RequireSecurityKey(), MinLength: h.passwords.MinLength(),
		Recent: time.Since(ls.AuthTime) <= recentAuth}
	_, err := h.st.GetUserPassword(c.Request.Context(), u.ID)
	switch {
	case err == nil:
		pa.HasPassword = true
	case !errors.Is(err, models.ErrNotFound):
		return pa, err
	}
	return pa, nil
}

// handleAccountPassword sets or changes the signed-in user's password. It
// needs a recent sign-in; other sessions of the user are signed out.
func (h *Handler) handleAccountPassword(c *gin.Context) {
	ls, u, ok := h.accountAction(c)
	if !ok {
		return
	}
	if time.Since(ls.AuthTime) > recentAuth {
		c.Redirect(http.StatusSeeOther, "/account?done=reauth#password")
		return
	}
	pa, err := h.passwordAccount(c, ls, u)
	if err != nil {
		h.fail(c, err)
		return
	}
	hash, err := h.passwords.NewHash(c.PostForm("password"), u.Email)
	var rule *password.RuleError
	if errors.As(err, &rule) {
		pa.Error = rule.Message
		h.renderAccount(c, http.StatusBadRequest, ls, u, &pa)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.st.ChangeUserPassword(c.Request.Context(), u.ID, hash, ls.ID); err != nil {
		h.fail(c, err)
		return
	}
	h.recordEvent(c, passwordMethod, u.ID, "", "password_change", models.ResultSuccess, "", "")
	done := "password_changed"
	if !pa.HasPassword {
		done = "password_set"
	}
	c.Redirect(http.StatusSeeOther, "/account?done="+done+"#password")
}

// keyAccount is the signed-in account a security key is added to; when
// there is none it has answered.
func (h *Handler) keyAccount(c *gin.Context) (*models.LoginSession, *models.User, bool) {
	ls, u, err := h.currentUser(c)
	if err != nil {
		h.pageErrJSON(c, err)
		return nil, nil, false
	}
	if ls == nil {
		h.jsonError(c, http.StatusUnauthorized, "signed_out", "You were signed out. Sign in again to add a security key.")
		return nil, nil, false
	}
	return ls, u, true
}

// handleSecurityKeyOptions begins adding a security key to the signed-in
// account.
func (h *Handler) handleSecurityKeyOptions(c *gin.Context) {
	ctx := c.Request.Context()
	if _, ok := h.apiGuard(c); !ok {
		return
	}
	ls, u, ok := h.keyAccount(c)
	if !ok {
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	opts, ceremony, err := h.passkeys.BeginRegistration(ctx, u, nil, models.CredentialSecurityKey, accountKeyBinding(browser, ls), "")
	if err != nil {
		h.ceremonyError(c, passwordMethod, err, u.ID, "")
		return
	}
	noStoreJSON(c, http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
}

// handleSecurityKeyVerify stores the security key added from the account
// page (only in the session that asked for it).
func (h *Handler) handleSecurityKeyVerify(c *gin.Context) {
	ctx := c.Request.Context()
	req, ok := h.readVerify(c, keyUnreadable)
	if !ok {
		return
	}
	ls, cur, ok := h.keyAccount(c)
	if !ok {
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	u, cred, _, err := h.passkeys.FinishRegistration(ctx, req.Ceremony, accountKeyBinding(browser, ls), req.Credential)
	if err != nil {
		h.ceremonyError(c, passwordMethod, err, cur.ID, "register")
		return
	}
	h.recordEvent(c, passwordMethod, u.ID, "", "register", models.ResultSuccess, "security_key", cred.AAGUID)
	noStoreJSON(c, http.StatusOK, gin.H{"redirect": "/account?done=key_added#security-keys"})
}

// credentialRemovable says why one of the user's credentials may not be
// deleted, or "": never the last credential (the user would be locked
// out), and never the last security key of a user who signs in with a
// password while the policy requires a key.
func credentialRemovable(creds []models.WebAuthnCredential, id string, hasPassword, requireKey bool) string {
	var target *models.WebAuthnCredential
	keys := 0
	for i := range creds {
		if creds[i].ID == id {
			target = &creds[i]
		}
		if creds[i].Kind == models.CredentialSecurityKey {
			keys++
		}
	}
	switch {
	case target == nil:
		return "" // not the user's: the store deletes nothing
	case len(creds) <= 1:
		return "last_passkey"
	case target.Kind == models.CredentialSecurityKey && keys <= 1 && hasPassword && requireKey:
		return "last_security_key"
	}
	return ""
}
