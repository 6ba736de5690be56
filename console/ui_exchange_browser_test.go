package console_test

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
)

// TestConsoleTokenExchangeSwitchInChromium: an admin turns token exchange
// on with the policies page's checkbox and off again, in Chromium; each
// save shows in discovery at once. The page passes checkConsolePage
// (axe-core, CSP, labelled fields, no sideways scrolling, visible focus)
// at 1280×800 and 390×844 with the switch on. SESAME_SCREENSHOTS=DIR
// saves a PNG of each view.
func TestConsoleTokenExchangeSwitchInChromium(t *testing.T) {
	env, httpBrowser, _ := uiAdmin(t)
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	for _, on := range []bool{true, false} {
		browsertest.Do(t, ctx, "open the policies", chromedp.Navigate(env.Issuer+"/console/policies"), chromedp.WaitVisible("#token_exchange"))
		if checked := browsertest.Eval[bool](t, ctx, `document.getElementById("token_exchange").checked`); checked == on {
			t.Fatalf("the checkbox shows %v before switching to %v", checked, on)
		}
		browsertest.Do(t, ctx, "tick or untick token exchange", chromedp.Click("#token_exchange"), chromedp.Click(`form.policies button[type=submit]`))
		browsertest.WaitText(t, ctx, "main", "Policies saved.")
		p, err := env.Server.Console().Policies.Current(t.Context())
		if err != nil || p.TokenExchange != on {
			t.Fatalf("policy after saving %v: token_exchange %v, %v", on, p.TokenExchange, err)
		}
		if got := slices.Contains(discoveryGrants(t, env), clients.GrantTokenExchange); got != on {
			t.Fatalf("saved %v: discovery lists the grant: %v", on, got)
		}
		if on {
			browsertest.Do(t, ctx, "open the policies again", chromedp.Navigate(env.Issuer+"/console/policies"), chromedp.WaitVisible("#token_exchange"))
			if !browsertest.Eval[bool](t, ctx, `document.getElementById("token_exchange").checked`) {
				t.Fatal("the page does not show the saved switch")
			}
			browsertest.Do(t, ctx, "scroll to the section", chromedp.ScrollIntoView("#token-exchange"))
			checkConsolePage(t, ctx, "console-policies-token-exchange")
		}
	}
}
