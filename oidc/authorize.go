package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/keys"
)

// Bounds on authorization request parameters: generous for real clients,
// small enough that a hostile request cannot bloat the interaction table.
const (
	maxParamLen   = 2048
	maxParamCount = 40
)

func (p *Provider) handleAuthorize(c *gin.Context) {
	ctx := c.Request.Context()
	// Parse everything fosite would (a multipart POST too), so the checks
	// below see every parameter.
	if err := c.Request.ParseForm(); err != nil {
		p.authorizeError(c, nil, fosite.ErrInvalidRequest.WithHint("The request could not be parsed."))
		return
	}
	if err := c.Request.ParseMultipartForm(maxParamCount * maxParamLen); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		p.authorizeError(c, nil, fosite.ErrInvalidRequest.WithHint("The request could not be parsed."))
		return
	}
	if err := checkParams(c.Request.Form); err != nil {
		p.authorizeError(c, nil, err)
		return
	}
	if err := checkRepeats(c.Request.Form); err != nil {
		p.authorizeError(c, nil, err)
		return
	}
	// Request objects are not supported (discovery says so), so fosite must
	// not merge one into the request (it would accept alg "none"); the
	// client learns it once its redirect_uri is verified (OIDC Core §6).
	// A request_uri of a pushed request (par.go) is the request itself:
	// only client_id goes with it (RFC 9126 §4).
	var unsupported error
	pushed := p.isPushed(ctx, c.Request.Form)
	switch form := c.Request.Form; {
	case form.Has("request"):
		unsupported = fosite.ErrRequestNotSupported
	case form.Has("request_uri") && !pushed:
		unsupported = fosite.ErrRequestURINotSupported
	case form.Has("audience") && !pushed:
		// fosite's own audience parameter: resource (RFC 8707) is the
		// standard one, and the only one that narrows a token here.
		unsupported = fosite.ErrInvalidRequest.WithHint("The audience parameter is not supported; use resource (RFC 8707).")
	}
	if pushed && unsupported == nil {
		c.Request.Form = pushedOnly(c.Request.Form)
	} else {
		pushed = false
		c.Request.Form.Del("request")
		c.Request.Form.Del("request_uri")
		// state is optional (RFC 6749 §4.1.1, OIDC Core §3.1.2.1: PKCE or
		// the nonce protect the flow); fosite insists on one, so a request
		// without it carries a marker that the response never echoes. One
		// that is present still needs fosite's minimum length.
		if !c.Request.Form.Has("state") {
			c.Request.Form.Set("state", stateAbsent)
		}
	}
	ar, err := p.fosite.NewAuthorizeRequest(ctx, c.Request)
	// A request_uri that is not served (PAR off, or not a pushed one)
	// says so, rather than fosite's complaint about the parameters it
	// stood for.
	if unsupported != nil && (err == nil || unsupported == fosite.ErrRequestURINotSupported) {
		err = unsupported
	}
	if err == nil && !pushed && p.parRequired(ctx, ar.GetClient()) {
		err = fosite.ErrInvalidRequest.WithHint("This client must push its authorization requests to the pushed_authorization_request_endpoint first (RFC 9126).")
	}
	if err != nil {
		p.authorizeError(c, ar, err)
		return
	}
	if err := checkRedirectURI(ar); err != nil {
		// Not a registered redirect URI: never send anything there.
		p.authorizeError(c, nil, err)
		return
	}
	p.authorize(c, ar, nil)
}

// stateAbsent stands in for a state the client did not send; it is never
// sent back (writeAuthorizeRedirect).
const stateAbsent = "sesame:state-absent:2c1f6b0e"

// checkRedirectURI narrows fosite's loopback rule (any port for a
// registered http://127.0.0.1 or [::1] redirect URI): a variable port is
// for native apps, which are public clients (RFC 8252 §7.3), and must be a
// real port; a confidential client's redirect URI matches exactly (RFC 9700
// §4.1.3).
func checkRedirectURI(ar fosite.AuthorizeRequester) error {
	raw := ar.GetRequestForm().Get("redirect_uri")
	if raw == "" {
		return nil // fosite used the client's only registered URI
	}
	client := ar.GetClient()
	if slices.Contains(client.GetRedirectURIs(), raw) {
		return nil
	}
	if !client.IsPublic() {
		return fosite.ErrInvalidRequest.WithHint("The redirect_uri does not exactly match a registered one; only native (public) clients may vary the loopback port.")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fosite.ErrInvalidRequest.WithHint("The redirect_uri is not a valid URL.")
	}
	if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
		return fosite.ErrInvalidRequest.WithHint("The redirect_uri's loopback port is not a valid port.")
	}
	return nil
}

// singleParams are the protocol parameters that "MUST NOT be included more
// than once" (RFC 6749 §3.1, §3.2; OIDC Core §3.1.2.1; RFC 7636 §4.3).
var singleParams = map[string]bool{
	"response_type": true, "client_id": true, "redirect_uri": true, "scope": true, "state": true,
	"response_mode": true, "nonce": true, "prompt": true, "max_age": true, "display": true,
	"ui_locales": true, "claims_locales": true, "id_token_hint": true, "login_hint": true,
	"acr_values": true, "claims": true, "request": true, "request_uri": true,
	"code_challenge": true, "code_challenge_method": true, "dpop_jkt": true,
	"grant_type": true, "code": true, "code_verifier": true, "refresh_token": true,
	"client_secret": true, "client_assertion": true, "client_assertion_type": true,
	// RFC 8693 §2.1 (exchange.go).
	"subject_token": true, "subject_token_type": true, "actor_token": true, "actor_token_type": true,
	"requested_token_type": true,
}

// checkRepeats refuses a protocol parameter sent more than once, so no
// two parsers can disagree on which copy counts.
func checkRepeats(form url.Values) error {
	for k, vs := range form {
		if len(vs) > 1 && singleParams[k] {
			return fosite.ErrInvalidRequest.WithHintf("Parameter '%s' is included more than once.", k)
		}
	}
	return nil
}

func checkParams(form url.Values) error {
	n := 0
	for k, vs := range form {
		n += len(vs)
		if len(k) > 64 {
			return fosite.ErrInvalidRequest.WithHint("A parameter name is too long.")
		}
		for _, v := range vs {
			if len(v) > maxParamLen {
				return fosite.ErrInvalidRequest.WithHintf("Parameter '%s' is too long.", k)
			}
		}
	}
	if n > maxParamCount {
		return fosite.ErrInvalidRequest.WithHint("Too many parameters.")
	}
	return nil
}

// handleResume continues a parked authorization after the hosted pages.
func (p *Provider) handleResume(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Query("interaction")
	if id == "" || len(id) > 64 {
		p.errorPage(c, http.StatusBadRequest, "This sign-in link is incomplete", "The sign-in request is missing.", "Go back to the app and start again.")
		return
	}
	// The interaction with the browser's session: authorize needs both.
	read, err := p.st.InteractionWithSession(ctx, id, p.sessions.SessionHash(c.Request))
	switch {
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrExpired), errors.Is(err, models.ErrConsumed):
		p.errorPage(c, http.StatusBadRequest, "This sign-in request has expired",
			"This sign-in request has expired or was already completed.", "Go back to the app and sign in again.")
		return
	case httpx.Outage(c, err):
		p.outagePage(c, err)
		return
	case err != nil:
		p.log.ErrorContext(ctx, "load interaction", "err", err)
		p.errorPage(c, http.StatusInternalServerError, "Something went wrong", "We could not continue your sign-in.", "Please try again.")
		return
	}
	in := read.Interaction
	if !p.sessions.SameBrowser(c.Request, in.BrowserHash) {
		p.errorPage(c, http.StatusForbidden, "Open this in the browser you started in",
			"This sign-in was started in a different browser.", "Go back to the app in the browser where you started and sign in there.")
		return
	}
	if deviceID := deviceInteraction(in); deviceID != "" {
		p.deviceResume(c, in, deviceID)
		return
	}
	req := c.Request.Clone(ctx)
	req.Method = http.MethodGet
	req.URL = &url.URL{Path: PathAuthorize, RawQuery: in.Query}
	req.Form, req.PostForm, req.Body = nil, nil, http.NoBody
	ar, err := p.fosite.NewAuthorizeRequest(ctx, req)
	if err != nil {
		p.authorizeError(c, ar, err)
		return
	}
	if ar.GetClient().GetID() != in.ClientID {
		p.authorizeError(c, nil, fosite.ErrInvalidRequest.WithHint("The interaction does not belong to this client."))
		return
	}
	if in.Error != "" {
		if err := p.st.ConsumeInteraction(ctx, in.ID); err != nil {
			p.errorPage(c, http.StatusBadRequest, "This sign-in request has expired",
				"This sign-in request was already completed.", "Go back to the app and sign in again.")
			return
		}
		p.authorizeError(c, ar, interactionError(in.Error))
		return
	}
	p.authorize(c, ar, read)
}

func interactionError(code string) error {
	switch code {
	case "access_denied":
		return fosite.ErrAccessDenied.WithHint("The user refused the request.")
	case "login_required":
		return fosite.ErrLoginRequired
	default:
		return fosite.ErrAccessDenied
	}
}

// checkAuthorizeRequest refuses what fosite would only refuse in
// NewAuthorizeResponse — after the user was sent to sign in, or after the
// code was stored: a response_type other than exactly "code" (values are
// case-sensitive, RFC 6749 §3.1.1), bad prompt values (OIDC Core §3.1.2.1:
// none stands alone) and a missing or non-S256 PKCE challenge (RFC 7636
// §4.4.1; plain is refused).
func checkAuthorizeRequest(ar fosite.AuthorizeRequester) error {
	if !ar.GetResponseTypes().ExactOne("code") {
		return fosite.ErrUnsupportedResponseType.WithHint("Only response_type=code is supported.")
	}
	form := ar.GetRequestForm()
	prompts := strings.Fields(form.Get("prompt"))
	for _, v := range prompts {
		if v != "none" && v != "login" && v != "consent" {
			return fosite.ErrInvalidRequest.WithHintf("Unsupported prompt value '%s'.", v)
		}
	}
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		return fosite.ErrInvalidRequest.WithHint("prompt=none must not be combined with other values.")
	}
	// fosite would only refuse a short nonce at the token endpoint, after
	// the user signed in for a code that can never be exchanged.
	if n := form.Get("nonce"); n != "" && len(n) < fosite.MinParameterEntropy {
		return fosite.ErrInvalidRequest.WithHintf("Parameter 'nonce' must be at least %d characters long.", fosite.MinParameterEntropy)
	}
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	switch {
	case challenge == "" && method == "":
		if ar.GetClient().IsPublic() {
			return fosite.ErrInvalidRequest.WithHint("This client must send a code_challenge (PKCE with S256).")
		}
	case challenge == "":
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method was sent without a code_challenge.")
	case method != "S256":
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method must be S256; plain is not allowed.")
	}
	return nil
}

// authorize decides between issuing a code and sending the browser to the
// hosted pages. in is the interaction being resumed, or nil.
func (p *Provider) authorize(c *gin.Context, ar fosite.AuthorizeRequester, read *models.InteractionRead) {
	ctx := c.Request.Context()
	var in *models.Interaction
	if read != nil {
		in = read.Interaction
	}
	client, ok := ar.GetClient().(*Client)
	if !ok {
		p.authorizeError(c, ar, fosite.ErrServerError.WithDebug("unexpected client type"))
		return
	}
	if err := checkAuthorizeRequest(ar); err != nil {
		p.authorizeError(c, ar, err)
		return
	}
	form := ar.GetRequestForm()
	// Resource indicators (resources.go) are checked before anyone signs
	// in for a request that cannot succeed.
	resources, err := p.requestedResources(ctx, form)
	if err == nil {
		err = checkResourceScopes(resources, ar.GetRequestedScopes())
	}
	if jkt := form.Get("dpop_jkt"); err == nil && form.Has("dpop_jkt") && (!p.dpopOn(ctx) || !validJKT(jkt)) {
		// RFC 9449 §10: the code is bound to this key's thumbprint.
		err = fosite.ErrInvalidRequest.WithHint("Parameter 'dpop_jkt' must be the base64url SHA-256 thumbprint of a JWK (and DPoP must be on).")
	}
	if err != nil {
		p.authorizeError(c, ar, err)
		return
	}
	prompts := strings.Fields(form.Get("prompt"))
	promptNone := slices.Contains(prompts, "none")
	maxAge := -1
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			p.authorizeError(c, ar, fosite.ErrInvalidRequest.WithHint("Parameter 'max_age' must be a non-negative integer."))
			return
		}
		maxAge = n
	}
	acrValues := client.acrValues(strings.Fields(form.Get("acr_values")))

	// The session and its user in one read (a resume's came with its
	// interaction); the user is used only when the session will do. A new
	// request with prompt=login signs in whatever the session: it is not
	// read.
	var ls *models.LoginSession
	var owner *models.User
	if read != nil {
		ls, owner = read.Session, read.Owner
	} else if !slices.Contains(prompts, "login") {
		ls, owner, err = p.sessions.CurrentWithUser(c.Request)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
	}
	// A login made for this very interaction satisfies prompt=login and
	// max_age by construction.
	fresh := in != nil && ls != nil && in.LoginSessionID != "" && ls.ID == in.LoginSessionID
	needLogin := ls == nil ||
		(slices.Contains(prompts, "login") && !fresh) ||
		(maxAge >= 0 && !fresh && clock.Since(ls.AuthTime) > time.Duration(maxAge)*time.Second) ||
		!models.ACRSatisfies(ls.ACR, acrValues) ||
		!client.modelMet(ls)
	var user *models.User
	if !needLogin {
		user = owner
		if user.Disabled {
			needLogin = true
		}
	}
	if needLogin {
		if promptNone {
			p.authorizeError(c, ar, fosite.ErrLoginRequired.WithHint("The user is not signed in (or not as required) and prompt=none was requested."))
			return
		}
		p.interact(c, ar, in, PathLogin)
		return
	}

	g, allowed, err := p.grantGroups(ctx, client, user.ID, ar.GetRequestedScopes())
	if err != nil {
		p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	if !allowed {
		p.noAccess(c, ar, client, user, in, promptNone)
		return
	}

	if !client.m.SkipConsent && (in == nil || !in.ConsentGiven) {
		need := slices.Contains(prompts, "consent")
		if !need {
			cons, err := p.st.GetConsent(ctx, user.ID, client.GetID())
			switch {
			case errors.Is(err, models.ErrNotFound):
				need = true
			case err != nil:
				p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
				return
			default:
				for _, s := range ar.GetRequestedScopes() {
					if !cons.Scopes.Has(s) {
						need = true
						break
					}
				}
			}
		}
		if need {
			if promptNone {
				p.authorizeError(c, ar, fosite.ErrConsentRequired.WithHint("The user has not consented and prompt=none was requested."))
				return
			}
			p.interact(c, ar, in, PathConsent)
			return
		}
	}

	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	ar.SetRequestedAudience(resourceAudiences(resources))
	for _, a := range resourceAudiences(resources) {
		ar.GrantAudience(a)
	}
	requestedAt := clock.Now().UTC()
	if in != nil {
		requestedAt = in.CreatedAt
		if fresh && requestedAt.After(ls.AuthTime) {
			// The interaction and the login were stamped by replicas
			// whose clocks may be apart (skew.go).
			requestedAt = ls.AuthTime
		}
	}
	sess := p.newUserSession(user, g, ls, client, ar.GetGrantedScopes(), requestedAt)
	sess.CodeJKT = form.Get("dpop_jkt")
	// fosite creates the code, then the OpenID Connect and PKCE records, and
	// may refuse after the first (e.g. an id_token_hint for another user):
	// they are held and written in one step with the interaction's spend
	// and the session's new client (back-channel logout, backchannel.go),
	// all or none — one statement on PostgreSQL.
	held := p.storage.Hold(ctx)
	resp, err := p.fosite.NewAuthorizeResponse(keys.WithAlg(held, client.idTokenAlg()), ar, sess)
	var records []*models.OAuth2Request
	if err == nil {
		if records, err = p.storage.Held(held); err != nil {
			err = fosite.ErrServerError.WithWrap(err)
		}
	}
	if err == nil {
		inID := ""
		if in != nil {
			inID = in.ID
		}
		err = p.st.CompleteAuthorization(ctx, inID, &models.SessionClient{SessionID: ls.ID, ClientID: client.GetID(),
			UserID: user.ID, CreatedAt: clock.Now(), ExpiresAt: ls.ExpiresAt}, records)
		if errors.Is(err, models.ErrConsumed) && read != nil && read.Remembered {
			// Decided on the sign-in's writes as this replica kept them
			// (models.InteractionRead.Remembered): the interaction was
			// spent, or the session ended, since. Resume again from what
			// the database holds now; that read is not a kept one.
			p.handleResume(c)
			return
		}
		if errors.Is(err, models.ErrConsumed) {
			p.errorPage(c, http.StatusBadRequest, "This sign-in request has expired",
				"This sign-in request was already completed.", "Go back to the app and sign in again.")
			return
		}
		if err != nil {
			err = fosite.ErrServerError.WithWrap(err)
		} else {
			// Kept for the code's exchange, which then reads nothing
			// here (code_keep.go).
			p.storage.KeepCodes(records)
		}
	}
	if err != nil {
		// The interaction is spent all the same, as a refused request's is.
		if in != nil {
			if cerr := p.st.ConsumeInteraction(ctx, in.ID); cerr != nil {
				p.log.WarnContext(ctx, "authorize: consume interaction", "err", cerr)
			}
		}
		p.authorizeError(c, ar, err)
		return
	}
	values := resp.GetParameters()
	values.Set("iss", p.cfg.Issuer)
	p.writeAuthorizeRedirect(c, ar, values)
}

// newUserSession builds the session fosite stores with the grant: the ID
// token claims (auth_time, amr, acr, sid and the scope claims).
func (p *Provider) newUserSession(u *models.User, g grant, ls *models.LoginSession, client *Client, scopes fosite.Arguments, requestedAt time.Time) *Session {
	s := NewSession()
	s.Subject = u.ID
	s.SID = ls.ID
	s.ClientID = client.GetID()
	// The sign-in and the request were stamped by replicas whose clocks
	// may be apart (skew.go); fosite refuses an auth_time ahead of its own
	// clock or, under prompt=login, before the request. A login made for
	// this request is not before it (authorize), nor later than now.
	authTime := ls.AuthTime.Add(-clock.Offset())
	requestedAt = requestedAt.Add(-clock.Offset())
	if now := time.Now(); authTime.After(now) {
		authTime = now
	}
	claims := &jwt.IDTokenClaims{
		Subject: p.subjectFor(client.m, u.ID),
		Issuer:  p.cfg.Issuer,
		// Second precision on both sides keeps fosite's prompt=login and
		// max_age comparisons exact.
		AuthTime:                            authTime.UTC().Truncate(time.Second),
		RequestedAt:                         requestedAt.UTC().Truncate(time.Second),
		AuthenticationMethodsReferences:     ls.AMR,
		AuthenticationContextClassReference: ls.ACR,
		Extra:                               map[string]any{"sid": ls.ID},
	}
	released := userClaims(u, g, scopes)
	for k, v := range released {
		claims.Extra[k] = v
	}
	s.Claims = claims
	s.setAccessClaims(released)
	return s
}

// userClaims are the claims a scope set releases (OIDC Core §5.4): the
// standard profile and email claims, groups (when the groups scope was
// granted) and the claims of the granted custom scopes.
func userClaims(u *models.User, g grant, scopes fosite.Arguments) map[string]any {
	groups := g.groups
	out := map[string]any{}
	if scopes.Has("profile") {
		name := u.DisplayName
		if name == "" {
			name = u.Email
		}
		out["name"] = name
		// A real username when set; the address is not one (it changes,
		// and apps that key accounts on preferred_username would merge
		// people who reuse an address).
		if u.Username != nil && *u.Username != "" {
			out["preferred_username"] = *u.Username
		}
		for k, v := range map[string]string{"given_name": u.GivenName, "family_name": u.FamilyName, "locale": u.Locale, "picture": u.Picture} {
			if v != "" {
				out[k] = v
			}
		}
	}
	if scopes.Has("email") {
		out["email"] = u.Email
		out["email_verified"] = u.EmailVerified
	}
	if scopes.Has(ScopeGroups) {
		if groups == nil {
			groups = []string{}
		}
		out["groups"] = groups
	}
	addCustomClaims(out, u, groups, slices.DeleteFunc(slices.Clone(g.custom), func(d models.CustomScope) bool { return !scopes.Has(d.Name) }))
	return out
}

// interact parks the request (or reuses the parked one) and sends the
// browser to a hosted page.
func (p *Provider) interact(c *gin.Context, ar fosite.AuthorizeRequester, in *models.Interaction, page string) {
	ctx := c.Request.Context()
	if in == nil {
		form := ar.GetRequestForm()
		now := clock.Now().UTC().Truncate(time.Microsecond)
		// The client's minimum acr goes into the stored acr_values, so the
		// hosted login offers only the methods that reach it.
		acr := form.Get("acr_values")
		if cl, ok := ar.GetClient().(*Client); ok && cl.m.MinACR != "" {
			acr = strings.Join(cl.acrValues(strings.Fields(acr)), " ")
		}
		// A pushed request's request_uri is spent: the resume re-validates
		// the pushed parameters themselves.
		query := url.Values{}
		for k, v := range form {
			if k != "request_uri" {
				query[k] = v
			}
		}
		in = &models.Interaction{
			ID:          websession.RandomToken(24),
			BrowserHash: p.sessions.Browser(c.Writer, c.Request),
			ClientID:    ar.GetClient().GetID(),
			Query:       query.Encode(),
			Scopes:      models.StringList(ar.GetRequestedScopes()),
			Prompt:      form.Get("prompt"),
			LoginHint:   form.Get("login_hint"),
			ACRValues:   acr,
			CreatedAt:   now,
			ExpiresAt:   now.Add(p.cfg.InteractionTTL),
		}
		// fosite resolved it: the client's only one when omitted.
		if ru := ar.GetRedirectURI(); ru != nil {
			in.RedirectURI = ru.String()
		}
		if v, err := strconv.Atoi(form.Get("max_age")); err == nil {
			in.MaxAge = &v
		}
		if err := p.st.CreateInteraction(ctx, in); err != nil {
			p.authorizeError(c, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, page+"?interaction="+url.QueryEscape(in.ID))
	c.Abort()
}
