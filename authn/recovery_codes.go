package authn

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/authn/recovery"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Recovery codes (authn/recovery), switched by the live policy
// (policy.RecoveryCodes: off, offer, require):
//
//   - /account shows how many codes are left and creates a new set
//     (POST /account/recovery-codes) after a fresh passkey sign-in, like
//     the other sensitive changes; the codes are shown once, to copy or
//     download; the old set stops working in the same write.
//   - /login links to /login/recovery ("Use a recovery code") when the
//     request accepts a basic sign-in. The POST answers the same for an
//     unknown account and a wrong code; a right one is spent (one
//     conditional update) together with the session, the audit entry and
//     the mail notice, and the browser goes straight to adding a passkey.
//   - "require": a user-verified passkey sign-in of an account without a
//     second passkey and without codes goes by /account/recovery-codes,
//     which asks for them before continuing.

// RecoveryPolicy gives the live recovery-code policy (*policy.Live).
type RecoveryPolicy interface {
	RecoveryCodes(ctx context.Context) (string, error)
}

// recoveryMode is the recovery-code policy now; off without the method,
// without a live policy, or when it cannot be read.
func (h *Handler) recoveryMode(c *gin.Context) string {
	rp, ok := h.policies.(RecoveryPolicy)
	if h.recovery == nil || !ok {
		return policy.RecoveryOff
	}
	m, err := rp.RecoveryCodes(c.Request.Context())
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "policy unavailable; recovery codes off", "err", err)
		return policy.RecoveryOff
	}
	return m
}

func (h *Handler) mountRecovery(r gin.IRouter) {
	if h.recovery == nil {
		return
	}
	r.GET("/login/recovery", h.page(h.handleRecoveryForm))
	r.POST("/login/recovery", h.page(h.handleRecoverySignIn))
	r.GET("/account/recovery-codes", h.page(h.handleRecoveryOffer))
	r.POST("/account/recovery-codes", h.page(h.handleRecoveryGenerate))
}

// errRecoveryOff answers the recovery pages while the policy is off.
var errRecoveryOff = errPage(http.StatusNotFound, "errors.recovery_off")

// recoveryPage renders the sign-in with a code.
func (h *Handler) recoveryPage(c *gin.Context, status int, in *models.Interaction, client *models.Client, v templates.RecoveryLoginView) error {
	t := h.tr(c)
	if in == nil {
		client = nil
	} else {
		v.Interaction = in.ID
	}
	p := t.appPage(t.T("recovery.login_title"), client)
	v.CSRF = h.sessions.CSRFToken(c.Writer, c.Request)
	c.Header("Cache-Control", "no-store")
	return h.pages.RecoveryLogin(c.Writer, status, p, v)
}

// recoveryInteraction loads the interaction a recovery page names ("":
// none) and refuses one that asks for more than a basic sign-in.
func (h *Handler) recoveryInteraction(c *gin.Context, id string) (*models.Interaction, *models.Client, error) {
	if id == "" {
		return nil, nil, nil
	}
	in, client, err := h.interaction(c, id)
	if err != nil {
		return nil, nil, err
	}
	if !models.ACRSatisfies(recovery.ACR, strings.Fields(in.ACRValues)) {
		return nil, nil, errPage(http.StatusForbidden, "errors.recovery_too_weak", "app", client.Name, "level", msgKey(levelKey(requiredACR(in))))
	}
	return in, client, nil
}

// handleRecoveryForm shows "Use a recovery code".
func (h *Handler) handleRecoveryForm(c *gin.Context) error {
	if h.recoveryMode(c) == policy.RecoveryOff {
		return errRecoveryOff
	}
	in, client, err := h.recoveryInteraction(c, c.Query("interaction"))
	if err != nil {
		return err
	}
	v := templates.RecoveryLoginView{Identifier: strings.TrimSpace(c.Query("email"))}
	if in != nil && v.Identifier == "" {
		v.Identifier = in.LoginHint
	}
	return h.recoveryPage(c, http.StatusOK, in, client, v)
}

// wrongRecovery is the key of the one answer for an unknown account and
// a wrong, used or replaced code.
const wrongRecovery = "recovery.wrong"

// handleRecoverySignIn signs in with a recovery code.
func (h *Handler) handleRecoverySignIn(c *gin.Context) error {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	if h.recoveryMode(c) == policy.RecoveryOff {
		return errRecoveryOff
	}
	in, client, err := h.recoveryInteraction(c, c.PostForm("interaction"))
	if err != nil {
		return err
	}
	ident := strings.TrimSpace(c.PostForm("identifier"))
	if len(ident) > 254 {
		ident = ident[:254]
	}
	v := templates.RecoveryLoginView{Identifier: ident}
	interactionID := ""
	if in != nil {
		interactionID = in.ID
	}
	m, err := h.recovery.Verify(c.Request.Context(), recovery.Attempt{Identifier: ident, Code: c.PostForm("code"), IP: c.ClientIP()})
	var throttled *recovery.ThrottledError
	switch {
	case errors.As(err, &throttled):
		h.record(c, authEvent{method: models.MethodRecoveryCode, interactionID: interactionID, name: models.EventLogin,
			result: models.ResultFailure, reason: "throttled_" + throttled.By})
		c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		t := h.tr(c)
		v.Error = t.T("recovery.throttled", "wait", t.duration(throttled.RetryAfter.Truncate(time.Minute)+time.Minute))
		return h.recoveryPage(c, http.StatusTooManyRequests, in, client, v)
	case errors.Is(err, recovery.ErrWrongCode):
		return h.recoveryRefused(c, in, client, v, m, interactionID)
	case err != nil:
		return err
	}
	var next string
	var left int64
	err = h.inTx(c, func() error {
		ctx := c.Request.Context()
		var err error
		if left, err = h.recovery.Spend(ctx, m); err != nil {
			return err
		}
		if err := h.auditSelf(ctx, c, models.AuditRecoveryCodeUsed, m.User.ID, "the account holder, with a recovery code",
			map[string]int64{"unused": left + 1}, map[string]int64{"unused": left}); err != nil {
			return err
		}
		if h.passlinks != nil {
			if err := h.passlinks.SendAccountMail(ctx, passlink.AccountMail{UserID: m.User.ID, Email: m.User.Email,
				Template: "recovery_code_used", Lang: templates.MailLanguage(m.User.Locale, h.lang(c)), IP: c.ClientIP(),
				Other: map[string]string{"left": strconv.FormatInt(left, 10), "ip": c.ClientIP()}}); err != nil {
				return err
			}
		}
		next, err = h.completeSignIn(c, signIn{user: m.User, method: models.MethodRecoveryCode, amr: recovery.AMR, acr: recovery.ACR,
			interactionID: interactionID, reason: "recovery_code"})
		return err
	})
	if errors.Is(err, recovery.ErrWrongCode) {
		// Spent by a concurrent sign-in between the check and the update.
		return h.recoveryRefused(c, in, client, v, m, interactionID)
	}
	if err != nil {
		return err
	}
	if h.passlinks != nil {
		h.passlinks.Kick()
	}
	// Straight to adding a passkey (the code that got them in is gone).
	if h.passkeys != nil {
		next = passkeyOfferPath + "?via=" + viaRecovery + "&next=" + url.QueryEscape(next)
	}
	return seeOther(next)
}

// recoveryRefused records a failed code and shows the form again with
// the one answer (m names the account when there is one).
func (h *Handler) recoveryRefused(c *gin.Context, in *models.Interaction, client *models.Client, v templates.RecoveryLoginView, m *recovery.Match, interactionID string) error {
	userID := ""
	if m != nil && m.User != nil {
		userID = m.User.ID
	}
	h.record(c, authEvent{method: models.MethodRecoveryCode, userID: userID, interactionID: interactionID, name: models.EventLogin,
		result: models.ResultFailure, reason: "wrong_code"})
	v.Error = h.tr(c).T(wrongRecovery)
	return h.recoveryPage(c, http.StatusBadRequest, in, client, v)
}

// recoveryView is the account page's recovery section.
func (h *Handler) recoveryView(c *gin.Context, u *models.User) (templates.AccountRecovery, error) {
	v := templates.AccountRecovery{Count: recovery.Count}
	if h.recoveryMode(c) == policy.RecoveryOff {
		return v, nil
	}
	v.On = true
	n, err := h.recovery.Remaining(c.Request.Context(), u.ID)
	if err != nil {
		return v, err
	}
	// A set exists when any code of it is left, or all were used (the
	// rows stay until replaced).
	has, err := h.st.HasRecoveryCodes(c.Request.Context(), u.ID)
	if err != nil {
		return v, err
	}
	v.Has, v.Left = has, n
	return v, nil
}

// handleRecoveryOffer asks for a set of codes: the prompt after a
// sign-in when the policy requires codes, or the way from the account
// page.
func (h *Handler) handleRecoveryOffer(c *gin.Context) error {
	mode := h.recoveryMode(c)
	if mode == policy.RecoveryOff {
		return errRecoveryOff
	}
	next := h.safeNext(c.Query("next"))
	ls, u, err := h.currentUser(c)
	if err != nil {
		return err
	}
	if ls == nil {
		return seeOther("/login?return=/account%23recovery")
	}
	required, err := h.recoveryRequired(c, mode, u)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	return h.pages.RecoveryCodes(c.Writer, http.StatusOK, h.tr(c).page(h.tr(c).T("recovery.create_title"), "", ""), templates.RecoveryCodesView{
		Required: required, Fresh: freshPasskey(ls), Count: recovery.Count, CSRF: h.sessions.CSRFToken(c.Writer, c.Request), Next: next})
}

// handleRecoveryGenerate creates a new set of codes (replacing any) and
// shows it, once.
func (h *Handler) handleRecoveryGenerate(c *gin.Context) error {
	ls, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	if h.recoveryMode(c) == policy.RecoveryOff {
		return errRecoveryOff
	}
	if !freshPasskey(ls) {
		return seeOther("/account?done=reauth_recovery#recovery")
	}
	next := h.safeNext(c.PostForm("next"))
	var codes []string
	var before int64
	var had bool
	err = h.inTx(c, func() error {
		ctx := c.Request.Context()
		var err error
		if before, err = h.recovery.Remaining(ctx, u.ID); err != nil {
			return err
		}
		if had, err = h.st.HasRecoveryCodes(ctx, u.ID); err != nil {
			return err
		}
		if codes, err = h.recovery.Generate(ctx, u.ID); err != nil {
			return err
		}
		if err := h.auditSelf(ctx, c, models.AuditRecoveryCodesGenerated, u.ID, "the account holder",
			map[string]int64{"unused": before}, map[string]int64{"unused": int64(len(codes))}); err != nil {
			return err
		}
		h.record(c, authEvent{method: models.MethodRecoveryCode, userID: u.ID, name: models.EventRecoveryCodesGenerated})
		if h.passlinks != nil {
			return h.passlinks.SendAccountMail(ctx, passlink.AccountMail{UserID: u.ID, Email: u.Email,
				Template: "recovery_codes_generated", Lang: templates.MailLanguage(u.Locale, h.lang(c)), IP: c.ClientIP(),
				Other: map[string]string{"count": strconv.Itoa(len(codes))}})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if h.passlinks != nil {
		h.passlinks.Kick()
	}
	text := strings.Join(codes, "\n") + "\n"
	c.Header("Cache-Control", "no-store")
	return h.pages.RecoveryCodes(c.Writer, http.StatusOK, h.tr(c).page(h.tr(c).T("recovery.codes_title"), "", ""), templates.RecoveryCodesView{
		Codes: codes, Text: text, Download: templates.DataURL("text/plain;charset=utf-8", text), FileName: "recovery-codes.txt",
		Replaced: had, Count: recovery.Count, Next: next})
}

// recoveryRequired reports whether the policy asks u to create codes
// now: "require", no codes left, and fewer than two usable passkeys.
func (h *Handler) recoveryRequired(c *gin.Context, mode string, u *models.User) (bool, error) {
	if mode != policy.RecoveryRequire {
		return false, nil
	}
	n, err := h.recovery.Remaining(c.Request.Context(), u.ID)
	if err != nil || n > 0 {
		return false, err
	}
	creds, err := h.st.ListUserCredentials(c.Request.Context(), u.ID)
	if err != nil {
		return false, err
	}
	passkeys := 0
	for _, cr := range creds {
		if cr.Kind == models.CredentialPasskey && !cr.CloneWarning {
			passkeys++
		}
	}
	return passkeys < 2, nil
}

// viaRecovery marks the passkey offer after a sign-in with a code.
const viaRecovery = "recovery"

// freshAMR: a sign-in with a user-verified passkey or security key (the
// amr of freshPasskey's sessions).
func freshAMR(amr []string) bool {
	return slices.Contains(amr, "mfa") && (slices.Contains(amr, "pop") || slices.Contains(amr, "hwk"))
}

// recoveryPromptOr sends a user the policy requires codes of to the
// page that creates them, then on to next; only after a user-verified
// passkey sign-in (which may create them at once) and only for the places
// that page may continue to (the account page, an app's authorization).
func (h *Handler) recoveryPromptOr(c *gin.Context, u *models.User, amr []string, next string) string {
	if !freshAMR(amr) || h.safeNext(next) != next {
		return next
	}
	mode := h.recoveryMode(c)
	if mode != policy.RecoveryRequire {
		return next
	}
	required, err := h.recoveryRequired(c, mode, u)
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "recovery codes prompt", "err", err)
		return next
	}
	if !required {
		return next
	}
	return "/account/recovery-codes?next=" + url.QueryEscape(next)
}
