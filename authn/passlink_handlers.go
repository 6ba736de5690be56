package authn

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The passlink pages. A request (POST /passlink) always answers "check
// your inbox"; the link's GET only shows a confirmation page (scanners
// prefetch links) and its POST signs in: here when this browser asked,
// otherwise it approves the requesting browser with the code that only
// that screen shows (passlink_use.go). The requesting tab polls
// /passlink/status/{id} and takes an approval with POST /passlink/complete.

func (h *Handler) mountPasslinks(r gin.IRouter) {
	r.GET("/passlink", h.page(h.handlePasslinkForm))
	r.POST("/passlink", h.page(h.handlePasslinkRequest))
	r.GET("/passlink/status/:id", h.api(h.handlePasslinkStatus))
	r.POST("/passlink/complete", h.api(h.handlePasslinkComplete))
	r.GET("/passlink/:token", h.page(h.handlePasslinkOpen))
	r.POST("/passlink/:token", h.page(h.handlePasslinkUse))
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
		return nil, nil, errPage(http.StatusForbidden, "errors.passlink_not_allowed", "app", client.Name)
	}
	if !passlinkOffered(in, client) {
		return nil, nil, errPage(http.StatusForbidden, "errors.passlink_too_weak", "app", client.Name)
	}
	return in, client, nil
}

// handlePasslinkForm asks for the address to send a link to.
func (h *Handler) handlePasslinkForm(c *gin.Context) error {
	in, client, err := h.passlinkInteraction(c, c.Query("interaction"))
	if err != nil {
		return err
	}
	view := templates.PasslinkRequestView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Email: strings.TrimSpace(c.Query("email"))}
	if len(view.Email) > 254 {
		view.Email = ""
	}
	if in != nil {
		view.Interaction = in.ID
		if view.Email == "" {
			view.Email = in.LoginHint
		}
	}
	return h.renderPasslinkForm(c, http.StatusOK, client, view)
}

func (h *Handler) renderPasslinkForm(c *gin.Context, status int, client *models.Client, view templates.PasslinkRequestView) error {
	t := h.tr(c)
	title := t.T("passlink.request_title")
	if client != nil {
		title = t.T("login.title_app", "app", client.Name)
	}
	c.Header("Cache-Control", "no-store")
	return h.pages.PasslinkRequest(c.Writer, status, t.appPage(title, client), view)
}

// linkForm checks a posted "email me a link" form and makes its request,
// for the interaction (and client) lookup finds.
func (h *Handler) linkForm(c *gin.Context, lookup func(*gin.Context, string) (*models.Interaction, *models.Client, error)) (*models.Interaction, *models.Client, passlink.Request, error) {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return nil, nil, passlink.Request{}, errBadForm
	}
	in, client, err := lookup(c, c.PostForm("interaction"))
	if err != nil {
		return nil, nil, passlink.Request{}, err
	}
	ua := c.Request.UserAgent()
	req := passlink.Request{
		Lang:        h.lang(c),
		Email:       c.PostForm("email"),
		BrowserHash: h.sessions.Browser(c.Writer, c.Request),
		UserAgent:   ua,
		Device:      httpx.DescribeUserAgent(ua),
		IP:          c.ClientIP(),
	}
	if in != nil {
		req.InteractionID, req.ClientID, req.AppName = in.ID, client.ID, client.Name
	}
	return in, client, req, nil
}

// sendLink sends the link req asks for and records the request as event
// of method. An invalid address is answered by invalid (the form again,
// saying msg), and sendLink returns nil, nil.
func (h *Handler) sendLink(c *gin.Context, req passlink.Request, method string, invalid func(msg string) error) (*passlink.Sent, error) {
	sent, err := h.passlinks.Request(c.Request.Context(), req)
	if errors.Is(err, passlink.ErrInvalidEmail) {
		return nil, invalid(h.tr(c).T("api.email_example"))
	}
	if err != nil {
		return nil, err
	}
	e := authEvent{method: method, userID: sent.UserID, clientID: req.ClientID, interactionID: req.InteractionID, name: "request"}
	if req.Reset {
		e.name = "reset_request"
	}
	if sent.Limited {
		h.log.InfoContext(c.Request.Context(), e.name+" rate limited", "method", method, "by", sent.LimitedBy)
		e.userID, e.result, e.reason = "", models.ResultFailure, "rate_limited"
	}
	h.record(c, e)
	return sent, nil
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
func (h *Handler) handlePasslinkRequest(c *gin.Context) error {
	in, client, req, err := h.linkForm(c, h.passlinkInteraction)
	if err != nil {
		return err
	}
	sent, err := h.sendLink(c, req, models.MethodPasslink, func(msg string) error {
		return h.renderPasslinkForm(c, http.StatusBadRequest, client, templates.PasslinkRequestView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Error: msg,
			Interaction: interactionID(in), Email: formEmail(c.PostForm("email"))})
	})
	if sent == nil {
		return err
	}
	newLink := "/passlink"
	t := h.tr(c)
	title := t.T("passlink.sent_title")
	var app *models.Client
	if in != nil {
		newLink += "?interaction=" + url.QueryEscape(in.ID)
		app = client
	}
	code := sent.Code[:3] + " " + sent.Code[3:]
	c.Header("Cache-Control", "no-store")
	return h.pages.PasslinkSent(c.Writer, http.StatusOK, t.appPage(title, app), templates.PasslinkSentView{
		RequestID: sent.RequestID, Code: code, CodeSpoken: strings.Join(strings.Split(sent.Code, ""), " "),
		MaskedEmail: sent.MaskedEmail, Expiry: t.duration(h.passlinks.TTL(c.Request.Context())),
		ExpiresMS: sent.ExpiresAt.UnixMilli(), CSRF: h.sessions.CSRFToken(c.Writer, c.Request), NewLink: newLink,
	})
}

// handlePasslinkStatus answers the requesting page's poll.
func (h *Handler) handlePasslinkStatus(c *gin.Context) error {
	st, err := h.passlinks.Status(c.Request.Context(), c.Param("id"), h.sessions.Browser(c.Writer, c.Request))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, gin.H{"state": st})
}

// handlePasslinkComplete takes an approval in the requesting browser.
func (h *Handler) handlePasslinkComplete(c *gin.Context) error {
	var req struct {
		Request string `json:"request"`
	}
	if err := h.readJSON(c, &req); err != nil {
		return err
	}
	if req.Request == "" {
		return refuse(http.StatusBadRequest, "invalid_request", "api.unreadable")
	}
	res, err := h.passlinks.Complete(c.Request.Context(), req.Request, h.sessions.Browser(c.Writer, c.Request))
	switch {
	case errors.Is(err, passlink.ErrNotApproved):
		return refuse(http.StatusConflict, "not_approved", "api.not_approved")
	case errors.Is(err, passlink.ErrUsed):
		return refuse(http.StatusConflict, "used", "api.used")
	case errors.Is(err, passlink.ErrExpired):
		return refuse(http.StatusGone, "expired", "api.approval_expired")
	case errors.Is(err, passlink.ErrUserUnavailable):
		return refuse(http.StatusForbidden, "user_unavailable", "api.user_unavailable")
	case errors.Is(err, passlink.ErrInvalidLink):
		return refuse(http.StatusNotFound, "unknown", "api.unknown_request")
	case err != nil:
		return err
	}
	next, err := h.passlinkSignIn(c, res)
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, gin.H{"redirect": next})
}
