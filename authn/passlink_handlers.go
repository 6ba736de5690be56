package authn

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The passlink pages. A request (POST /passlink) always answers "check
// your inbox"; the link's GET only shows a confirmation page (scanners
// prefetch links) and its POST signs in: here when this browser asked,
// otherwise it approves the requesting browser with the code that only
// that screen shows. The requesting tab polls /passlink/status/{id} and
// takes an approval with POST /passlink/complete.

func (h *Handler) mountPasslinks(r gin.IRouter) {
	r.GET("/passlink", h.handlePasslinkForm)
	r.POST("/passlink", h.handlePasslinkRequest)
	r.GET("/passlink/status/:id", h.handlePasslinkStatus)
	r.POST("/passlink/complete", h.handlePasslinkComplete)
	r.GET("/passlink/passkey", h.handlePasskeyOffer)
	r.GET("/passlink/:token", h.handlePasslinkOpen)
	r.POST("/passlink/:token", h.handlePasslinkUse)
}

// passlinkOffered reports whether the login page offers a link: the
// client allows the method and the request does not demand more than a
// passlink's acr (acr_values asking for phishing resistance).
func passlinkOffered(in *models.Interaction, client *models.Client) bool {
	if in == nil {
		return true
	}
	return clientAllows(client, models.MethodPasslink) && models.ACRSatisfies(passlink.ACR, strings.Fields(in.ACRValues))
}

// passlinkInteraction loads the interaction a passlink page names (or
// none) and checks a link may serve it.
func (h *Handler) passlinkInteraction(c *gin.Context, id string) (*models.Interaction, *models.Client, error) {
	if id == "" {
		return nil, nil, nil
	}
	in, client, err := h.interaction(c, id)
	if err != nil {
		return nil, nil, err
	}
	if !clientAllows(client, models.MethodPasslink) {
		return nil, nil, &pageError{status: http.StatusForbidden, title: "Not available",
			msg: client.Name + " does not allow signing in with an emailed link.", hint: "Go back and choose another way to sign in."}
	}
	if !passlinkOffered(in, client) {
		return nil, nil, &pageError{status: http.StatusForbidden, title: "A passkey is needed",
			msg:  client.Name + " asks for a passkey or security key for this sign-in; an emailed link is not enough.",
			hint: "Go back and sign in with a passkey."}
	}
	return in, client, nil
}

type passlinkFormView struct {
	Interaction string
	Email       string
	CSRF        string
	Error       string
}

// handlePasslinkForm asks for the address to send a link to.
func (h *Handler) handlePasslinkForm(c *gin.Context) {
	in, client, err := h.passlinkInteraction(c, c.Query("interaction"))
	if err != nil {
		h.fail(c, err)
		return
	}
	view := passlinkFormView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Email: strings.TrimSpace(c.Query("email"))}
	if len(view.Email) > 254 {
		view.Email = ""
	}
	if in != nil {
		view.Interaction = in.ID
		if view.Email == "" {
			view.Email = in.LoginHint
		}
	}
	h.renderPasslinkForm(c, http.StatusOK, client, view)
}

func (h *Handler) renderPasslinkForm(c *gin.Context, status int, client *models.Client, view passlinkFormView) {
	title, app := "Get a sign-in link", ""
	if client != nil {
		title, app = "Sign in to "+client.Name, client.Name
	}
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, status, "passlink_request", templates.Page{Title: title, AppName: app, AppLogo: appLogo(client), Data: view}); err != nil {
		h.fail(c, err)
	}
}

type passlinkSentView struct {
	RequestID   string
	Code        string
	CodeSpoken  string
	MaskedEmail string
	Expiry      string
	ExpiresMS   int64
	CSRF        string
	NewLink     string
}

// linkForm checks a posted "email me a link" form and makes its request,
// for the interaction (and client) lookup finds; when it cannot, it has
// answered.
func (h *Handler) linkForm(c *gin.Context, lookup func(*gin.Context, string) (*models.Interaction, *models.Client, error)) (*models.Interaction, *models.Client, passlink.Request, bool) {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		h.fail(c, errBadForm)
		return nil, nil, passlink.Request{}, false
	}
	in, client, err := lookup(c, c.PostForm("interaction"))
	if err != nil {
		h.fail(c, err)
		return nil, nil, passlink.Request{}, false
	}
	ua := c.Request.UserAgent()
	req := passlink.Request{
		Email:       c.PostForm("email"),
		BrowserHash: h.sessions.Browser(c.Writer, c.Request),
		UserAgent:   ua,
		Device:      describeUserAgent(ua),
		IP:          c.ClientIP(),
	}
	if in != nil {
		req.InteractionID, req.ClientID, req.AppName = in.ID, client.ID, client.Name
	}
	return in, client, req, true
}

// sendLink sends the link req asks for. An invalid address is answered
// by invalid (the form again, saying msg), any other failure by the error
// page; both return false.
func (h *Handler) sendLink(c *gin.Context, req passlink.Request, invalid func(msg string)) (*passlink.Sent, bool) {
	sent, err := h.passlinks.Request(c.Request.Context(), req)
	if errors.Is(err, passlink.ErrInvalidEmail) {
		invalid("Enter a valid email address, like name@example.com.")
		return nil, false
	}
	if err != nil {
		h.fail(c, err)
		return nil, false
	}
	return sent, true
}

// formEmail is an email address a form may show again, or "".
func formEmail(e string) string {
	if len(e) <= 254 && !strings.ContainsAny(e, "\r\n") {
		return e
	}
	return ""
}

// handlePasslinkRequest sends a link. The answer is the same page for
// every valid address, known or not, limited or not.
func (h *Handler) handlePasslinkRequest(c *gin.Context) {
	ctx := c.Request.Context()
	in, client, req, ok := h.linkForm(c, h.passlinkInteraction)
	if !ok {
		return
	}
	sent, ok := h.sendLink(c, req, func(msg string) {
		h.renderPasslinkForm(c, http.StatusBadRequest, client, passlinkFormView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Error: msg,
			Interaction: interactionID(in), Email: formEmail(c.PostForm("email"))})
	})
	if !ok {
		return
	}
	if sent.Limited {
		h.log.InfoContext(ctx, "passlink request rate limited", "by", sent.LimitedBy)
		h.recordPasslink(c, "", req.ClientID, "request", models.ResultFailure, "rate_limited")
	} else {
		h.recordPasslink(c, sent.UserID, req.ClientID, "request", models.ResultSuccess, "")
	}
	newLink := "/passlink"
	title, app, logo := "Check your inbox", "", ""
	if in != nil {
		newLink += "?interaction=" + url.QueryEscape(in.ID)
		app, logo = client.Name, client.LogoURI
	}
	code := sent.Code[:3] + " " + sent.Code[3:]
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, http.StatusOK, "passlink_sent", templates.Page{Title: title, AppName: app, AppLogo: logo, Data: passlinkSentView{
		RequestID: sent.RequestID, Code: code, CodeSpoken: strings.Join(strings.Split(sent.Code, ""), " "),
		MaskedEmail: sent.MaskedEmail, Expiry: passlink.HumanDuration(h.passlinks.TTL(c.Request.Context())),
		ExpiresMS: sent.ExpiresAt.UnixMilli(), CSRF: h.sessions.CSRFToken(c.Writer, c.Request), NewLink: newLink,
	}}); err != nil {
		h.fail(c, err)
	}
}

type passlinkConfirmView struct {
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

// handlePasslinkOpen shows what the link will do. It changes nothing.
func (h *Handler) handlePasslinkOpen(c *gin.Context) {
	browser := h.sessions.Browser(c.Writer, c.Request)
	l, err := h.passlinks.Lookup(c.Request.Context(), c.Param("token"), browser)
	if err != nil {
		h.passlinkProblem(c, l, err)
		return
	}
	h.renderPasslinkConfirm(c, http.StatusOK, l, "", "")
}

func (h *Handler) renderPasslinkConfirm(c *gin.Context, status int, l *passlink.Link, msg, name string) {
	ctx := c.Request.Context()
	app, logo := "", ""
	if l.ClientID != "" {
		if cl, err := h.st.GetClient(ctx, l.ClientID); err == nil {
			app, logo = cl.Name, cl.LogoURI
			if l.SameBrowser && l.InteractionID != "" {
				// "Sign in" here ends at the app when the authorization
				// needs nothing more (a returning user who consented).
				if in, err := h.st.GetInteraction(ctx, l.InteractionID); err == nil {
					allowRedirect(c, in, cl)
				}
			}
		}
	}
	signup := l.Purpose == models.PasslinkSignup
	var title string
	switch {
	case !l.SameBrowser:
		title = "Approve a sign-in on another device"
	case signup:
		title = "Create your account"
	case app != "":
		title = "Sign in to " + app
	default:
		title = "Sign in"
	}
	c.Header("Cache-Control", "no-store")
	err := h.pages.Render(c.Writer, status, "passlink_confirm", templates.Page{Title: title, AppName: app, AppLogo: logo, Data: passlinkConfirmView{
		// Lookup checked the token's shape.
		Token: c.Param("token"), CSRF: h.sessions.CSRFToken(c.Writer, c.Request),
		SameBrowser: l.SameBrowser, Signup: signup, MaskedEmail: passlink.MaskEmail(l.Email),
		Device: describeUserAgent(l.RequesterUserAgent), Requested: requestedAgo(l.CreatedAt, time.Now()),
		Error: msg, Name: name, Admin: l.Purpose == models.PasslinkAdmin,
	}})
	if err != nil {
		h.fail(c, err)
	}
}

// requestedAgo says when a request was made, approximately and exactly.
func requestedAgo(t, now time.Time) string {
	d := now.Sub(t)
	var ago string
	switch {
	case d < time.Minute:
		ago = "just now"
	case d < 2*time.Minute:
		ago = "1 minute ago"
	case d < time.Hour:
		ago = fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	default:
		ago = "over an hour ago"
	}
	return ago + " (" + t.UTC().Format("15:04 MST") + ")"
}

// handlePasslinkUse signs in (this browser asked), or approves or denies
// the requesting browser (another one asked).
func (h *Handler) handlePasslinkUse(c *gin.Context) {
	ctx := c.Request.Context()
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		h.fail(c, errBadForm)
		return
	}
	token := c.Param("token")
	browser := h.sessions.Browser(c.Writer, c.Request)
	name := strings.TrimSpace(c.PostForm("name"))
	if len(name) > 100 {
		name = name[:100]
	}
	switch c.PostForm("action") {
	case "signin":
		res, err := h.passlinks.SignIn(ctx, token, browser, name)
		if errors.Is(err, passlink.ErrOtherBrowser) {
			// The binding cookie changed since the page was shown: ask for
			// the code like any other device.
			l, lerr := h.passlinks.Lookup(ctx, token, browser)
			if lerr != nil {
				h.passlinkProblem(c, l, lerr)
				return
			}
			h.renderPasslinkConfirm(c, http.StatusOK, l, "", name)
			return
		}
		if err != nil {
			h.passlinkUseFailed(c, token, browser, err)
			return
		}
		next, err := h.passlinkSignIn(c, res)
		if err != nil {
			h.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, next)
	case "approve":
		res, err := h.passlinks.Approve(ctx, token, browser, c.PostForm("code"), name)
		var wrong *passlink.WrongCodeError
		switch {
		case errors.Is(err, passlink.ErrCodeFormat):
			h.passlinkCodeError(c, token, browser, "Enter the 6-digit code shown on the screen where you asked for the link.", name)
			return
		case errors.As(err, &wrong):
			h.recordPasslinkLink(c, token, browser, "approve", models.ResultFailure, "wrong_code")
			msg := "That code doesn't match. 1 try left."
			if wrong.Left != 1 {
				msg = fmt.Sprintf("That code doesn't match. %d tries left.", wrong.Left)
			}
			h.passlinkCodeError(c, token, browser, msg, name)
			return
		case err != nil:
			h.passlinkUseFailed(c, token, browser, err)
			return
		}
		h.recordPasslink(c, res.User.ID, h.passlinkClient(c, res), "approve", models.ResultSuccess, "")
		view := resultView{OK: true, Message: "Done. Go back to the other device: it continues by itself."}
		if res.Proof.Removed() {
			view.Hint = "This was the first time this address was confirmed, so for your safety we removed the passkeys, password and sessions that were added to the account before."
		}
		if c.PostForm("also") != "" {
			if _, err := h.sessions.Start(ctx, c.Writer, c.Request, websession.Login{
				UserID: res.User.ID, AMR: passlink.AMR, ACR: passlink.ACR, AuthTime: time.Now(),
			}); err != nil {
				h.fail(c, err)
				return
			}
			h.recordPasslink(c, res.User.ID, "", "login", models.ResultSuccess, "")
			view.Message = "Done. Go back to the other device: it continues by itself. You're signed in here too."
			view.ButtonLabel, view.ButtonHref = "Go to your account", "/account"
		}
		h.renderResult(c, http.StatusOK, "Sign-in approved", nil, view)
	case "deny":
		// A report, not a cancellation: see passlink.Service.Report.
		l, err := h.passlinks.Report(ctx, token, browser)
		if err != nil {
			h.passlinkProblem(c, l, err)
			return
		}
		h.recordPasslink(c, l.UserID, l.ClientID, "approve", models.ResultFailure, "reported")
		h.renderResult(c, http.StatusOK, "Nobody was signed in", nil, resultView{OK: true,
			Message: "Thanks for telling us. Nobody can sign in with this link without the code shown on the other screen, and it stops working within " +
				passlink.HumanDuration(h.passlinks.TTL(ctx)) + ".",
			Hint: "You can ignore the mail. Never tell anyone a sign-in code."})
	default:
		h.fail(c, errBadForm)
	}
}

// passlinkCodeError shows the approval page again with msg at the code.
func (h *Handler) passlinkCodeError(c *gin.Context, token, browser, msg, name string) {
	l, err := h.passlinks.Lookup(c.Request.Context(), token, browser)
	if err != nil {
		h.passlinkProblem(c, l, err)
		return
	}
	l.SameBrowser = false // keep the approval form, whatever the cookie says
	h.renderPasslinkConfirm(c, http.StatusBadRequest, l, msg, name)
}

// passlinkUseFailed records a refused use and explains it.
func (h *Handler) passlinkUseFailed(c *gin.Context, token, browser string, err error) {
	l, _ := h.passlinks.Lookup(c.Request.Context(), token, browser)
	reason := passlinkReason(err)
	if reason != "" && l != nil {
		h.recordPasslink(c, l.UserID, l.ClientID, "login", models.ResultFailure, reason)
	}
	h.passlinkProblem(c, l, err)
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

// passlinkSignIn starts this browser's session for res and says where to
// go: the authorization (or account page), by way of the passkey offer for
// someone who has none.
func (h *Handler) passlinkSignIn(c *gin.Context, res *passlink.Result) (string, error) {
	ls, err := h.sessions.Start(c.Request.Context(), c.Writer, c.Request, websession.Login{
		UserID: res.User.ID, AMR: passlink.AMR, ACR: passlink.ACR, AuthTime: time.Now(),
	})
	if err != nil {
		return "", err
	}
	reason := ""
	switch {
	case res.Created:
		reason = "signup"
	case res.Admin:
		reason = "admin_link"
	}
	h.recordPasslink(c, res.User.ID, h.passlinkClient(c, res), "login", models.ResultSuccess, reason)
	next := h.afterLogin(c, res.InteractionID, ls.ID)
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

func (h *Handler) passlinkClient(c *gin.Context, res *passlink.Result) string {
	if res.InteractionID == "" {
		return ""
	}
	if in, err := h.st.GetInteraction(c.Request.Context(), res.InteractionID); in != nil && (err == nil || errors.Is(err, models.ErrConsumed)) {
		return in.ClientID
	}
	return ""
}

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
	return "/passlink/passkey?next=" + url.QueryEscape(next)
}

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
				if nextRE.MatchString(id) && h.resumeURL(id) == next {
					return next
				}
			}
		}
	}
	return "/account"
}

// handlePasskeyOffer offers a passkey after a passlink sign-in.
func (h *Handler) handlePasskeyOffer(c *gin.Context) {
	next := h.safeNext(c.Query("next"))
	ls, u, err := h.currentUser(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	if ls == nil || h.passkeys == nil {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, http.StatusOK, "passlink_passkey", templates.Page{
		Title: "Add a passkey so next time is one tap",
		Data: map[string]any{
			"CSRF": h.sessions.CSRFToken(c.Writer, c.Request), "Next": next, "Email": u.Email, "RPID": h.rpID,
			"AddressProven": c.Query("notice") == noticeAddressProven,
		},
	}); err != nil {
		h.fail(c, err)
	}
}

// handlePasslinkStatus answers the requesting page's poll.
func (h *Handler) handlePasslinkStatus(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	st, err := h.passlinks.Status(c.Request.Context(), c.Param("id"), h.sessions.Browser(c.Writer, c.Request))
	if err != nil {
		h.log.ErrorContext(c.Request.Context(), "passlink status", "err", err)
		h.jsonError(c, http.StatusInternalServerError, "server_error", "Something went wrong on our side.")
		return
	}
	c.JSON(http.StatusOK, gin.H{"state": st})
}

// handlePasslinkComplete takes an approval in the requesting browser.
func (h *Handler) handlePasslinkComplete(c *gin.Context) {
	var req struct {
		Request string `json:"request"`
	}
	if !h.readJSON(c, &req) {
		return
	}
	if req.Request == "" {
		h.jsonError(c, http.StatusBadRequest, "invalid_request", "The request could not be read.")
		return
	}
	res, err := h.passlinks.Complete(c.Request.Context(), req.Request, h.sessions.Browser(c.Writer, c.Request))
	switch {
	case errors.Is(err, passlink.ErrNotApproved):
		h.jsonError(c, http.StatusConflict, "not_approved", "The sign-in has not been approved yet.")
		return
	case errors.Is(err, passlink.ErrUsed):
		h.jsonError(c, http.StatusConflict, "used", "This sign-in was already completed.")
		return
	case errors.Is(err, passlink.ErrExpired):
		h.jsonError(c, http.StatusGone, "expired", "The approval has expired. Request a new link.")
		return
	case errors.Is(err, passlink.ErrUserUnavailable):
		h.jsonError(c, http.StatusForbidden, "user_unavailable", "This account can't sign in. Contact your administrator.")
		return
	case errors.Is(err, passlink.ErrInvalidLink):
		h.jsonError(c, http.StatusNotFound, "unknown", "This sign-in request is unknown in this browser.")
		return
	case err != nil:
		h.pageErrJSON(c, err)
		return
	}
	next, err := h.passlinkSignIn(c, res)
	if err != nil {
		h.pageErrJSON(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"redirect": next})
}

type resultView struct {
	OK          bool
	Message     string
	Hint        string
	ButtonLabel string
	ButtonHref  string
	SecondLabel string
	SecondHref  string
}

func (h *Handler) renderResult(c *gin.Context, status int, title string, client *models.Client, v resultView) {
	c.Header("Cache-Control", "no-store")
	app := ""
	if client != nil {
		app = client.Name
	}
	if err := h.pages.Render(c.Writer, status, "passlink_result", templates.Page{Title: title, AppName: app, AppLogo: appLogo(client), Data: v}); err != nil {
		h.fail(c, err)
	}
}

// passlinkProblem explains a link that cannot be used, with a way to
// get a new one.
func (h *Handler) passlinkProblem(c *gin.Context, l *passlink.Link, err error) {
	newLink := h.newLinkURL(c, l)
	v := resultView{ButtonLabel: "Email me a new link", ButtonHref: newLink}
	status, title := http.StatusGone, ""
	switch {
	case errors.Is(err, passlink.ErrInvalidLink):
		status, title = http.StatusBadRequest, "This link doesn't work"
		v.Message = "The link is incomplete or was changed. Open it exactly as it arrived, or ask for a new one."
	case errors.Is(err, passlink.ErrExpired):
		title = "This link has expired"
		v.Message = "Sign-in links work for " + passlink.HumanDuration(h.passlinks.TTL(c.Request.Context())) + ", and this one is older."
	case errors.Is(err, passlink.ErrLocked) || (l != nil && l.Outcome == models.PasslinkLocked):
		title = "This link is locked"
		v.Message = "A wrong code was typed too many times, so the link no longer works."
	case errors.Is(err, passlink.ErrUsed) && l != nil && l.Outcome == models.PasslinkApproved:
		title = "This sign-in was already approved"
		v.Message = "Each link works once. Go back to " + describeUserAgent(l.RequesterUserAgent) + ", where it continues."
	case errors.Is(err, passlink.ErrUsed) && l != nil && l.Outcome == models.PasslinkDenied:
		title = "This sign-in was denied"
		v.Message = "Nobody was signed in with this link, and it no longer works."
	case errors.Is(err, passlink.ErrUsed):
		title = "This link was already used"
		v.Message = "Each link works once."
		if ls, _, _ := h.currentUser(c); ls != nil {
			v.OK, v.Hint = true, "You're already signed in here."
			v.ButtonLabel, v.ButtonHref = "Continue", "/account"
			v.SecondLabel, v.SecondHref = "Email me a new link", newLink
			if l != nil && l.SameBrowser && l.InteractionID != "" {
				if in, ierr := h.st.GetInteraction(c.Request.Context(), l.InteractionID); ierr == nil && in.LoginSessionID == ls.ID {
					v.ButtonHref = h.resumeURL(in.ID)
				}
			}
		}
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

// newLinkURL is where to ask for a new link: for the same authorization
// when this browser asked and it is still waiting.
func (h *Handler) newLinkURL(c *gin.Context, l *passlink.Link) string {
	if l == nil || !l.SameBrowser || l.InteractionID == "" {
		return "/passlink"
	}
	if _, err := h.st.GetInteraction(c.Request.Context(), l.InteractionID); err != nil {
		return "/passlink"
	}
	return "/passlink?interaction=" + url.QueryEscape(l.InteractionID)
}

// recordPasslinkLink records an event about the link of token.
func (h *Handler) recordPasslinkLink(c *gin.Context, token, browser, event, result, reason string) {
	l, _ := h.passlinks.Lookup(c.Request.Context(), token, browser)
	if l == nil {
		return
	}
	h.recordPasslink(c, l.UserID, l.ClientID, event, result, reason)
}

// recordPasslink stores an auth event; failures are logged, not fatal.
func (h *Handler) recordPasslink(c *gin.Context, userID, clientID, event, result, reason string) {
	ctx := c.Request.Context()
	e := &models.AuthEvent{
		ID: websession.RandomToken(16), UserID: userID, ClientID: clientID, Event: event,
		Result: result, Reason: reason, IP: c.ClientIP(), UserAgent: c.Request.UserAgent(),
	}
	if err := h.passlinks.Record(ctx, e); err != nil {
		h.log.WarnContext(ctx, "record passlink event", "err", err)
	}
}
