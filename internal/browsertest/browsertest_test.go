package browsertest_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
)

// TestBrowserStartsWithAuthenticator proves the harness itself: Chromium
// starts, renders a localhost page, and accepts a virtual authenticator.
func TestBrowserStartsWithAuthenticator(t *testing.T) {
	ctx := browsertest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>ok</title><p id="x">hello</p>`)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("#x"))
	if err != nil || text != "hello" {
		t.Fatalf("text %q err %v", text, err)
	}
	id := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	if id == "" {
		t.Fatal("no authenticator id")
	}
	if n := len(browsertest.Credentials(t, ctx, id)); n != 0 {
		t.Fatalf("new authenticator has %d credentials", n)
	}
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.isSecureContext && !!window.PublicKeyCredential`))
	if err != nil || !ok {
		t.Fatalf("localhost is not a secure context with WebAuthn: %v %v", ok, err)
	}
}
