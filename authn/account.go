package authn

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// handleAccount shows the signed-in user's apps (remembered consents) and
// sessions.
func (h *Handler) handleAccount(c *gin.Context) error {
	ls, u, err := h.currentUser(c)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	if ls == nil {
		t := h.tr(c)
		return h.pages.SignedOut(c.Writer, http.StatusOK, t.page(t.T("account.title"), "", ""))
	}
	return h.renderAccount(c, http.StatusOK, ls, u, nil)
}

// renderAccount renders the account page; pa, when given, is the password
// section with a refusal to show (otherwise it is loaded).
func (h *Handler) renderAccount(c *gin.Context, status int, ls *models.LoginSession, u *models.User, pa *templates.AccountPassword) error {
	return h.renderAccountPage(c, status, ls, u, pa, nil)
}

// renderAccountWith renders the account page with edit applied to its
// view (a refusal beside a field).
func (h *Handler) renderAccountWith(c *gin.Context, status int, ls *models.LoginSession, u *models.User, edit func(v *templates.AccountView)) error {
	return h.renderAccountPage(c, status, ls, u, nil, edit)
}

func (h *Handler) renderAccountPage(c *gin.Context, status int, ls *models.LoginSession, u *models.User, pa *templates.AccountPassword, edit func(v *templates.AccountView)) error {
	ctx := c.Request.Context()
	c.Header("Cache-Control", "no-store")
	t := h.tr(c)
	cat, now := h.pages.Catalog(), clock.Now()
	if pa == nil {
		p, err := h.passwordAccount(c, ls, u)
		if err != nil {
			return err
		}
		pa = &p
	}
	consents, err := h.st.ListConsents(ctx, u.ID)
	if err != nil {
		return err
	}
	apps := make([]templates.AppView, 0, len(consents))
	for _, cs := range consents {
		name := cs.ClientID
		if cl, err := h.st.GetClient(ctx, cs.ClientID); err == nil {
			name = cl.Name
		}
		apps = append(apps, templates.AppView{ClientID: cs.ClientID, Name: name, Scopes: cs.Scopes, Since: cat.Date(t.lang, cs.CreatedAt)})
	}
	creds, err := h.st.ListUserCredentials(ctx, u.ID)
	if err != nil {
		return err
	}
	cv := make([]templates.CredentialView, 0, len(creds))
	var kv []templates.CredentialView
	accepted := make([]string, 0, len(creds))
	for _, cr := range creds {
		if cr.Kind == models.CredentialSecurityKey {
			kv = append(kv, newCredentialView(t, cr, now))
		} else {
			cv = append(cv, newCredentialView(t, cr, now))
		}
		accepted = append(accepted, cr.ID)
	}
	acceptedJSON, _ := json.Marshal(accepted)
	sessions, err := h.st.ListUserLoginSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	sv := make([]templates.SessionView, 0, len(sessions))
	for _, s := range sessions {
		sv = append(sv, templates.SessionView{
			ID: s.ID, Device: h.pages.DeviceName(t.lang, s.UserAgent), Since: cat.DateTime(t.lang, s.CreatedAt),
			LastSeen: cat.DateTime(t.lang, s.LastSeenAt), Current: s.ID == ls.ID,
		})
	}
	v := templates.AccountView{
		User:       templates.AccountUser{Email: u.Email, DisplayName: u.DisplayName},
		UserHandle: base64.RawURLEncoding.EncodeToString([]byte(u.ID)),
		RPID:       h.rpID,
		Passkeys:   cv,
		Keys:       kv,
		Password:   *pa,
		Accepted:   string(acceptedJSON),
		Apps:       apps,
		Sessions:   sv,
		CSRF:       h.sessions.CSRFToken(c.Writer, c.Request),
		Notice:     c.Query("done"),
		// Self-service (account_self.go).
		CanChangeEmail: h.passlinks != nil,
		Fresh:          freshPasskey(ls),
		DeletionGrace:  t.duration(h.deletionGrace),
	}
	if v.Identities, err = h.identityViews(c, u); err != nil {
		return err
	}
	if v.Recovery, err = h.recoveryView(c, u); err != nil {
		return err
	}
	if u.DeletionDueAt != nil {
		v.DeletionDue = cat.LongDate(t.lang, *u.DeletionDueAt)
	}
	if edit != nil {
		edit(&v)
	}
	return h.pages.Account(c.Writer, status, t.page(t.T("account.title"), "", ""), v)
}

// accountAction checks the form and the session for an account change; a
// signed-out browser is sent to /account.
func (h *Handler) accountAction(c *gin.Context) (*models.LoginSession, *models.User, error) {
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		return nil, nil, errBadForm
	}
	ls, u, err := h.currentUser(c)
	if err != nil {
		return nil, nil, err
	}
	if ls == nil {
		return nil, nil, seeOther("/account")
	}
	return ls, u, nil
}

// handleRevokeApp withdraws a consent and the app's tokens.
func (h *Handler) handleRevokeApp(c *gin.Context) error {
	_, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	err = h.st.DeleteConsent(c.Request.Context(), u.ID, c.PostForm("client_id"))
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/account?done=app")
	return nil
}

// handleRevokeSession signs out one of the user's other sessions.
func (h *Handler) handleRevokeSession(c *gin.Context) error {
	ctx := c.Request.Context()
	ls, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	id := c.PostForm("session_id")
	// Only the user's own sessions: look the id up in their list.
	sessions, err := h.st.ListUserLoginSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		if s.ID == id {
			if id == ls.ID {
				h.forgetCurrentUser(c)
				if err := h.sessions.End(ctx, c.Writer, c.Request); err != nil {
					return err
				}
				c.Redirect(http.StatusSeeOther, "/account")
				return nil
			}
			if err := h.st.RevokeLoginSession(ctx, id); err != nil && !errors.Is(err, models.ErrNotFound) {
				return err
			}
			break
		}
	}
	c.Redirect(http.StatusSeeOther, "/account?done=session")
	return nil
}

// handleSignOut ends this browser's session.
func (h *Handler) handleSignOut(c *gin.Context) error {
	if _, _, err := h.accountAction(c); err != nil {
		return err
	}
	h.forgetCurrentUser(c)
	if err := h.sessions.End(c.Request.Context(), c.Writer, c.Request); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/account")
	return nil
}

// newCredentialView is a passkey or security key as the account page
// lists it, in the page's language; now dates its last use.
func newCredentialView(t tr, c models.WebAuthnCredential, now time.Time) templates.CredentialView {
	cat := t.pages.Catalog()
	v := templates.CredentialView{ID: c.ID, Name: c.Name, Created: cat.Date(t.lang, c.CreatedAt), LastUsed: t.T("account.never_used"), Flagged: c.CloneWarning}
	if c.LastUsedAt != nil {
		v.LastUsed = t.T("account.last_used", "when", cat.Relative(t.lang, *c.LastUsedAt, now))
	}
	switch {
	case c.Kind == models.CredentialSecurityKey:
		v.Kind = t.T("account.kind_key")
	default:
		v.Kind = t.T("account.kind_passkey")
	}
	switch {
	case c.BackupState:
		v.Sync = t.T("account.synced")
	case c.BackupEligible:
		v.Sync = t.T("account.can_sync")
	default:
		v.Sync = t.T("account.device_only")
	}
	return v
}

// handleRenamePasskey renames one of the user's passkeys.
func (h *Handler) handleRenamePasskey(c *gin.Context) error {
	_, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.PostForm("name"))
	if name == "" || utf8.RuneCountInString(name) > 64 { // characters, as the form's maxlength counts
		c.Redirect(http.StatusSeeOther, "/account?done=bad_name")
		return nil
	}
	err = h.st.RenameCredential(c.Request.Context(), u.ID, c.PostForm("id"), name)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/account?done=passkey_renamed")
	return nil
}

// handleDeletePasskey deletes one of the user's passkeys or security keys,
// unless credentialRemovable says no: the last credential (the user would
// be locked out), or the last security key of a password that needs one.
func (h *Handler) handleDeletePasskey(c *gin.Context) error {
	ctx := c.Request.Context()
	ls, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	creds, err := h.st.ListUserCredentials(ctx, u.ID)
	if err != nil {
		return err
	}
	pa, err := h.passwordAccount(c, ls, u)
	if err != nil {
		return err
	}
	id := c.PostForm("id")
	if why := credentialRemovable(creds, id, pa.HasPassword, pa.RequireKey); why != "" {
		c.Redirect(http.StatusSeeOther, "/account?done="+why)
		return nil
	}
	done, method, aaguid := "passkey_deleted", models.MethodPasskey, ""
	for _, cr := range creds {
		if cr.ID == id {
			aaguid = cr.AAGUID
			if cr.Kind == models.CredentialSecurityKey {
				done, method = "key_deleted", models.MethodPasswordKey
			}
		}
	}
	err = h.st.DeleteCredential(ctx, u.ID, id)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if err == nil {
		// In the user's history, and what credential.removed webhooks hear.
		h.record(c, authEvent{method: method, userID: u.ID, name: models.EventCredentialRemoved, aaguid: aaguid})
	}
	c.Redirect(http.StatusSeeOther, "/account?done="+done)
	return nil
}

// handleRename changes the user's display name.
func (h *Handler) handleRename(c *gin.Context) error {
	_, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.PostForm("display_name"))
	if name == "" || utf8.RuneCountInString(name) > 100 {
		c.Redirect(http.StatusSeeOther, "/account?done=bad_name")
		return nil
	}
	if err := h.st.SetUserDisplayName(c.Request.Context(), u.ID, name); err != nil {
		return err
	}
	c.Redirect(http.StatusSeeOther, "/account?done=name")
	return nil
}
