package console_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsoleProtocolSwitchesInChromium: an admin turns back-channel
// logout, front-channel logout, pairwise subjects, the device grant and
// DPoP off and PAR required for every client with the policies page's
// checkboxes, and back, then the PAR endpoint off and on, in Chromium; each save shows in the policy and in
// discovery at once, and the page shows what was saved.
// The section passes checkConsolePage (axe-core, CSP, labelled fields, no
// sideways scrolling, visible focus) at 1280×800 and 390×844.
// SESAME_SCREENSHOTS=DIR saves a PNG of each view.
func TestConsoleProtocolSwitchesInChromium(t *testing.T) {
	env, httpBrowser, _ := uiAdmin(t)
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	// Required PAR is off by default: it is ticked when the others are
	// unticked.
	boxes := []string{"backchannel_logout", "frontchannel_logout", "pairwise_subjects", "device_grant", "dpop", "require_pushed_authorization_requests"}
	for _, on := range []bool{false, true} {
		browsertest.Do(t, ctx, "open the policies", chromedp.Navigate(env.Issuer+"/console/policies"), chromedp.WaitVisible("#pairwise_subjects"))
		for _, id := range boxes {
			want := on
			if id == "require_pushed_authorization_requests" {
				want = !on
			}
			if checked := browsertest.Eval[bool](t, ctx, `document.getElementById("`+id+`").checked`); checked == want {
				t.Fatalf("%s shows %v before switching to %v", id, checked, want)
			}
			browsertest.Do(t, ctx, "tick or untick "+id, chromedp.Click("#"+id))
		}
		if !on {
			browsertest.Do(t, ctx, "scroll to the section", chromedp.ScrollIntoView("#logout-and-subjects"))
			checkConsolePage(t, ctx, "console-policies-logout-and-subjects")
			browsertest.Do(t, ctx, "scroll to the next section", chromedp.ScrollIntoView("#devices-par-dpop"))
			checkConsolePage(t, ctx, "console-policies-devices-par-dpop")
		}
		browsertest.Do(t, ctx, "save", chromedp.Click(`form.policies button[type=submit]`))
		browsertest.WaitText(t, ctx, "main", "Policies saved.")
		p, err := env.Server.Console().Policies.Current(t.Context())
		if err != nil || p.BackchannelLogout != on || p.FrontchannelLogout != on || p.PairwiseSubjects != on || p.TokenExchange ||
			p.DeviceGrant != on || p.DPoP != on || p.RequirePushedAuthorizationRequests == on {
			t.Fatalf("policy after saving %v: %+v, %v", on, p, err)
		}
		if got := protocolAdvertised(t, env); got != [7]bool{on, on, on, on, on, true, !on} {
			t.Fatalf("saved %v: discovery advertises back-channel, front-channel, pairwise, device, DPoP, PAR, required PAR = %v", on, got)
		}
	}
	// The PAR endpoint itself (required PAR is off again): off and on.
	for _, on := range []bool{false, true} {
		browsertest.Do(t, ctx, "open the policies", chromedp.Navigate(env.Issuer+"/console/policies"), chromedp.WaitVisible("#pushed_authorization_requests"))
		browsertest.Do(t, ctx, "tick or untick the PAR endpoint", chromedp.Click("#pushed_authorization_requests"))
		browsertest.Do(t, ctx, "save", chromedp.Click(`form.policies button[type=submit]`))
		browsertest.WaitText(t, ctx, "main", "Policies saved.")
		if p, err := env.Server.Console().Policies.Current(t.Context()); err != nil || p.PushedAuthorizationRequests != on || p.RequirePushedAuthorizationRequests {
			t.Fatalf("policy after saving PAR %v: %+v, %v", on, p, err)
		}
		if got := protocolAdvertised(t, env); got != [7]bool{true, true, true, true, true, on, false} {
			t.Fatalf("saved PAR %v: discovery advertises %v", on, got)
		}
	}
}

// protocolAdvertised is what discovery says of back-channel logout,
// front-channel logout, the pairwise subject type, the device grant, DPoP,
// the PAR endpoint and required PAR.
func protocolAdvertised(t *testing.T, env *servertest.Env) [7]bool {
	t.Helper()
	var doc struct {
		Back       bool     `json:"backchannel_logout_supported"`
		Front      bool     `json:"frontchannel_logout_supported"`
		Subjects   []string `json:"subject_types_supported"`
		Device     string   `json:"device_authorization_endpoint"`
		DPoPAlgs   []string `json:"dpop_signing_alg_values_supported"`
		PAR        string   `json:"pushed_authorization_request_endpoint"`
		RequirePAR bool     `json:"require_pushed_authorization_requests"`
	}
	resp, err := http.Get(env.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	pairwise := false
	for _, s := range doc.Subjects {
		pairwise = pairwise || s == "pairwise"
	}
	return [7]bool{doc.Back, doc.Front, pairwise, doc.Device != "", len(doc.DPoPAlgs) > 0, doc.PAR != "", doc.RequirePAR}
}
