package authn_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// parPage is a browser app that pushes its authorization request with
// the stock oauth4webapi (RFC 9126, through CORS), sends the browser with
// only client_id and request_uri, then exchanges the code.
const parPage = `<!doctype html><meta charset="utf-8"><title>PAR app</title><pre id="result">starting</pre>
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
    const params = new URLSearchParams({redirect_uri, response_type: "code", scope: "openid email", nonce, state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256"});
    const pushed = await oauth.processPushedAuthorizationResponse(as, client,
      await oauth.pushedAuthorizationRequest(as, client, oauth.None(), params, opts));
    sessionStorage.setItem("expires_in", String(pushed.expires_in));
    const u = new URL(as.authorization_endpoint);
    u.searchParams.set("client_id", client.client_id);
    u.searchParams.set("request_uri", pushed.request_uri);
    location.assign(u.href);
  } else {
    const {verifier, nonce, state} = JSON.parse(sessionStorage.getItem("pkce"));
    const params = oauth.validateAuthResponse(as, client, here, state);
    const res = await oauth.processAuthorizationCodeResponse(as, client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirect_uri, verifier, opts), {expectedNonce: nonce, requireIdToken: true});
    const claims = oauth.getValidatedIdTokenClaims(res);
    out.textContent = JSON.stringify({sub: claims.sub, email: claims.email, require_par: as.require_pushed_authorization_requests === true,
      par_endpoint: as.pushed_authorization_request_endpoint, expires_in: sessionStorage.getItem("expires_in")});
  }
} catch (e) {
  out.textContent = "error: " + e + (e.cause ? " " + JSON.stringify(e.cause) : "");
}
</script>`

// TestPushedAuthorizationWithOauth4webapiInChromium: a browser app whose
// client must push (require_pushed_authorization_requests) signs a new
// user up with a passkey through oauth4webapi's PAR support: the push
// goes through CORS from the app's origin, the browser carries only the
// request_uri, and the code exchange gives a validated ID token.
func TestPushedAuthorizationWithOauth4webapiInChromium(t *testing.T) {
	env := servertest.New(t, servertest.UnverifiedEmails())
	var id string
	appOrigin := serveApp(t, func(origin string) string {
		return fmt.Sprintf(parPage, env.Issuer, id, origin+"/app.html")
	})
	id, _ = env.CreateClient(clients.Spec{Name: "PAR app", Public: true, SkipConsent: true, RequirePushedAuthorizationRequests: true,
		RedirectURIs: []string{appOrigin + "/app.html"}, Scopes: []string{"openid", "email"}})
	ctx := browsertest.New(t)
	csp := watchCSP(t, ctx)
	browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "open the app", chromedp.Navigate(appOrigin+"/app.html"))
	loc := browsertest.WaitLocation(t, ctx, env.Issuer+"/login?interaction=")
	browsertest.Do(t, ctx, "go to sign-up", chromedp.WaitVisible(`a[href^="/signup"]`), chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	browsertest.WaitLoaded(t, ctx)
	email := "par-" + randomString()[:8] + "@example.com"
	browsertest.Do(t, ctx, "sign up with a passkey", chromedp.SendKeys("#email", email), chromedp.SendKeys("#name", "Pat Pusher"), chromedp.Click("#signup-button"))
	browsertest.WaitLocation(t, ctx, appOrigin+"/app.html?")
	got := browsertest.WaitText(t, ctx, "#result", "}")
	if strings.HasPrefix(got, "error") {
		t.Fatalf("the app's client failed: %s (sign-in started at %s)", got, loc)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(got), &r); err != nil {
		t.Fatalf("result %q: %v", got, err)
	}
	if r["email"] != email || r["sub"] == "" || r["par_endpoint"] != env.Issuer+"/oauth2/par" || r["expires_in"] != "60" || r["require_par"] != false {
		t.Fatalf("result %v", r)
	}
	if v := csp.take(); len(v) > 0 {
		t.Fatalf("CSP violations: %v", v)
	}
}
