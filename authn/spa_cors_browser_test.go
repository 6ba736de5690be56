package authn_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// journeyPage is a single-page app that does everything a browser app does
// with Sesame from its own origin, through oauth4webapi: discovery, sign-in
// (code + PKCE), the code exchange, a refresh, userinfo (a bearer header:
// Chromium sends a preflight first), revocation of the refresh token (and
// proof that it is dead: the error answer is readable too), and a sign-out
// link to the end-session endpoint.
const journeyPage = `<!doctype html><meta charset="utf-8"><title>Browser app</title><pre id="result">starting</pre><a id="logout" hidden>Sign out</a>
<script type="module">
import * as oauth from "/oauth4webapi.js";
const issuer = new URL(%q), client = {client_id: %q}, redirect_uri = %q, bye = %q;
const opts = {[oauth.allowInsecureRequests]: true}; // http on loopback in the test only
const out = document.getElementById("result");
try {
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, opts));
  const here = new URL(location.href);
  if (!here.searchParams.has("code") && !here.searchParams.has("error")) {
    const verifier = oauth.generateRandomCodeVerifier(), nonce = oauth.generateRandomNonce(), state = oauth.generateRandomState();
    sessionStorage.setItem("pkce", JSON.stringify({verifier, nonce, state}));
    const u = new URL(as.authorization_endpoint);
    const q = {client_id: client.client_id, redirect_uri, response_type: "code", scope: "openid email offline_access", nonce, state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256"};
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    location.assign(u.href);
  } else {
    const {verifier, nonce, state} = JSON.parse(sessionStorage.getItem("pkce"));
    const params = oauth.validateAuthResponse(as, client, here, state);
    const first = await oauth.processAuthorizationCodeResponse(as, client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirect_uri, verifier, opts), {expectedNonce: nonce, requireIdToken: true});
    const claims = oauth.getValidatedIdTokenClaims(first);
    const refreshed = await oauth.processRefreshTokenResponse(as, client,
      await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token, opts));
    const info = await oauth.processUserInfoResponse(as, client, claims.sub,
      await oauth.userInfoRequest(as, client, refreshed.access_token, opts));
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), refreshed.refresh_token, opts));
    let afterRevoke = "refreshed";
    try {
      await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token, opts));
    } catch (e) {
      afterRevoke = e.error || String(e);
    }
    const logout = new URL(as.end_session_endpoint);
    logout.searchParams.set("id_token_hint", first.id_token);
    logout.searchParams.set("post_logout_redirect_uri", bye);
    const a = document.getElementById("logout");
    a.href = logout.href;
    a.hidden = false;
    out.textContent = JSON.stringify({sub: claims.sub, email: claims.email, iss: claims.iss, aud: claims.aud, acr: claims.acr, rotated: refreshed.refresh_token !== first.refresh_token,
      new_access: refreshed.access_token !== first.access_token, userinfo_sub: info.sub, userinfo_email: info.email, after_revoke: afterRevoke});
  }
} catch (e) {
  out.textContent = "error: " + e + (e.cause ? " " + JSON.stringify(e.cause) : "");
}
</script>`

// roguePage runs on an origin no client registered: the browser must not
// let it read Sesame's discovery document or a token endpoint answer.
const roguePage = `<!doctype html><meta charset="utf-8"><title>Rogue</title><pre id="result">starting</pre>
<script type="module">
const out = document.getElementById("result"), r = [];
for (const [u, init] of [[%q, {}], [%q, {method: "POST", body: new URLSearchParams({grant_type: "refresh_token", refresh_token: "x", client_id: %q})}]]) {
  try { await fetch(u, init); r.push("read"); } catch (e) { r.push("blocked"); }
}
out.textContent = "done " + r.join(" ");
</script>`

// serveApp serves page (and the vendored oauth4webapi) on a new loopback
// origin; it returns the origin.
func serveApp(t *testing.T, page func(origin string) string) string {
	t.Helper()
	lib, err := os.ReadFile("testdata/oauth4webapi/index.js")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	mux := http.NewServeMux()
	mux.HandleFunc("/app.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, page(origin))
	})
	mux.HandleFunc("/bye.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, `<!doctype html><title>Bye</title><h1 id="bye">Signed out</h1>`)
	})
	mux.HandleFunc("/oauth4webapi.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(lib)
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return origin
}

// TestBrowserAppCORSJourneyWithOauth4webapiInChromium: the journeys'
// second, browser-side stock client (it replaces the sign-in-only test
// TestBrowserAppSignsInWithOauth4webapiInChromium). A browser app on
// another loopback origin, with the stock oauth4webapi, goes the whole way
// through CORS: a new user signs up with a passkey, the page exchanges the
// code, refreshes, calls userinfo, revokes the refresh token (which then
// fails with invalid_grant, an answer it can read), signs out at the
// end-session endpoint, and signs in again with the same passkey. A page on
// an origin no client registered can read none of it.
func TestBrowserAppCORSJourneyWithOauth4webapiInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails())...) // about CORS, not the mail
		var id string
		appOrigin := serveApp(t, func(origin string) string {
			return fmt.Sprintf(journeyPage, env.Issuer, id, origin+"/app.html", origin+"/bye.html")
		})
		id, _ = env.CreateClient(clients.Spec{Name: "Browser app", Public: true, SkipConsent: true,
			RedirectURIs: []string{appOrigin + "/app.html"}, PostLogoutRedirectURIs: []string{appOrigin + "/bye.html"},
			Scopes: []string{"openid", "email", "offline_access"}})
		rogueOrigin := serveApp(t, func(string) string {
			return fmt.Sprintf(roguePage, env.Issuer+"/.well-known/openid-configuration", env.Issuer+"/oauth2/token", id)
		})

		ctx := browsertest.New(t)
		csp := watchCSP(t, ctx)
		browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
		email := "cors-" + randomString()[:8] + "@example.com"
		journey := func(what string) map[string]any {
			t.Helper()
			browsertest.WaitLocation(t, ctx, appOrigin+"/app.html?")
			got := browsertest.WaitText(t, ctx, "#result", "}")
			if strings.HasPrefix(got, "error") {
				t.Fatalf("%s: the app's client failed: %s", what, got)
			}
			var r map[string]any
			if err := json.Unmarshal([]byte(got), &r); err != nil {
				t.Fatalf("%s: result %q: %v", what, got, err)
			}
			aud, _ := r["aud"].([]any)
			if r["iss"] != env.Issuer || len(aud) != 1 || aud[0] != id || r["acr"] == "" || r["acr"] == nil {
				t.Fatalf("%s: ID token claims %v, want iss %s, aud %s and an acr", what, r, env.Issuer, id)
			}
			if r["sub"] == "" || r["userinfo_sub"] != r["sub"] || r["email"] != email || r["userinfo_email"] != email ||
				r["rotated"] != true || r["new_access"] != true || r["after_revoke"] != "invalid_grant" {
				t.Fatalf("%s: %v", what, r)
			}
			return r
		}

		browsertest.Do(t, ctx, "open the app", chromedp.Navigate(appOrigin+"/app.html"))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
		browsertest.Do(t, ctx, "go to sign-up", chromedp.WaitVisible(`a[href^="/signup"]`), chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
		browsertest.WaitLoaded(t, ctx)
		browsertest.Do(t, ctx, "sign up with a passkey", chromedp.SendKeys("#email", email), chromedp.SendKeys("#name", "Cora Page"), chromedp.Click("#signup-button"))
		first := journey("after sign-up")

		// Sign out (the id_token_hint names this session: no confirmation).
		browsertest.Do(t, ctx, "sign out", chromedp.WaitVisible("#logout"), chromedp.Click("#logout"))
		browsertest.WaitLocation(t, ctx, appOrigin+"/bye.html")

		// Signed out: the app's next sign-in asks again; the passkey answers
		// (the button: autofill off, so the test knows which path signed in).
		restore := browsertest.WithoutAutofill(t, ctx)
		browsertest.Do(t, ctx, "open the app again", chromedp.Navigate(appOrigin+"/app.html"))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
		browsertest.WaitLoaded(t, ctx)
		browsertest.Do(t, ctx, "sign in with the passkey", chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
		if again := journey("after signing in again"); again["sub"] != first["sub"] {
			t.Fatalf("signed in as %v, signed up as %v", again["sub"], first["sub"])
		}
		restore()

		browsertest.Do(t, ctx, "open a page on an unregistered origin", chromedp.Navigate(rogueOrigin+"/app.html"))
		if got := browsertest.WaitText(t, ctx, "#result", "done"); got != "done blocked blocked" {
			t.Fatalf("a page on %s read Sesame's answers: %s", rogueOrigin, got)
		}
		if v := csp.take(); len(v) > 0 {
			t.Fatalf("CSP violations: %v", v)
		}
	})
}
