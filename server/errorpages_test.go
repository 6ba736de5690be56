package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/axe"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestErrorPagesLookLikePages: the answers no handler writes (no route,
// wrong method, a cross-site form) are the hosted error page for a
// browser, plain text for a program, and problem+json on the admin API —
// never gin's bare "404 page not found".
func TestErrorPagesLookLikePages(t *testing.T) {
	env := servertest.New(t)
	for _, tc := range []struct {
		name, method, path, accept string
		status                     int
		ctype, want                string
	}{
		{"404 page", "GET", "/no/such/page", "text/html,application/xhtml+xml", 404, "text/html", "Page not found"},
		{"404 text", "GET", "/no/such/page", "*/*", 404, "text/plain", "There is nothing at this address"},
		{"404 API", "GET", "/api/admin/v1/nothing-here", "application/json", 404, "application/problem+json", `"status":404`},
		{"405 page", "DELETE", "/login", "text/html", 405, "text/html", "Not allowed here"},
		{"cross-site form page", "POST", "/console/logout", "text/html", 403, "text/html", "submitted from another site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, env.Issuer+tc.path, strings.NewReader("a=b"))
			req.Header.Set("Accept", tc.accept)
			if tc.method == "POST" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://evil.example")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s %s: %d %s\n%s", tc.method, tc.path, res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			if tc.ctype == "text/html" && (!strings.Contains(string(body), `/static/style.css`) || !strings.Contains(string(body), "Reference:")) {
				t.Errorf("the error page lacks the pages' stylesheet or the reference:\n%s", body)
			}
		})
	}
}

// TestNotFoundPageInChromium: the 404 page passes axe at desktop and
// phone widths, light and dark, with the pages' stylesheet applied.
func TestNotFoundPageInChromium(t *testing.T) {
	env := servertest.New(t)
	ctx := browsertest.New(t)
	for _, v := range []struct {
		name          string
		width, height int64
		scheme        string
	}{{"1280", 1280, 800, "light"}, {"390", 390, 844, "light"}, {"dark-1280", 1280, 800, "dark"}, {"dark-390", 390, 844, "dark"}} {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v.scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		browsertest.Do(t, ctx, "open a missing page",
			chromedp.EmulateViewport(v.width, v.height),
			chromedp.Navigate(env.Issuer+"/no/such/page"),
			chromedp.WaitVisible("h1"))
		browsertest.WaitText(t, ctx, "h1", "Page not found")
		if font := browsertest.Eval[string](t, ctx, `getComputedStyle(document.body).fontFamily`); strings.Contains(strings.ToLower(font), "times") {
			t.Errorf("%s: unstyled page (font %q)", v.name, font)
		}
		if over := browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth`); over {
			t.Errorf("%s: the page scrolls sideways", v.name)
		}
		browsertest.Screenshot(t, ctx, "not-found-"+v.name)
		for _, vi := range axe.Check(t, ctx) {
			if vi.Serious() {
				t.Errorf("%s: axe: %s", v.name, vi)
			}
		}
	}
}

// TestLanguageLinksKeepTheQuery: the language switch on the 404 and
// sign-out pages leads to the same page with the same query (a logout
// request keeps its client, state and redirect), encoded afresh: markup
// in the query never reaches the page as it came. A protocol error page
// (a refused authorization or logout) links to its path alone.
func TestLanguageLinksKeepTheQuery(t *testing.T) {
	env := servertest.New(t)
	const evil = `<script>alert(1)</script>`
	for _, tc := range []struct{ name, path, want string }{
		{"404 page", "/no/such/page?from=mail&x=" + url.QueryEscape(evil), `href="/no/such/page?from=mail&amp;lang=de&amp;x=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"`},
		// A protocol error page does not carry the refused request on.
		{"logout error page", "/oauth2/logout?client_id=nobody&state=s1&q=" + url.QueryEscape(evil), `href="/oauth2/logout?lang=de"`},
		{"signed-out page", "/oauth2/logout?state=s1&ui_locales=en", `href="/oauth2/logout?lang=de&amp;state=s1&amp;ui_locales=en"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, env.Issuer+tc.path, nil)
			req.Header.Set("Accept", "text/html")
			req.Header.Set("Accept-Language", "en")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if !strings.Contains(string(body), tc.want) {
				t.Errorf("GET %s: %d, no switch link %s\n%s", tc.path, res.StatusCode, tc.want, body)
			}
			if strings.Contains(string(body), evil) || strings.Contains(string(body), "alert(1)") {
				t.Errorf("GET %s: the query's markup is on the page", tc.path)
			}
		})
	}
}
