package authn

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Opening and using a link: the confirmation page (GET, changes nothing),
// its POST (sign in here, approve or report another device's request),
// the pages that explain a link that cannot be used, and the passkey
// offer after a link sign-in.

// handlePasslinkOpen shows what the link will do. It changes nothing.
func (h *Handler) handlePasslinkOpen(c *gin.Context) error {
	browser := h.sessions.Browser(c.Writer, c.Request)
	l, err := h.passlinks.Lookup(c.Request.Context(), c.Param("token"), browser)
	if err != nil {
		return h.passlinkProblem(c, l, err)
	}
	return h.renderPasslinkConfirm(c, http.StatusOK, l, "", "")
}

func (h *Handler) renderPasslinkConfirm(c *gin.Context, status int, l *passlink.Link, msg, name string) error {
	app := ""
	var client *models.Client
	if l.ClientID != "" {
		if cl, err := h.st.GetClient(c.Request.Context(), l.ClientID); err == nil {
			app, client = cl.Name, cl
			if l.SameBrowser && l.InteractionID != "" {
				// "Sign in" here ends at the app when the authorization
				// needs nothing more (a returning user who consented).
				if in := h.liveInteraction(c, l.InteractionID); in != nil {
					allowRedirect(c, in, cl)
				}
			}
		}
	}
	signup := l.Purpose == models.PasslinkSignup
	t := h.tr(c)
	var title string
	switch {
	case !l.SameBrowser:
		title = t.T("passlink.title_approve")
	case signup:
		title = t.T("signup.title")
	case app != "":
		title = t.T("login.title_app", "app", app)
	default:
		title = t.T("login.title")
	}
	c.Header("Cache-Control", "no-store")
	return h.pages.PasslinkConfirm(c.Writer, status, t.appPage(title, client), templates.PasslinkConfirmView{
		// Lookup checked the token's shape.
		Token: c.Param("token"), CSRF: h.sessions.CSRFToken(c.Writer, c.Request),
		SameBrowser: l.SameBrowser, Signup: signup, MaskedEmail: passlink.MaskEmail(l.Email),
		Device: h.pages.DeviceName(t.lang, l.RequesterUserAgent), Requested: h.pages.Ago(t.lang, l.CreatedAt, clock.Now()),
		Error: msg, Name: name, Admin: l.Purpose == models.PasslinkAdmin,
	})
}

// handlePasslinkUse signs in (this browser asked), or approves or denies
// the requesting browser (another one asked).
func (h *Handler) handlePasslinkUse(c *gin.Context) error {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	token := c.Param("token")
	browser := h.sessions.Browser(c.Writer, c.Request)
	name := strings.TrimSpace(c.PostForm("name"))
	if len(name) > 100 {
		name = name[:100]
	}
	switch c.PostForm("action") {
	case "signin":
		return h.passlinkUseHere(c, token, browser, name)
	case "approve":
		return h.passlinkApprove(c, token, browser, name)
	case "deny":
		// A report, not a cancellation: see passlink.Service.Report.
		ctx := c.Request.Context()
		l, err := h.passlinks.Report(ctx, token, browser)
		if err != nil {
			return h.passlinkProblem(c, l, err)
		}
		h.recordPasslink(c, l, "approve", models.ResultFailure, "reported")
		t := h.tr(c)
		return h.renderResult(c, http.StatusOK, t.T("passlink.denied_title"), nil, templates.PasslinkResultView{OK: true,
			Message: t.T("passlink.denied_msg", "expiry", t.duration(h.passlinks.TTL(ctx))),
			Hint:    t.T("passlink.denied_hint")})
	default:
		return errBadForm
	}
}

// passlinkUseHere signs in this browser, which asked for the link.
func (h *Handler) passlinkUseHere(c *gin.Context, token, browser, name string) error {
	ctx := c.Request.Context()
	res, err := h.passlinks.SignIn(ctx, token, browser, name)
	if errors.Is(err, passlink.ErrOtherBrowser) {
		// The binding cookie changed since the page was shown: ask for
		// the code like any other device.
		l, lerr := h.passlinks.Lookup(ctx, token, browser)
		if lerr != nil {
			return h.passlinkProblem(c, l, lerr)
		}
		return h.renderPasslinkConfirm(c, http.StatusOK, l, "", name)
	}
	if err != nil {
		return h.passlinkUseFailed(c, token, browser, err)
	}
	next, err := h.passlinkSignIn(c, res)
	if err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, next)
	return nil
}

// passlinkApprove approves the requesting browser with the code its
// screen shows, and signs in this one too when asked ("also").
func (h *Handler) passlinkApprove(c *gin.Context, token, browser, name string) error {
	res, err := h.passlinks.Approve(c.Request.Context(), token, browser, c.PostForm("code"), name)
	var wrong *passlink.WrongCodeError
	switch {
	case errors.Is(err, passlink.ErrCodeFormat):
		return h.passlinkCodeError(c, token, browser, h.tr(c).T("passlink.code_format"), name)
	case errors.As(err, &wrong):
		if l, _ := h.passlinks.Lookup(c.Request.Context(), token, browser); l != nil {
			h.recordPasslink(c, l, "approve", models.ResultFailure, "wrong_code")
		}
		return h.passlinkCodeError(c, token, browser, h.tr(c).T("passlink.code_wrong", "count", wrong.Left), name)
	case err != nil:
		return h.passlinkUseFailed(c, token, browser, err)
	}
	h.record(c, authEvent{method: models.MethodPasslink, userID: res.User.ID, interactionID: res.InteractionID, name: "approve"})
	t := h.tr(c)
	view := templates.PasslinkResultView{OK: true, Message: t.T("passlink.approved_msg")}
	if res.Proof.Removed() {
		view.Hint = t.T("passlink.approved_proof")
	}
	if c.PostForm("also") != "" {
		// Signed in here too, for no authorization: the interaction is the
		// other browser's.
		if _, err := h.completeSignIn(c, signIn{user: res.User, method: models.MethodPasslink, amr: passlink.AMR, acr: passlink.ACR}); err != nil {
			return err
		}
		view.Message = t.T("passlink.approved_here_too")
		view.ButtonLabel, view.ButtonHref = t.T("common.to_account"), "/account"
	}
	return h.renderResult(c, http.StatusOK, t.T("passlink.approved_title"), nil, view)
}

// passlinkCodeError shows the approval page again with msg at the code.
func (h *Handler) passlinkCodeError(c *gin.Context, token, browser, msg, name string) error {
	l, err := h.passlinks.Lookup(c.Request.Context(), token, browser)
	if err != nil {
		return h.passlinkProblem(c, l, err)
	}
	l.SameBrowser = false // keep the approval form, whatever the cookie says
	return h.renderPasslinkConfirm(c, http.StatusBadRequest, l, msg, name)
}

// passlinkUseFailed records a refused use and explains it.
func (h *Handler) passlinkUseFailed(c *gin.Context, token, browser string, err error) error {
	l, _ := h.passlinks.Lookup(c.Request.Context(), token, browser)
	if reason := passlinkReason(err); reason != "" && l != nil {
		h.recordPasslink(c, l, "login", models.ResultFailure, reason)
	}
	return h.passlinkProblem(c, l, err)
}

func passlinkReason(err error) string {
	switch {
	case errors.Is(err, passlink.ErrExpired):
		return "expired"
	case errors.Is(err, passlink.ErrUsed):
		return "replayed"
	case errors.Is(err, passlink.ErrLocked):
		return "locked"
	case errors.Is(err, passlink.ErrUserUnavailable):
		return "user_unavailable"
	case errors.Is(err, passlink.ErrInvalidLink):
		return "invalid_link"
	}
	return ""
}

// recordPasslink records an event about link l (its user and client).
func (h *Handler) recordPasslink(c *gin.Context, l *passlink.Link, event, result, reason string) {
	h.record(c, authEvent{method: models.MethodPasslink, userID: l.UserID, clientID: l.ClientID, name: event, result: result, reason: reason})
}

// passlinkSignIn signs this browser in for res (completeSignIn) and says
// where to go: the authorization (or account page), by way of the passkey
// offer for someone who has none.
func (h *Handler) passlinkSignIn(c *gin.Context, res *passlink.Result) (string, error) {
	reason := ""
	switch {
	case res.Created:
		reason = "signup"
	case res.Admin:
		reason = "admin_link"
	}
	next, err := h.completeSignIn(c, signIn{user: res.User, method: models.MethodPasslink, amr: passlink.AMR, acr: passlink.ACR,
		interactionID: res.InteractionID, reason: reason})
	if err != nil {
		return "", err
	}
	offer := h.passkeyOfferOr(c, res.User, next)
	if res.Proof.Removed() && offer != next {
		// Tell the person why their passkeys are gone (the offer page is
		// where they land: the account has none now).
		offer += "&notice=" + noticeAddressProven
	}
	return offer, nil
}

// noticeAddressProven marks the passkey offer shown after the first proof
// of an address removed what the account held before.
const noticeAddressProven = "address-proven"

// passkeyOfferOr sends a user without a usable passkey to the page that
// offers one, then on to next.
func (h *Handler) passkeyOfferOr(c *gin.Context, u *models.User, next string) string {
	if h.passkeys == nil {
		return next
	}
	creds, err := h.st.ListUserCredentials(c.Request.Context(), u.ID)
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "list credentials for passkey offer", "err", err)
		return next
	}
	for _, cr := range creds {
		if cr.Kind == models.CredentialPasskey && !cr.CloneWarning {
			return next
		}
	}
	return passkeyOfferPath + "?next=" + url.QueryEscape(next)
}

// passkeyOfferPath is the page that offers a passkey after a sign-in
// without one (a link, a recovery code).
const passkeyOfferPath = "/passlink/passkey"

// nextRE is a well-formed interaction id.
var nextRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// safeNext is where the passkey offer may continue to: the account page or
// exactly the provider's resume URL for a well-formed interaction id,
// nothing else (no open redirect).
func (h *Handler) safeNext(next string) string {
	if next == "/account" {
		return next
	}
	if u, err := url.Parse(next); err == nil {
		for _, vs := range u.Query() {
			for _, id := range vs {
				if nextRE.MatchString(id) && (h.resumeURL(id) == next || loginFor(id) == next) {
					return next
				}
			}
		}
	}
	return "/account"
}

// loginFor is the login page of an interaction held for a stronger
// sign-in (an upstream sign-in below the level the app asks).
func loginFor(id string) string { return "/login?" + url.Values{"interaction": {id}}.Encode() }

// handlePasskeyOffer offers a passkey after a passlink sign-in.
func (h *Handler) handlePasskeyOffer(c *gin.Context) error {
	next := h.safeNext(c.Query("next"))
	ls, u, err := h.currentUser(c)
	if err != nil {
		return err
	}
	if ls == nil || h.passkeys == nil {
		return seeOther(next)
	}
	v := templates.PasslinkPasskeyView{
		CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Next: next, Email: u.Email, RPID: h.rpID,
		AddressProven: c.Query("notice") == noticeAddressProven,
	}
	if c.Query("via") == viaRecovery && h.recovery != nil {
		if v.CodesLeft, err = h.recovery.Remaining(c.Request.Context(), u.ID); err != nil {
			return err
		}
		v.Recovery = true
	}
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	return h.pages.PasslinkPasskey(c.Writer, http.StatusOK, t.page(t.T("passlink.passkey_title"), "", ""), v)
}

func (h *Handler) renderResult(c *gin.Context, status int, title string, client *models.Client, v templates.PasslinkResultView) error {
	c.Header("Cache-Control", "no-store")
	return h.pages.PasslinkResult(c.Writer, status, h.tr(c).appPage(title, client), v)
}

// linkTrouble explains what sign-in and reset links share: a malformed
// or an expired link (kind is the catalogue key of "KIND links work for
// …"), or an account that can no longer sign in. Otherwise the title is
// "".
func (h *Handler) linkTrouble(c *gin.Context, err error, kind string, v *templates.PasslinkResultView) (status int, title string) {
	t := h.tr(c)
	switch {
	case errors.Is(err, passlink.ErrInvalidLink):
		v.Message = t.T("link.invalid_msg")
		return http.StatusBadRequest, t.T("link.invalid_title")
	case errors.Is(err, passlink.ErrExpired):
		v.Message = t.T(kind, "expiry", t.duration(h.passlinks.TTL(c.Request.Context())))
		return http.StatusGone, t.T("link.expired_title")
	case errors.Is(err, passlink.ErrUserUnavailable):
		v.Message = t.T("link.unavailable_msg")
		v.Hint, v.ButtonLabel, v.ButtonHref = t.T("link.unavailable_hint"), "", ""
		return http.StatusForbidden, t.T("link.unavailable_title")
	}
	return http.StatusGone, ""
}

// passlinkProblem explains a link that cannot be used, with a way to
// get a new one.
func (h *Handler) passlinkProblem(c *gin.Context, l *passlink.Link, err error) error {
	newLink := h.newLinkURL(c, l)
	t := h.tr(c)
	v := templates.PasslinkResultView{ButtonLabel: t.T("passlink.new_link"), ButtonHref: newLink}
	status, title := h.linkTrouble(c, err, "link.expired_signin", &v)
	switch {
	case title != "":
	case errors.Is(err, passlink.ErrLocked) || (l != nil && l.Outcome == models.PasslinkLocked):
		title = t.T("link.locked_title")
		v.Message = t.T("js.passlink_locked")
	case errors.Is(err, passlink.ErrUsed) && l != nil && l.Outcome == models.PasslinkApproved:
		title = t.T("link.approved_title")
		v.Message = t.T("link.approved_msg", "device", h.pages.DeviceName(t.lang, l.RequesterUserAgent))
	case errors.Is(err, passlink.ErrUsed) && l != nil && l.Outcome == models.PasslinkSuperseded:
		title = t.T("link.superseded_title")
		v.Message = t.T("link.superseded_msg")
	case errors.Is(err, passlink.ErrUsed) && l != nil && l.Outcome == models.PasslinkDenied:
		title = t.T("link.denied_title")
		v.Message = t.T("link.denied_msg")
	case errors.Is(err, passlink.ErrUsed):
		title = t.T("link.used_title")
		v.Message = t.T("link.used_msg")
		if ls, _, _ := h.currentUser(c); ls != nil {
			v.OK, v.Hint = true, t.T("link.used_signed_in")
			v.ButtonLabel, v.ButtonHref = t.T("common.continue"), "/account"
			v.SecondLabel, v.SecondHref = t.T("passlink.new_link"), newLink
			if l != nil && l.SameBrowser && l.InteractionID != "" {
				if in := h.liveInteraction(c, l.InteractionID); in != nil && in.LoginSessionID == ls.ID {
					v.ButtonHref = h.resumeURL(in.ID)
				}
			}
		}
	default:
		return err
	}
	return h.renderResult(c, status, title, nil, v)
}

// newLinkURL is where to ask for a new link: for the same authorization
// when this browser asked and it is still waiting.
func (h *Handler) newLinkURL(c *gin.Context, l *passlink.Link) string {
	if l == nil || !l.SameBrowser || l.InteractionID == "" {
		return "/passlink"
	}
	if h.liveInteraction(c, l.InteractionID) == nil {
		return "/passlink"
	}
	return "/passlink?interaction=" + url.QueryEscape(l.InteractionID)
}
