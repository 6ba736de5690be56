package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/sesame-idp/sesame/authn/passlink"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// Self-service on /account: a change of address and the deletion of the
// account. Both need a fresh passkey sign-in (freshPasskey: within
// recentAuth, with user verification), since a session left open on a
// shared computer must not be enough to take or destroy the account.
//
// Change of address: the new address gets a single-use link (EmailChangeTTL);
// the address changes, proven, only when it is opened and confirmed
// (store.SetUserEmailProven, which also spends the sign-in links and codes
// still pending for the old address). The old address then gets a notice
// with a link that undoes the change for EmailRevertTTL, restoring it and
// signing the account out everywhere. An address another account holds
// gets a mail saying so instead of the link; the page says the same in
// both cases, so it tells nobody which addresses have accounts.
//
// Deletion: the request is recorded with a date (now + the grace period;
// store.ScheduleUserDeletion also ends every session, so apps hear of it
// by back-channel logout), the address gets a mail with a link that
// cancels it, and signing in shows "Keep my account". When the date has
// passed, PurgeDueDeletions (the janitor) removes the account
// (store.PurgeUser); the audit log keeps only a keyed pseudonym.

// Lifetimes of the account links.
const (
	EmailChangeTTL = time.Hour
	EmailRevertTTL = 7 * 24 * time.Hour
	// DefaultDeletionGrace is the grace period before a requested
	// deletion takes effect.
	DefaultDeletionGrace = 7 * 24 * time.Hour
)

// freshPasskey reports whether ls is a recent, user-verified sign-in with
// a passkey or security key: the re-authentication the self-service
// changes ask for.
func freshPasskey(ls *models.LoginSession) bool {
	if ls.SteppedUpAt != nil && clock.Since(*ls.SteppedUpAt) <= recentAuth {
		return true
	}
	return clock.Since(ls.AuthTime) <= recentAuth && slices.Contains(ls.AMR, "mfa") &&
		(slices.Contains(ls.AMR, "pop") || slices.Contains(ls.AMR, "hwk"))
}

// auditSelf records a change the account holder made to their own
// account (actor and target are the user).
func (h *Handler) auditSelf(ctx context.Context, c *gin.Context, action, userID, label string, before, after any) error {
	e := &models.AuditEntry{ID: uuid.NewString(), At: clock.Now().UTC(), ActorID: userID, ActorKind: models.ActorUser,
		ActorLabel: label, Action: action, TargetType: "user", TargetID: userID,
		BeforeJSON: jsonOrEmpty(before), AfterJSON: jsonOrEmpty(after)}
	if c != nil {
		e.IP, e.UserAgent = truncateString(c.ClientIP(), 64), truncateString(c.Request.UserAgent(), 512)
	}
	return h.st.CreateAuditEntry(ctx, e)
}

func jsonOrEmpty(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// handleEmailChange asks for a change of the signed-in user's address.
func (h *Handler) handleEmailChange(c *gin.Context) error {
	ctx := c.Request.Context()
	ls, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	if !freshPasskey(ls) {
		return seeOther("/account?done=reauth_email#email")
	}
	email, err := passlink.ParseEmail(c.PostForm("email"))
	if err != nil {
		return h.renderAccountWith(c, http.StatusBadRequest, ls, u, func(v *templates.AccountView) {
			v.EmailError, v.PendingEmail = h.tr(c).T("account.email_invalid"), c.PostForm("email")
		})
	}
	if passlink.NormalizeEmail(email) == u.EmailNormalized {
		return h.renderAccountWith(c, http.StatusBadRequest, ls, u, func(v *templates.AccountView) {
			v.EmailError, v.PendingEmail = h.tr(c).T("account.email_same"), email
		})
	}
	ok, err := h.passlinks.AllowAccount(ctx, "email:"+u.ID)
	if err != nil {
		return err
	}
	if !ok {
		return h.renderAccountWith(c, http.StatusTooManyRequests, ls, u, func(v *templates.AccountView) {
			v.EmailError, v.PendingEmail = h.tr(c).T("account.email_limited"), email
		})
	}
	// Same work and the same answer whether the address is free or not.
	m := passlink.AccountMail{UserID: u.ID, Email: email, IP: c.ClientIP(), Other: map[string]string{"old": u.Email},
		Lang: templates.MailLanguage(u.Locale, h.lang(c))}
	switch other, err := h.st.GetUserByEmail(ctx, email); {
	case err == nil && other.ID != u.ID:
		m.Template = "email_change_taken"
	case err == nil || errors.Is(err, models.ErrNotFound):
		m.Purpose, m.Template, m.TTL = models.PasslinkEmailChange, "email_change", EmailChangeTTL
	default:
		return err
	}
	err = h.st.WithTx(ctx, func(ctx context.Context) error {
		if err := h.passlinks.SendAccountMail(ctx, m); err != nil {
			return err
		}
		return h.auditSelf(ctx, c, "user.email_change_requested", u.ID, "the account holder",
			map[string]any{"email": u.Email, "pending_email": nil}, map[string]string{"email": u.Email, "pending_email": email})
	})
	if err != nil {
		return err
	}
	h.passlinks.Kick()
	return seeOther("/account?done=email_sent#email")
}

// handleDeleteAccount schedules the deletion of the signed-in account.
func (h *Handler) handleDeleteAccount(c *gin.Context) error {
	ctx := c.Request.Context()
	ls, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	if !freshPasskey(ls) {
		return seeOther("/account?done=reauth_delete#delete")
	}
	if c.PostForm("confirm") != "delete" {
		return seeOther("/account?done=delete_unconfirmed#delete")
	}
	if u.Role == models.RoleAdmin {
		n, err := h.st.CountAdmins(ctx)
		if err != nil {
			return err
		}
		if n <= 1 {
			return seeOther("/account?done=last_admin#delete")
		}
	}
	due := clock.Now().UTC().Add(h.deletionGrace)
	err = h.st.WithTx(ctx, func(ctx context.Context) error {
		if err := h.st.ScheduleUserDeletion(ctx, u.ID, due); err != nil {
			return err
		}
		if h.passlinks != nil {
			lang := templates.MailLanguage(u.Locale, h.lang(c))
			if err := h.passlinks.SendAccountMail(ctx, passlink.AccountMail{Purpose: models.PasslinkDeleteCancel, UserID: u.ID,
				Email: u.Email, Template: "delete_scheduled", Lang: lang, TTL: h.deletionGrace,
				IP: c.ClientIP(), Other: map[string]string{"due": templates.MailDate(lang, due)}}); err != nil {
				return err
			}
		}
		return h.auditSelf(ctx, c, "user.deletion_scheduled", u.ID, "the account holder",
			map[string]any{"deletion_due_at": nil}, map[string]any{"deletion_due_at": due})
	})
	if err != nil {
		return err
	}
	if h.passlinks != nil {
		h.passlinks.Kick()
	}
	// Every session ended with the request; this browser's cookie goes too.
	h.forgetCurrentUser(c)
	_ = h.sessions.End(ctx, c.Writer, c.Request)
	t := h.tr(c)
	return h.renderResult(c, http.StatusOK, t.T("account.deleting_title"), nil, templates.PasslinkResultView{OK: true,
		Message: t.T("account.deleting_msg", "date", t.pages.Catalog().LongDate(t.lang, due)),
		Hint:    t.T("account.deleting_hint")})
}

// handleCancelDeletion keeps the signed-in account.
func (h *Handler) handleCancelDeletion(c *gin.Context) error {
	ctx := c.Request.Context()
	_, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	if err := h.cancelDeletion(ctx, c, u.ID, "the account holder"); err != nil {
		return err
	}
	return seeOther("/account?done=deletion_cancelled")
}

func (h *Handler) cancelDeletion(ctx context.Context, c *gin.Context, userID, label string) error {
	return h.st.WithTx(ctx, func(ctx context.Context) error {
		u, err := h.st.GetUser(ctx, userID)
		if err != nil || u.DeletionDueAt == nil {
			return err
		}
		due := u.DeletionDueAt.UTC()
		ok, err := h.st.CancelUserDeletion(ctx, userID)
		if err != nil || !ok {
			return err
		}
		return h.auditSelf(ctx, c, "user.deletion_cancelled", userID, label,
			map[string]any{"deletion_due_at": due}, map[string]any{"deletion_due_at": nil})
	})
}

// accountLinkPages says what each account link does, on its page: the
// catalogue's KEY.title, KEY.msg ({email}), KEY.hint and KEY.button.
var accountLinkPages = map[string]struct {
	key    string
	hint   bool
	danger bool
}{
	models.PasslinkEmailChange:  {"account.link_change", true, false},
	models.PasslinkEmailConfirm: {"account.link_confirm", true, false},
	models.PasslinkEmailRevert:  {"account.link_revert", true, true},
	models.PasslinkDeleteCancel: {"account.link_keep", false, false},
}

// handleAccountLinkOpen shows what a mailed account link does; it changes
// nothing (mail scanners fetch links).
func (h *Handler) handleAccountLinkOpen(c *gin.Context) error {
	l, err := h.passlinks.LookupAccount(c.Request.Context(), c.Param("token"))
	if err != nil {
		return h.accountLinkProblem(c, err)
	}
	pg := accountLinkPages[l.Purpose]
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	hint := ""
	if pg.hint {
		hint = t.T(pg.key + ".hint")
	}
	return h.pages.AccountLink(c.Writer, http.StatusOK, t.page(t.T(pg.key+".title"), "", ""), templates.AccountLinkView{
		Message: t.T(pg.key+".msg", "email", l.Email), Hint: hint, Button: t.T(pg.key + ".button"), Danger: pg.danger,
		Action: passlink.AccountPath + c.Param("token"), CSRF: h.sessions.CSRFToken(c.Writer, c.Request)})
}

// handleAccountLinkUse does what a mailed account link says.
func (h *Handler) handleAccountLinkUse(c *gin.Context) error {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return errBadForm
	}
	ctx := c.Request.Context()
	var revertTo string
	p, err := h.passlinks.UseAccount(ctx, c.Param("token"), func(ctx context.Context, p *models.Passlink) error {
		const label = "the account holder, by an emailed link"
		switch p.Purpose {
		case models.PasslinkEmailChange, models.PasslinkEmailRevert:
			before, err := h.st.SetUserEmailProven(ctx, p.UserID, p.Email)
			if err != nil {
				return err
			}
			action := "user.email_change"
			if p.Purpose == models.PasslinkEmailRevert {
				action = "user.email_revert"
				h.forgetCurrentUser(c)
				if err := h.st.RevokeUserLoginSessions(ctx, p.UserID); err != nil {
					return err
				}
			} else if before.EmailNormalized != p.EmailNormalized {
				revertTo = before.Email
				if err := h.passlinks.SendAccountMail(ctx, passlink.AccountMail{Purpose: models.PasslinkEmailRevert, UserID: p.UserID,
					Email: before.Email, Template: "email_revert", Lang: templates.MailLanguage(before.Locale, h.lang(c)), TTL: EmailRevertTTL,
					IP: c.ClientIP(), Other: map[string]string{"new": p.Email}}); err != nil {
					return err
				}
			}
			return h.auditSelf(ctx, c, action, p.UserID, label,
				map[string]any{"email": before.Email, "email_verified": before.EmailVerified},
				map[string]any{"email": p.Email, "email_verified": true})
		case models.PasslinkEmailConfirm:
			if err := h.st.ProveCurrentEmail(ctx, p.UserID, p.Email); err != nil {
				return err
			}
			return h.auditSelf(ctx, c, "user.email_proven", p.UserID, label,
				map[string]any{"email": p.Email, "email_verified": false}, map[string]any{"email": p.Email, "email_verified": true})
		case models.PasslinkDeleteCancel:
			return h.cancelDeletion(ctx, c, p.UserID, label)
		}
		return passlink.ErrInvalidLink
	})
	if err != nil {
		return h.accountLinkProblem(c, err)
	}
	if revertTo != "" {
		h.passlinks.Kick()
	}
	t := h.tr(c)
	v := templates.PasslinkResultView{OK: true, ButtonLabel: t.T("common.to_account"), ButtonHref: "/account"}
	title := ""
	switch p.Purpose {
	case models.PasslinkEmailChange:
		title, v.Message = t.T("account.changed_title"), t.T("account.changed_msg", "email", p.Email)
	case models.PasslinkEmailConfirm:
		title, v.Message = t.T("account.confirmed_title"), t.T("account.confirmed_msg", "email", p.Email)
	case models.PasslinkEmailRevert:
		title, v.Message = t.T("account.reverted_title"), t.T("account.reverted_msg", "email", p.Email)
		v.Hint, v.ButtonLabel, v.ButtonHref = t.T("account.reverted_hint"), t.T("common.sign_in"), "/login?return=/account"
	case models.PasslinkDeleteCancel:
		title, v.Message = t.T("account.kept_title"), t.T("account.kept_msg")
	}
	return h.renderResult(c, http.StatusOK, title, nil, v)
}

// accountLinkProblem explains an account link that cannot be used.
func (h *Handler) accountLinkProblem(c *gin.Context, err error) error {
	t := h.tr(c)
	v := templates.PasslinkResultView{ButtonLabel: t.T("common.to_account"), ButtonHref: "/account"}
	status, title := http.StatusGone, ""
	switch {
	case errors.Is(err, passlink.ErrInvalidLink):
		status, title = http.StatusNotFound, t.T("link.invalid_title")
		v.Message = t.T("account.link_invalid_msg")
	case errors.Is(err, passlink.ErrExpired):
		title, v.Message = t.T("link.expired_title"), t.T("account.link_expired_msg")
	case errors.Is(err, passlink.ErrUsed):
		title, v.Message = t.T("link.used_title"), t.T("account.link_used_msg")
	case errors.Is(err, models.ErrAlreadyExists):
		status, title = http.StatusConflict, t.T("account.link_taken_title")
		v.Message = t.T("account.link_taken_msg")
	case errors.Is(err, models.ErrNotFound):
		title, v.Message = t.T("account.link_gone_title"), t.T("account.link_gone_msg")
	default:
		return err
	}
	return h.renderResult(c, status, title, nil, v)
}

// Pseudonym is how the audit log names a deleted user: a keyed hash of
// the user id under a key derived from the system secret, so entries
// about one deleted account still belong together, but cannot be tied
// back to the person without the secret (and the id).
func Pseudonym(key []byte, userID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	return models.PseudonymPrefix + hex.EncodeToString(m.Sum(nil))[:32]
}

// PurgeDueDeletions removes the accounts whose deletion is due
// (store.PurgeUser), at most limit per call, and returns how many. A
// deletion cancelled meanwhile is skipped. It is the janitor's; every
// replica may run it (each purge is one conditional transaction).
func (h *Handler) PurgeDueDeletions(ctx context.Context, limit int) (int, error) {
	now := clock.Now().UTC()
	ids, err := h.st.DueUserDeletions(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := h.st.PurgeUser(ctx, id, Pseudonym(h.pseudonymKey, id), now)
		switch {
		case err == nil:
			n++
			h.log.InfoContext(ctx, "account deleted at its owner's request", "pseudonym", Pseudonym(h.pseudonymKey, id))
		case errors.Is(err, models.ErrConsumed), errors.Is(err, models.ErrNotFound):
		default:
			return n, err
		}
	}
	return n, nil
}
