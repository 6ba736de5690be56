package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// The same flows against Ory Hydra, for the side-by-side figures of
// issue 9. Hydra has no sign-in pages: a login-and-consent app of the
// deployer's reads each challenge from Hydra's admin API and accepts it.
// Here the load generator is that app (no credential checked, as such an
// app's cheapest form), so Hydra's CPU counts every request it serves in
// a flow and the app's own work is not counted for Hydra at all, while
// Sesame's figures include its sign-in pages and the passkey check.

// HydraCodeFlow runs the authorization-code flow with PKCE at Hydra, the
// browser's issuer being Hydra's public URL and admin its admin URL:
// authorize → login challenge (read, accepted for subject) → consent
// challenge (read, its requested scopes granted) → code → token exchange.
func (b *Browser) HydraCodeFlow(ctx context.Context, admin string, cl Client, subject string) (Tokens, error) {
	q, verifier, state := authRequest(cl, "openid offline_access")
	login, err := b.leave(ctx, b.issuer+"/oauth2/auth?"+q.Encode())
	if err != nil {
		return Tokens{}, fmt.Errorf("authorize: %w", err)
	}
	challenge := login.Query().Get("login_challenge")
	if challenge == "" {
		return Tokens{}, fmt.Errorf("authorize sent the browser to %s, want a login challenge", login.Redacted())
	}
	admin = strings.TrimRight(admin, "/")
	var lr struct {
		Subject string `json:"subject"`
	}
	if err := b.adminCall(ctx, http.MethodGet, admin+"/admin/oauth2/auth/requests/login?login_challenge="+url.QueryEscape(challenge), nil, &lr); err != nil {
		return Tokens{}, err
	}
	var next struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := b.adminCall(ctx, http.MethodPut, admin+"/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(challenge),
		map[string]any{"subject": subject}, &next); err != nil {
		return Tokens{}, err
	}
	consent, err := b.leave(ctx, next.RedirectTo)
	if err != nil {
		return Tokens{}, fmt.Errorf("after login: %w", err)
	}
	challenge = consent.Query().Get("consent_challenge")
	if challenge == "" {
		return Tokens{}, fmt.Errorf("login accepted, then %s, want a consent challenge", consent.Redacted())
	}
	var cr struct {
		RequestedScope    []string `json:"requested_scope"`
		RequestedAudience []string `json:"requested_access_token_audience"`
	}
	if err := b.adminCall(ctx, http.MethodGet, admin+"/admin/oauth2/auth/requests/consent?consent_challenge="+url.QueryEscape(challenge), nil, &cr); err != nil {
		return Tokens{}, err
	}
	if err := b.adminCall(ctx, http.MethodPut, admin+"/admin/oauth2/auth/requests/consent/accept?consent_challenge="+url.QueryEscape(challenge),
		map[string]any{"grant_scope": cr.RequestedScope, "grant_access_token_audience": cr.RequestedAudience,
			"session": map[string]any{"id_token": map[string]any{"email": subject + "@example.com", "email_verified": true}}}, &next); err != nil {
		return Tokens{}, err
	}
	cb, err := b.leave(ctx, next.RedirectTo)
	if err != nil {
		return Tokens{}, fmt.Errorf("after consent: %w", err)
	}
	if cb.Query().Get("state") != state || cb.Query().Get("code") == "" {
		return Tokens{}, fmt.Errorf("callback %s: no code for this state", cb.Redacted())
	}
	return b.token(ctx, cl, url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {cl.RedirectURI}, "code_verifier": {verifier},
	})
}

// HydraIntrospect asks Hydra's admin API about token (RFC 7662; Hydra
// serves introspection there, without client authentication) and fails
// unless it is active.
func (b *Browser) HydraIntrospect(ctx context.Context, admin, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(admin, "/")+"/admin/oauth2/introspect",
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var r struct {
		Active bool `json:"active"`
	}
	if err := b.send(req, &r); err != nil {
		return err
	}
	if !r.Active {
		return fmt.Errorf("introspection: the token is not active")
	}
	return nil
}

// leave GETs u (following redirects at the issuer) and returns where the
// redirect that leaves the issuer points.
func (b *Browser) leave(ctx context.Context, u string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("GET %s: status %d, want a redirect: %.200s", resp.Request.URL.Path, resp.StatusCode, body)
	}
	return resp.Request.URL.Parse(resp.Header.Get("Location"))
}

// adminCall sends a JSON request to Hydra's admin API and decodes its
// 200 answer into out.
func (b *Browser) adminCall(ctx context.Context, method, u string, in, out any) error {
	var body io.Reader
	if in != nil {
		buf, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return b.send(req, out)
}
