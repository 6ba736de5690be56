package authn

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
)

// The passkey JSON API used by static/webauthn.js. Requests are same-origin
// JSON posts carrying the page's CSRF token in X-CSRF-Token; the ceremony id
// travels in the body and is bound to this browser's cookie server-side.

// maxJSONBody bounds a WebAuthn response: a few KiB in practice.
const maxJSONBody = 64 << 10

// jsonBody is the JSON API's guard and reader: the CSRF header, JSON, a
// bounded body (the same-origin check is SameOriginForms', on every page
// route).
func (h *Handler) jsonBody() httpx.JSONReader {
	return httpx.JSONReader{CSRF: h.sessions, MaxBytes: maxJSONBody}
}

// bodyError is the refusal of an error of jsonBody; unreadable is the
// message for a body that is not the JSON expected.
func bodyError(err error, unreadable string) error {
	switch {
	case errors.Is(err, httpx.ErrCSRF), errors.Is(err, httpx.ErrCrossSite):
		return refuse(http.StatusForbidden, "csrf", "api.csrf")
	case errors.Is(err, httpx.ErrNotJSON):
		return refuse(http.StatusUnsupportedMediaType, "invalid_request", "api.send_json")
	case errors.Is(err, httpx.ErrTooLarge):
		return refuse(http.StatusRequestEntityTooLarge, "too_large", "api.too_large")
	default:
		return refuse(http.StatusBadRequest, "invalid_request", unreadable)
	}
}

// apiGuard passes jsonBody for a request without a body worth reading.
func (h *Handler) apiGuard(c *gin.Context) error {
	if _, err := h.jsonBody().Read(c.Request); err != nil {
		return bodyError(err, "")
	}
	return nil
}

// readJSON passes jsonBody and decodes the body into v.
func (h *Handler) readJSON(c *gin.Context, v any) error {
	if err := h.jsonBody().Decode(c.Request, v); err != nil {
		return bodyError(err, "api.unreadable")
	}
	return nil
}

// passkeyUnreadable answers a passkey response that cannot be read.
const passkeyUnreadable = "api.passkey_unreadable"

// readVerify passes the API guard and decodes the end of a ceremony; a
// body without a ceremony or a credential is refused with unreadable.
func (h *Handler) readVerify(c *gin.Context, unreadable string) (verifyRequest, error) {
	var req verifyRequest
	if err := h.jsonBody().Decode(c.Request, &req); err != nil {
		return req, bodyError(err, unreadable)
	}
	if req.Ceremony == "" || len(req.Credential) == 0 {
		return req, refuse(http.StatusBadRequest, "invalid_request", unreadable)
	}
	return req, nil
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

// clientPasskeyOptions are the passkey ceremony options the interaction's
// client asks for: its user verification, when set, overrides the global
// policy, and a request for a level above basic (acr_values or the
// client's minimum) requires it — only a user-verified passkey reaches
// those levels (passkey.ACRFor) — and names the level, so that a
// username-first sign-in offers only the passkeys that can reach it.
// Without a client (the account page) the policy applies.
func clientPasskeyOptions(in *models.Interaction, c *models.Client) passkey.Options {
	if c == nil {
		return passkey.Options{}
	}
	o := passkey.Options{UserVerification: c.UserVerification, SyncedPasskeys: c.SyncedPasskeys,
		AAGUIDAllow: c.AAGUIDAllow, AAGUIDAllowMode: c.AAGUIDAllowMode}
	if level := requiredACR(in); level != "" && level != models.ACRBasic {
		o.UserVerification = "required"
		o.MinACR = level
	}
	return o
}

type optionsResponse struct {
	Ceremony  string          `json:"ceremony,omitempty"`
	PublicKey json.RawMessage `json:"publicKey,omitempty"`
	// Redirect, instead of a ceremony, sends the page to the upstream
	// provider the address's domain is bound to (home-realm discovery).
	Redirect string `json:"redirect,omitempty"`
}

// handleLoginOptions begins a passkey sign-in: username-first when an
// email is given, discoverable (button or autofill) otherwise. An unknown
// email gets options of the same shape as a known one.
func (h *Handler) handleLoginOptions(c *gin.Context) error {
	ctx := c.Request.Context()
	var req optionsRequest
	if err := h.readJSON(c, &req); err != nil {
		return err
	}
	in, client, err := h.methodAllowed(c, req.Interaction, models.MethodPasskey)
	if err != nil {
		return err
	}
	inID := interactionID(in)
	o := clientPasskeyOptions(in, client)
	browser := h.sessions.Browser(c.Writer, c.Request)
	var opts json.RawMessage
	var ceremony string
	email := strings.TrimSpace(req.Email)
	var su *stepUp
	if email == "" && in != nil {
		if su, err = h.stepUpFor(c, in); err != nil {
			return err
		}
	}
	switch {
	case su != nil:
		// The signed-in account's qualifying passkeys only.
		opts, ceremony, err = h.passkeys.BeginLoginWith(ctx, su.user, o, browser, inID)
	case email == "":
		opts, ceremony, err = h.passkeys.BeginLoginWith(ctx, nil, o, browser, inID)
	case len(email) > 254 || !strings.Contains(email, "@"):
		return refuse(http.StatusBadRequest, "invalid_email", "api.email_invalid")
	case h.homeRealm(c, email, in, client) != "":
		// The same answer for every address of the domain: it says
		// nothing of accounts.
		return noStoreJSON(c, http.StatusOK, optionsResponse{Redirect: h.homeRealm(c, email, in, client)})
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
		return h.ceremonyError(c, passkeyMethod, err, "", "")
	}
	return noStoreJSON(c, http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
}

// handleLoginVerify finishes a passkey sign-in and starts the session.
// No transaction: the ceremony is read (and spent at once when refused);
// a success writes its spend and the passkey's use with the session it
// starts, the event and the interaction's mark (completeSignIn), which
// they gate — on PostgreSQL two statements in all, one commit.
func (h *Handler) handleLoginVerify(c *gin.Context) error {
	req, err := h.readVerify(c, passkeyUnreadable)
	if err != nil {
		return err
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	res, err := h.passkeys.VerifyLogin(c.Request.Context(), req.Ceremony, browser, req.Credential)
	if err != nil {
		return h.ceremonyError(c, passkeyMethod, err, "", "login")
	}
	if res.Interaction != nil {
		h.readInteraction(c, res.Interaction)
	}
	s := signIn{user: res.User, method: models.MethodPasskey, amr: res.AMR, acr: res.ACR,
		interactionID: res.InteractionID, aaguid: res.Credential.AAGUID, strong: true, credentialID: res.Credential.ID,
		model: passkey.AttestedModel(res.Credential), finish: res}
	if res.GraceSynced {
		s.reason = h.graceSynced(c, res.User.ID, res.Credential.ID)
	}
	if res.GraceModel {
		s.reason = graceReasons(s.reason, h.graceModel(c, res.User.ID, res.Credential))
	}
	next, err := h.completeSignIn(c, s)
	var refused *passkey.Error
	switch {
	case errors.As(err, &refused):
		// writeUse's refusal (a sign-in held for a proof).
		return h.ceremonyError(c, passkeyMethod, err, "", "login")
	case errors.Is(err, models.ErrConsumed):
		// Another request finished the ceremony, or another assertion
		// with this counter value won, or the passkey was flagged
		// meanwhile: nothing was written.
		return h.ceremonyError(c, passkeyMethod, passkey.UseRefused(res, err), "", "login")
	case err != nil:
		return err
	}
	// The policy may ask for recovery codes first (recovery_codes.go).
	next = h.recoveryPromptOr(c, res.User, res.AMR, next)
	c.JSON(http.StatusOK, gin.H{"redirect": next, "signal": h.acceptedSignal(res.User.ID, res.AccountCredentialIDs)})
	return nil
}

// acceptedSignal is what the page passes to
// PublicKeyCredential.signalAllAcceptedCredentials after a sign-in, so
// the passkey manager can hide passkeys of this account that the server
// no longer accepts (deleted elsewhere). ids are all the account's
// credentials, read by the sign-in itself (the whole list, or the sign-in
// would have failed: a partial list would hide good passkeys).
func (h *Handler) acceptedSignal(userID string, ids []string) gin.H {
	return gin.H{"rpId": h.rpID, "userId": base64.RawURLEncoding.EncodeToString([]byte(userID)), "allAcceptedCredentialIds": ids}
}

// handleRegisterOptions begins a passkey registration: sign-up when nobody
// is signed in (email and name given), or adding a passkey to the signed-in
// account.
func (h *Handler) handleRegisterOptions(c *gin.Context) error {
	ctx := c.Request.Context()
	var req optionsRequest
	if err := h.readJSON(c, &req); err != nil {
		return err
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	ls, u, err := h.currentUser(c)
	if err != nil {
		return err
	}
	browser = registrationBinding(browser, ls)
	var opts json.RawMessage
	var ceremony string
	if ls != nil && req.Email == "" {
		// Adding a passkey to the signed-in account: from the account
		// page, or from a step-up page to reach the level an app asks for
		// (the new passkey then signs in to it).
		var in *models.Interaction
		var client *models.Client
		if in, client, err = h.methodAllowed(c, req.Interaction, models.MethodPasskey); err != nil {
			return err
		}
		opts, ceremony, err = h.passkeys.BeginRegistrationWith(ctx, u, nil, models.CredentialPasskey, clientPasskeyOptions(in, client), browser, interactionID(in))
	} else {
		if !h.signupAllowed(c) {
			return refuse(http.StatusForbidden, "signup_closed", "api.signup_closed")
		}
		// No ":=" here: it would shadow err and lose BeginRegistration's
		// error below.
		var in *models.Interaction
		var client *models.Client
		in, client, err = h.methodAllowed(c, req.Interaction, models.MethodPasskey)
		if err != nil {
			return err
		}
		email, name := strings.TrimSpace(req.Email), strings.TrimSpace(req.Name)
		if msg := checkSignup(email, name); msg != "" {
			return refuse(http.StatusBadRequest, "invalid_signup", msg)
		}
		opts, ceremony, err = h.passkeys.BeginRegistrationWith(ctx, nil, &passkey.NewUser{Email: email, DisplayName: name}, models.CredentialPasskey, clientPasskeyOptions(in, client), browser, interactionID(in))
	}
	if err != nil {
		return h.ceremonyError(c, passkeyMethod, err, "", "")
	}
	return noStoreJSON(c, http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
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
		return "api.email_invalid"
	case name == "":
		return "api.name_missing"
	case utf8.RuneCountInString(name) > 100: // characters, as the message and the form say
		return "api.name_too_long"
	}
	return ""
}

// handleRegisterVerify finishes a registration. After sign-up the new
// user is signed in with the passkey just created.
func (h *Handler) handleRegisterVerify(c *gin.Context) error {
	req, err := h.readVerify(c, passkeyUnreadable)
	if err != nil {
		return err
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	ls, cur, err := h.currentUser(c)
	if err != nil {
		return err
	}
	// The registration commits on its own (its refusals — an address
	// already taken, a credential already registered — are constraint
	// violations, which would end a surrounding PostgreSQL transaction);
	// the sign-in it starts is one transaction (inTx).
	u, cred, inID, err := h.passkeys.FinishRegistration(c.Request.Context(), req.Ceremony, registrationBinding(browser, ls), req.Credential)
	if err != nil {
		return h.ceremonyError(c, passkeyMethod, err, "", "register")
	}
	var reason string
	if cred.BackupEligible && cred.Kind == models.CredentialPasskey && h.passkeys.SyncedPolicy(c.Request.Context(), h.clientSynced(c, inID)) == policy.SyncedGrace {
		reason = h.graceSynced(c, u.ID, cred.ID)
	}
	if h.passkeys.ModelGraced(c.Request.Context(), h.clientPasskeyOptionsOf(c, inID), cred) {
		reason = graceReasons(reason, h.graceModel(c, u.ID, cred))
	}
	if ls != nil && cur.ID == u.ID && inID == "" {
		// A passkey added to the signed-in account.
		h.record(c, authEvent{method: models.MethodPasskey, userID: u.ID, interactionID: inID, name: "register", aaguid: cred.AAGUID, reason: reason})
		c.JSON(http.StatusOK, gin.H{"redirect": "/account?done=passkey_added"})
		return nil
	}
	// Sign-up, or a passkey added on a step-up page: creating a passkey
	// proved possession (and UV if the authenticator did it), the same as
	// signing in with it.
	// A sign-up is recorded as one (reason "signup"), so the console
	// names it like a link's sign-up.
	if reason == "" && (ls == nil || cur.ID != u.ID) {
		reason = "signup"
	}
	facts := h.passkeys.CredentialFacts(c.Request.Context(), cred)
	var next string
	err = h.inTx(c, func() error {
		next, err = h.completeSignIn(c, signIn{user: u, method: models.MethodPasskey, amr: passkey.AMRFor(facts), acr: passkey.ACRFor(facts),
			interactionID: inID, event: "register", reason: reason, aaguid: cred.AAGUID, credentialID: cred.ID, model: passkey.AttestedModel(cred)})
		return err
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"redirect": next})
	return nil
}

// authMethod is what differs between the methods that finish WebAuthn
// ceremonies through this API: passkeys, and the security key step of
// password sign-in.
type authMethod struct {
	// method is the models.Method* recorded on auth events.
	method string
	// logName names the method in log lines.
	logName string
	// answers are the codes of the passkey service's refusals that this
	// method rewords (api.key.CODE in the catalogue).
	answers map[string]bool
	// signalUnknown adds the unknown credential's id (and the RP ID) to
	// the answer, for signalUnknownCredential.
	signalUnknown bool
}

var (
	passkeyMethod  = authMethod{method: models.MethodPasskey, logName: "passkey", signalUnknown: true}
	passwordMethod = authMethod{method: models.MethodPasswordKey, logName: "security key", answers: keyAnswers}
)

// ceremonyError is the refusal of a ceremony step of method and, for an
// event, records the failure.
func (h *Handler) ceremonyError(c *gin.Context, m authMethod, err error, userID, event string) error {
	status, code, _ := passkey.HTTPStatusAndCode(err)
	if status >= 500 {
		h.log.ErrorContext(c.Request.Context(), m.logName, "err", err)
	} else {
		h.log.InfoContext(c.Request.Context(), m.logName+" refused", "code", code, "err", err)
	}
	// The service's refusal in the page's words: by code, reworded
	// for a security key where the method says so.
	key := "api.passkey." + code
	if m.answers[code] {
		key = "api.key." + code
	}
	if event != "" {
		e := authEvent{method: m.method, userID: userID, name: event, result: models.ResultFailure, reason: code}
		var pe *passkey.Error
		if errors.As(err, &pe) {
			if e.userID == "" {
				e.userID = pe.UserID
			}
			e.aaguid, e.interactionID = pe.AAGUID, pe.InteractionID
		}
		h.record(c, e)
	}
	resp := refuse(status, code, key)
	if m.signalUnknown && errors.Is(err, passkey.ErrUnknownCredential) {
		resp.UnknownCredentialID = passkey.CredentialID(err)
		resp.RPID = h.rpID
	}
	return resp
}

// clientSynced is the synced-passkey policy of the interaction's client
// ("" without one, or for a client that follows the global policy).
func (h *Handler) clientSynced(c *gin.Context, interactionID string) string {
	if interactionID == "" {
		return ""
	}
	if li := h.requestInteraction(c, interactionID); li.client != nil {
		return li.client.SyncedPasskeys
	}
	return ""
}

// graceSynced warns of a synced passkey accepted under the grace policy
// and returns the reason recorded with its event (the console counts
// them: who a "block" would lock out).
func (h *Handler) graceSynced(c *gin.Context, userID, credentialID string) string {
	h.log.WarnContext(c.Request.Context(), "passkey: synced passkey accepted under the grace policy; a block would refuse it",
		"user_id", userID, "credential_id", credentialID)
	return passkey.GraceSynced
}

// clientPasskeyOptionsOf is clientPasskeyOptions of the interaction id
// names (the global policy's without one).
func (h *Handler) clientPasskeyOptionsOf(c *gin.Context, interactionID string) passkey.Options {
	if interactionID == "" {
		return passkey.Options{}
	}
	li := h.requestInteraction(c, interactionID)
	return clientPasskeyOptions(li.in, li.client)
}

// graceModel warns of a passkey off an allow list accepted under its
// grace mode and returns the reason recorded with its event (the console
// shows them: whom enforcing the list would lock out).
func (h *Handler) graceModel(c *gin.Context, userID string, cred *models.WebAuthnCredential) string {
	h.log.WarnContext(c.Request.Context(), "passkey: passkey off the AAGUID allow list accepted under the grace mode; enforcing would refuse it",
		"user_id", userID, "credential_id", cred.ID, "aaguid", cred.AAGUID, "attestation_format", cred.AttestationFormat)
	return passkey.GraceModel
}

// graceReasons joins the grace reasons of one event.
func graceReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}
