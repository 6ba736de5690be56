package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ory/fosite"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/websession"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/templates"
)

// The device pages (RFC 8628 §3.3): /device takes the user code, parks it
// as an interaction and hands the browser to the resume URL, which signs
// the person in through the hosted pages when needed (deviceResume) and
// then shows /device/confirm: which app, on which device, asks; Allow or
// Deny decides the device code. The client's rules apply as in the code
// flow: its allowed login methods and minimum acr (the interaction's
// acr_values), its allowed groups, and the verified-email rule (held by
// the hosted sign-in, which knows the interaction's client).

var errDeviceGone = &pageError{status: http.StatusBadRequest, key: "errors.device_gone"}

// deviceInteraction is the device authorization an interaction approves,
// or "" for an authorization request.
func deviceInteraction(in *models.Interaction) string {
	q, err := url.ParseQuery(in.Query)
	if err != nil {
		return ""
	}
	return q.Get(deviceQueryKey)
}

func (p *Provider) mountDevicePages(r gin.IRouter) {
	r.GET(PathDevice, p.deviceGate, p.handleDevicePage)
	r.POST(PathDevice, p.deviceGate, p.handleDevicePost)
	r.GET(PathDeviceConfirm, p.deviceGate, p.handleDeviceConfirm)
	r.POST(PathDeviceConfirm, p.deviceGate, p.handleDeviceConfirmPost)
}

func (p *Provider) renderDevice(c *gin.Context, status int, v templates.DeviceView) {
	c.Header("Cache-Control", "no-store")
	v.CSRF = p.sessions.CSRFToken(c.Writer, c.Request)
	if err := p.pages.Device(c.Writer, status, templates.Page{Lang: p.lang(c, nil, nil), Path: c.Request.URL.Path, Title: p.t(c, "device.title")}, v); err != nil {
		p.log.ErrorContext(c.Request.Context(), "render device page", "err", err)
	}
}

// handleDevicePage shows the code form, filled in when the person came
// through verification_uri_complete (a QR code): GET never looks the code
// up, so a prefetch decides nothing and counts nothing.
func (p *Provider) handleDevicePage(c *gin.Context) {
	var v templates.DeviceView
	if code, ok := normalizeUserCode(c.Query("user_code")); ok {
		v.Code, v.Prefilled = formatUserCode(code), true
	}
	p.renderDevice(c, http.StatusOK, v)
}

// handleDevicePost looks the typed code up. Wrong codes count against the
// client IP (userCodeFailuresPerIP per userCodeFailureWindow, across
// replicas); over the limit nothing is looked up.
func (p *Provider) handleDevicePost(c *gin.Context) {
	ctx := c.Request.Context()
	if !p.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		p.pageFail(c, errBadForm)
		return
	}
	typed := c.PostForm("user_code")
	if len(typed) > 32 {
		typed = typed[:32]
	}
	v := templates.DeviceView{Code: typed}
	key := "device-user-code:ip:" + c.ClientIP()
	if p.failures != nil {
		left, err := p.failures.Peek(ctx, key, userCodeFailuresPerIP, userCodeFailureWindow)
		if err != nil {
			// Fail closed, as Sesame's other limits do.
			p.pageFail(c, err)
			return
		}
		if left == 0 {
			v.Error = p.t(c, "device.too_many")
			p.renderDevice(c, http.StatusTooManyRequests, v)
			return
		}
	}
	code, ok := normalizeUserCode(typed)
	if !ok {
		v.Error = p.t(c, "device.code_shape")
		p.renderDevice(c, http.StatusBadRequest, v)
		return
	}
	d, err := p.st.GetDeviceCodeByUserCode(ctx, p.deviceHash("user", code))
	switch {
	case errors.Is(err, models.ErrNotFound):
		if p.failures != nil {
			if _, _, err := p.failures.Allow(ctx, key, userCodeFailuresPerIP, userCodeFailureWindow); err != nil {
				p.log.WarnContext(ctx, "count wrong user code", "err", err)
			}
		}
		v.Error = p.t(c, "device.code_wrong")
		p.renderDevice(c, http.StatusBadRequest, v)
		return
	case err != nil:
		p.pageFail(c, err)
		return
	case d.Status != models.DevicePending || !d.ExpiresAt.After(clock.Now()):
		v.Error = p.t(c, "device.code_gone")
		p.renderDevice(c, http.StatusBadRequest, v)
		return
	}
	client, err := p.deviceClient(ctx, d.ClientID)
	if err != nil {
		p.pageFail(c, err)
		return
	}
	now := clock.Now().UTC().Truncate(time.Microsecond)
	in := &models.Interaction{
		ID:          websession.RandomToken(24),
		BrowserHash: p.sessions.Browser(c.Writer, c.Request),
		ClientID:    d.ClientID,
		Query:       url.Values{deviceQueryKey: {d.ID}}.Encode(),
		Scopes:      d.Scopes,
		// The client's minimum acr, so the hosted sign-in offers only the
		// methods that reach it.
		ACRValues: strings.Join(client.acrValues(nil), " "),
		// Where the hosted pages' form posts end: here, not at an app.
		RedirectURI: p.cfg.Issuer + PathDevice,
		CreatedAt:   now,
		ExpiresAt:   now.Add(p.cfg.InteractionTTL),
	}
	if err := p.st.CreateInteraction(ctx, in); err != nil {
		p.pageFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, ResumeURL(in.ID))
}

// deviceClient loads the client of a device authorization (a disabled or
// deleted one ends it).
func (p *Provider) deviceClient(ctx context.Context, id string) (*Client, error) {
	fc, err := p.GetClient(ctx, id)
	if errors.Is(err, models.ErrUnavailable) {
		return nil, err
	}
	client, ok := fc.(*Client)
	if err != nil || !ok {
		return nil, errDeviceGone
	}
	return client, nil
}

// pendingDevice loads a device authorization that still waits for a
// decision.
func (p *Provider) pendingDevice(ctx context.Context, id string) (*models.DeviceCode, error) {
	d, err := p.st.GetDeviceCode(ctx, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, errDeviceGone
	case err != nil:
		return nil, err
	case d.Status != models.DevicePending || !d.ExpiresAt.After(clock.Now()):
		return nil, errDeviceGone
	}
	return d, nil
}

// deviceStep is what the resume and both confirmation requests check:
// the device authorization is pending, its client usable, the browser
// signed in as required (acr) by an active user allowed to use the client.
// When it cannot go on it has answered: an error page, the sign-in (a nil
// user without an answer means: send to sign in), or the no-access page.
type deviceStep struct {
	in     *models.Interaction
	d      *models.DeviceCode
	client *Client
	user   *models.User
	ls     *models.LoginSession
	g      grant
}

func (p *Provider) loadDeviceStep(c *gin.Context, in *models.Interaction, deviceID string) (*deviceStep, bool) {
	ctx := c.Request.Context()
	st := &deviceStep{in: in}
	var err error
	if st.d, err = p.pendingDevice(ctx, deviceID); err != nil {
		p.pageFail(c, err)
		return nil, false
	}
	if st.client, err = p.deviceClient(ctx, st.d.ClientID); err != nil {
		p.pageFail(c, err)
		return nil, false
	}
	ls, u, err := p.sessions.CurrentWithUser(c.Request)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		p.pageFail(c, err)
		return nil, false
	}
	if ls != nil && models.ACRSatisfies(ls.ACR, strings.Fields(in.ACRValues)) && !u.Disabled {
		st.user, st.ls = u, ls
	}
	if st.user == nil {
		c.Header("Cache-Control", "no-store")
		c.Redirect(http.StatusSeeOther, PathLogin+"?interaction="+url.QueryEscape(in.ID))
		return nil, false
	}
	g, allowed, err := p.grantGroups(ctx, st.client, st.user.ID, fosite.Arguments(st.d.Scopes))
	if err != nil {
		p.pageFail(c, err)
		return nil, false
	}
	if !allowed {
		p.log.InfoContext(ctx, "device: user not in an allowed group", "client_id", st.client.GetID(), "user_id", st.user.ID)
		// The interaction stays open: another account may sign in for it.
		p.noAccessPage(c, st.client, st.user, PathLogin+"?interaction="+url.QueryEscape(in.ID))
		return nil, false
	}
	st.g = g
	return st, true
}

// deviceResume continues a device approval after the hosted sign-in (or
// at once, signed in already): on to the confirmation page.
func (p *Provider) deviceResume(c *gin.Context, in *models.Interaction, deviceID string) {
	if _, ok := p.loadDeviceStep(c, in, deviceID); !ok {
		return
	}
	c.Redirect(http.StatusSeeOther, PathDeviceConfirm+"?interaction="+url.QueryEscape(in.ID))
}

// confirmStep loads the step of a confirmation request.
func (p *Provider) confirmStep(c *gin.Context, interactionID string) (*deviceStep, bool) {
	in, _, err := p.pageInteraction(c, interactionID)
	if err != nil {
		p.pageFail(c, err)
		return nil, false
	}
	deviceID := deviceInteraction(in)
	if deviceID == "" {
		p.pageFail(c, errInteractionGone)
		return nil, false
	}
	return p.loadDeviceStep(c, in, deviceID)
}

func (p *Provider) devicePage(c *gin.Context, title string, client *Client) templates.Page {
	return templates.Page{Lang: p.lang(c, nil, nil), Title: title, AppName: client.m.Name, AppLogo: client.m.LogoURI, AppPrimary: client.m.PrimaryColor, AppAccent: client.m.AccentColor}
}

func (p *Provider) handleDeviceConfirm(c *gin.Context) {
	st, ok := p.confirmStep(c, c.Query("interaction"))
	if !ok {
		return
	}
	scopes, err := p.scopeViews(c.Request.Context(), p.lang(c, nil, nil), st.d.Scopes)
	if err != nil {
		p.pageFail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	err = p.pages.DeviceConfirm(c.Writer, http.StatusOK, p.devicePage(c, p.t(c, "device.confirm_title", "app", st.client.m.Name), st.client), templates.DeviceConfirmView{
		Interaction: st.in.ID,
		CSRF:        p.sessions.CSRFToken(c.Writer, c.Request),
		UserEmail:   st.user.Email,
		Device:      p.pages.DeviceName(p.lang(c, nil, nil), st.d.UserAgent),
		Requested:   p.pages.Ago(p.lang(c, nil, nil), st.d.CreatedAt, clock.Now()),
		IP:          st.d.IP,
		Scopes:      scopes,
		Resources:   p.audienceViews(c.Request.Context(), st.d.Resources),
	})
	if err != nil {
		p.pageFail(c, err)
	}
}

// handleDeviceConfirmPost decides the device authorization. Allow stores
// the grant the tokens will carry, remembers the consent (so the account
// page lists the app and can withdraw it) and ends the interaction, in
// one transaction.
func (p *Provider) handleDeviceConfirmPost(c *gin.Context) {
	ctx := c.Request.Context()
	if !p.sessions.CheckCSRF(c.Request, c.PostForm("csrf")) {
		p.pageFail(c, errBadForm)
		return
	}
	st, ok := p.confirmStep(c, c.PostForm("interaction"))
	if !ok {
		return
	}
	approve := c.PostForm("decision") == "allow"
	status, grantJSON := models.DeviceDenied, ""
	if approve {
		sess := p.newUserSession(st.user, st.g, st.ls, st.client, fosite.Arguments(st.d.Scopes), st.d.CreatedAt)
		// The device's grant is not this browser's session: signing out
		// here (which revokes the session's tokens) leaves the device on.
		sess.SID = ""
		delete(sess.Claims.Extra, "sid")
		raw, err := json.Marshal(sess)
		if err == nil {
			raw, err = json.Marshal(deviceGrant{Scopes: st.d.Scopes, Session: raw})
		}
		if err != nil {
			p.pageFail(c, err)
			return
		}
		status, grantJSON = models.DeviceApproved, string(raw)
	}
	err := p.decideDevice(ctx, st, status, grantJSON)
	switch {
	case errors.Is(err, models.ErrConsumed), errors.Is(err, models.ErrExpired), errors.Is(err, models.ErrNotFound):
		p.pageFail(c, errDeviceGone)
		return
	case err != nil:
		p.pageFail(c, err)
		return
	}
	title := p.t(c, "device.done_title")
	if !approve {
		title = p.t(c, "device.denied_title")
	}
	c.Header("Cache-Control", "no-store")
	if err := p.pages.DeviceDone(c.Writer, http.StatusOK, p.devicePage(c, title, st.client), templates.DeviceDoneView{Approved: approve}); err != nil {
		p.pageFail(c, err)
	}
}

// decideDevice records the decision, the consent (on approval) and the
// end of the interaction: all or nothing.
func (p *Provider) decideDevice(ctx context.Context, st *deviceStep, status, grantJSON string) (err error) {
	txCtx, err := p.storage.BeginTX(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if rerr := p.storage.Rollback(txCtx); rerr != nil {
				p.log.ErrorContext(ctx, "device decision: rollback", "err", rerr)
			}
		}
	}()
	if err = p.st.DecideDeviceCode(txCtx, st.d.ID, status, st.user.ID, grantJSON, clock.Now()); err != nil {
		return err
	}
	if status == models.DeviceApproved {
		scopes := slices.DeleteFunc(slices.Clone(st.d.Scopes), func(s string) bool { return !st.client.m.Scopes.Has(s) })
		prev, err := p.st.GetConsent(txCtx, st.user.ID, st.client.GetID())
		switch {
		case err == nil:
			for _, s := range prev.Scopes {
				if !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
		case !errors.Is(err, models.ErrNotFound):
			return err
		}
		if err = p.st.SaveConsent(txCtx, &models.Consent{UserID: st.user.ID, ClientID: st.client.GetID(), Scopes: scopes}); err != nil {
			return err
		}
	}
	if err = p.st.ConsumeInteraction(txCtx, st.in.ID); err != nil {
		return err
	}
	return p.storage.Commit(txCtx)
}
