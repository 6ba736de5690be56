package authn

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/authn/password"
	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The password and security key part of /account: set or change the
// password after a recent sign-in, add security keys, and which
// credential may be deleted.

// passwordAccount is the password and security key part of /account
// (Recent: signed in within recentAuth, so the password may change).
func (h *Handler) passwordAccount(c *gin.Context, ls *models.LoginSession, u *models.User) (templates.AccountPassword, error) {
	if h.passwords == nil {
		return templates.AccountPassword{}, nil
	}
	pa := templates.AccountPassword{On: true, RequireKey: h.passwords.RequireSecurityKey(), MinLength: h.passwords.MinLength(),
		Recent: clock.Since(ls.AuthTime) <= recentAuth}
	_, err := h.st.GetUserPassword(c.Request.Context(), u.ID)
	switch {
	case err == nil:
		pa.HasPassword = true
	case !errors.Is(err, models.ErrNotFound):
		return pa, err
	}
	return pa, nil
}

// handleAccountPassword sets or changes the signed-in user's password. It
// needs a recent sign-in; other sessions of the user are signed out.
func (h *Handler) handleAccountPassword(c *gin.Context) error {
	ls, u, err := h.accountAction(c)
	if err != nil {
		return err
	}
	if clock.Since(ls.AuthTime) > recentAuth {
		return seeOther("/account?done=reauth#password")
	}
	pa, err := h.passwordAccount(c, ls, u)
	if err != nil {
		return err
	}
	hash, err := h.passwords.NewHash(c.PostForm("password"), u.Email)
	var rule *password.RuleError
	if errors.As(err, &rule) {
		pa.Error = rule.Message
		return h.renderAccount(c, http.StatusBadRequest, ls, u, &pa)
	}
	if err != nil {
		return err
	}
	if err := h.st.ChangeUserPassword(c.Request.Context(), u.ID, hash, ls.ID); err != nil {
		return err
	}
	h.record(c, passwordEvent(u.ID, "", "password_change", models.ResultSuccess, "", ""))
	done := "password_changed"
	if !pa.HasPassword {
		done = "password_set"
	}
	c.Redirect(http.StatusSeeOther, "/account?done="+done+"#password")
	return nil
}

// keyAccount is the signed-in account a security key is added to.
func (h *Handler) keyAccount(c *gin.Context) (*models.LoginSession, *models.User, error) {
	ls, u, err := h.currentUser(c)
	if err != nil {
		return nil, nil, err
	}
	if ls == nil {
		return nil, nil, refuse(http.StatusUnauthorized, "signed_out", "api.signed_out_key")
	}
	return ls, u, nil
}

// handleSecurityKeyOptions begins adding a security key to the signed-in
// account.
func (h *Handler) handleSecurityKeyOptions(c *gin.Context) error {
	if err := h.apiGuard(c); err != nil {
		return err
	}
	ls, u, err := h.keyAccount(c)
	if err != nil {
		return err
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	opts, ceremony, err := h.passkeys.BeginRegistration(c.Request.Context(), u, nil, models.CredentialSecurityKey, accountKeyBinding(browser, ls), "")
	if err != nil {
		return h.ceremonyError(c, passwordMethod, err, u.ID, "")
	}
	return noStoreJSON(c, http.StatusOK, optionsResponse{Ceremony: ceremony, PublicKey: opts})
}

// handleSecurityKeyVerify stores the security key added from the account
// page (only in the session that asked for it).
func (h *Handler) handleSecurityKeyVerify(c *gin.Context) error {
	req, err := h.readVerify(c, keyUnreadable)
	if err != nil {
		return err
	}
	ls, cur, err := h.keyAccount(c)
	if err != nil {
		return err
	}
	browser := h.sessions.Browser(c.Writer, c.Request)
	u, cred, _, err := h.passkeys.FinishRegistration(c.Request.Context(), req.Ceremony, accountKeyBinding(browser, ls), req.Credential)
	if err != nil {
		return h.ceremonyError(c, passwordMethod, err, cur.ID, "register")
	}
	h.record(c, passwordEvent(u.ID, "", "register", models.ResultSuccess, "security_key", cred.AAGUID))
	return noStoreJSON(c, http.StatusOK, gin.H{"redirect": "/account?done=key_added#security-keys"})
}

// credentialRemovable says why one of the user's credentials may not be
// deleted, or "": never the last credential (the user would be locked
// out), and never the last security key of a user who signs in with a
// password while the policy requires a key.
func credentialRemovable(creds []models.WebAuthnCredential, id string, hasPassword, requireKey bool) string {
	var target *models.WebAuthnCredential
	keys := 0
	for i := range creds {
		if creds[i].ID == id {
			target = &creds[i]
		}
		if creds[i].Kind == models.CredentialSecurityKey {
			keys++
		}
	}
	switch {
	case target == nil:
		return "" // not the user's: the store deletes nothing
	case len(creds) <= 1:
		return "last_passkey"
	case target.Kind == models.CredentialSecurityKey && keys <= 1 && hasPassword && requireKey:
		return "last_security_key"
	}
	return ""
}
