package authn

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Verified emails. A passkey proves who holds the key, not who owns the
// address typed at sign-up; apps that trust email_verified need the
// mailbox proven. So a passkey sign-in of an unproven address (the
// sign-up itself, or a later sign-in) is held where the policy requires a
// proof (the global require_verified_email, or the client's): no login
// session, no interaction marked, so no code reaches the app. The browser
// goes to /verify-email, which waits for the six-digit code mailed to the
// address (or the mailed link, opened in this browser). The proof goes
// through store.ProveUserEmail (first proof: whatever the account held
// before goes — pre-hijacking), keeping the passkey this browser just
// created or used, and only then is the held sign-in completed
// (completeSignIn). The codes are passlink's (passlink/verify.go).
//
// Where the policy does not require a proof, an account whose address was
// unproven when this came (models.User.EmailVerificationDue) is asked
// once, at its next passkey sign-in, and may skip; new sign-ups are not
// asked. Where it is required nobody can skip, every time, until proven.
// Password + security key sign-ins are not held: proving the address
// would remove the password the person signs in with.

// holdForProof holds s for a proof of the address when it must (or, once,
// may) be proven, and says where the browser goes: the verification page.
// held is false when s goes on as it is.
func (h *Handler) holdForProof(c *gin.Context, s signIn) (next string, held bool, err error) {
	if h.passlinks == nil || s.verified || s.user.EmailVerified || s.method != models.MethodPasskey || s.credentialID == "" {
		return "", false, nil
	}
	ctx := c.Request.Context()
	var client *models.Client
	if s.interactionID != "" {
		client = h.requestInteraction(c, s.interactionID).client
	}
	required := h.verifiedEmailRequired(c, client)
	if !required && !s.user.EmailVerificationDue {
		return "", false, nil
	}
	// Held: no session starts, so the passkey's use is written now.
	if err := h.writeUse(c, &s); err != nil {
		return "", true, err
	}
	if !required {
		// Asked once: the next sign-in goes on without asking.
		if err := h.st.ClearEmailVerificationDue(ctx, s.user.ID); err != nil {
			return "", true, err
		}
	}
	r := h.verifyRequest(c)
	r.User, r.InteractionID = s.user, s.interactionID
	if client != nil {
		r.ClientID, r.AppName = client.ID, client.Name
	}
	r.Pending = models.PendingLogin{AMR: s.amr, ACR: s.acr, CredentialID: s.credentialID, AAGUID: s.aaguid,
		Event: s.event, Strong: s.strong, Skippable: !required}
	sent, err := h.passlinks.RequestVerification(ctx, r)
	if errors.Is(err, passlink.ErrRateLimited) {
		return "", true, refuse(http.StatusTooManyRequests, "rate_limited", "api.codes_limited")
	}
	if err != nil {
		return "", true, err
	}
	return verifyPage(sent.RequestID, s.event == "register", ""), true, nil
}

// verifyPage is the verification page of request id.
func verifyPage(id string, created bool, notice string) string {
	q := url.Values{"request": {id}}
	if created {
		q.Set("created", "1")
	}
	if notice != "" {
		q.Set("notice", notice)
	}
	return "/verify-email?" + q.Encode()
}

// verifyRequest is what every verification request says about this
// browser.
func (h *Handler) verifyRequest(c *gin.Context) passlink.VerifyRequest {
	ua := c.Request.UserAgent()
	return passlink.VerifyRequest{BrowserHash: h.sessions.Browser(c.Writer, c.Request), UserAgent: ua,
		Device: httpx.DescribeUserAgent(ua), IP: c.ClientIP(), Lang: h.lang(c)}
}

// VerifiedEmailPolicy is the live policy's require_verified_email.
type VerifiedEmailPolicy interface {
	RequireVerifiedEmail(ctx context.Context) (bool, error)
}

// verifiedEmailRequired reports whether a sign-in (to client, if any) needs
// a proven address now: the client's setting, or the live policy (the
// configuration when it is unavailable).
func (h *Handler) verifiedEmailRequired(c *gin.Context, client *models.Client) bool {
	if client != nil && client.RequireVerifiedEmail {
		return true
	}
	if p, ok := h.policies.(VerifiedEmailPolicy); ok && p != nil {
		on, err := p.RequireVerifiedEmail(c.Request.Context())
		if err == nil {
			return on
		}
		h.log.WarnContext(c.Request.Context(), "policy unavailable; using the configuration", "err", err)
	}
	return h.requireVerifiedEmail
}

// handleVerifyEmail shows the page that waits for the code.
func (h *Handler) handleVerifyEmail(c *gin.Context) error {
	v, err := h.passlinks.Verification(c.Request.Context(), c.Query("request"), h.sessions.Browser(c.Writer, c.Request))
	if err != nil {
		return h.verifyProblem(c, v, err)
	}
	notice := ""
	if c.Query("notice") == "sent" {
		notice = h.tr(c).T("verify.new_code_sent")
	}
	return h.renderVerify(c, http.StatusOK, v, "", notice)
}

func (h *Handler) renderVerify(c *gin.Context, status int, v *passlink.Verification, msg, notice string) error {
	client := h.verifyClient(c, &v.Passlink)
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	return h.pages.VerifyEmail(c.Writer, status, t.appPage(t.T("verify.title"), client),
		templates.VerifyEmailView{RequestID: v.ID, MaskedEmail: passlink.MaskEmail(v.Email),
			Expiry: t.duration(h.passlinks.TTL(c.Request.Context())), CSRF: h.sessions.CSRFToken(c.Writer, c.Request),
			Error: msg, Notice: notice, Created: c.Query("created") == "1" || c.PostForm("created") == "1",
			Skippable: v.Pending.Skippable && !h.verifiedEmailRequired(c, client)})
}

// verifyClient is the client of a verification's authorization, if it is
// still waiting; its redirect passes CSP form-action, since the page's
// POST may end at the app.
func (h *Handler) verifyClient(c *gin.Context, p *models.Passlink) *models.Client {
	if p.InteractionID == "" {
		return nil
	}
	li := h.requestInteraction(c, p.InteractionID)
	if li.err != nil || li.client == nil {
		return nil
	}
	allowRedirect(c, li.in, li.client)
	return li.client
}

func appName(client *models.Client) string {
	if client == nil {
		return ""
	}
	return client.Name
}

// handleVerifyCode takes the code typed on the page.
func (h *Handler) handleVerifyCode(c *gin.Context) error {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	ctx := c.Request.Context()
	id, browser := c.PostForm("request"), h.sessions.Browser(c.Writer, c.Request)
	res, err := h.passlinks.VerifyCode(ctx, id, browser, c.PostForm("code"))
	var wrong *passlink.WrongCodeError
	switch {
	case errors.Is(err, passlink.ErrCodeFormat), errors.As(err, &wrong):
		v, verr := h.passlinks.Verification(ctx, id, browser)
		if verr != nil {
			return h.verifyProblem(c, v, verr)
		}
		msg := h.tr(c).T("verify.code_missing")
		if wrong != nil {
			h.record(c, authEvent{method: models.MethodPasskey, userID: v.UserID, interactionID: v.InteractionID,
				name: "verify_email", result: models.ResultFailure, reason: "wrong_code"})
			msg = h.tr(c).T("passlink.code_wrong", "count", wrong.Left)
		}
		return h.renderVerify(c, http.StatusBadRequest, v, msg, "")
	case err != nil:
		v, _ := h.passlinks.Verification(ctx, id, browser)
		return h.verifyProblem(c, v, err)
	}
	return h.finishVerified(c, res)
}

// handleVerifyResend sends a new code; the page then waits for it.
func (h *Handler) handleVerifyResend(c *gin.Context) error {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	ctx := c.Request.Context()
	id := c.PostForm("request")
	r := h.verifyRequest(c)
	if v, err := h.passlinks.Verification(ctx, id, r.BrowserHash); err == nil {
		if client := h.verifyClient(c, &v.Passlink); client != nil {
			r.AppName = client.Name
		}
	}
	sent, err := h.passlinks.ResendVerification(ctx, id, r.BrowserHash, r)
	if errors.Is(err, passlink.ErrRateLimited) {
		v, verr := h.passlinks.Verification(ctx, id, r.BrowserHash)
		if verr != nil {
			return h.verifyProblem(c, v, verr)
		}
		return h.renderVerify(c, http.StatusTooManyRequests, v,
			h.tr(c).T("verify.codes_limited"), "")
	}
	if err != nil {
		v, _ := h.passlinks.Verification(ctx, id, r.BrowserHash)
		return h.verifyProblem(c, v, err)
	}
	return seeOther(verifyPage(sent.RequestID, c.PostForm("created") == "1", "sent"))
}

// handleVerifySkip goes on without a proof where the policy allows it.
func (h *Handler) handleVerifySkip(c *gin.Context) error {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	ctx := c.Request.Context()
	id, browser := c.PostForm("request"), h.sessions.Browser(c.Writer, c.Request)
	v, err := h.passlinks.Verification(ctx, id, browser)
	if err != nil {
		return h.verifyProblem(c, v, err)
	}
	if h.verifiedEmailRequired(c, h.verifyClient(c, &v.Passlink)) {
		// The policy changed since the page was shown.
		return h.renderVerify(c, http.StatusForbidden, v, h.tr(c).T("verify.required"), "")
	}
	res, err := h.passlinks.SkipVerification(ctx, id, browser)
	if errors.Is(err, passlink.ErrNotSkippable) {
		return h.renderVerify(c, http.StatusForbidden, v, h.tr(c).T("verify.required"), "")
	}
	if err != nil {
		return h.verifyProblem(c, v, err)
	}
	return h.finishVerified(c, res)
}

// handleVerifyLinkOpen shows what the mailed link does; it changes nothing
// (mail scanners fetch links).
func (h *Handler) handleVerifyLinkOpen(c *gin.Context) error {
	l, err := h.passlinks.LookupVerify(c.Request.Context(), c.Param("token"), h.sessions.Browser(c.Writer, c.Request))
	if err != nil {
		return h.verifyLinkProblem(c, l, err)
	}
	if !l.SameBrowser {
		return h.verifyOtherBrowser(c)
	}
	client := h.verifyClient(c, &l.Passlink)
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	return h.pages.VerifyEmail(c.Writer, http.StatusOK, t.appPage(t.T("verify.title"), client),
		templates.VerifyEmailView{Token: c.Param("token"), MaskedEmail: passlink.MaskEmail(l.Email), CSRF: h.sessions.CSRFToken(c.Writer, c.Request)})
}

// handleVerifyLinkUse proves the address with the mailed link.
func (h *Handler) handleVerifyLinkUse(c *gin.Context) error {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	ctx := c.Request.Context()
	token, browser := c.Param("token"), h.sessions.Browser(c.Writer, c.Request)
	res, err := h.passlinks.VerifyLink(ctx, token, browser)
	if errors.Is(err, passlink.ErrOtherBrowser) {
		return h.verifyOtherBrowser(c)
	}
	if err != nil {
		l, _ := h.passlinks.LookupVerify(ctx, token, browser)
		return h.verifyLinkProblem(c, l, err)
	}
	return h.finishVerified(c, res)
}

// verifyOtherBrowser explains a link opened away from the browser that
// waits: it proves nothing here, or a person tricked into clicking it
// would let someone else's passkey into their account.
func (h *Handler) verifyOtherBrowser(c *gin.Context) error {
	t := h.tr(c)
	return h.renderResult(c, http.StatusOK, t.T("verify.elsewhere_title"), nil, templates.PasslinkResultView{
		Message: t.T("verify.elsewhere_msg"),
		Hint:    t.T("verify.elsewhere_hint")})
}

// finishVerified completes the sign-in a verification held.
func (h *Handler) finishVerified(c *gin.Context, res *passlink.VerifyResult) error {
	p := res.Pending
	if res.InteractionID != "" {
		if li := h.requestInteraction(c, res.InteractionID); li.err == nil && li.client != nil {
			allowRedirect(c, li.in, li.client)
		}
	}
	if res.Proof != nil {
		h.record(c, authEvent{method: models.MethodPasskey, userID: res.User.ID, interactionID: res.InteractionID,
			name: "verify_email", aaguid: p.AAGUID})
	}
	next, err := h.completeSignIn(c, signIn{user: res.User, method: models.MethodPasskey, amr: p.AMR, acr: p.ACR,
		interactionID: res.InteractionID, event: p.Event, aaguid: p.AAGUID, strong: p.Strong,
		credentialID: p.CredentialID, verified: true})
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, next)
	return nil
}

// verifyProblem explains a verification page that cannot be used, with a
// way to start again (signing in asks for a new code).
func (h *Handler) verifyProblem(c *gin.Context, v *passlink.Verification, err error) error {
	var p *models.Passlink
	if v != nil {
		p = &v.Passlink
	}
	return h.verifyTrouble(c, p, err)
}

func (h *Handler) verifyLinkProblem(c *gin.Context, l *passlink.Link, err error) error {
	var p *models.Passlink
	if l != nil {
		p = &l.Passlink
	}
	return h.verifyTrouble(c, p, err)
}

func (h *Handler) verifyTrouble(c *gin.Context, p *models.Passlink, err error) error {
	again := "/login"
	if p != nil && p.InteractionID != "" && h.liveInteraction(c, p.InteractionID) != nil {
		again = "/login?interaction=" + url.QueryEscape(p.InteractionID)
	}
	t := h.tr(c)
	v := templates.PasslinkResultView{ButtonLabel: t.T("common.sign_in_again"), ButtonHref: again,
		Hint: t.T("verify.again_hint")}
	status, title := h.linkTrouble(c, err, "link.expired_codes", &v)
	switch {
	case errors.Is(err, passlink.ErrInvalidLink):
		title = t.T("verify.other_browser_title")
		v.Message = t.T("verify.other_browser_msg")
	case errors.Is(err, passlink.ErrExpired):
		title = t.T("verify.expired_title")
	case title != "":
	case errors.Is(err, passlink.ErrLocked) || (p != nil && p.Outcome == models.PasslinkLocked):
		status, title = http.StatusGone, t.T("verify.locked_title")
		v.Message = t.T("verify.locked_msg")
	case errors.Is(err, passlink.ErrUsed) && p != nil && p.Outcome == models.PasslinkSuperseded:
		status, title = http.StatusGone, t.T("verify.superseded_title")
		v.Message = t.T("verify.superseded_msg")
		v.Hint, v.ButtonLabel, v.ButtonHref = "", "", ""
	case errors.Is(err, passlink.ErrUsed):
		status, title = http.StatusGone, t.T("verify.used_title")
		v.Message = t.T("verify.used_msg")
		v.Hint, v.ButtonLabel, v.ButtonHref = "", t.T("common.continue"), "/account"
	default:
		return err
	}
	return h.renderResult(c, status, title, nil, v)
}
