package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The consent page is a step of the authorization flow: authorize parks
// the request and sends the browser here when the signed-in user has not
// granted the client the requested scopes. Allow records the grant (merged
// with earlier ones by the store) and marks the interaction; Cancel marks
// it access_denied. Either way the browser goes back to the resume URL,
// where the provider answers the client. The page reads the parked
// request's scopes and redirect URI from the interaction row, the user
// from the browser's login session.

var scopeText = map[string]string{
	"openid":         "scope.openid",
	"profile":        "scope.profile",
	"email":          "scope.email",
	"offline_access": "scope.offline_access",
	ScopeGroups:      "scope.groups",
}

// ResumeURL is where the hosted pages send the browser once an interaction
// is done (handed to authn at construction).
func ResumeURL(interactionID string) string {
	return PathResume + "?interaction=" + url.QueryEscape(interactionID)
}

// MountPages registers the provider's own hosted page (consent) on r,
// which must carry the same-origin form middleware.
func (p *Provider) MountPages(r gin.IRouter) {
	r.GET(PathConsent, p.handleConsent)
	r.POST(PathConsent, p.handleConsentPost)
	p.mountDevicePages(r)
}

// consentStep loads what both consent requests need: the interaction of
// this browser, its client and the signed-in user. When it cannot, it has
// answered (an error page, or — signed out meanwhile — the resume URL,
// which sends the browser to sign in).
func (p *Provider) consentStep(c *gin.Context, interactionID string) (*models.Interaction, *models.Client, *models.User, bool) {
	in, client, err := p.pageInteraction(c, interactionID)
	if err != nil {
		p.pageFail(c, err)
		return nil, nil, nil, false
	}
	u, err := p.signedInUser(c)
	if err != nil {
		p.pageFail(c, err)
		return nil, nil, nil, false
	}
	if u == nil {
		c.Redirect(http.StatusSeeOther, ResumeURL(in.ID))
		return nil, nil, nil, false
	}
	return in, client, u, true
}

func (p *Provider) handleConsent(c *gin.Context) {
	in, client, u, ok := p.consentStep(c, c.Query("interaction"))
	if !ok {
		return
	}
	// The form's POST ends, through the resume URL, at the client.
	allowClientRedirect(c, in, client)
	lang := p.lang(c, in, u)
	scopes, err := p.scopeViews(c.Request.Context(), lang, requestedScopes(in))
	if err != nil {
		p.pageFail(c, err)
		return
	}
	resources := p.resourceViews(c.Request.Context(), in)
	c.Header("Cache-Control", "no-store")
	if err := p.pages.Consent(c.Writer, http.StatusOK, templates.Page{
		Lang:    lang,
		Path:    c.Request.URL.RequestURI(),
		Title:   p.pages.T(lang, "consent.title", "app", client.Name),
		AppName: client.Name,
		AppLogo: client.LogoURI,
		// The app's own colours, where it has them (internal/branding).
		AppPrimary: client.PrimaryColor,
		AppAccent:  client.AccentColor,
	}, templates.ConsentView{
		Interaction: in.ID,
		CSRF:        p.sessions.CSRFToken(c.Writer, c.Request),
		UserEmail:   u.Email,
		Scopes:      scopes,
		Resources:   resources,
		PolicyURI:   client.PolicyURI,
		TOSURI:      client.TOSURI,
	}); err != nil {
		p.pageFail(c, err)
	}
}

func (p *Provider) handleConsentPost(c *gin.Context) {
	ctx := c.Request.Context()
	if !p.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		p.pageFail(c, errBadForm)
		return
	}
	in, client, u, ok := p.consentStep(c, c.PostForm("interaction"))
	if !ok {
		return
	}
	if c.PostForm("decision") != "allow" {
		if err := p.st.SetInteractionError(ctx, in.ID, "access_denied"); err != nil {
			p.pageFail(c, errInteractionGone)
			return
		}
		c.Redirect(http.StatusSeeOther, ResumeURL(in.ID))
		return
	}
	// Remember what was granted, merged with earlier grants to this client.
	var allowed []string
	for _, s := range requestedScopes(in) {
		if client.Scopes.Has(s) {
			allowed = append(allowed, s)
		}
	}
	if err := p.st.SaveConsent(ctx, &models.Consent{UserID: u.ID, ClientID: client.ID, Scopes: allowed}); err != nil {
		p.pageFail(c, err)
		return
	}
	if err := p.st.SetInteractionConsent(ctx, in.ID); err != nil {
		p.pageFail(c, errInteractionGone)
		return
	}
	c.Redirect(http.StatusSeeOther, ResumeURL(in.ID))
}

// scopeViews says in everyday words what scopes share: the built-in ones
// in ours, custom scopes in the admin's.
func (p *Provider) scopeViews(ctx context.Context, lang string, requested []string) ([]templates.ScopeView, error) {
	custom, err := p.grantedCustom(ctx, requested)
	if err != nil {
		return nil, err
	}
	var scopes []templates.ScopeView
	for _, s := range requested {
		if k, ok := scopeText[s]; ok {
			scopes = append(scopes, templates.ScopeView{Title: p.pages.T(lang, k+".title"), Description: p.pages.T(lang, k+".desc")})
		}
		for _, d := range custom {
			if d.Name == s {
				scopes = append(scopes, customScopeView(d))
			}
		}
	}
	return scopes, nil
}

// requestedScopes are the parked request's scopes. A row parked by a
// release before interactions stored them (a rolling upgrade) has none;
// its query says the same thing.
func requestedScopes(in *models.Interaction) []string {
	if len(in.Scopes) > 0 {
		return in.Scopes
	}
	q, err := url.ParseQuery(in.Query)
	if err != nil {
		return nil
	}
	return strings.Fields(q.Get("scope"))
}

// allowClientRedirect lets the page's form submission end at the client:
// the browser applies CSP form-action to every redirect after a form POST.
func allowClientRedirect(c *gin.Context, in *models.Interaction, client *models.Client) {
	if in.RedirectURI != "" {
		httpx.AllowFormAction(c, in.RedirectURI)
		return
	}
	// A row parked before the redirect URI was stored: any of the client's.
	for _, ru := range client.RedirectURIs {
		httpx.AllowFormAction(c, ru)
	}
}

// pageError is a hosted-page failure with words fit for people.
type pageError struct {
	status int
	// key names the page's words in the catalogue: KEY.title, KEY.msg
	// and KEY.hint.
	key string
}

func (e *pageError) Error() string { return e.key }

var (
	errInteractionGone = &pageError{status: http.StatusBadRequest, key: "errors.interaction_gone"}
	errOtherBrowser    = &pageError{status: http.StatusForbidden, key: "errors.other_browser"}
	errBadForm         = &pageError{status: http.StatusForbidden, key: "errors.bad_form"}
)

// pageFail renders err on the error page, in the page's language;
// unexpected errors are logged once here and shown as a generic message.
func (p *Provider) pageFail(c *gin.Context, err error) {
	if httpx.Outage(c, err) {
		p.outagePage(c, err)
		return
	}
	var pe *pageError
	if !errors.As(err, &pe) {
		p.log.ErrorContext(c.Request.Context(), "hosted page", "path", httpx.RoutePath(c), "err", err)
		pe = &pageError{status: http.StatusInternalServerError, key: "errors.internal"}
	}
	c.Header("Cache-Control", "no-store")
	p.errorPage(c, pe.status, p.t(c, pe.key+".title"), p.t(c, pe.key+".msg"), p.t(c, pe.key+".hint"))
}

// pageInteraction loads the interaction a hosted page names, checks it
// belongs to this browser and loads its client.
func (p *Provider) pageInteraction(c *gin.Context, id string) (*models.Interaction, *models.Client, error) {
	ctx := c.Request.Context()
	if id == "" || len(id) > 64 {
		return nil, nil, errInteractionGone
	}
	in, err := p.st.GetInteraction(ctx, id)
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrExpired), errors.Is(err, models.ErrConsumed):
		return nil, nil, errInteractionGone
	case err != nil:
		return nil, nil, err
	}
	if !p.sessions.SameBrowser(c.Request, in.BrowserHash) {
		return nil, nil, errOtherBrowser
	}
	client, err := p.st.GetClient(ctx, in.ClientID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, errInteractionGone
	}
	if err != nil {
		return nil, nil, err
	}
	return in, client, nil
}

// signedInUser returns the user of this browser's live login session, or
// nil when nobody (or a disabled user) is signed in.
func (p *Provider) signedInUser(c *gin.Context) (*models.User, error) {
	_, u, err := p.sessions.CurrentWithUser(c.Request)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, nil
	}
	return u, nil
}
