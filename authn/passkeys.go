package authn

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
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

// jsonBody is the JSON API's guard and reader: the CSRF header, JSON, a
// bounded body (the same-origin check is SameOriginForms', on every page
// route).
func (h *Handler) jsonBody() httpx.JSONReader {
	return httpx.JSONReader{CSRF: h.sessions, MaxBytes: maxJSONBody}
}

// jsonBodyError answers an error of jsonBody; unreadable is the message
// for a body that is not the JSON expected.
func (h *Handler) jsonBodyError(c *gin.Context, err error, unreadable string) {
	switch {
	case errors.Is(err, httpx.ErrCSRF), errors.Is(err, httpx.ErrCrossSite):
		h.jsonError(c, http.StatusForbidden, "csrf", "This page expired. Reload it and try again.")
	case errors.Is(err, httpx.ErrNotJSON):
		h.jsonError(c, http.StatusUnsupportedMediaType, "invalid_request", "Send JSON.")
	case errors.Is(err, httpx.ErrTooLarge):
		h.jsonError(c, http.StatusRequestEntityTooLarge, "too_large", "The request is too large.")
	default:
		h.jsonError(c, http.StatusBadRequest, "invalid_request", unreadable)
	}
}

// apiGuard passes jsonBody and returns the body; on failure it has
// answered.
func (h *Handler) apiGuard(c *gin.Context) ([]byte, bool) {
	body, err := h.jsonBody().Read(c.Request)
	if err != nil {
		h.jsonBodyError(c, err, "")
		return nil, false
	}
	return body, true
}

// readJSON passes jsonBody and decodes the body into v; on failure it
// has answered.
func (h *Handler) readJSON(c *gin.Context, v any) bool {
	if err := h.jsonBody().Decode(c.Request, v); err != nil {
		h.jsonBodyError(c, err, "The request could not be read.")
		return false
	}
	return true
}

// passkeyUnreadable answers a passkey response that cannot be read.
const passkeyUnreadable = "The passkey response could not be read."

// readVerify passes the API guard and decodes the end of a ceremony; a
// body without a ceremony or a credential is answered with unreadable.
func (h *Handler) readVerify(c *gin.Context, unreadable string) (verifyRequest, bool) {
	var req verifyRequest
	if err := h.jsonBody().Decode(c.Request, &req); err != nil {
		h.jsonBodyError(c, err, unreadable)
		return req, false
	}
	if req.Ceremony == "" || len(req.Credential) == 0 {
		h.jsonError(c, http.StatusBadRequest, "invalid_request", unreadable)
		return req, false
	}
	return req, true
}

// noStoreJSON answers v as JSON that no cache keeps.
func noStoreJSON(c *gin.Context, status int, v any) {
	c.Header("Cache-Control", "no-store")
	c.JSON(status, v)
}

// interactionID is the id of in, or "" without one.
func interactionID(in *models.Interaction) string {
	if in == nil {
		return ""
	}
	return in.ID
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

// allowedJSON is methodAllowed for the JSON API: when the method is not
// allowed (or the interaction is gone) it has answered.
func (h *Handler) allowedJSON(c *gin.Context, interactionID, method string) (*models.Interaction, *models.Client, bool) {
	in, client, err := h.methodAllowed(c, interactionID, method)
	if err != nil {
		h.pageErrJSON(c, err)
		return nil, nil, false
	}
	return in, client, true
}

// clientPasskeyOptions are the passkey ceremony options the interaction's
// client asks for: its user verification, when set, overrides the global
// policy, and a request for the phishing-resistant level (acr_values or
// the client's minimum) requires it — only a user-verified passkey reaches
// that level (passkey.ACRFor). Without a client (the account page) the
// policy applies.
func clientPasskeyOptions(in *models.Interaction, c *models.Client) passkey.Options {
	if c == nil {
		return passkey.Options{}
	}
	o := passkey.Options{UserVerification: c.UserVerification}
	if in != nil && !models.ACRSatisfies(models.ACRBasic, strings.Fields(in.ACRValues)) {
		o.UserVerification = "required"
	}
	return o
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
	var req optionsRequest
	if !h.readJSON(c, &req) {
		return
	}
	in, client, ok := h.allowedJSON(c, req.Interaction, models.MethodPasskey)
	if !ok {
		return
	}
	inID := interactionID(in)
	o := clientPasskeyOptions(in, client)
	browser := h.sessions.Browser(c.Writer, c.Request)
	var opts json.RawMessage
	var ceremony string
	var err error
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
	noStoreJSON(c, http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
}

// handleLoginVerify finishes a passkey sign-in and starts the session.
func (h *Handler) handleLoginVerify(c *gin.Context) {
	ctx := c.Request.Context()
	req, ok := h.readVerify(c, passkeyUnreadable)
	if !ok {
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
			return h.resumeURL(interactionID)
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
	var req optionsRequest
	if !h.readJSON(c, &req) {
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
		// No ":=" here: it would shadow err and lose BeginRegistration's
		// error below.
		var in *models.Interaction
		var client *models.Client
		in, client, err = h.methodAllowed(c, req.Interaction, models.MethodPasskey)
		if err != nil {
			h.pageErrJSON(c, err)
			return
		}
		email, name := strings.TrimSpace(req.Email), strings.TrimSpace(req.Name)
		if msg := checkSignup(email, name); msg != "" {
			h.jsonError(c, http.StatusBadRequest, "invalid_signup", msg)
			return
		}
		opts, ceremony, err = h.passkeys.BeginRegistrationWith(ctx, nil, &passkey.NewUser{Email: email, DisplayName: name}, models.CredentialPasskey, clientPasskeyOptions(in, client), browser, interactionID(in))
	}
	if err != nil {
		h.passkeyError(c, err, "", "")
		return
	}
	noStoreJSON(c, http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
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
	req, ok := h.readVerify(c, passkeyUnreadable)
	if !ok {
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
	nls, err := h.sessions.Start(ctx, c.Writer, c.Request, websession.Login{UserID: u.ID, AMR: amr, ACR: passkey.ACRFor(cred.UserVerified), AuthTime: time.Now()})
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"redirect": h.afterLogin(c, inID, nls.ID)})
}

// authMethod is what differs between the methods that finish WebAuthn
// ceremonies through this API: passkeys, and the security key step of
// password sign-in.
type authMethod struct {
	// method is the models.Method* recorded on auth events.
	method string
	// logName names the method in log lines.
	logName string
	// answers rewords the passkey service's refusals, by code.
	answers map[string]string
	// signalUnknown adds the unknown credential's id (and the RP ID) to
	// the answer, for signalUnknownCredential.
	signalUnknown bool
	// maxUserAgent cuts the recorded User-Agent (0: kept whole).
	maxUserAgent int
}

var (
	passkeyMethod  = authMethod{method: models.MethodPasskey, logName: "passkey", signalUnknown: true, maxUserAgent: 300}
	passwordMethod = authMethod{method: models.MethodPasswordKey, logName: "security key", answers: keyAnswers}
)

// passkeyError answers a passkey error as JSON and records the failure.
func (h *Handler) passkeyError(c *gin.Context, err error, userID, event string) {
	h.ceremonyError(c, passkeyMethod, err, userID, event)
}

// ceremonyError answers a refused ceremony step of method as JSON and,
// for an event, records the failure.
func (h *Handler) ceremonyError(c *gin.Context, m authMethod, err error, userID, event string) {
	status, code, msg := passkey.HTTPStatusAndCode(err)
	if status >= 500 {
		h.log.ErrorContext(c.Request.Context(), m.logName, "err", err)
	} else {
		h.log.InfoContext(c.Request.Context(), m.logName+" refused", "code", code, "err", err)
	}
	if a, ok := m.answers[code]; ok {
		msg = a
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
		h.recordEvent(c, m, userID, interactionID, event, models.ResultFailure, code, aaguid)
	}
	resp := apiError{Error: code, Message: msg}
	if m.signalUnknown && errors.Is(err, passkey.ErrUnknownCredential) {
		resp.UnknownCredentialID = passkey.CredentialID(err)
		resp.RPID = h.rpID
	}
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, resp)
}

// record stores a passkey auth event.
func (h *Handler) record(c *gin.Context, userID, interactionID, event, result, reason, aaguid string) {
	h.recordEvent(c, passkeyMethod, userID, interactionID, event, result, reason, aaguid)
}

// recordEvent stores an auth event of method; failures to record are
// logged, not fatal.
func (h *Handler) recordEvent(c *gin.Context, m authMethod, userID, interactionID, event, result, reason, aaguid string) {
	ctx := c.Request.Context()
	clientID := ""
	if interactionID != "" {
		if in, err := h.st.GetInteraction(ctx, interactionID); in != nil && (err == nil || errors.Is(err, models.ErrConsumed)) {
			clientID = in.ClientID
		}
	}
	ua := c.Request.UserAgent()
	if m.maxUserAgent > 0 && len(ua) > m.maxUserAgent {
		ua = ua[:m.maxUserAgent]
	}
	e := &models.AuthEvent{
		ID: websession.RandomToken(16), At: time.Now().UTC(), UserID: userID, ClientID: clientID,
		Method: m.method, Event: event, Result: result, Reason: reason, AAGUID: aaguid,
		IP: c.ClientIP(), UserAgent: ua,
	}
	if err := h.passkeys.Record(ctx, e); err != nil {
		h.log.WarnContext(ctx, "record auth event", "err", err)
	}
}
