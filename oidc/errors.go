package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/templates"
)

// outagePage answers a page request during a database outage: 503 with
// Retry-After (set by httpx.Outage) and a plain "try again" page.
func (p *Provider) outagePage(c *gin.Context, err error) {
	p.log.WarnContext(c.Request.Context(), "database unavailable", "path", httpx.RoutePath(c), "err", err)
	p.errorPage(c, http.StatusServiceUnavailable, p.t(c, "errors.outage.title"), p.t(c, "errors.outage.msg"), p.t(c, "errors.outage.hint"))
}

// errorPage renders a plain page for errors that must not be redirected
// (an unverified redirect_uri, a broken interaction).
func (p *Provider) errorPage(c *gin.Context, status int, title, msg, hint string) {
	// The language link is the path alone: the refused request's
	// parameters (a redirect_uri that did not match, say) are not put on
	// the page or sent again.
	err := p.pages.Error(c.Writer, status, templates.Page{Lang: p.lang(c, nil, nil), Path: c.Request.URL.Path, Title: title}, templates.ErrorView{
		Message:   msg,
		Hint:      hint,
		RequestID: httpx.RequestIDFrom(c.Request.Context()),
	})
	if err != nil {
		p.log.ErrorContext(c.Request.Context(), "render error page", "err", err)
	}
	c.Abort()
}

// authorizeError answers an authorization request with an error: to the
// client's redirect URI (with state and iss, RFC 9207) only when fosite
// verified it as registered exactly; otherwise on an error page. A
// database outage is temporarily_unavailable (RFC 6749 §4.1.2.1) with
// status 503 and Retry-After, whichever way it is delivered.
func (p *Provider) authorizeError(c *gin.Context, ar fosite.AuthorizeRequester, err error) {
	ctx := c.Request.Context()
	if httpx.Outage(c, err) {
		err = fosite.ErrTemporarilyUnavailable.WithHint("The service is briefly unavailable; try again in a few seconds.").WithWrap(err)
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		p.log.ErrorContext(ctx, "authorize", "err", err, "debug", rfc.DebugField)
	}
	c.Header("Cache-Control", "no-store")
	if ar == nil || !ar.IsRedirectURIValid() {
		desc := p.t(c, plainWords(rfc))
		status := rfc.CodeField
		// A page answers a browser: 401 (invalid_client for an unknown
		// client_id) would demand a WWW-Authenticate challenge the user
		// cannot answer (RFC 9110 §15.5.2), so it is a plain 400.
		if status < 400 || status == http.StatusUnauthorized {
			status = http.StatusBadRequest
		}
		// The protocol detail is for the app's developers, so it stays
		// as the OAuth error says it.
		hint := p.t(c, "errors.authorize.hint_server", "error", rfc.ErrorField)
		if rfc.CodeField < 500 {
			hint = p.t(c, "errors.authorize.hint", "error", rfc.ErrorField, "description", rfc.GetDescription())
		}
		p.errorPage(c, status, p.t(c, "errors.authorize.title"), desc, hint)
		return
	}
	values := rfc.ToValues()
	values.Set("state", ar.GetState())
	values.Set("iss", p.cfg.Issuer)
	p.writeAuthorizeRedirect(c, ar, values)
}

// writeAuthorizeRedirect delivers response parameters to the client in
// the requested response mode (query or form_post).
func (p *Provider) writeAuthorizeRedirect(c *gin.Context, ar fosite.AuthorizeRequester, values url.Values) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	if ar.GetState() == stateAbsent {
		values.Del("state")
	}
	redir := *ar.GetRedirectURI()
	redir.Fragment = ""
	if ar.GetResponseMode() == fosite.ResponseModeFormPost {
		httpx.AllowFormAction(c, redir.String())
		cl, _ := ar.GetClient().(*Client)
		name, primary, accent := cl.look()
		err := p.pages.FormPost(c.Writer, http.StatusOK, templates.Page{Lang: p.lang(c, nil, nil), Title: p.t(c, "formpost.page_title"),
			AppName: name, AppPrimary: primary, AppAccent: accent},
			templates.FormPostView{Action: redir.String(), Values: values})
		if err != nil {
			p.log.ErrorContext(c.Request.Context(), "render form_post", "err", err)
		}
		c.Abort()
		return
	}
	q := redir.Query()
	for k, vs := range values {
		q[k] = vs
	}
	redir.RawQuery = q.Encode()
	c.Redirect(http.StatusSeeOther, redir.String())
	c.Abort()
}

// tokenError maps storage races to their OAuth meaning and writes the
// error with fosite's writer (which sets WWW-Authenticate for
// invalid_client). A database outage is server_error with status 503 and
// Retry-After (RFC 6749 §5.2 has no temporarily_unavailable; RFC 9110
// §15.6.4 lets a client retry a 503), whatever fosite wrapped it in.
func (p *Provider) tokenError(c *gin.Context, ar fosite.AccessRequester, err error) {
	err = p.tokenErrorMeaning(c, err)
	if c.Request.PostForm.Get("grant_type") == clients.GrantTokenExchange && p.exchangeOn(c.Request.Context()) {
		p.auditExchange(c, ar, err)
	}
	if p.tokens != nil {
		p.tokens.TokenRefused(c.Request.PostForm.Get("grant_type"), fosite.ErrorToRFC6749Error(err).ErrorField)
	}
	p.writeProtocolError(c, ar, err)
}

// protocolError is tokenError without the count: the answer of the other
// JSON endpoints that speak RFC 6749 §5.2 errors (device authorization).
func (p *Provider) protocolError(c *gin.Context, ar fosite.AccessRequester, err error) {
	p.writeProtocolError(c, ar, p.tokenErrorMeaning(c, err))
}

func (p *Provider) writeProtocolError(c *gin.Context, ar fosite.AccessRequester, err error) {
	ctx := c.Request.Context()
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		p.log.ErrorContext(ctx, "token", "path", httpx.RoutePath(c), "err", err, "debug", rfc.DebugField)
	}
	if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
		c.Header("WWW-Authenticate", `Basic realm="sesame", error="invalid_client"`)
	}
	p.fosite.WriteAccessError(ctx, c.Writer, ar, err)
	c.Abort()
}

// tokenErrorMeaning maps storage races, outages and fosite's odd answers
// to client assertions to their OAuth meaning.
func (p *Provider) tokenErrorMeaning(c *gin.Context, err error) error {
	switch {
	case httpx.Outage(c, err):
		e := fosite.ErrServerError.WithHint("The service is briefly unavailable; retry in a few seconds.").WithWrap(err)
		e.CodeField = http.StatusServiceUnavailable
		err = e
	case errors.Is(err, fosite.ErrInvalidatedAuthorizeCode), errors.Is(err, models.ErrConsumed):
		// Two exchanges of one code raced; the loser learns the code is spent.
		err = fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.")
	case errors.Is(err, fosite.ErrJTIKnown):
		// A replayed client assertion is a failed client authentication
		// (RFC 7523 §3 item 7, §3.2), not fosite's non-standard jti_known.
		err = fosite.ErrInvalidClient.WithHint("The client assertion was already used.")
	case assertionUnrecognized(c, err):
		// fosite hands some refusals of a client assertion's claims (an
		// expired one) back as a bare JWT validation error, which its
		// writer turns into a 500; it is a failed client authentication
		// (RFC 7523 §3 items 4 and 5, §3.2).
		err = fosite.ErrInvalidClient.WithHint("The client assertion is not valid (expired, not yet valid or malformed).").WithWrap(err)
	case assertionKeyNotFound(c, err):
		// An assertion naming a key the client did not register (kid,
		// or no usable key) is a failed client authentication too (RFC
		// 7523 §3.2), not fosite's invalid_request.
		err = fosite.ErrInvalidClient.WithHint("The client assertion is not signed by a key registered for this client.").WithWrap(err)
	}
	return err
}

// plainWords is the catalogue key that says in everyday language why a
// sign-in request was refused; the protocol detail goes to the page's
// hint for developers.
func plainWords(rfc *fosite.RFC6749Error) string {
	switch {
	case rfc.ErrorField == fosite.ErrTemporarilyUnavailable.ErrorField:
		return "errors.authorize.unavailable"
	case rfc.CodeField >= 500:
		return "errors.authorize.server"
	case rfc.ErrorField == fosite.ErrInvalidClient.ErrorField:
		return "errors.authorize.unknown_app"
	case strings.Contains(rfc.GetDescription(), "redirect_uri") || strings.Contains(rfc.GetDescription(), "redirect url"):
		return "errors.authorize.redirect"
	case rfc.ErrorField == fosite.ErrUnsupportedResponseType.ErrorField:
		return "errors.authorize.response_type"
	case rfc.ErrorField == fosite.ErrInvalidScope.ErrorField:
		return "errors.authorize.scope"
	default:
		return "errors.authorize.invalid"
	}
}

// assertionKeyNotFound reports fosite's refusal of a client assertion
// whose signing key is not in the client's JWKS (findPublicKey).
func assertionKeyNotFound(c *gin.Context, err error) bool {
	if c.Request.PostForm.Get("client_assertion") == "" {
		return false
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	return rfc.ErrorField == fosite.ErrInvalidRequest.ErrorField &&
		(strings.Contains(rfc.HintField, "JSON Web Key Set") || strings.Contains(rfc.HintField, "signing key with kid"))
}

// assertionUnrecognized reports an error of a request carrying a client
// assertion that fosite left without an OAuth error code.
func assertionUnrecognized(c *gin.Context, err error) bool {
	if c.Request.PostForm.Get("client_assertion") == "" {
		return false
	}
	var rfc *fosite.RFC6749Error
	return !errors.As(err, &rfc)
}
