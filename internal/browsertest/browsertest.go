// Package browsertest runs a real headless Chromium (through chromedp) for
// end-to-end tests of the hosted pages, with the Chrome DevTools Protocol's
// virtual WebAuthn authenticators standing in for passkeys and security
// keys.
//
// Without Chromium the tests skip with a loud message, unless
// SESAME_REQUIRE_BROWSER is set (CI sets it): then a missing browser fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// EnvRequire names the variable that turns a missing browser into a failure.
const EnvRequire = "SESAME_REQUIRE_BROWSER"

// Path finds a Chromium binary, or "".
func Path() string {
	if p := os.Getenv("SESAME_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// shared is the Chromium that Main starts for a test binary, or nil.
// It is set before any test runs and cleared after the last, so tests only
// read it.
var shared context.Context

// Main runs a package's tests (from its TestMain) with one Chromium for all
// of them: starting one costs about 3 CPU-seconds on a 2-core machine, and
// the browser tests start dozens. Each New then gets a browser context of
// its own in it (an incognito-like profile: its own cookies, storage and
// cache), so the tests stay as isolated as with a browser each. Without
// Chromium, or when it does not start, each New behaves as without Main.
func Main(m *testing.M) int {
	path := Path()
	if path == "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "sesame-chromium-")
	if err != nil {
		return m.Run()
	}
	defer os.RemoveAll(dir)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), options(path, dir)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err == nil {
		shared = ctx
		defer func() { shared = nil }()
	}
	return m.Run()
}

// New returns a tab's context in a fresh, isolated headless Chromium
// profile: a browser context of the one Main started, or else a browser of
// its own. Everything is closed when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("%s is set but no Chromium was found (install it: apt-get install -y chromium)", EnvRequire)
		}
		t.Skip("\n*** BROWSER TESTS SKIPPED: no Chromium found. Install it (apt-get install -y chromium) to run them. ***")
	}
	if shared != nil {
		ctx, cancel := chromedp.NewContext(shared, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("open a browser context in chromium: %v", err)
		}
		return ctx
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), options(path, filepath.Join(t.TempDir(), "profile"))...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now so a launch failure is reported here. (No
	// timeout on this first call: it would bound the browser's lifetime.)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// options are the flags of a headless Chromium with its profile in dir.
func options(path, dir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 800),
	}
}

// NewTab opens another tab (same browser, same cookies).
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	return tab
}

// Passkey is a platform authenticator like a phone or laptop: internal
// transport, resident keys, user verification.
func Passkey() *webauthn.VirtualAuthenticatorOptions {
	return &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}
}

// SecurityKey is a roaming USB key used as a second factor.
func SecurityKey() *webauthn.VirtualAuthenticatorOptions {
	return &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportUsb,
		HasResidentKey:              false,
		HasUserVerification:         false,
		AutomaticPresenceSimulation: true,
	}
}

// AddAuthenticator enables the WebAuthn domain in the tab and attaches a
// virtual authenticator; it returns its id.
func AddAuthenticator(t testing.TB, ctx context.Context, o *webauthn.VirtualAuthenticatorOptions) webauthn.AuthenticatorID {
	t.Helper()
	off := false
	id, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (webauthn.AuthenticatorID, error) {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{EnableUI: &off}); err != nil {
			return "", err
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: o})
		return res.AuthenticatorID, err
	})
	if err != nil {
		t.Fatalf("add virtual authenticator: %v", err)
	}
	return id
}

// Credentials lists the credentials a virtual authenticator holds.
func Credentials(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (webauthn.GetCredentialsResult, error) {
		return cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	})
	if err != nil {
		t.Fatalf("get credentials: %v", err)
	}
	return res.Credentials
}

// Screenshot saves a full-page PNG when SESAME_SCREENSHOTS names a
// directory (for people reviewing the pages); otherwise it does nothing.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SESAME_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	}
}
