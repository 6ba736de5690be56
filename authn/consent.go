package authn

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

type scopeView struct{ Title, Description string }

var scopeText = map[string]scopeView{
	"openid":         {"Sign you in", "Know it is you, with a stable identifier."},
	"profile":        {"See your name", "Your display name."},
	"email":          {"See your email address", "And whether it is verified."},
	"offline_access": {"Stay connected", "Keep access while you are not using the app."},
}

func (h *Handler) handleConsent(c *gin.Context) {
	in, client, err := h.interaction(c, c.Query("interaction"))
	if err != nil {
		h.fail(c, err)
		return
	}
	ls, u, err := h.currentUser(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	if ls == nil {
		// Signed out meanwhile: the provider sends the browser to sign in.
		c.Redirect(http.StatusSeeOther, resumeURL(in.ID))
		return
	}
	allowRedirect(c, in, client)
	var scopes []scopeView
	for _, s := range requestedScopes(in) {
		if v, ok := scopeText[s]; ok {
			scopes = append(scopes, v)
		}
	}
	c.Header("Cache-Control", "no-store")
	if err := h.pages.Render(c.Writer, http.StatusOK, "consent", templates.Page{
		Title:   "Allow " + client.Name,
		AppName: client.Name,
		AppLogo: client.LogoURI,
		Data: map[string]any{
			"Interaction": in.ID,
			"CSRF":        h.sessions.CSRFToken(c.Writer, c.Request),
			"UserEmail":   u.Email,
			"Scopes":      scopes,
		},
	}); err != nil {
		h.fail(c, err)
	}
}

var errBadForm = &pageError{status: http.StatusForbidden, title: "Please try again",
	msg: "This form expired or was sent from another page.", hint: "Go back, reload the page and try again."}

func (h *Handler) handleConsentPost(c *gin.Context) {
	ctx := c.Request.Context()
	if !h.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		h.fail(c, errBadForm)
		return
	}
	in, client, err := h.interaction(c, c.PostForm("interaction"))
	if err != nil {
		h.fail(c, err)
		return
	}
	ls, u, err := h.currentUser(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	if ls == nil {
		c.Redirect(http.StatusSeeOther, resumeURL(in.ID))
		return
	}
	if c.PostForm("decision") != "allow" {
		if err := h.st.SetInteractionError(ctx, in.ID, "access_denied"); err != nil {
			h.fail(c, errInteractionGone)
			return
		}
		c.Redirect(http.StatusSeeOther, resumeURL(in.ID))
		return
	}
	// Remember what was granted, merged with earlier grants to this client.
	scopes := requestedScopes(in)
	var allowed []string
	for _, s := range scopes {
		if client.Scopes.Has(s) {
			allowed = append(allowed, s)
		}
	}
	if err := h.st.SaveConsent(ctx, &models.Consent{UserID: u.ID, ClientID: client.ID, Scopes: allowed}); err != nil {
		h.fail(c, err)
		return
	}
	if err := h.st.SetInteractionConsent(ctx, in.ID); err != nil {
		h.fail(c, errInteractionGone)
		return
	}
	c.Redirect(http.StatusSeeOther, resumeURL(in.ID))
}

// allowRedirect lets a page's form submission end at the client: the
// browser applies CSP form-action to every redirect after a form POST, and
// a POST that finishes an interaction redirects (via the provider) to the
// client's redirect_uri on another origin.
func allowRedirect(c *gin.Context, in *models.Interaction, client *models.Client) {
	if q, err := url.ParseQuery(in.Query); err == nil && q.Get("redirect_uri") != "" {
		httpx.AllowFormAction(c, q.Get("redirect_uri"))
		return
	}
	// Without redirect_uri the provider uses the client's only one.
	for _, ru := range client.RedirectURIs {
		httpx.AllowFormAction(c, ru)
	}
}
