package oidc

// Token exchange (RFC 8693) for service-to-service delegation. An API (a
// confidential client) that received a user's access token trades it at
// the token endpoint (grant_type urn:ietf:params:oauth:grant-type:
// token-exchange) for an access token for another registered resource,
// which it then calls on the user's behalf. The rules, in the order they
// are checked:
//
//   - the token exchange grant is on (token_exchange) and the client is
//     registered for it, confidential and authenticated (unauthorized_client);
//   - subject_token is an access token Sesame issued, live and not revoked
//     (subject_token_type ...:access_token; ID tokens, refresh tokens and
//     foreign JWTs are refused), and so is actor_token when one is sent;
//   - the client is a rightful holder of the subject token: the token was
//     issued to it, or its audience names the client's id or one of its
//     token_exchange_subject_audiences (RFC 8693 §2.1 leaves the policy to
//     the server; without this rule any exchanging client could trade any
//     token it got hold of). An unusable subject or actor token is
//     invalid_request, as RFC 8693 §2.2.2 requires;
//   - every target (resource and audience parameters, at least one) is a
//     registered resource among the client's token_exchange_resources
//     (invalid_target);
//   - every requested scope was granted to the subject token, is allowed by
//     a target and registered for the client (invalid_scope). Without a
//     scope parameter the token gets the subject token's scopes that the
//     targets name (OpenID scopes only when asked for).
//
// The new token keeps the subject token's sub (as that token's client saw
// it, pairwise or not), names the exchanging client as client_id and the
// actor in act (act.sub: the client, or the actor token's subject; the
// subject token's own act nested inside, RFC 8693 §4.1), lives no longer
// than the subject token and the client's access token lifetime, is a JWT
// when a target asks for JWTs (else opaque), is DPoP-bound when the
// request carries a proof, and comes without a refresh token. It is stored
// under the subject token's grant (its request id), so whatever revokes
// that grant — revoking the subject token or its refresh token, a refresh
// rotation, a reused code, a logout, an admin — revokes the exchanged
// tokens too; revoking an exchanged token revokes that token alone.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// Token types (RFC 8693 §3).
const (
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// maxActors bounds a delegation chain (nested act claims).
	maxActors = 5
)

// Actor is the act claim (RFC 8693 §4.1): the party acting, and nested the
// one that acted before it.
type Actor struct {
	Sub string `json:"sub"`
	Act *Actor `json:"act,omitempty"`
}

func (a *Actor) depth() int {
	n := 0
	for ; a != nil; a = a.Act {
		n++
	}
	return n
}

// exchangeOn reports whether the live policy serves the token exchange
// grant now; a policy that cannot be read leaves the configuration's
// switch in force.
func (p *Provider) exchangeOn(ctx context.Context) bool {
	if p.policies == nil {
		return p.cfg.TokenExchange
	}
	on, err := p.policies.TokenExchange(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "token exchange switch from policy not read; using the configuration's", "err", err)
		return p.cfg.TokenExchange
	}
	return on
}

// grantsWith is the list of grants the token endpoint serves, the device
// and token exchange grants among them when their switches are on.
func grantsWith(device, exchange bool) []string {
	g := slices.Clip(baseGrantTypes)
	if device {
		g = append(g, clients.GrantDeviceCode)
	}
	if exchange {
		g = append(g, clients.GrantTokenExchange)
	}
	return g
}

// exchangeFactory is a compose.Factory for the token exchange handler.
func (p *Provider) exchangeFactory(_ fosite.Configurator, _ any, strategy any) any {
	s := strategy.(*compose.CommonStrategy)
	return &exchangeHandler{p: p, tokens: s.CoreStrategy}
}

// exchangeHandler serves the token exchange grant as a fosite token
// endpoint handler: HandleTokenEndpointRequest checks everything and
// builds the new token's session; PopulateTokenEndpointResponse issues
// and stores it.
type exchangeHandler struct {
	p      *Provider
	tokens oauth2.CoreStrategy
}

var _ fosite.TokenEndpointHandler = (*exchangeHandler)(nil)

func (h *exchangeHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

func (h *exchangeHandler) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(clients.GrantTokenExchange)
}

// presented is a subject or actor token found live in the store.
type presented struct {
	req  fosite.Requester
	sess *Session
}

// machine reports whether the token stands for a client (client_credentials)
// rather than a user who signed in.
func (t presented) machine() bool {
	return t.sess.DefaultSession == nil || t.sess.Claims == nil || t.sess.Claims.AuthTime.IsZero()
}

// shownSubject is the sub the token shows: fixed by an earlier exchange, a
// client's id, or the user as the token's client sees them.
func (p *Provider) shownSubject(t presented) string {
	switch {
	case t.sess.SubjectAs != "":
		return t.sess.SubjectAs
	case t.machine():
		return t.sess.GetSubject()
	}
	var m *models.Client
	if cl, ok := t.req.GetClient().(*Client); ok {
		m = cl.m
	}
	return p.subjectFor(m, t.sess.GetSubject())
}

// presentedToken checks the token and type of one of the request's
// tokens (subject or actor) and loads it.
func (p *Provider) presentedToken(ctx context.Context, form map[string][]string, name string) (*presented, error) {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	token, typ := get(name), get(name+"_type")
	switch {
	case token == "" && typ == "":
		return nil, nil
	case token == "":
		return nil, fosite.ErrInvalidRequest.WithHintf("The %s parameter is missing.", name)
	case typ == "":
		return nil, fosite.ErrInvalidRequest.WithHintf("The %s_type parameter is missing.", name)
	case typ != TokenTypeAccessToken:
		// ID tokens are statements about a sign-in for one client, kept in
		// browsers and logs, and revocable nowhere: they never buy access.
		return nil, fosite.ErrInvalidRequest.WithHintf("Only access tokens issued by this server are accepted as %s (%s_type %s).", name, name, TokenTypeAccessToken)
	}
	sess := NewSession()
	use, ar, err := p.fosite.IntrospectToken(ctx, token, fosite.AccessToken, sess)
	switch {
	case errors.Is(err, models.ErrUnavailable):
		return nil, err
	case err != nil && fosite.ErrorToRFC6749Error(err).CodeField >= 500:
		return nil, fosite.ErrServerError.WithWrap(err)
	case err != nil || use != fosite.AccessToken:
		// RFC 8693 §2.2.2: an invalid subject or actor token is invalid_request.
		return nil, fosite.ErrInvalidRequest.WithHintf("The %s is not an active access token issued by this server (unknown, expired or revoked).", name)
	}
	s, ok := ar.GetSession().(*Session)
	if !ok {
		return nil, fosite.ErrServerError.WithDebug("unexpected session type")
	}
	return &presented{req: ar, sess: s}, nil
}

// rightfulHolder reports whether client may present t as a subject token:
// t was issued to it, or t's audience names it (its id or one of the APIs
// it serves).
func rightfulHolder(client *Client, t *presented) bool {
	if t.req.GetClient().GetID() == client.GetID() {
		return true
	}
	return slices.ContainsFunc(t.req.GetGrantedAudience(), func(a string) bool {
		return a == client.GetID() || slices.Contains(client.m.TokenExchangeSubjectAudiences, a)
	})
}

// exchangeTargets resolves the resource and audience parameters: each a
// registered resource this client may exchange for.
func (p *Provider) exchangeTargets(ctx context.Context, client *Client, form map[string][]string) ([]models.Resource, error) {
	var values []string
	values = append(values, form["resource"]...)
	for _, a := range form["audience"] {
		values = append(values, strings.Fields(a)...)
	}
	if len(values) == 0 {
		return nil, errInvalidTarget.WithHint("Name the resource the token is for with the resource or audience parameter.")
	}
	rs, err := p.requestedResources(ctx, map[string][]string{"resource": values})
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if !slices.Contains(client.m.TokenExchangeResources, r.Audience) {
			return nil, errInvalidTarget.WithHintf("The client may not exchange tokens for the resource '%s'.", r.Audience)
		}
	}
	return rs, nil
}

// exchangeScopes decides the new token's scopes.
func exchangeScopes(requested []string, subject fosite.Arguments, rs []models.Resource, client *Client) ([]string, error) {
	if len(requested) == 0 {
		var out []string
		for _, s := range subject {
			if !slices.Contains(openIDScopes, s) && scopeAllowed(rs, s) && client.GetScopes().Has(s) {
				out = append(out, s)
			}
		}
		return out, nil
	}
	for _, s := range requested {
		switch {
		case s == clients.ScopeOfflineAccess:
			return nil, fosite.ErrInvalidScope.WithHint("Token exchange issues no refresh tokens: offline_access cannot be requested.")
		case !subject.Has(s):
			return nil, fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to the subject token.", s)
		case !scopeAllowed(rs, s):
			return nil, fosite.ErrInvalidScope.WithHintf("The scope '%s' is not allowed for the requested resources.", s)
		case !client.GetScopes().Has(s):
			return nil, fosite.ErrInvalidScope.WithHintf("The client is not allowed to request the scope '%s'.", s)
		}
	}
	return requested, nil
}

func (h *exchangeHandler) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	p := h.p
	client, ok := r.GetClient().(*Client)
	switch {
	case !ok:
		return fosite.ErrServerError.WithDebug("unexpected client type")
	case !client.GetGrantTypes().Has(clients.GrantTokenExchange):
		return fosite.ErrUnauthorizedClient.WithHint("The client is not registered for token exchange.")
	case client.IsPublic():
		return fosite.ErrUnauthorizedClient.WithHint("Token exchange is for confidential clients only.")
	}
	form := r.GetRequestForm()
	if t := form.Get("requested_token_type"); t != "" && t != TokenTypeAccessToken {
		return fosite.ErrInvalidRequest.WithHintf("Only access tokens are issued (requested_token_type %s).", TokenTypeAccessToken)
	}
	subject, err := p.presentedToken(ctx, form, "subject_token")
	if err != nil {
		return err
	}
	if subject == nil {
		return fosite.ErrInvalidRequest.WithHint("The subject_token parameter is missing.")
	}
	actor, err := p.presentedToken(ctx, form, "actor_token")
	if err != nil {
		return err
	}
	if !rightfulHolder(client, subject) {
		return fosite.ErrInvalidRequest.WithHint("The subject token was not issued to this client, nor is its audience this client or an API it serves.")
	}
	act := &Actor{Sub: client.GetID(), Act: subject.sess.Act}
	if actor != nil {
		// The actor token is the exchanging client's own (its machine
		// token, or a token of a user signed in to it): a client names
		// itself, or someone who signed in to it, never a third party.
		if actor.req.GetClient().GetID() != client.GetID() {
			return fosite.ErrInvalidRequest.WithHint("The actor token was not issued to this client.")
		}
		act.Sub = p.shownSubject(*actor)
	}
	if act.depth() > maxActors {
		return fosite.ErrInvalidRequest.WithHintf("The delegation chain is longer than %d actors.", maxActors)
	}
	targets, err := p.exchangeTargets(ctx, client, form)
	if err != nil {
		return err
	}
	scopes, err := exchangeScopes(strings.Fields(form.Get("scope")), subject.req.GetGrantedScopes(), targets, client)
	if err != nil {
		return err
	}
	sess, err := p.exchangeSession(ctx, client, subject, scopes)
	if err != nil {
		return err
	}
	sess.Act = act
	aud := resourceAudiences(targets)
	sess.AccessAud, sess.AccessScope = aud, scopes
	if sess.JWTAccess, err = p.anyJWT(ctx, aud); err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	// The lifetime: the client's for access tokens, never past the
	// subject token's own expiry.
	exp := clock.Now().UTC().Add(fosite.GetEffectiveLifespan(client, fosite.GrantType(clients.GrantTokenExchange), fosite.AccessToken, p.fcfg.GetAccessTokenLifespan(ctx)))
	if se := subject.sess.GetExpiresAt(fosite.AccessToken); !se.IsZero() && se.Before(exp) {
		exp = se
	}
	sess.ExpiresAt = map[fosite.TokenType]time.Time{fosite.AccessToken: exp.Truncate(time.Second)}
	r.SetSession(sess)
	// The subject token's grant: revoking it revokes this token too.
	r.SetID(subject.req.GetID())
	r.SetRequestedScopes(fosite.Arguments(scopes))
	for _, s := range scopes {
		r.GrantScope(s)
	}
	r.SetRequestedAudience(aud)
	for _, a := range aud {
		r.GrantAudience(a)
	}
	return nil
}

// exchangeSession is the new token's session: the subject token's sign-in
// (auth_time, acr, amr, sid) and subject, with the claims the new scopes
// release read afresh for a user, who must still be active.
func (p *Provider) exchangeSession(ctx context.Context, client *Client, subject *presented, scopes []string) (*Session, error) {
	src := subject.sess
	sess := NewSession()
	if src.DefaultSession != nil {
		sess.DefaultSession, _ = src.DefaultSession.Clone().(*openid.DefaultSession)
	}
	sess.SID = src.SID
	sess.ClientID = client.GetID()
	sess.SubjectAs = p.shownSubject(*subject)
	if subject.machine() {
		return sess, nil
	}
	u, err := p.st.GetUser(ctx, src.GetSubject())
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, fosite.ErrInvalidRequest.WithHint("The user of the subject token is no longer active.")
	}
	if err != nil {
		return nil, fosite.ErrServerError.WithWrap(err)
	}
	g, err := p.loadGrant(ctx, u.ID, scopes, false)
	if err != nil {
		return nil, fosite.ErrServerError.WithWrap(err)
	}
	sess.setAccessClaims(userClaims(u, g, scopes))
	return sess, nil
}

func (h *exchangeHandler) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	access, sig, err := h.tokens.GenerateAccessToken(ctx, r)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if err := h.p.storage.CreateAccessTokenSession(ctx, sig, r.Sanitize(nil)); err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	resp.SetAccessToken(access)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(time.Until(r.GetSession().GetExpiresAt(fosite.AccessToken)).Round(time.Second))
	resp.SetScopes(r.GetGrantedScopes())
	resp.SetExtra("issued_token_type", TokenTypeAccessToken)
	return nil
}

// exchanged reports whether the stored request is an exchanged token.
func exchanged(r fosite.Requester) bool {
	s, ok := r.GetSession().(*Session)
	return ok && s.Act != nil
}

// auditExchange records an exchange, granted or refused, as an auth event
// (method and event "token_exchange"): the exchanging client, the user
// when the token stands for one, and for a refusal the OAuth error code.
// A failure to record is logged, not fatal.
func (p *Provider) auditExchange(c *gin.Context, ar fosite.AccessRequester, err error) {
	ctx := c.Request.Context()
	ev := &models.AuthEvent{
		ID: websession.RandomToken(16), At: clock.Now().UTC(),
		Method: models.MethodTokenExchange, Event: models.EventTokenExchange, Result: models.ResultSuccess,
		IP: c.ClientIP(), UserAgent: truncateUA(c.Request.UserAgent()),
	}
	if ar != nil && ar.GetClient() != nil {
		ev.ClientID = ar.GetClient().GetID()
	}
	if err != nil {
		ev.Result = models.ResultFailure
		ev.Reason = fosite.ErrorToRFC6749Error(err).ErrorField
	} else if s, ok := ar.GetSession().(*Session); ok {
		if s.Claims != nil && !s.Claims.AuthTime.IsZero() {
			ev.UserID = s.GetSubject()
		}
		ev.Reason = "aud " + strings.Join(s.AccessAud, " ") + "; act " + s.Act.Sub
		if len(ev.Reason) > 200 {
			ev.Reason = ev.Reason[:200]
		}
	}
	if rerr := p.st.RecordAuthEvent(ctx, ev); rerr != nil {
		p.log.WarnContext(ctx, "token exchange: record auth event", "err", rerr)
	}
}

// truncateUA bounds a User-Agent kept with an event.
func truncateUA(ua string) string {
	if len(ua) > 500 {
		return strings.ToValidUTF8(ua[:500], "")
	}
	return ua
}
