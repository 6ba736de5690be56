package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// pathDeviceAuthorize is Sesame's device authorization endpoint (RFC 8628
// §3.1); discovery advertises it.
const pathDeviceAuthorize = "/oauth2/device/authorize"

// grantDeviceCode is the device grant's grant_type (RFC 8628 §3.4).
const grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// DeviceStart is what a device (a TV, a CLI) does first: it asks for a
// device code and a user code (RFC 8628 §3.1–3.2) and returns the device
// code it will poll with.
func (b *Browser) DeviceStart(ctx context.Context, cl Client) (string, error) {
	scope := cl.Scope
	if scope == "" {
		scope = "openid profile email offline_access"
	}
	var r struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
		Interval   int    `json:"interval"`
	}
	if err := b.form(ctx, pathDeviceAuthorize, cl, url.Values{"scope": {scope}}, &r); err != nil {
		return "", err
	}
	if r.DeviceCode == "" || r.UserCode == "" {
		return "", errors.New("device authorization: no device or user code")
	}
	return r.DeviceCode, nil
}

// DevicePoll is one poll of the token endpoint with a device code nobody
// has approved yet: the answer must be RFC 8628 §3.5's authorization_pending
// (or slow_down, for a device polling faster than its interval). Anything
// else, tokens included, is an error.
func (b *Browser) DevicePoll(ctx context.Context, cl Client, deviceCode string) error {
	form := url.Values{"grant_type": {grantDeviceCode}, "device_code": {deviceCode}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cl.ID), url.QueryEscape(cl.Secret))
	resp, err := b.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode == http.StatusBadRequest && (e.Error == "authorization_pending" || e.Error == "slow_down") {
		return nil
	}
	return fmt.Errorf("device poll: status %d: %.200s", resp.StatusCode, body)
}

// ClientCredentials asks for a token with the client_credentials grant
// (RFC 6749 §4.4), for resource when it is set (RFC 8707).
func (b *Browser) ClientCredentials(ctx context.Context, cl Client, resource string) (Tokens, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if resource != "" {
		form.Set("resource", resource)
	}
	return b.token(ctx, cl, form)
}
