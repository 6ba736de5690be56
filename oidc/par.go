package oidc

// Pushed authorization requests (RFC 9126). A client posts its
// authorization request to /oauth2/par, authenticating as at the token
// endpoint (a public client names itself), and gets a request_uri
// (urn:ietf:params:oauth:request_uri:…, 256 random bits) that lives
// Config.PARTTL. The browser then carries only client_id and request_uri
// to /oauth2/authorize; every other front-channel parameter is dropped
// (§4), so nothing in the URL can change what was pushed. The pushed
// request is validated at the push exactly as the authorization endpoint
// would (fosite's PAR handler, then Sesame's own checks), stored in the
// store (oauth2_requests, kind par, under the SHA-256 of its
// request_uri) so any replica honours it, and spent by its first use: a
// conditional update, so of two racing uses one wins. A request_uri is
// refused when unknown, used, expired (plus the clock-skew leeway) or
// presented with another client_id — and that last refusal spends
// nothing, so nobody can burn another client's request. A client
// registered with require_pushed_authorization_requests (or every
// client, with the global switch) has a plain authorization request
// refused with invalid_request. A request parked for sign-in keeps the
// pushed parameters without the spent request_uri, so the resume
// re-validates it like any other. Resource indicators (RFC 8707) are
// checked at the push; dpop_jkt, or a DPoP proof sent with the push (RFC
// 9449 §10.1), binds the code to a DPoP key: the pushed request keeps the
// thumbprint as its dpop_jkt, which the authorization endpoint puts on the
// code, redeemable then only with a proof of that key.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/models"
)

// PathPAR is the pushed authorization request endpoint.
const PathPAR = "/oauth2/par"

// storedAuthorize is what a pushed request holds beyond a request: what
// fosite merges into the authorization request that uses it.
type storedAuthorize struct {
	RedirectURI   string   `json:"redirect_uri,omitempty"`
	ResponseTypes []string `json:"response_types,omitempty"`
	ResponseMode  string   `json:"response_mode,omitempty"`
	State         string   `json:"state,omitempty"`
}

// authorizeParts is the storedAuthorize of a pushed request (nil for
// every other kind).
func authorizeParts(kind string, r fosite.Requester) *storedAuthorize {
	ar, ok := r.(fosite.AuthorizeRequester)
	if kind != models.KindPAR || !ok {
		return nil
	}
	a := &storedAuthorize{ResponseTypes: ar.GetResponseTypes(), ResponseMode: string(ar.GetResponseMode()), State: ar.GetState()}
	if u := ar.GetRedirectURI(); u != nil {
		a.RedirectURI = u.String()
	}
	return a
}

var _ fosite.PARStorage = (*Storage)(nil)

// parSignature is the stored form of a request_uri.
func parSignature(requestURI string) string {
	sum := sha256.Sum256([]byte(requestURI))
	return hex.EncodeToString(sum[:])
}

// CreatePARSession implements fosite.PARStorage.
func (s *Storage) CreatePARSession(ctx context.Context, requestURI string, r fosite.AuthorizeRequester) error {
	return s.create(ctx, models.KindPAR, parSignature(requestURI), r, "")
}

// GetPARSession implements fosite.PARStorage: it returns the pushed
// request and spends it (one conditional update), unless it is unknown,
// spent, expired or presented by another client (the authorization
// request's client_id), which spends nothing. fosite answers every
// refusal with invalid_request_uri.
func (s *Storage) GetPARSession(ctx context.Context, requestURI string) (fosite.AuthorizeRequester, error) {
	sig := parSignature(requestURI)
	req, row, err := s.getRow(ctx, models.KindPAR, sig, NewSession())
	if err != nil {
		return nil, err
	}
	if hr, ok := ctx.Value(fosite.RequestContextKey).(*http.Request); !ok || hr.Form.Get("client_id") != row.ClientID {
		return nil, errors.New("the request_uri was pushed by another client")
	}
	if !row.Active {
		return nil, fmt.Errorf("request_uri: %w", models.ErrConsumed)
	}
	// Stamped by the pushing replica's clock: allow the skew leeway.
	if time.Now().After(row.ExpiresAt.Add(s.assertionLeeway)) {
		return nil, fmt.Errorf("request_uri: %w", models.ErrExpired)
	}
	if err := s.st.DeactivateOAuth2Request(ctx, models.KindPAR, sig); err != nil {
		return nil, fmt.Errorf("spend request_uri: %w", err)
	}
	var sr storedRequest
	if err := json.Unmarshal([]byte(row.Data), &sr); err != nil {
		return nil, fmt.Errorf("decode pushed request: %w", err)
	}
	ar := fosite.NewAuthorizeRequest()
	ar.Request = *req
	if a := sr.Authorize; a != nil {
		ar.ResponseTypes = fosite.Arguments(a.ResponseTypes)
		ar.State = a.State
		ar.ResponseMode = fosite.ResponseModeType(a.ResponseMode)
		if a.RedirectURI != "" {
			if ar.RedirectURI, err = url.Parse(a.RedirectURI); err != nil {
				return nil, fmt.Errorf("decode pushed redirect_uri: %w", err)
			}
		}
	}
	return ar, nil
}

// DeletePARSession implements fosite.PARStorage. GetPARSession has spent
// the request already; the row stays, inactive, until the janitor sweeps
// it after its expiry.
func (s *Storage) DeletePARSession(context.Context, string) error { return nil }

// parPrefix is the request_uri prefix of pushed requests (fosite's).
func (p *Provider) parPrefix(ctx context.Context) string {
	return p.fcfg.GetPushedAuthorizeRequestURIPrefix(ctx)
}

// parRequired reports whether client must push its requests (the live
// policy's switch, or the client's registration).
func (p *Provider) parRequired(ctx context.Context, client fosite.Client) bool {
	c, ok := client.(*Client)
	return (ok && c.m.RequirePushedAuthorizationRequests) || p.protocol(ctx).RequirePAR
}

// handlePAR is the pushed authorization request endpoint (RFC 9126 §2).
func (p *Provider) handlePAR(c *gin.Context) {
	ctx := withAuthAttempt(c.Request.Context(), c.ClientIP())
	form, err := p.tokenForm(c)
	p.corsForClient(c, false)
	if err != nil {
		p.parError(c, nil, err)
		return
	}
	// The request is the body (§2.1); fosite would read the query too.
	if c.Request.URL.RawQuery != "" {
		p.parError(c, nil, fosite.ErrInvalidRequest.WithHint("Send the parameters in the request body, not the URL."))
		return
	}
	if err := checkParams(form); err != nil {
		p.parError(c, nil, err)
		return
	}
	if form.Has("request") {
		p.parError(c, nil, fosite.ErrRequestNotSupported)
		return
	}
	if !form.Has("state") {
		// As at the authorization endpoint: fosite insists on a state.
		c.Request.Form.Set("state", stateAbsent)
	}
	// A DPoP proof at the push binds the code to its key (RFC 9449 §10.1),
	// as dpop_jkt does; it is checked before anything is stored.
	proof, err := p.parDPoP(c, form)
	if err != nil {
		p.parError(c, nil, err)
		return
	}
	ar, err := p.fosite.NewPushedAuthorizeRequest(ctx, c.Request)
	if err == nil {
		err = checkRedirectURI(ar)
	}
	if err == nil {
		err = checkAuthorizeRequest(ar)
	}
	if err == nil {
		// Resource indicators (RFC 8707) are refused at the push, where
		// the client reads the error, rather than at the redirect.
		var rs []models.Resource
		if rs, err = p.requestedResources(ctx, form); err == nil {
			err = checkResourceScopes(rs, ar.GetRequestedScopes())
		}
	}
	if err == nil && proof != nil {
		if err = p.spendDPoP(ctx, proof); err != nil {
			err = p.dpopError(c, err).rfc()
		}
	}
	if err != nil {
		p.parError(c, ar, err)
		return
	}
	resp, err := p.fosite.NewPushedAuthorizeResponse(ctx, ar, NewSession())
	if err != nil {
		p.parError(c, ar, err)
		return
	}
	p.fosite.WritePushedAuthorizeResponse(ctx, c.Writer, ar, resp)
}

// parDPoP checks the dpop_jkt parameter and the DPoP proof of a push
// (RFC 9449 §10): dpop_jkt must be a thumbprint, and when a proof comes
// too it must be signed by that key (invalid_dpop_proof otherwise). A
// proof alone binds the request to its key: its thumbprint becomes the
// pushed request's dpop_jkt, which the authorization endpoint puts on the
// code. The proof is returned to be spent once the push is acceptable.
func (p *Provider) parDPoP(c *gin.Context, form url.Values) (*dpopProof, error) {
	jkt := form.Get("dpop_jkt")
	dpopOn := p.dpopOn(c.Request.Context())
	if form.Has("dpop_jkt") && (!dpopOn || !validJKT(jkt)) {
		return nil, fosite.ErrInvalidRequest.WithHint("Parameter 'dpop_jkt' must be the base64url SHA-256 thumbprint of a JWK (and DPoP must be on).")
	}
	if !dpopOn {
		return nil, nil
	}
	if p.cfg.DPoPNonce {
		c.Header("DPoP-Nonce", p.DPoPNonce())
	}
	proof, err := p.dpopProofOf(c.Request, PathPAR, "")
	switch {
	case err != nil:
		return nil, p.dpopError(c, err).rfc()
	case proof == nil:
		return nil, nil
	case jkt != "" && jkt != proof.JKT:
		return nil, dpopInvalid("The dpop_jkt parameter is not the thumbprint of the proof's key.").rfc()
	}
	c.Request.Form.Set("dpop_jkt", proof.JKT)
	return proof, nil
}

// parError answers the PAR endpoint with an RFC 6749 §5.2 error (§2.3).
func (p *Provider) parError(c *gin.Context, ar fosite.AuthorizeRequester, err error) {
	err = p.tokenErrorMeaning(c, err)
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		p.log.ErrorContext(c.Request.Context(), "par", "err", err, "debug", rfc.DebugField)
	}
	if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
		c.Header("WWW-Authenticate", `Basic realm="sesame", error="invalid_client"`)
	}
	p.fosite.WritePushedAuthorizeError(c.Request.Context(), c.Writer, ar, err)
	c.Abort()
}

// pushedOnly keeps of an authorization request's front-channel
// parameters only client_id and request_uri (RFC 9126 §4: the pushed
// ones are the request).
func pushedOnly(form url.Values) url.Values {
	return url.Values{"client_id": form["client_id"], "request_uri": form["request_uri"]}
}

// isPushed reports whether an authorization request names a pushed one.
func (p *Provider) isPushed(ctx context.Context, form url.Values) bool {
	// While PAR is off a request_uri is request_uri_not_supported, as
	// discovery then says (request_uri_parameter_supported false).
	return strings.HasPrefix(form.Get("request_uri"), p.parPrefix(ctx)) && p.parOn(ctx)
}
