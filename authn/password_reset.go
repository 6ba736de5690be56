package authn

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Password reset by passlink (see password_handlers.go): /password/forgot
// sends a reset link; its page chooses the new password.

// resetInteraction loads the interaction a reset page names (or none)
// and checks that its client allows passwords.
func (h *Handler) resetInteraction(c *gin.Context, id string) (*models.Interaction, *models.Client, error) {
	return h.methodAllowed(c, id, models.MethodPasswordKey)
}

// handleForgotForm asks for the address to send a reset link to.
func (h *Handler) handleForgotForm(c *gin.Context) error {
	in, client, err := h.resetInteraction(c, c.Query("interaction"))
	if err != nil {
		return err
	}
	view := templates.PasswordForgotView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request)}
	view.Email = formEmail(strings.TrimSpace(c.Query("email")))
	view.Interaction = interactionID(in)
	return h.renderForgot(c, http.StatusOK, client, view)
}

func (h *Handler) renderForgot(c *gin.Context, status int, client *models.Client, view templates.PasswordForgotView) error {
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	return h.pages.PasswordForgot(c.Writer, status, t.appPage(t.T("password.forgot_title"), client), view)
}

// handleForgotRequest sends a reset link. The answer is the same page for
// every valid address, known or not, limited or not.
func (h *Handler) handleForgotRequest(c *gin.Context) error {
	in, client, req, err := h.linkForm(c, h.resetInteraction)
	if err != nil {
		return err
	}
	req.Reset = true
	sent, err := h.sendLink(c, req, models.MethodPasswordKey, func(msg string) error {
		return h.renderForgot(c, http.StatusBadRequest, client, templates.PasswordForgotView{CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Error: msg,
			Interaction: interactionID(in), Email: formEmail(c.PostForm("email"))})
	})
	if sent == nil {
		return err
	}
	back := "/login/password"
	var app *models.Client
	if in != nil {
		back += "?interaction=" + url.QueryEscape(in.ID)
		app = client
	}
	t := h.tr(c)
	return h.renderResult(c, http.StatusOK, t.T("password.sent_title"), app, templates.PasslinkResultView{OK: true,
		Message:     t.T("password.sent_msg", "email", sent.MaskedEmail, "expiry", t.duration(h.passlinks.TTL(c.Request.Context()))),
		Hint:        t.T("password.sent_hint"),
		ButtonLabel: t.T("password.back"), ButtonHref: back,
	})
}

// handleResetForm shows "choose a new password" for a reset link. It
// changes nothing (mail scanners prefetch links).
func (h *Handler) handleResetForm(c *gin.Context) error {
	l, err := h.passlinks.LookupReset(c.Request.Context(), c.Param("token"))
	if err != nil {
		return h.resetProblem(c, err)
	}
	return h.renderReset(c, http.StatusOK, l, "")
}

func (h *Handler) renderReset(c *gin.Context, status int, l *passlink.Link, msg string) error {
	// The token is in the path; Referrer-Policy same-origin (the
	// middleware's) keeps it from other sites, and the page links nowhere.
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	return h.pages.PasswordReset(c.Writer, status, t.page(t.T("password.reset_title"), "", ""), templates.PasswordResetView{
		Token: c.Param("token"), CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Email: l.Email,
		MinLength: h.passwords.MinLength(), Error: msg,
	})
}

// handleResetPost sets the new password: the rules first (nothing is
// spent on a refused password), then the link is spent, the password
// stored and every session of the user ended, in one transaction.
func (h *Handler) handleResetPost(c *gin.Context) error {
	ctx := c.Request.Context()
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	token := c.Param("token")
	l, err := h.passlinks.LookupReset(ctx, token)
	if err != nil {
		return h.resetProblem(c, err)
	}
	hash, err := h.passwords.NewHash(c.PostForm("password"), l.Email)
	var rule *password.RuleError
	if errors.As(err, &rule) {
		return h.renderReset(c, http.StatusBadRequest, l, rule.Message)
	}
	if err != nil {
		return err
	}
	res, err := h.passlinks.Reset(ctx, token, func(ctx context.Context, u *models.User) error {
		return h.st.ResetUserPassword(ctx, u.ID, hash)
	})
	if err != nil {
		return h.resetProblem(c, err)
	}
	h.record(c, passwordEvent(res.User.ID, res.InteractionID, "reset", models.ResultSuccess, "", ""))
	// The reset signed this browser out too: clear its cookie.
	h.forgetCurrentUser(c)
	if err := h.sessions.End(ctx, c.Writer, c.Request); err != nil {
		h.log.WarnContext(ctx, "end session after reset", "err", err)
	}
	next := url.Values{"email": {res.User.Email}, "done": {"reset"}}
	if res.InteractionID != "" {
		if in := h.liveInteraction(c, res.InteractionID); in != nil && h.sessions.SameBrowser(c.Request, in.BrowserHash) {
			next.Set("interaction", in.ID)
		}
	}
	c.Redirect(http.StatusSeeOther, "/login/password?"+next.Encode())
	return nil
}

// resetProblem explains a reset link that cannot be used.
func (h *Handler) resetProblem(c *gin.Context, err error) error {
	t := h.tr(c)
	v := templates.PasslinkResultView{ButtonLabel: t.T("password.new_link"), ButtonHref: "/password/forgot"}
	status, title := h.linkTrouble(c, err, "link.expired_reset", &v)
	switch {
	case title != "":
	case errors.Is(err, passlink.ErrUsed):
		title = t.T("link.used_title")
		v.Message = t.T("password.link_used_msg")
		v.SecondLabel, v.SecondHref = t.T("common.sign_in"), "/login/password"
	default:
		return err
	}
	return h.renderResult(c, status, title, nil, v)
}
