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

// spaPage is a single-page app on another origin that signs in with the
// stock browser-side client oauth4webapi (testdata/oauth4webapi):
// discovery, authorization code + PKCE S256, state and nonce, the code
// exchanged from the page (CORS), the ID token's claims validated.
const spaPage = `<!doctype html><meta charset="utf-8"><title>Browser app</title><pre id="result">starting</pre>
<script type="module">
import * as oauth from "/oauth4webapi.js";
const issuer = new URL(%q), client = {client_id: %q}, redirect_uri = %q;
const opts = {[oauth.allowInsecureRequests]: true}; // http on loopback in the test only
const out = document.getElementById("result");
try {
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, opts));
  const here = new URL(location.href);
  if (!here.searchParams.has("code") && !here.searchParams.has("error")) {
    const verifier = oauth.generateRandomCodeVerifier(), nonce = oauth.generateRandomNonce(), state = oauth.generateRandomState();
    sessionStorage.setItem("pkce", JSON.stringify({verifier, nonce, state}));
    const u = new URL(as.authorization_endpoint);
    const q = {client_id: client.client_id, redirect_uri, response_type: "code", scope: "openid email", nonce, state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256"};
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    location.assign(u.href);
  } else {
    const {verifier, nonce, state} = JSON.parse(sessionStorage.getItem("pkce"));
    const params = oauth.validateAuthResponse(as, client, here, state);
    const resp = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirect_uri, verifier, opts);
    const result = await oauth.processAuthorizationCodeResponse(as, client, resp, {expectedNonce: nonce, requireIdToken: true});
    out.textContent = JSON.stringify(oauth.getValidatedIdTokenClaims(result));
  }
} catch (e) {
  out.textContent = "error: " + e + (e.cause ? " " + JSON.stringify(e.cause) : "");
}
</script>`

// TestBrowserAppSignsInWithOauth4webapiInChromium: the journeys' second,
// browser-side stock client. A public client's page on another origin
// signs a new user up with a passkey on the hosted pages and ends with
// validated ID token claims in the page — the code exchanged by the page
// itself, which needs the token endpoint's CORS answer for that origin.
func TestBrowserAppSignsInWithOauth4webapiInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails()) // about the SPA, not the mail
	lib, err := os.ReadFile("testdata/oauth4webapi/index.js")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	appOrigin := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	redirect := appOrigin + "/app.html"
	id, _ := env.CreateClient(clients.Spec{Name: "Browser app", Public: true, TokenEndpointAuthMethod: "none", SkipConsent: true,
		RedirectURIs: []string{redirect}, Scopes: []string{"openid", "email"}})
	mux := http.NewServeMux()
	mux.HandleFunc("/app.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, spaPage, env.Issuer, id, redirect)
	})
	mux.HandleFunc("/oauth4webapi.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(lib)
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	ctx := browsertest.New(t)
	csp := watchCSP(t, ctx)
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	email := "spa-" + randomString()[:8] + "@example.com"
	browsertest.Do(t, ctx, "open the app", chromedp.Navigate(redirect))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
	browsertest.Do(t, ctx, "go to sign-up", chromedp.WaitVisible(`a[href^="/signup"]`), chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	browsertest.WaitLoaded(t, ctx)
	browsertest.Do(t, ctx, "sign up", chromedp.SendKeys("#email", email), chromedp.SendKeys("#name", "Sam Page"), chromedp.Click("#signup-button"))
	browsertest.WaitLocation(t, ctx, redirect+"?")
	got := browsertest.WaitText(t, ctx, "#result", "}")
	if strings.HasPrefix(got, "error") {
		t.Fatalf("the app's client failed: %s", got)
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(got), &claims); err != nil {
		t.Fatalf("claims %q: %v", got, err)
	}
	aud, _ := claims["aud"].([]any)
	if claims["iss"] != env.Issuer || len(aud) != 1 || aud[0] != id || claims["email"] != email || claims["sub"] == "" || claims["acr"] == "" {
		t.Fatalf("ID token claims %v, want iss %s, aud %s, email %s", claims, env.Issuer, id, email)
	}
	if v := csp.take(); len(v) > 0 {
		t.Fatalf("CSP violations: %v", v)
	}
}
