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
// logout, front-channel logout and pairwise subjects off with the
// policies page's checkboxes and on again, in Chromium; each save shows in
// the policy and in discovery at once, and the page shows what was saved.
// The section passes checkConsolePage (axe-core, CSP, labelled fields, no
// sideways scrolling, visible focus) at 1280×800 and 390×844.
// SESAME_SCREENSHOTS=DIR saves a PNG of each view.
func TestConsoleProtocolSwitchesInChromium(t *testing.T) {
	env, httpBrowser, _ := uiAdmin(t)
	ctx := browsertest.New(t)
	adminInChromium(t, ctx, env, httpBrowser)
	boxes := []string{"backchannel_logout", "frontchannel_logout", "pairwise_subjects"}
	for _, on := range []bool{false, true} {
		browsertest.Do(t, ctx, "open the policies", chromedp.Navigate(env.Issuer+"/console/policies"), chromedp.WaitVisible("#pairwise_subjects"))
		for _, id := range boxes {
			if checked := browsertest.Eval[bool](t, ctx, `document.getElementById("`+id+`").checked`); checked == on {
				t.Fatalf("%s shows %v before switching to %v", id, checked, on)
			}
			browsertest.Do(t, ctx, "tick or untick "+id, chromedp.Click("#"+id))
		}
		if !on {
			browsertest.Do(t, ctx, "scroll to the section", chromedp.ScrollIntoView("#logout-and-subjects"))
			checkConsolePage(t, ctx, "console-policies-logout-and-subjects", false)
		}
		browsertest.Do(t, ctx, "save", chromedp.Click(`form.policies button[type=submit]`))
		browsertest.WaitText(t, ctx, "main", "Policies saved.")
		p, err := env.Server.Console().Policies.Current(t.Context())
		if err != nil || p.BackchannelLogout != on || p.FrontchannelLogout != on || p.PairwiseSubjects != on || p.TokenExchange {
			t.Fatalf("policy after saving %v: %+v, %v", on, p, err)
		}
		if got := protocolAdvertised(t, env); got != [3]bool{on, on, on} {
			t.Fatalf("saved %v: discovery advertises back-channel, front-channel, pairwise = %v", on, got)
		}
	}
}

// protocolAdvertised is what discovery says of back-channel logout,
// front-channel logout and the pairwise subject type.
func protocolAdvertised(t *testing.T, env *servertest.Env) [3]bool {
	t.Helper()
	var doc struct {
		Back     bool     `json:"backchannel_logout_supported"`
		Front    bool     `json:"frontchannel_logout_supported"`
		Subjects []string `json:"subject_types_supported"`
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
	return [3]bool{doc.Back, doc.Front, pairwise}
}
