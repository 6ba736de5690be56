package console_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// tinyPNG is a real 8×8 PNG.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		img.Set(x, x, color.RGBA{0x0f, 0x76, 0x6e, 0xff})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload sends body as the logo with the declared content type, and
// validates the answer against the OpenAPI document.
func (c *caller) upload(s *spec, path, ctype string, body []byte, want int) []byte {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, c.env.Issuer+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		c.t.Errorf("PUT %s (%s, %d bytes): status %d, want %d: %s", path, ctype, len(body), resp.StatusCode, want, b)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	s.check(c.t, req, resp, b)
	return b
}

// get fetches a page or asset as a browser would.
func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/html,*/*")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// exerciseBrandingAPI: bad settings are refused field by field with the
// contrast ratio named; good ones reach the pages (name, footer links,
// theme and custom stylesheets) without loosening the CSP; the logo is
// sniffed, size-bounded, SVG script refused, and served with a safe type,
// a sandboxing CSP and cache validators; every change is audited.
func exerciseBrandingAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	p := console.APIPrefix
	var v console.BrandingView
	_ = json.Unmarshal(api.call(s, "GET", p+"/branding", nil, 200), &v)
	if v.Product != "Sesame" || v.Logo != nil {
		t.Errorf("default branding: %+v", v)
	}

	// Every bad field at once, as problem+json.
	b := api.call(s, "PUT", p+"/branding", map[string]string{
		"product_name": strings.Repeat("n", 61), "primary_color": "#ffeb3b", "accent_color": "red",
		"support_url": "http://help.example.com", "privacy_url": "javascript:alert(1)",
		"custom_css": strings.Repeat("a{}", 11<<10),
	}, 422)
	var pr console.Problem
	_ = json.Unmarshal(b, &pr)
	fields := map[string]string{}
	for _, fe := range pr.Errors {
		fields[fe.Field] = fe.Message
	}
	for _, f := range []string{"product_name", "primary_color", "accent_color", "support_url", "privacy_url", "custom_css"} {
		if fields[f] == "" {
			t.Errorf("PUT /branding: %s not reported: %s", f, b)
		}
	}
	if !strings.Contains(fields["primary_color"], "1.12:1") || !strings.Contains(fields["primary_color"], "4.5:1") {
		t.Errorf("the contrast refusal does not name the ratio: %q", fields["primary_color"])
	}
	api.call(s, "PUT", p+"/branding", map[string]string{"custom_css": "@import url(https://evil.example/x.css);"}, 422)
	api.call(s, "PUT", p+"/branding", map[string]any{"product_name": "x", "colour": "#000"}, 400)

	good := map[string]string{
		"product_name": "Acme ID", "primary_color": "#0F766E", "accent_color": "#9333ea",
		"support_url": "https://help.acme.example/", "privacy_url": "https://acme.example/privacy",
		"custom_css": "footer.brand { letter-spacing: .02em; }",
	}
	_ = json.Unmarshal(api.call(s, "PUT", p+"/branding", good, 200), &v)
	if v.PrimaryColor != "#0f766e" || v.Product != "Acme ID" || v.CustomCSSURL == "" {
		t.Errorf("saved branding: %+v", v)
	}

	// The pages carry it; the CSP is unchanged (no inline style).
	resp, page := get(t, env.Issuer+"/login")
	for _, want := range []string{"Secured by Acme ID", `href="https://help.acme.example/"`, `href="https://acme.example/privacy"`,
		`/branding/theme.css?a=9333ea&amp;p=0f766e`, `href="` + strings.ReplaceAll(v.CustomCSSURL, "&", "&amp;") + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("/login lacks %q", want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "style-src 'self';") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("the pages' CSP was loosened: %s", csp)
	}
	if strings.Contains(page, "style=") || strings.Contains(page, "<style") {
		t.Error("a page carries inline style")
	}
	resp, css := get(t, env.Issuer+"/branding/theme.css?a=9333ea&p=0f766e")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, "--accent: #0f766e") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("theme.css: %d %s %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), css)
	}
	// A colour that fails the contrast rule is not served even when asked.
	if resp, _ := get(t, env.Issuer+"/branding/theme.css?p=ffeb3b"); resp.StatusCode != 404 {
		t.Errorf("theme.css with an unreadable colour: %d", resp.StatusCode)
	}
	resp, css = get(t, env.Issuer+v.CustomCSSURL)
	if resp.StatusCode != 200 || css != good["custom_css"] || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("custom.css: %d %v\n%s", resp.StatusCode, resp.Header, css)
	}
	if resp, _ := get(t, env.Issuer+v.CustomCSSURL, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("custom.css revalidation: %d, want 304", resp.StatusCode)
	}

	// Logos: sniffed, bounded, SVG without script.
	pngData := tinyPNG(t)
	_ = json.Unmarshal(api.upload(s, p+"/branding/logo", "image/svg+xml", pngData, 200), &v)
	if v.Logo == nil || v.Logo.Type != "image/png" || v.Logo.Size != len(pngData) {
		t.Fatalf("logo: %+v", v.Logo)
	}
	resp, body := get(t, env.Issuer+v.Logo.URL)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || body != string(pngData) ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("logo served: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := get(t, env.Issuer+v.Logo.URL, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("logo revalidation: %d, want 304", resp.StatusCode)
	}
	if _, page := get(t, env.Issuer+"/login"); !strings.Contains(page, strings.ReplaceAll(v.Logo.URL, "&", "&amp;")) {
		t.Error("/login does not show the uploaded logo")
	}
	for _, bad := range []struct {
		name, ctype string
		body        []byte
		status      int
	}{
		{"script", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 422},
		{"handler", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>`), 422},
		{"external href", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="https://evil.example/x.png"/></svg>`), 422},
		{"entity", "image/svg+xml", []byte(`<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>`), 422},
		{"html", "image/png", []byte(`<html><script>alert(1)</script></html>`), 422},
		{"text", "image/png", []byte("hello"), 422},
		{"empty", "image/png", nil, 422},
		{"over 48 KiB", "image/png", append(append([]byte{}, pngData...), make([]byte, 50<<10)...), 422},
		{"over the body limit", "image/png", make([]byte, 70<<10), 413},
	} {
		b := api.upload(s, p+"/branding/logo", bad.ctype, bad.body, bad.status)
		if !strings.Contains(string(b), `"status":`) {
			t.Errorf("logo %s: not problem+json: %s", bad.name, b)
		}
	}
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><style>rect{fill:#0f766e}</style><rect width="10" height="10" rx="2"/></svg>`)
	_ = json.Unmarshal(api.upload(s, p+"/branding/logo", "application/octet-stream", svg, 200), &v)
	resp, _ = get(t, env.Issuer+v.Logo.URL)
	if resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("SVG logo served: %v", resp.Header)
	}
	_ = json.Unmarshal(api.call(s, "DELETE", p+"/branding/logo", nil, 200), &v)
	if v.Logo != nil {
		t.Errorf("logo after delete: %+v", v.Logo)
	}
	if resp, _ := get(t, env.Issuer+"/branding/logo"); resp.StatusCode != 404 {
		t.Errorf("/branding/logo without a logo: %d", resp.StatusCode)
	}

	// Audited with before/after, the logo by hash rather than bytes.
	entries, err := env.Store.ListAuditEntries(t.Context(), store.AuditFilter{TargetType: "branding"}, 20)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, e := range entries {
		actions[e.Action] = true
		if strings.Contains(e.AfterJSON, "iVBOR") || len(e.AfterJSON) > 4096 {
			t.Errorf("audit %s keeps the logo's bytes: %d bytes", e.Action, len(e.AfterJSON))
		}
	}
	for _, a := range []string{"branding.update", "branding.logo.set", "branding.logo.remove"} {
		if !actions[a] {
			t.Errorf("no %s in the audit log (%v)", a, actions)
		}
	}
	// Leave Sesame's own look for the tests after this one.
	api.call(s, "PUT", p+"/branding", map[string]string{}, 200)
}
