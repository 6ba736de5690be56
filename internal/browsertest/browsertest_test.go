package browsertest_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// TestEachNewIsAFreshProfile: the tabs New opens in Main's one Chromium
// share no cookies and no storage, as separate browsers would not, and
// each has the window size a page's layout checks assume.
func TestEachNewIsAFreshProfile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: "first", Path: "/"})
		}
		fmt.Fprintf(w, `<!doctype html><title>ok</title><p id="c">%s</p>`, r.Header.Get("Cookie"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)

	first := browsertest.New(t)
	browsertest.Do(t, first, "set a cookie", chromedp.Navigate(base+"/set"), chromedp.Navigate(base+"/get"))
	browsertest.Eval[bool](t, first, `localStorage.setItem("who", "first"), true`)
	if got := browsertest.Eval[string](t, first, `document.querySelector("#c").textContent`); got != "who=first" {
		t.Fatalf("the first profile sends cookie %q, want who=first", got)
	}

	second := browsertest.New(t)
	browsertest.Do(t, second, "open the page", chromedp.Navigate(base+"/get"))
	if got := browsertest.Eval[string](t, second, `document.querySelector("#c").textContent + "|" + (localStorage.getItem("who") || "")`); got != "|" {
		t.Errorf("a second profile sees the first one's cookie|storage: %q", got)
	}
	for name, ctx := range map[string]context.Context{"first": first, "second": second} {
		if w := browsertest.Eval[int](t, ctx, `window.innerWidth`); w != 1280 {
			t.Errorf("%s profile: window %d px wide, want 1280", name, w)
		}
	}
}

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
