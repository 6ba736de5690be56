package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
)

// TestBrandingCommands: set changes only the flags given, refuses an
// unreadable colour with its contrast ratio (exit 2, nothing written),
// uploads a logo (type sniffed), refuses an SVG with script, removes the
// logo; every change is the console's and the API's (same service, same
// audit).
func TestBrandingCommands(t *testing.T) {
	dir := t.TempDir()
	v := decode[console.BrandingView](t, mustOK(t, withSecret(t, dir, "branding", "set", "--json",
		"--product-name", "Acme ID", "--primary-color", "#0F766E", "--support-url", "https://help.acme.example")))
	if v.Product != "Acme ID" || v.PrimaryColor != "#0f766e" || v.SupportURL != "https://help.acme.example" {
		t.Fatalf("set: %+v", v)
	}
	r := withSecret(t, dir, "branding", "set", "--primary-color", "#ffeb3b", "--privacy-url", "ftp://x")
	if r.code != 2 || !strings.Contains(r.stderr, "1.12:1") || !strings.Contains(r.stderr, "privacy_url") {
		t.Fatalf("bad colour: exit %d, stderr %q", r.code, r.stderr)
	}
	v = decode[console.BrandingView](t, mustOK(t, withSecret(t, dir, "branding", "set", "--json", "--accent-color", "#9333ea")))
	if v.Product != "Acme ID" || v.PrimaryColor != "#0f766e" || v.AccentColor != "#9333ea" {
		t.Fatalf("a second set lost the first one's settings: %+v", v)
	}

	svg := filepath.Join(dir, "logo.svg")
	if err := os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>`), 0o600); err != nil {
		t.Fatal(err)
	}
	v = decode[console.BrandingView](t, mustOK(t, withSecret(t, dir, "branding", "logo", svg, "--json")))
	if v.Logo == nil || v.Logo.Type != "image/svg+xml" {
		t.Fatalf("logo: %+v", v.Logo)
	}
	bad := filepath.Join(dir, "bad.svg")
	if err := os.WriteFile(bad, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := withSecret(t, dir, "branding", "logo", bad); r.code != 2 || !strings.Contains(r.stderr, "script") {
		t.Fatalf("SVG with script: exit %d, stderr %q", r.code, r.stderr)
	}
	r = mustOK(t, withSecret(t, dir, "branding", "show"))
	if !strings.Contains(r.stdout, "Acme ID") || !strings.Contains(r.stdout, "image/svg+xml") {
		t.Fatalf("show:\n%s", r.stdout)
	}
	v = decode[console.BrandingView](t, mustOK(t, withSecret(t, dir, "branding", "logo", "--remove", "--json")))
	if v.Logo != nil {
		t.Fatalf("after --remove: %+v", v.Logo)
	}
}
