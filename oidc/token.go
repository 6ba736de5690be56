package oidc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/oidc/keys"
)

// baseGrantTypes are the grants the token endpoint always serves
// (case-sensitive); the device and token exchange grants are added while
// their switches are on.
var baseGrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}

func (p *Provider) handleToken(c *gin.Context) {
	// One memo of the records the request reads (storage.go): fosite's
	// code grant reads the code's records more than once.
	ctx := withRecordMemo(withAuthAttempt(c.Request.Context(), c.ClientIP()))
	form, err := p.tokenForm(c)
	p.corsForClient(c, false)
	if err != nil {
		p.tokenError(c, nil, err)
		return
	}
	if form.Get("grant_type") == "refresh_token" {
		attemptFrom(ctx).refresh = true
	}
	// fosite answers a grant no handler serves with a bare invalid_request;
	// RFC 6749 §5.2 calls that unsupported_grant_type.
	gt := form.Get("grant_type")
	exchange := gt == clients.GrantTokenExchange
	// The device and token exchange grants are switched by the live policy
	// (read only for them).
	if gt != "" && !slices.Contains(baseGrantTypes, gt) &&
		!(exchange && p.exchangeOn(ctx)) && !(gt == clients.GrantDeviceCode && p.deviceOn(ctx)) {
		grants := grantsWith(p.deviceOn(ctx), p.exchangeOn(ctx))
		p.tokenError(c, nil, fosite.ErrUnsupportedGrantType.WithHintf("Supported grant types: %s.", strings.Join(grants, ", ")))
		return
	}
	if form.Has("audience") && !exchange {
		// fosite's own audience parameter: resource (RFC 8707) is the
		// standard one, and the only one that narrows a token here.
		p.tokenError(c, nil, fosite.ErrInvalidRequest.WithHint("The audience parameter is not supported; use resource (RFC 8707)."))
		return
	}
	// A DPoP proof is checked before anything else reads the grant
	// (dpop.go); it is spent once the request is otherwise acceptable.
	var proof *dpopProof
	if p.dpopOn(ctx) {
		if p.cfg.DPoPNonce {
			c.Header("DPoP-Nonce", p.DPoPNonce())
		}
		pr, err := p.dpopProofOf(c.Request, PathToken, "")
		if err != nil {
			p.tokenError(c, nil, p.dpopError(c, err).rfc())
			return
		}
		proof = pr
	}
	sess := NewSession()
	ar, err := p.fosite.NewAccessRequest(ctx, c.Request, sess)
	if err != nil {
		p.tokenError(c, ar, err)
		return
	}
	client, ok := ar.GetClient().(*Client)
	if !ok {
		p.tokenError(c, ar, fosite.ErrServerError.WithDebug("unexpected client type"))
		return
	}
	// The at_hash hint goes on the request's session: for a refresh that is
	// a clone of the stored one, not sess. NewSession's non-nil header map
	// keeps it through the code flow's re-reading of the stored session.
	if s, ok := ar.GetSession().(*Session); ok {
		s.IDTokenHeaders().Add("alg", hashHint(client.idTokenAlg()))
	}
	switch {
	case ar.GetGrantTypes().ExactOne("client_credentials"):
		// A machine token: no user, so no openid or offline_access.
		for _, s := range ar.GetRequestedScopes() {
			if s != "openid" && s != "offline_access" {
				ar.GrantScope(s)
			}
		}
		sess.Subject = client.GetID()
		sess.ClientID = client.GetID()
	case ar.GetGrantTypes().ExactOne("refresh_token"):
		// A refresh is refused once the user is gone or disabled.
		u, err := p.st.GetUser(ctx, sess.GetSubject())
		if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
			p.tokenError(c, ar, fosite.ErrInvalidGrant.WithHint("The user of this grant is no longer active."))
			return
		}
		if err != nil {
			p.tokenError(c, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		// Membership is read again for every refresh: a user taken out of
		// the client's allowed groups gets no new tokens (RFC 6749 §5.2),
		// and the groups claim follows the user's current groups.
		g, allowed, err := p.grantGroups(ctx, client, u.ID, ar.GetGrantedScopes())
		if err != nil {
			p.tokenError(c, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		if !allowed {
			p.tokenError(c, ar, fosite.ErrInvalidGrant.WithHint("The user is no longer allowed to use this client."))
			return
		}
		if s, ok := ar.GetSession().(*Session); ok {
			s.refreshClaims(u, g, ar.GetGrantedScopes())
		}
		// fosite ignores the scope parameter of a refresh; one that exceeds
		// the original grant is invalid_scope (RFC 6749 §6, §5.2).
		for _, s := range strings.Fields(form.Get("scope")) {
			if !slices.Contains(ar.GetGrantedScopes(), s) {
				p.tokenError(c, ar, fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to this refresh token.", s))
				return
			}
		}
	}
	if !exchange { // the exchange handler sets its own (exchange.go)
		if err := p.applyResources(ctx, ar, client); err != nil {
			p.tokenError(c, ar, err)
			return
		}
	}
	if err := p.bindDPoP(ctx, ar, client, proof); err != nil {
		p.tokenError(c, ar, err)
		return
	}
	respCtx := keys.WithAlg(ctx, client.idTokenAlg())
	if ar.GetGrantTypes().ExactOne("authorization_code") {
		// fosite's code, OpenID Connect and PKCE handlers reach the
		// database through the adapter alone: the code's spend and the
		// token pair are written in one statement (storage.go).
		respCtx = withDeferredTx(respCtx)
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		respCtx = context.WithValue(respCtx, appTokenKey{}, true)
	}
	resp, err := p.fosite.NewAccessResponse(respCtx, ar)
	if err != nil {
		p.tokenError(c, ar, err)
		return
	}
	if s, ok := ar.GetSession().(*Session); ok {
		if s.AccessScope != nil {
			resp.SetScopes(s.AccessScope)
		}
		if s.DPoPJKT != "" {
			resp.SetTokenType("DPoP") // RFC 9449 §5
		}
	}
	p.fosite.WriteAccessResponse(ctx, c.Writer, ar, resp)
	if exchange {
		p.auditExchange(c, ar, nil)
	}
	if p.tokens != nil {
		p.tokens.TokenIssued(form.Get("grant_type"), client.GetID())
	}
}

// tokenForm parses a POST to the token or device authorization endpoint
// and refuses what RFC 6749 forbids before fosite sees it: repeated
// parameters and more than one client authentication method. fosite's
// ParseMultipartForm swallows a body read error of ParseForm (and reports
// "empty body"), so the body is parsed here; one over the limit is 413.
// Multipart bodies are left to fosite.
func (p *Provider) tokenForm(c *gin.Context) (url.Values, error) {
	if err := c.Request.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			e := fosite.ErrInvalidRequest.WithHint("The request body is too large.")
			e.CodeField = http.StatusRequestEntityTooLarge
			return nil, e
		}
		return nil, fosite.ErrInvalidRequest.WithHint("The request body could not be parsed.").WithWrap(err)
	}
	form := c.Request.PostForm
	if err := checkRepeats(form); err != nil {
		return nil, err
	}
	// RFC 6749 §2.3: "MUST NOT use more than one authentication method";
	// fosite would silently prefer one of them.
	_, _, basic := c.Request.BasicAuth()
	if n := btoi(basic) + btoi(form.Has("client_secret")) + btoi(form.Has("client_assertion")); n > 1 {
		return nil, fosite.ErrInvalidRequest.WithHint("Use exactly one client authentication method.")
	}
	return form, nil
}

func (p *Provider) handleIntrospect(c *gin.Context) {
	ctx := withAuthAttempt(c.Request.Context(), c.ClientIP())
	ir, err := p.fosite.NewIntrospectionRequest(ctx, c.Request, NewSession())
	p.corsForClient(c, true) // after fosite has parsed the form
	if err == nil && ir.IsActive() {
		// Deciding who may see the token reads the caller's client record.
		err = p.introspectionOutage(ctx, ir)
	}
	if httpx.Outage(c, err) {
		// fosite would answer {"active":false}: a resource server would
		// then refuse a valid token as if it were revoked. 503 tells it to
		// retry (RFC 7662 §2.3 allows any RFC 6749 error response).
		p.unavailableJSON(c, "introspect", err)
		return
	}
	if err != nil {
		rfc := fosite.ErrorToRFC6749Error(err)
		switch rfc.ErrorField {
		case fosite.ErrInvalidClient.ErrorField, fosite.ErrRequestUnauthorized.ErrorField:
			// RFC 7662 §2.3 and RFC 6749 §5.2: a caller that fails client
			// authentication gets 401 invalid_client, not a token answer.
			c.Header("WWW-Authenticate", `Basic realm="sesame", error="invalid_client"`)
			p.fosite.WriteAccessError(ctx, c.Writer, nil, fosite.ErrInvalidClient.WithHint(rfc.HintField))
			return
		case fosite.ErrInvalidRequest.ErrorField:
			p.fosite.WriteAccessError(ctx, c.Writer, nil, err)
			return
		}
		if rfc.CodeField >= 500 {
			p.log.ErrorContext(ctx, "introspect", "err", err, "debug", rfc.DebugField)
		}
	}
	// fosite answers {"active":false} for unknown, expired and revoked
	// tokens (an inactive_token error here). A live token is described
	// only to the client it was issued to, or to a resource server allowed
	// to introspect any (clients.ScopeIntrospect); to anyone else it is as
	// good as unknown.
	if err == nil && !p.mayIntrospect(ctx, authenticatedClient(ctx), ir) {
		ir = &fosite.IntrospectionResponse{Active: false}
	}
	if ir != nil && ir.IsActive() {
		pairwiseIntrospection(p, ir)
		markTokenUse(ir)
	}
	p.fosite.WriteIntrospectionResponse(ctx, c.Writer, ir)
}

// markTokenUse names the kind of token in an introspection answer,
// token_use "access_token" or "refresh_token" (as Ory Hydra does): fosite
// answers alike for both, so a resource server could otherwise take a
// refresh token presented as a bearer token for an access token. The
// session was loaded for this request alone, so the claim goes nowhere
// else.
func markTokenUse(ir fosite.IntrospectionResponder) {
	sess, ok := ir.GetAccessRequester().GetSession().(*Session)
	if !ok {
		return
	}
	ext := maps.Clone(sess.Ext)
	if ext == nil {
		ext = map[string]any{}
	}
	ext["token_use"] = string(ir.GetTokenUse())
	sess.Ext = ext
}

func (p *Provider) handleRevoke(c *gin.Context) {
	ctx := withRevocation(withAuthAttempt(c.Request.Context(), c.ClientIP()))
	err := p.fosite.NewRevocationRequest(ctx, c.Request)
	p.corsForClient(c, false) // after fosite has parsed the form
	// fosite turns a failed store write into a bare temporarily_unavailable
	// (its cause dropped) and its writer then answers 200: the client would
	// believe a live token revoked. RFC 7009 §2.2.1: 503, and the client
	// assumes the token still exists and retries.
	if errors.Is(err, fosite.ErrTemporarilyUnavailable) {
		c.Header("Retry-After", httpx.OutageRetryAfter)
		err = fmt.Errorf("%w: %w", models.ErrUnavailable, err)
	}
	if httpx.Outage(c, err) {
		p.unavailableJSON(c, "revoke", err)
		return
	}
	if err != nil {
		rfc := fosite.ErrorToRFC6749Error(err)
		if rfc.CodeField >= 500 {
			p.log.ErrorContext(ctx, "revoke", "err", err, "debug", rfc.DebugField)
		}
		if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
			c.Header("WWW-Authenticate", `Basic realm="sesame", error="invalid_client"`)
		}
	}
	p.fosite.WriteRevocationResponse(ctx, c.Writer, err)
}

// handleUserinfo answers with the claims the access token's scopes
// release (OIDC Core §5.3); bearer errors follow RFC 6750 §3.
func (p *Provider) handleUserinfo(c *gin.Context) {
	ctx := c.Request.Context()
	c.Header("Cache-Control", "no-store")
	// Until the token names its client, any client's origin may read the
	// (error) answer; then only that client's.
	p.corsAnyClient(c)
	scheme, token := accessTokenOf(c.Request)
	if scheme == "DPoP" && !p.dpopOn(ctx) {
		scheme, token = "", ""
	}
	if token == "" {
		p.challenge(c, "", "invalid_request", "No access token was presented.")
		return
	}
	// A DPoP proof for this token is checked first (nothing written yet).
	var proof *dpopProof
	if scheme == "DPoP" {
		pr, err := p.dpopProofOf(c.Request, PathUserinfo, token)
		if err == nil && pr == nil {
			err = dpopInvalid("The DPoP scheme needs a DPoP proof.")
		}
		if err != nil {
			de := p.dpopError(c, err)
			p.challenge(c, "DPoP", de.code, de.hint)
			return
		}
		proof = pr
	}
	sess := NewSession()
	use, ar, err := p.fosite.IntrospectToken(ctx, token, fosite.AccessToken, sess)
	if httpx.Outage(c, err) {
		p.unavailableJSON(c, "userinfo", err)
		return
	}
	if err != nil || use != fosite.AccessToken {
		if err != nil && fosite.ErrorToRFC6749Error(err).CodeField >= 500 {
			p.log.ErrorContext(ctx, "userinfo", "err", err)
			c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
			return
		}
		p.challenge(c, scheme, "invalid_token", "The access token is invalid or expired.")
		return
	}
	// RFC 9449 §7: a bound token only with the DPoP scheme and a proof
	// from its key; an unbound one only as a bearer token.
	switch {
	case sess.DPoPJKT != "" && proof == nil:
		p.challenge(c, "DPoP", "invalid_token", "This access token is bound to a DPoP key: present it with the DPoP scheme and a proof.")
		return
	case sess.DPoPJKT == "" && proof != nil:
		p.challenge(c, "Bearer", "invalid_token", "This access token is not DPoP-bound: present it as a bearer token.")
		return
	case proof != nil && proof.JKT != sess.DPoPJKT:
		p.challenge(c, "DPoP", "invalid_dpop_proof", "The DPoP proof is signed with another key than the token is bound to.")
		return
	case proof != nil:
		if err := p.spendDPoP(ctx, proof); err != nil {
			if httpx.Outage(c, err) {
				p.unavailableJSON(c, "userinfo", err)
				return
			}
			var de *errDPoP
			if !errors.As(err, &de) {
				p.log.ErrorContext(ctx, "userinfo", "err", err)
				c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
				return
			}
			p.challenge(c, "DPoP", de.code, de.hint)
			return
		}
	}
	corsKeepForClient(c, ar.GetClient())
	if !ar.GetGrantedScopes().Has("openid") {
		c.Header("WWW-Authenticate", authScheme(sess.DPoPJKT)+` realm="sesame", error="insufficient_scope", scope="openid"`)
		c.JSON(http.StatusForbidden, gin.H{"error": "insufficient_scope", "error_description": "The access token was not granted the openid scope."})
		return
	}
	u, err := p.st.GetUser(ctx, sess.GetSubject())
	if httpx.Outage(c, err) {
		p.unavailableJSON(c, "userinfo", err)
		return
	}
	if err != nil || u.Disabled {
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			p.log.ErrorContext(ctx, "userinfo", "err", err)
			c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
			return
		}
		p.challenge(c, authScheme(sess.DPoPJKT), "invalid_token", "The user of this token is no longer active.")
		return
	}
	g, err := p.loadGrant(ctx, u.ID, ar.GetGrantedScopes(), false)
	if err != nil {
		p.log.ErrorContext(ctx, "userinfo", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
		return
	}
	claims := userClaims(u, g, ar.GetGrantedScopes())
	var cm *models.Client
	if cl, ok := ar.GetClient().(*Client); ok {
		cm = cl.m
	}
	claims["sub"] = p.subjectFor(cm, u.ID)
	if sess.SubjectAs != "" {
		claims["sub"] = sess.SubjectAs // exchange.go
	}
	c.JSON(http.StatusOK, claims)
}

// applyResources sets the access token's audience and format from the
// resource parameters (resources.go, RFC 8707 §2.2) and the client's and
// resources' token formats (jwtaccess.go). A client_credentials token gets
// the resources as its grant; a code exchange or a refresh may narrow the
// grant's audience (and its scopes) to some of its resources.
func (p *Provider) applyResources(ctx context.Context, ar fosite.AccessRequester, client *Client) error {
	sess, ok := ar.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebug("unexpected session type")
	}
	sess.AccessAud, sess.AccessScope = nil, nil
	rs, err := p.requestedResources(ctx, ar.GetRequestForm())
	if err != nil {
		return err
	}
	var aud []string
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		if err := checkResourceScopes(rs, ar.GetGrantedScopes()); err != nil {
			return err
		}
		aud = resourceAudiences(rs)
		ar.SetRequestedAudience(aud)
		for _, a := range aud {
			ar.GrantAudience(a)
		}
	} else {
		// The grant's audience (a code's is set from its authorization
		// request, a refresh token's from the original grant).
		aud = ar.GetRequestedAudience()
		if len(rs) > 0 {
			for _, r := range rs {
				if !slices.Contains(aud, r.Audience) {
					return errInvalidTarget.WithHintf("The resource '%s' was not part of the authorization grant.", r.Audience)
				}
			}
			scopes := ar.GetGrantedScopes()
			if len(scopes) == 0 {
				scopes = ar.GetRequestedScopes() // a code's, granted whole
			}
			aud = resourceAudiences(rs)
			sess.AccessAud = aud
			sess.AccessScope = slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !scopeAllowed(rs, s) })
		}
	}
	jwt, err := p.anyJWT(ctx, aud)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	sess.JWTAccess = jwt || client.m.AccessTokenFormat == models.TokenFormatJWT
	if sess.JWTAccess && len(aud) == 0 {
		// RFC 9068 §3: without a resource, the default audience: the
		// client itself; introspection reports the same aud.
		sess.AccessAud = []string{client.GetID()}
	}
	return nil
}

// accessTokenOf reads the access token of a resource request: the
// Authorization header's Bearer or DPoP scheme (RFC 6750 §2.1, RFC 9449
// §7.1), or the form's access_token (RFC 6750 §2.2, bearer only).
func accessTokenOf(r *http.Request) (scheme, token string) {
	if h := r.Header.Get("Authorization"); h != "" {
		s, t, ok := strings.Cut(h, " ")
		switch {
		case !ok:
			return "", ""
		case strings.EqualFold(s, "Bearer"):
			return "Bearer", strings.TrimSpace(t)
		case strings.EqualFold(s, "DPoP"):
			return "DPoP", strings.TrimSpace(t)
		}
		return "", ""
	}
	if t := fosite.AccessTokenFromRequest(r); t != "" {
		return "Bearer", t
	}
	return "", ""
}

// authScheme is the scheme a token is presented with: DPoP when bound.
func authScheme(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

// challenge answers a resource request with 401 and the challenge of
// scheme (Bearer, or DPoP with the accepted algs; "" offers Bearer, and
// DPoP too when it is on).
func (p *Provider) challenge(c *gin.Context, scheme, code, desc string) {
	param := func(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) }
	attrs := ` realm="sesame"`
	if code != "" && code != "invalid_request" {
		attrs += `, error="` + code + `", error_description="` + param(desc) + `"`
	}
	dpop := `DPoP` + attrs + `, algs="` + strings.Join(DPoPAlgs, " ") + `"`
	switch {
	case scheme == "DPoP":
		c.Header("WWW-Authenticate", dpop)
	case scheme == "" && p.dpopOn(c.Request.Context()):
		c.Header("WWW-Authenticate", `Bearer`+attrs)
		c.Writer.Header().Add("WWW-Authenticate", dpop)
	default:
		c.Header("WWW-Authenticate", `Bearer`+attrs)
	}
	c.JSON(http.StatusUnauthorized, gin.H{"error": code, "error_description": desc})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// introspectionOutage reads the caller's client record when mayIntrospect
// will need it (a token of another client), so an outage there is told
// apart from a refusal.
func (p *Provider) introspectionOutage(ctx context.Context, ir fosite.IntrospectionResponder) error {
	caller := authenticatedClient(ctx)
	ar := ir.GetAccessRequester()
	if caller == "" || ar == nil || ar.GetClient() == nil || ar.GetClient().GetID() == caller {
		return nil
	}
	if _, err := p.GetClient(ctx, caller); errors.Is(err, models.ErrUnavailable) {
		return err
	}
	return nil
}

// unavailableJSON answers a JSON protocol endpoint during a database
// outage: 503 temporarily_unavailable (Retry-After is set by httpx.Outage).
func (p *Provider) unavailableJSON(c *gin.Context, what string, err error) {
	p.log.WarnContext(c.Request.Context(), what+": database unavailable", "err", err)
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{
		"error": fosite.ErrTemporarilyUnavailable.ErrorField, "error_description": "The service is briefly unavailable; retry in a few seconds.",
	})
}

// mayIntrospect reports whether caller may learn about the token of ir.
func (p *Provider) mayIntrospect(ctx context.Context, caller string, ir fosite.IntrospectionResponder) bool {
	ar := ir.GetAccessRequester()
	if caller == "" || ar == nil || ar.GetClient() == nil {
		return false
	}
	if ar.GetClient().GetID() == caller {
		return true
	}
	c, err := p.GetClient(ctx, caller)
	if err != nil {
		return false
	}
	return slices.Contains(c.GetScopes(), clients.ScopeIntrospect)
}
