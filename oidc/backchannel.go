package oidc

// OpenID Connect Back-Channel Logout 1.0. When a login session ends — by
// whatever path: the browser's sign-out, RP-initiated logout, an admin
// revoking sessions, a disabled user, a password change or reset — the
// store queues, in the transaction that ends it, one notice per client with
// a backchannel_logout_uri that the session signed in to (an authorization
// code was issued for it: authorize records the pair). BackchannelLogout
// delivers them on the outbox pump (internal/outbox: leased across
// replicas, retried with back-off, at least once): it signs a logout token
// and POSTs it through the guarded outbound client (internal/httpx: no
// internal address unless outbound_allow_cidrs allows it, no redirect,
// bounded time and size).
//
// The token (§2.4): typ logout+jwt, signed like the client's ID tokens
// (its id_token_signed_response_alg), with iss, aud (the client), iat, a
// short exp, jti (the notice's id, the same on every attempt, so a client
// can drop a repeat), events with the back-channel logout event, sub and
// sid (always both, so backchannel_logout_session_required always holds),
// and never a nonce.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/internal/httpx"
	"github.com/sesame-idp/sesame/internal/outbox"
	"github.com/sesame-idp/sesame/models"
)

// BackchannelLogoutEvent is the member of a logout token's events claim
// (Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenTTL is a logout token's lifetime: it is made for one POST.
const LogoutTokenTTL = 2 * time.Minute

// LogoutStore is the logout outbox of models/store.
type LogoutStore interface {
	DueLogoutNotices(ctx context.Context, now time.Time, limit int) ([]models.LogoutNotice, error)
	ClaimLogoutNotice(ctx context.Context, id string, now, lease time.Time) error
	MarkLogoutNoticeSent(ctx context.Context, id string, lease, at time.Time) error
	RetryLogoutNotice(ctx context.Context, id string, lease, next time.Time, lastErr string, failed bool) error
}

// BackchannelLogout delivers the logout outbox's notices.
type BackchannelLogout struct {
	p    *Provider
	hc   *http.Client
	pump *outbox.Pump[models.LogoutNotice]
}

// errPermanent marks a delivery that no retry can mend (the client is gone
// or answered that it refuses the token).
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

// NewBackchannelLogout returns a deliverer of st's logout notices (New
// makes the provider's own; tests make more with other options). hc should
// be the guarded outbound client (nil: httpx.OutboundClient with no
// internal network allowed). opts tune the pump; its Name and Permanent
// are set here.
func (p *Provider) NewBackchannelLogout(st LogoutStore, hc *http.Client, opts outbox.Options) *BackchannelLogout {
	if hc == nil {
		hc = httpx.OutboundClient(httpx.OutboundOptions{})
	}
	if opts.Logger == nil {
		opts.Logger = p.log
	}
	opts.Name = "logout"
	opts.Permanent = func(err error) bool {
		var pe errPermanent
		return errors.As(err, &pe) || errors.Is(err, httpx.ErrOutboundAddress) || errors.Is(err, httpx.ErrOutboundRedirect)
	}
	b := &BackchannelLogout{p: p, hc: hc}
	b.pump = outbox.New(outbox.Table[models.LogoutNotice]{
		Due: st.DueLogoutNotices, Claim: st.ClaimLogoutNotice, MarkSent: st.MarkLogoutNoticeSent, Retry: st.RetryLogoutNotice,
		Key: func(n models.LogoutNotice) (string, int) { return n.ID, n.Attempts },
	}, b.deliver, opts)
	return b
}

// Run delivers due notices until ctx is done (one loop per replica).
func (b *BackchannelLogout) Run(ctx context.Context) { b.pump.Run(ctx) }

// Kick asks for a delivery pass now (after a sign-out committed).
func (b *BackchannelLogout) Kick() { b.pump.Kick() }

// DeliverDue makes one delivery pass (tests).
func (b *BackchannelLogout) DeliverDue(ctx context.Context) (int, error) {
	return b.pump.DeliverDue(ctx)
}

// deliver signs n's logout token and POSTs it to the client. 200 and 204
// are success (§2.8); another 4xx is the client refusing this token, which
// a retry cannot change, except 408 and 429; anything else is retried.
func (b *BackchannelLogout) deliver(ctx context.Context, n models.LogoutNotice) error {
	if !b.p.protocol(ctx).BackchannelLogout {
		// Off means no app hears of sign-outs this way: the notice is
		// dropped (kept as failed, with the reason), not held for later.
		return errPermanent{errors.New("back-channel logout is switched off (policy backchannel_logout)")}
	}
	m, err := b.p.st.GetClient(ctx, n.ClientID)
	if errors.Is(err, models.ErrNotFound) {
		return errPermanent{errors.New("the client was deleted")}
	}
	if err != nil {
		return err
	}
	if m.BackchannelLogoutURI == "" {
		return errPermanent{errors.New("the client no longer has a back-channel logout URI")}
	}
	tok, err := b.p.LogoutToken(ctx, newClient(m), n, b.pump.Now())
	if err != nil {
		return err
	}
	body := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return errPermanent{fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.hc.Do(req)
	if err != nil {
		return fmt.Errorf("post logout token: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // bounded by the outbound client
	switch s := resp.StatusCode; {
	case s == http.StatusOK || s == http.StatusNoContent:
		return nil
	case s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests:
		return errPermanent{fmt.Errorf("the client answered %s", resp.Status)}
	default:
		return fmt.Errorf("the client answered %s", resp.Status)
	}
}

// LogoutToken signs the logout token of notice n for client c at now.
func (p *Provider) LogoutToken(ctx context.Context, c *Client, n models.LogoutNotice, now time.Time) (string, error) {
	claims := map[string]any{
		"iss":    p.cfg.Issuer,
		"aud":    c.GetID(),
		"iat":    now.Unix(),
		"exp":    now.Add(LogoutTokenTTL).Unix(),
		"jti":    n.ID,
		"events": map[string]any{BackchannelLogoutEvent: map[string]any{}},
		"sub":    p.subjectFor(c.m, n.UserID),
		"sid":    n.SessionID,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("logout token: %w", err)
	}
	tok, err := p.keys.Sign(ctx, c.idTokenAlg(), "logout+jwt", payload, nil)
	if err != nil {
		return "", fmt.Errorf("logout token: %w", err)
	}
	return tok, nil
}
