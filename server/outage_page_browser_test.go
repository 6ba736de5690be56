package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/axe"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestOutagePageInChromium: the page a person sees while the database is
// away (503, "Temporarily unavailable") renders in Chromium with the
// hosted pages' stylesheet (no inline style blocked by the CSP), says what
// happened and what to do, and passes axe at desktop and phone widths.
// With SESAME_SCREENSHOTS set it is saved as outage-desktop.png and
// outage-phone.png.
func TestOutagePageInChromium(t *testing.T) {
	env := servertest.New(t)
	st, cut := cuttable(t, env)
	replica := env.ReplicaOn(st)
	cut()
	ctx := browsertest.New(t)
	for _, v := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
		browsertest.Do(t, ctx, "open the login page during the outage",
			chromedp.EmulateViewport(v.width, v.height),
			chromedp.Navigate(replica.HTTP.URL+"/login?interaction=outage"),
			chromedp.WaitVisible("h1"))
		browsertest.WaitLoaded(t, ctx)
		if h1 := browsertest.WaitText(t, ctx, "h1", "Temporarily unavailable"); h1 == "" {
			t.Fatal("no heading")
		}
		body := browsertest.Eval[string](t, ctx, `document.body.innerText`)
		for _, want := range []string{"briefly unavailable", "try again in a few seconds"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page does not say %q:\n%s", v.name, want, body)
			}
		}
		// The stylesheet applied: the page is not unstyled black on white
		// Times (the CSP allows only our own stylesheet).
		if font := browsertest.Eval[string](t, ctx, `getComputedStyle(document.body).fontFamily`); strings.Contains(strings.ToLower(font), "times") {
			t.Errorf("%s: unstyled page (font %q)", v.name, font)
		}
		if over := browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth`); over {
			t.Errorf("%s: the page scrolls sideways", v.name)
		}
		browsertest.Screenshot(t, ctx, "outage-"+v.name)
		for _, vi := range axe.Check(t, ctx) {
			if vi.Serious() {
				t.Errorf("%s: axe: %s", v.name, vi)
			}
		}
	}
}
