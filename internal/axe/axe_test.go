package axe_test

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/axe"
	"github.com/sesame-idp/sesame/internal/browsertest"
)

// TestCheckFindsViolations proves the vendored engine runs and reports:
// a page with an unlabelled field and grey-on-grey text must fail.
func TestCheckFindsViolations(t *testing.T) {
	ctx := browsertest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'self'")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>bad</title><main><h1>Bad page</h1>
<p style="color:#aaa;background:#bbb">hard to read</p><input type="text"></main>`)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/")); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range axe.Check(t, ctx) {
		if v.Serious() {
			ids = append(ids, v.ID)
		}
	}
	for _, want := range []string{"color-contrast", "label"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe found %v, want %s among them (under a strict CSP)", ids, want)
		}
	}
	// A second run on the same document reuses the injected engine.
	if again := axe.Check(t, ctx); len(again) == 0 {
		t.Error("second run found nothing")
	}
}
