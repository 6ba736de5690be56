package oidc

// The device authorization grant (RFC 8628). A device that cannot show a
// browser (a TV, a CLI, a kiosk) posts to /oauth2/device/authorize and
// gets a device code, which it keeps, and a user code, which it shows
// with the verification URI (/device, or a QR code of
// verification_uri_complete). It then polls the token endpoint with the
// device code. On another screen the person types the user code on
// /device (device_pages.go); the provider parks it as an interaction
// whose query names the device authorization, and the usual hand-off
// (the hosted sign-in, then the resume URL) signs the person in with the
// methods the client allows. The resume sends the browser to the
// confirmation page, which names the app and the asking device; Allow
// stores the grant (the session the tokens carry) on the device code,
// Deny marks it denied. The next poll gets the tokens, or access_denied.
//
// Invariants: both codes are stored as keyed hashes only (a copy of the
// database redeems nothing); a user code is 8 characters from an
// alphabet without vowels or look-alikes, lives DeviceCodeTTL, is
// decided once and redeemed once (conditional updates); wrong user codes
// are counted per client IP in the database rate limiter, so guessing is
// throttled on every replica; the poll pace is kept on the device code's
// row by one clock, so slow_down holds whichever replica a poll reaches.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// Device grant endpoints and pages.
const (
	PathDeviceAuthorize = "/oauth2/device/authorize"
	PathDevice          = "/device"
	PathDeviceConfirm   = "/device/confirm"
)

const (
	// userCodeAlphabet has no vowels (no words spelled by chance) and no
	// characters people confuse (0/O, 1/I/L, 5/S are absent or single):
	// RFC 8628 §6.1's suggestion. 20^8 ≈ 2.6·10^10 codes.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen      = 8
	// deviceQueryKey marks an interaction as a device approval: its query
	// names the device authorization (only this package reads it).
	deviceQueryKey = "sesame_device"
	// Wrong user codes per client IP and window (documented in SECURITY.md).
	userCodeFailuresPerIP  = 10
	userCodeFailureWindow  = 15 * time.Minute
	slowDownStep           = 5 // seconds, RFC 8628 §3.5
	maxDeviceUserAgentSize = 512
)

// pollSlack is how much sooner than the interval a poll may come without
// slow_down: a client's timer fires every interval after its previous
// request was sent, which may reach the server later than the next one.
func pollSlack(interval time.Duration) time.Duration { return interval / 5 }

// The errors of RFC 8628 §3.5 that fosite v0.49 does not define.
var (
	errAuthorizationPending = &fosite.RFC6749Error{ErrorField: "authorization_pending", CodeField: http.StatusBadRequest,
		DescriptionField: "The user has not yet approved or denied the request. Poll again after the interval."}
	errSlowDown = &fosite.RFC6749Error{ErrorField: "slow_down", CodeField: http.StatusBadRequest,
		DescriptionField: "The device polled too fast. Add 5 seconds to the interval for this and every later request."}
	errExpiredToken = &fosite.RFC6749Error{ErrorField: "expired_token", CodeField: http.StatusBadRequest,
		DescriptionField: "The device code has expired. Start a new device authorization."}
	errDeviceDenied = &fosite.RFC6749Error{ErrorField: "access_denied", CodeField: http.StatusBadRequest,
		DescriptionField: "The user denied the request."}
)

// deviceHash is the stored form of a device or user code: HMAC-SHA-256
// under the token key, separated by kind.
func (p *Provider) deviceHash(kind, code string) string {
	m := hmac.New(sha256.New, p.cfg.HMACKey)
	m.Write([]byte("sesame device v1\x00" + kind + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// newUserCode draws a user code (without the dash) uniformly from the
// alphabet.
func newUserCode() string {
	var out [userCodeLen]byte
	var b [1]byte
	for i := 0; i < userCodeLen; {
		_, _ = rand.Read(b[:])
		// 240 is the largest multiple of 20 below 256: no bias.
		if b[0] < 240 {
			out[i] = userCodeAlphabet[b[0]%byte(len(userCodeAlphabet))]
			i++
		}
	}
	return string(out[:])
}

// formatUserCode shows a code as XXXX-XXXX.
func formatUserCode(code string) string { return code[:4] + "-" + code[4:] }

// normalizeUserCode turns what a person typed into a code: case, spaces
// and dashes do not matter. ok is false when it cannot be a code.
func normalizeUserCode(typed string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
		if b.Len() > userCodeLen {
			return "", false
		}
	}
	return b.String(), b.Len() == userCodeLen
}

// deviceAuthorization is the answer of RFC 8628 §3.2.
type deviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// handleDeviceAuthorize is the device authorization endpoint (RFC 8628
// §3.1): the client authenticates as at the token endpoint (a public
// client names itself), and must be registered for the device grant.
func (p *Provider) handleDeviceAuthorize(c *gin.Context) {
	ctx := withAuthAttempt(c.Request.Context(), c.ClientIP())
	form, err := p.tokenForm(c)
	if err != nil {
		p.protocolError(c, nil, err)
		return
	}
	client, err := p.fcfg.ClientAuthenticationStrategy(ctx, c.Request, form)
	if err != nil {
		p.protocolError(c, nil, err)
		return
	}
	if !client.GetGrantTypes().Has(clients.GrantDeviceCode) {
		p.protocolError(c, nil, fosite.ErrUnauthorizedClient.WithHint("The client is not registered for the device authorization grant."))
		return
	}
	scopes := fosite.RemoveEmpty(strings.Split(form.Get("scope"), " "))
	for _, s := range scopes {
		if !p.fcfg.ScopeStrategy(client.GetScopes(), s) {
			p.protocolError(c, nil, fosite.ErrInvalidScope.WithHintf("The client may not request the scope '%s'.", s))
			return
		}
	}
	// Resource indicators (RFC 8707 §2) as at the authorization endpoint:
	// registered resources only, and scopes they allow; the tokens of the
	// poll are for them (their aud, and a JWT when one asks for it).
	resources, err := p.requestedResources(ctx, form)
	if err == nil {
		err = checkResourceScopes(resources, scopes)
	}
	if err != nil {
		p.protocolError(c, nil, err)
		return
	}
	deviceCode := websession.RandomToken(32)
	now := clock.Now().UTC().Truncate(time.Microsecond)
	ua := c.Request.UserAgent()
	if len(ua) > maxDeviceUserAgentSize {
		ua = ua[:maxDeviceUserAgentSize]
	}
	d := &models.DeviceCode{
		ID:             websession.RandomToken(24),
		DeviceCodeHash: p.deviceHash("device", deviceCode),
		ClientID:       client.GetID(),
		Scopes:         models.StringList(scopes),
		Resources:      models.StringList(resourceAudiences(resources)),
		Status:         models.DevicePending,
		PollInterval:   int(p.cfg.DevicePollInterval / time.Second),
		UserAgent:      ua,
		IP:             c.ClientIP(),
		CreatedAt:      now,
		ExpiresAt:      now.Add(p.cfg.DeviceCodeTTL),
	}
	// A user code already live is drawn again (rare: ~10^10 codes).
	var userCode string
	for range 5 {
		userCode = newUserCode()
		d.UserCodeHash = p.deviceHash("user", userCode)
		if err = p.st.CreateDeviceCode(ctx, d); !errors.Is(err, models.ErrAlreadyExists) {
			break
		}
	}
	if err != nil {
		p.protocolError(c, nil, fosite.ErrServerError.WithWrap(err))
		return
	}
	verify := p.cfg.Issuer + PathDevice
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, deviceAuthorization{
		DeviceCode:              deviceCode,
		UserCode:                formatUserCode(userCode),
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + formatUserCode(userCode),
		ExpiresIn:               int(p.cfg.DeviceCodeTTL / time.Second),
		Interval:                d.PollInterval,
	})
}

// DeviceStore is the store's device authorization part (models/store).
type DeviceStore interface {
	CreateDeviceCode(ctx context.Context, d *models.DeviceCode) error
	GetDeviceCode(ctx context.Context, id string) (*models.DeviceCode, error)
	GetDeviceCodeByUserCode(ctx context.Context, hash string) (*models.DeviceCode, error)
	PollDeviceCode(ctx context.Context, hash string, slack time.Duration, now time.Time) (*models.DeviceCode, bool, error)
	DecideDeviceCode(ctx context.Context, id, status, subject, grant string, now time.Time) error
	ConsumeDeviceCode(ctx context.Context, id string) error
}

// deviceGrantFactory is a compose.Factory for the device grant's token
// endpoint handler.
func (p *Provider) deviceGrantFactory(_ fosite.Configurator, _ any, strategy any) any {
	s := strategy.(*compose.CommonStrategy)
	return &deviceGrantHandler{p: p, tokens: s.CoreStrategy, idTokens: &openid.IDTokenHandleHelper{IDTokenStrategy: s.OpenIDConnectTokenStrategy}}
}

// deviceGrant is what an approval stores on the device code: the scopes
// granted and the session the tokens are issued with.
type deviceGrant struct {
	Scopes  []string        `json:"scopes"`
	Session json.RawMessage `json:"session"`
}

// deviceGrantHandler serves grant_type
// urn:ietf:params:oauth:grant-type:device_code at the token endpoint
// (RFC 8628 §3.4, §3.5) as a fosite handler: fosite authenticates the
// client; HandleTokenEndpointRequest answers the poll, and for an
// approved code loads the grant; PopulateTokenEndpointResponse redeems
// the code once and issues the tokens as the code flow does (opaque
// access token, a refresh token with offline_access, an ID token with
// openid).
type deviceGrantHandler struct {
	p        *Provider
	tokens   oauth2.CoreStrategy
	idTokens *openid.IDTokenHandleHelper
}

var _ fosite.TokenEndpointHandler = (*deviceGrantHandler)(nil)

func (h *deviceGrantHandler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

func (h *deviceGrantHandler) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(clients.GrantDeviceCode)
}

func (h *deviceGrantHandler) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	client := r.GetClient()
	if !client.GetGrantTypes().Has(clients.GrantDeviceCode) {
		return fosite.ErrUnauthorizedClient.WithHint("The client is not registered for the device authorization grant.")
	}
	code := r.GetRequestForm().Get("device_code")
	if code == "" {
		return fosite.ErrInvalidRequest.WithHint("The device_code parameter is missing.")
	}
	p := h.p
	d, slow, err := p.st.PollDeviceCode(ctx, p.deviceHash("device", code), pollSlack(p.cfg.DevicePollInterval), clock.Now())
	switch {
	case errors.Is(err, models.ErrNotFound):
		return fosite.ErrInvalidGrant.WithHint("The device code is not known.")
	case err != nil:
		return fosite.ErrServerError.WithWrap(err)
	case d.ClientID != client.GetID():
		return fosite.ErrInvalidGrant.WithHint("The device code was issued to another client.")
	case d.Status == models.DeviceConsumed:
		return fosite.ErrInvalidGrant.WithHint("The device code was already used.")
	case d.Status == models.DeviceDenied:
		return errDeviceDenied
	case !d.ExpiresAt.After(clock.Now()):
		return errExpiredToken
	case d.Status == models.DevicePending && slow:
		return errSlowDown
	case d.Status == models.DevicePending:
		return errAuthorizationPending
	}
	var g deviceGrant
	if err := json.Unmarshal([]byte(d.Grant), &g); err != nil {
		return fosite.ErrServerError.WithWrap(fmt.Errorf("decode device grant: %w", err))
	}
	sess := NewSession()
	if err := json.Unmarshal(g.Session, sess); err != nil {
		return fosite.ErrServerError.WithWrap(fmt.Errorf("decode device session: %w", err))
	}
	// The person who approved may have been disabled since.
	u, err := p.st.GetUser(ctx, d.Subject)
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
		return fosite.ErrInvalidGrant.WithHint("The user who approved this device is no longer active.")
	}
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	r.SetSession(sess)
	r.SetID(d.ID)
	r.SetRequestedScopes(fosite.Arguments(d.Scopes))
	for _, s := range g.Scopes {
		r.GrantScope(s)
	}
	// The resources of the device authorization are the grant's audience,
	// as a code's are (applyResources then picks the token format, and a
	// resource parameter of the poll may narrow it).
	r.SetRequestedAudience(fosite.Arguments(d.Resources))
	for _, a := range d.Resources {
		r.GrantAudience(a)
	}
	gt := fosite.GrantType(clients.GrantDeviceCode)
	now := time.Now().UTC()
	at := fosite.GetEffectiveLifespan(client, gt, fosite.AccessToken, p.fcfg.GetAccessTokenLifespan(ctx))
	sess.SetExpiresAt(fosite.AccessToken, now.Add(at).Round(time.Second))
	if rt := fosite.GetEffectiveLifespan(client, gt, fosite.RefreshToken, p.fcfg.GetRefreshTokenLifespan(ctx)); rt > -1 {
		sess.SetExpiresAt(fosite.RefreshToken, now.Add(rt).Round(time.Second))
	}
	return nil
}

func (h *deviceGrantHandler) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) (err error) {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	p := h.p
	client := r.GetClient()
	access, accessSig, err := h.tokens.GenerateAccessToken(ctx, r)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	var refresh, refreshSig string
	if r.GetGrantedScopes().HasOneOf(p.fcfg.GetRefreshTokenScopes(ctx)...) && client.GetGrantTypes().Has("refresh_token") {
		if refresh, refreshSig, err = h.tokens.GenerateRefreshToken(ctx, r); err != nil {
			return fosite.ErrServerError.WithWrap(err)
		}
	}
	resp.SetAccessToken(access)
	resp.SetTokenType("bearer")
	resp.SetExpiresIn(time.Until(r.GetSession().GetExpiresAt(fosite.AccessToken)).Round(time.Second))
	resp.SetScopes(r.GetGrantedScopes())
	if refresh != "" {
		resp.SetExtra("refresh_token", refresh)
	}
	// The ID token is signed before the transaction opens: nothing waits
	// on the signer while a connection is held.
	if r.GetGrantedScopes().Has("openid") {
		sess, ok := r.GetSession().(*Session)
		if !ok {
			return fosite.ErrServerError.WithDebug("unexpected session type")
		}
		sess.IDTokenClaims().AccessTokenHash = h.idTokens.GetAccessTokenHash(ctx, r, resp)
		lifespan := fosite.GetEffectiveLifespan(client, fosite.GrantType(clients.GrantDeviceCode), fosite.IDToken, p.fcfg.GetIDTokenLifespan(ctx))
		if err := h.idTokens.IssueExplicitIDToken(ctx, lifespan, r, resp); err != nil {
			return err
		}
	}
	// Redeem the code and store the tokens: all or nothing.
	txCtx, err := p.storage.BeginTX(ctx)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	defer func() {
		if err != nil {
			if rerr := p.storage.Rollback(txCtx); rerr != nil {
				p.log.ErrorContext(ctx, "device grant: rollback", "err", rerr)
			}
		}
	}()
	if err = p.st.ConsumeDeviceCode(txCtx, r.GetID()); errors.Is(err, models.ErrConsumed) {
		return fosite.ErrInvalidGrant.WithHint("The device code was already used.")
	} else if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if err = p.storage.CreateAccessTokenSession(txCtx, accessSig, r.Sanitize(nil)); err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if refreshSig != "" {
		if err = p.storage.CreateRefreshTokenSession(txCtx, refreshSig, accessSig, r.Sanitize(nil)); err != nil {
			return fosite.ErrServerError.WithWrap(err)
		}
	}
	if err = p.storage.Commit(txCtx); err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	return nil
}
