package oidc_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

var dataSrc = regexp.MustCompile(`<iframe class="frontchannel" data-src="([^"]*)"`)

// TestFrontchannelLogoutPageFramesTheSessionsClients_FCLogout_3 (OIDC
// Front-Channel Logout 1.0 §2–§4): signing out at the end-session endpoint
// answers a page that loads the frontchannel_logout_uri of each client the
// session signed in to — with iss and sid for a client that asked for them
// — whose CSP frame-src admits exactly those origins, and that then
// continues to the post_logout_redirect_uri with state. Clients without a
// URI, and clients of other sessions, are not framed.
func TestFrontchannelLogoutPageFramesTheSessionsClients_FCLogout_3(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		a := newE2EFlow(t, env, clients.Spec{SkipConsent: true, PostLogoutRedirectURIs: []string{postLogoutURI},
			FrontchannelLogoutURI: "http://127.0.0.1:9999/fc-logout?app=a", FrontchannelLogoutSessionRequired: true})
		b := &e2eFlow{t: t, env: env, b: a.b, user: a.user, r: newRP(t, env, clients.Spec{SkipConsent: true,
			RedirectURIs: []string{redirectURI, "http://localhost:9998/cb"}, FrontchannelLogoutURI: "http://localhost:9998/fc"})}
		plain := &e2eFlow{t: t, env: env, b: a.b, user: a.user, r: newRP(t, env, clients.Spec{SkipConsent: true})}
		other := freshFlow(t, env, clients.Spec{SkipConsent: true, RedirectURIs: []string{redirectURI, "http://127.0.0.1:9997/cb"},
			FrontchannelLogoutURI: "http://127.0.0.1:9997/fc"})
		other.tokens("openid")
		_, raw := a.verifyID(a.tokens("openid"))
		b.tokens("openid")
		plain.tokens("openid")
		sid := sessionOf(t, env, a.user.ID)

		q := url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {postLogoutURI}, "state": {"fc-state"}}
		resp, body := get(t, a.b, env.Issuer+oidc.PathLogout+"?"+q.Encode())
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Fatalf("logout with front-channel clients: %d, Location %q (want the page, not a redirect)", resp.StatusCode, resp.Header.Get("Location"))
		}
		var frames []string
		for _, m := range dataSrc.FindAllStringSubmatch(body, -1) {
			frames = append(frames, htmlUnescape(m[1]))
		}
		wantA := "http://127.0.0.1:9999/fc-logout?" + url.Values{"app": {"a"}, "iss": {env.Issuer}, "sid": {sid}}.Encode()
		if len(frames) != 2 || !(frames[0] == wantA || frames[1] == wantA) || !(frames[0] == "http://localhost:9998/fc" || frames[1] == "http://localhost:9998/fc") {
			t.Fatalf("iframes %q, want %q and http://localhost:9998/fc", frames, wantA)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		fs := regexp.MustCompile(`frame-src ([^;]*)`).FindStringSubmatch(csp)
		if fs == nil {
			t.Fatalf("CSP has no frame-src: %s", csp)
		}
		got := strings.Fields(fs[1])
		if len(got) != 3 || got[0] != "'self'" || !strings.Contains(fs[1], "http://127.0.0.1:9999") || !strings.Contains(fs[1], "http://localhost:9998") {
			t.Fatalf("frame-src %q, want exactly 'self' and the two apps' origins", fs[1])
		}
		if !strings.Contains(body, `id="logout-continue" href="`+postLogoutURI+`?state=fc-state"`) || !strings.Contains(body, `/static/logout.js`) {
			t.Fatalf("the page does not continue to the post-logout URI:\n%s", body)
		}
		// The session is over all the same.
		resp, _, _ = a.start("after-fc-logout", url.Values{"prompt": {"none"}})
		wantAuthorizeError(t, env, resp, "login_required", "after-fc-logout")
	})
}

// fcApp is an app on loopback with a front-channel logout page: it records
// each load of /fc-logout (its query) and of /bye, in order.
type fcApp struct {
	origin string
	mu     sync.Mutex
	hits   []string // "fc?<query>" or "bye?<query>"
}

func newFCApp(t *testing.T) *fcApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &fcApp{origin: "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		switch r.URL.Path {
		case "/fc-logout":
			a.hits = append(a.hits, "fc?"+r.URL.RawQuery)
		case "/bye":
			a.hits = append(a.hits, "bye?"+r.URL.RawQuery)
		}
		a.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`<!doctype html><title>App</title><h1>App</h1>`))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

// TestFrontchannelLogoutIframesLoadInChromium: in a real browser, the
// logout page's hidden iframes load each app's front-channel logout page
// (with iss and sid) — so the page's CSP frame-src let them in — and only
// then does the browser go on to the post_logout_redirect_uri. On SQLite
// and PostgreSQL, one browser at a time.
func TestFrontchannelLogoutIframesLoadInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, db ...servertest.Option) {
		env := servertest.New(t, db...)
		one, two := newFCApp(t), newFCApp(t)
		a := newE2EFlow(t, env, clients.Spec{Name: "Notes", SkipConsent: true, RedirectURIs: []string{redirectURI, one.origin + "/cb"},
			PostLogoutRedirectURIs: []string{one.origin + "/bye"},
			FrontchannelLogoutURI:  one.origin + "/fc-logout", FrontchannelLogoutSessionRequired: true})
		b := &e2eFlow{t: t, env: env, b: a.b, user: a.user, r: newRP(t, env, clients.Spec{Name: "Calendar", SkipConsent: true,
			RedirectURIs: []string{redirectURI, two.origin + "/cb"}, FrontchannelLogoutURI: two.origin + "/fc-logout"})}
		_, raw := a.verifyID(a.tokens("openid"))
		b.tokens("openid")
		sid := sessionOf(t, env, a.user.ID)

		ctx := browsertest.New(t)
		iss, _ := url.Parse(env.Issuer)
		for _, c := range a.b.Jar.Cookies(iss) {
			if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: env.Issuer}); err != nil {
				t.Fatalf("set cookie: %v", err)
			}
		}
		q := url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {one.origin + "/bye"}, "state": {"st-1"}}
		browsertest.Do(t, ctx, "sign out", chromedp.Navigate(env.Issuer+oidc.PathLogout+"?"+q.Encode()))
		browsertest.WaitLocation(t, ctx, one.origin+"/bye?state=st-1")

		wantOne := "fc?" + url.Values{"iss": {env.Issuer}, "sid": {sid}}.Encode()
		one.mu.Lock()
		defer one.mu.Unlock()
		two.mu.Lock()
		defer two.mu.Unlock()
		if len(one.hits) != 2 || one.hits[0] != wantOne || one.hits[1] != "bye?state=st-1" {
			t.Errorf("Notes saw %q, want its front-channel page %q, then the return to /bye", one.hits, wantOne)
		}
		if len(two.hits) != 1 || two.hits[0] != "fc?" {
			t.Errorf("Calendar saw %q, want its front-channel page without parameters", two.hits)
		}
		// The session is over in the browser too.
		if _, err := env.Store.GetLoginSession(context.Background(), sid); err == nil {
			t.Error("the login session is still alive")
		}
	})
}
