package authn

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/websession"
)

// The passkey JSON API used by static/webauthn.js. Requests are same-origin
// JSON posts carrying the page's CSRF token in X-CSRF-Token; the ceremony id
// travels in the body and is bound to this browser's cookie server-side.

// maxJSONBody bounds a WebAuthn response: a few KiB in practice.
const maxJSONBody = 64 << 10

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	// UnknownCredentialID lets the page tell the passkey manager to forget
	// a credential this server no longer knows (signalUnknownCredential).
	UnknownCredentialID string `json:"unknownCredentialId,omitempty"`
	RPID                string `json:"rpId,omitempty"`
}

func (h *Handler) jsonError(c *gin.Context, status int, code, msg string) {
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, apiError{Error: code, Message: msg})
}

// apiGuard checks the CSRF header and returns the body, bounded.
func (h *Handler) apiGuard(c *gin.Context) ([]byte, bool) {
	if !h.sessions.CheckCSRF(c.Request, c.GetHeader("X-CSRF-Token")) {
		h.jsonError(c, http.StatusForbidden, "csrf", "This page expired. Reload it and try again.")
		return nil, false
	}
	if ct := c.ContentType(); ct != "application/json" {
		h.jsonError(c, http.StatusUnsupportedMediaType, "invalid_request", "Send JSON.")
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxJSONBody+1))
	if err != nil {
		h.jsonError(c, http.StatusRequestEntityTooLarge, "too_large", "The request is too large.")
		return nil, false
	}
	if len(body) > maxJSONBody {
		h.jsonError(c, http.StatusRequestEntityTooLarge, "too_large", "The request is too large.")
		return nil, false
	}
	return body, true
}

// optionsRequest is what the page sends to begin a ceremony.
type optionsRequest struct {
	Interaction string `json:"interaction"`
	Email       string `json:"email"`
	Name        string `json:"name"`
}

// verifyRequest is what the page sends to finish a ceremony.
type verifyRequest struct {
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
}

// methodAllowed reports whether the interaction's client allows method.
// Without an interaction (signing in to the account page) every method is.
func (h *Handler) methodAllowed(c *gin.Context, interactionID, method string) (*models.Interaction, *models.Client, error) {
	if interactionID == "" {
		return nil, nil, nil
	}
	in, client, err := h.interaction(c, interactionID)
	if err != nil {
		return nil, nil, err
	}
	if !clientAllows(client, method) {
		return nil, nil, &pageError{status: http.StatusForbidden, title: "Not available",
			msg: "This app does not allow this way of signing in."}
	}
	return in, client, nil
}

// clientPasskeyOptions are the passkey ceremony options the interaction's
// client asks for: its user verification, when set, overrides the global
// policy. Without a client (the account page) the policy applies.
func clientPasskeyOptions(c *models.Client) passkey.Options {
	if c == nil {
		return passkey.Options{}
	}
	return passkey.Options{UserVerification: c.UserVerification}
}

func clientAllows(c *models.Client, method string) bool {
	return len(c.AllowedLoginMethods) == 0 || c.AllowedLoginMethods.Has(method)
}

// pageErrJSON answers a pageError (or any error) as JSON.
func (h *Handler) pageErrJSON(c *gin.Context, err error) {
	var pe *pageError
	if errors.As(err, &pe) {
		h.jsonError(c, pe.status, "interaction", pe.msg+" "+pe.hint)
		return
	}
	h.log.ErrorContext(c.Request.Context(), "passkey api", "err", err)
	h.jsonError(c, http.StatusInternalServerError, "server_error", "Something went wrong on our side. Please try again.")
}

type optionsResponse struct {
	Ceremony  string          `json:"ceremony"`
	PublicKey json.RawMessage `json:"publicKey"`
}

// handleLoginOptions begins a passkey sign-in: username-first when an
// email is given, discoverable (button or autofill) otherwise. An unknown
// email gets options of the same shape as a known one.
func (h *Handler) handleLoginOptions(c *gin.Context) {
	ctx := c.Request.Context()
	body, ok := h.apiGuard(c)
	if !ok {
		return
	}
	var req optionsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		h.jsonError(c, http.StatusBadRequest, "invalid_request", "The request could not be read.")
		return
	}
	in, client, err := h.methodAllowed(c, req.Interaction, models.MethodPasskey)
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	inID := ""
	if in != nil {
		inID = in.ID
	}
	o := clientPasskeyOptions(client)
	browser := h.sessions.Browser(c.Writer, c.Request)
	var opts json.RawMessage
	var ceremony string
	email := strings.TrimSpace(req.Email)
	switch {
	case email == "":
		opts, ceremony, err = h.passkeys.BeginLoginWith(ctx, nil, o, browser, inID)
	case len(email) > 254 || !strings.Contains(email, "@"):
		h.jsonError(c, http.StatusBadRequest, "invalid_email", "Enter a valid email address.")
		return
	default:
		u, uerr := h.st.GetUserByEmail(ctx, email)
		switch {
		case uerr == nil && !u.Disabled:
			opts, ceremony, err = h.passkeys.BeginLoginWith(ctx, u, o, browser, inID)
		case uerr == nil || errors.Is(uerr, models.ErrNotFound):
			opts, ceremony, err = h.passkeys.BeginLoginUnknownWith(ctx, email, o, browser, inID)
		default:
			err = uerr
		}
	}
	if err != nil {
		h.passkeyError(c, err, "", "")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
}

// handleLoginVerify finishes a passkey sign-in and starts the session.
func (h *Handler) handleLoginVerify(c *gin.Context) {
	ctx := c.Request.Context()
	body, ok := h.apiGuard(c)
	if !ok {
		return
	}
	var req verifyRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Ceremony == "" || len(req.Credential) == 0 {
		h.jsonError(c, http.StatusBadRequest, "invalid_request", "The passkey response could not be read.")
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	res, err := h.passkeys.FinishLogin(ctx, req.Ceremony, browser, req.Credential)
	if err != nil {
		h.passkeyError(c, err, "", "login")
		return
	}
	ls, err := h.sessions.Start(ctx, c.Writer, c.Request, websession.Login{
		UserID: res.User.ID, AMR: res.AMR, ACR: res.ACR, AuthTime: time.Now(),
	})
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	h.record(c, res.User.ID, res.InteractionID, "login", models.ResultSuccess, "", res.Credential.AAGUID)
	c.JSON(http.StatusOK, gin.H{"redirect": h.afterStrongLogin(c, res.InteractionID, ls.ID)})
}

// afterLogin records the login on the interaction and says where to go.
func (h *Handler) afterLogin(c *gin.Context, interactionID, sessionID string) string {
	if interactionID != "" {
		if err := h.st.CompleteInteractionLogin(c.Request.Context(), interactionID, sessionID); err == nil {
			return resumeURL(interactionID)
		}
		// The interaction expired meanwhile: the user is signed in all the
		// same; the account page says so.
	}
	return "/account"
}

// handleRegisterOptions begins a passkey registration: sign-up when nobody
// is signed in (email and name given), or adding a passkey to the signed-in
// account.
func (h *Handler) handleRegisterOptions(c *gin.Context) {
	ctx := c.Request.Context()
	body, ok := h.apiGuard(c)
	if !ok {
		return
	}
	var req optionsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		h.jsonError(c, http.StatusBadRequest, "invalid_request", "The request could not be read.")
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	ls, u, err := h.currentUser(c)
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	browser = registrationBinding(browser, ls)
	var opts json.RawMessage
	var ceremony string
	if ls != nil && req.Email == "" {
		opts, ceremony, err = h.passkeys.BeginRegistration(ctx, u, nil, models.CredentialPasskey, browser, "")
	} else {
		if !h.signupAllowed(c) {
			h.jsonError(c, http.StatusForbidden, "signup_closed", "New accounts can't be created here. Ask your administrator for an invitation.")
			return
		}
		in, client, err := h.methodAllowed(c, req.Interaction, models.MethodPasskey)
		if err != nil {
			h.pageErrJSON(c, err)
			return
		}
		email, name := strings.TrimSpace(req.Email), strings.TrimSpace(req.Name)
		if msg := checkSignup(email, name); msg != "" {
			h.jsonError(c, http.StatusBadRequest, "invalid_signup", msg)
			return
		}
		inID := ""
		if in != nil {
			inID = in.ID
		}
		opts, ceremony, err = h.passkeys.BeginRegistrationWith(ctx, nil, &passkey.NewUser{Email: email, DisplayName: name}, models.CredentialPasskey, clientPasskeyOptions(client), browser, inID)
	}
	if err != nil {
		h.passkeyError(c, err, "", "")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
}

// registrationBinding is what a registration ceremony is bound to: this
// browser and, when someone is signed in, their login session. A passkey
// added to an account is then finished only by the session that asked for
// it: not after sign-out or revocation (which would otherwise sign the
// browser back in), nor once another account signed in on this browser.
func registrationBinding(browserHash string, ls *models.LoginSession) string {
	if ls == nil {
		return browserHash
	}
	return websession.Hash(browserHash + "\x00" + ls.ID)
}

func checkSignup(email, name string) string {
	switch {
	case len(email) > 254 || !strings.Contains(email, "@") || strings.ContainsAny(email, " \r\n<>\"") || strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@"):
		return "Enter a valid email address."
	case name == "":
		return "Enter your name."
	case utf8.RuneCountInString(name) > 100: // characters, as the message and the form say
		return "That name is too long (100 characters at most)."
	}
	return ""
}

// handleRegisterVerify finishes a registration. After sign-up the new
// user is signed in with the passkey just created.
func (h *Handler) handleRegisterVerify(c *gin.Context) {
	ctx := c.Request.Context()
	body, ok := h.apiGuard(c)
	if !ok {
		return
	}
	var req verifyRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Ceremony == "" || len(req.Credential) == 0 {
		h.jsonError(c, http.StatusBadRequest, "invalid_request", "The passkey response could not be read.")
		return
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	ls, cur, err := h.currentUser(c)
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	u, cred, inID, err := h.passkeys.FinishRegistration(ctx, req.Ceremony, registrationBinding(browser, ls), req.Credential)
	if err != nil {
		h.passkeyError(c, err, "", "register")
		return
	}
	h.record(c, u.ID, inID, "register", models.ResultSuccess, "", cred.AAGUID)
	if ls != nil && cur.ID == u.ID {
		// A passkey added to the signed-in account.
		c.JSON(http.StatusOK, gin.H{"redirect": "/account?done=passkey_added"})
		return
	}
	// Sign-up: creating a passkey proved possession (and UV if the
	// authenticator did it), the same as signing in with it.
	amr := []string{"pop", "user"}
	if cred.UserVerified {
		amr = append(amr, "mfa")
	}
	if !cred.BackupEligible {
		amr = append(amr, "hwk")
	}
	nls, err := h.sessions.Start(ctx, c.Writer, c.Request, websession.Login{UserID: u.ID, AMR: amr, ACR: models.ACRPhishingResistant, AuthTime: time.Now()})
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"redirect": h.afterLogin(c, inID, nls.ID)})
}

// passkeyError answers a passkey error as JSON and records the failure.
func (h *Handler) passkeyError(c *gin.Context, err error, userID, event string) {
	status, code, msg := passkey.HTTPStatusAndCode(err)
	if status >= 500 {
		h.log.ErrorContext(c.Request.Context(), "passkey", "err", err)
	} else {
		h.log.InfoContext(c.Request.Context(), "passkey refused", "code", code, "err", err)
	}
	if event != "" {
		var pe *passkey.Error
		aaguid, interactionID := "", ""
		if errors.As(err, &pe) {
			if userID == "" {
				userID = pe.UserID
			}
			aaguid, interactionID = pe.AAGUID, pe.InteractionID
		}
		h.record(c, userID, interactionID, event, models.ResultFailure, code, aaguid)
	}
	resp := apiError{Error: code, Message: msg}
	if errors.Is(err, passkey.ErrUnknownCredential) {
		resp.UnknownCredentialID = passkey.CredentialID(err)
		resp.RPID = h.rpID
	}
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, resp)
}

// record stores an auth event; failures to record are logged, not fatal.
func (h *Handler) record(c *gin.Context, userID, interactionID, event, result, reason, aaguid string) {
	ctx := c.Request.Context()
	clientID := ""
	if interactionID != "" {
		if in, err := h.st.GetInteraction(ctx, interactionID); in != nil && (err == nil || errors.Is(err, models.ErrConsumed)) {
			clientID = in.ClientID
		}
	}
	ua := c.Request.UserAgent()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	e := &models.AuthEvent{
		ID: websession.RandomToken(16), At: time.Now().UTC(), UserID: userID, ClientID: clientID,
		Method: models.MethodPasskey, Event: event, Result: result, Reason: reason, AAGUID: aaguid,
		IP: c.ClientIP(), UserAgent: ua,
	}
	if err := h.passkeys.Record(ctx, e); err != nil {
		h.log.WarnContext(ctx, "record auth event", "err", err)
	}
}
