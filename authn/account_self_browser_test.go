package authn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
)

// TestEmailChangeAndDeletionJourneyInChromium walks the two self-service
// changes a person makes to their account in a real browser with a
// virtual passkey: after a link sign-in (not fresh enough) the email
// section says to sign in again; a passkey sign-in brings the form; the
// new address gets a link that changes the address when its button is
// pressed, and the old one a notice; then the account is scheduled for
// deletion (the box must be ticked), which signs the browser out, and the
// mailed "keep my account" link cancels it. Each new page is checked with
// axe at 1280×800 and 390×844 and screenshotted.
func TestEmailChangeAndDeletionJourneyInChromium(t *testing.T) {
	env := newPLEnv(t)
	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	tag := randomString()[:6]
	old, next := "hedy-"+tag+"@example.com", "hedy.new-"+tag+"@example.com"
	u := plUser(t, env, old, true)

	linkThenPasskey(t, env, ctx, old)

	// The link sign-in cannot change the address: the page says to sign
	// in again, and the passkey sign-in returns to the email section.
	browsertest.Do(t, ctx, "email section", chromedp.WaitVisible("#reauth-email"))
	restore := browsertest.WithoutAutofill(t, ctx)
	browsertest.Do(t, ctx, "sign in again", chromedp.Click("#reauth-email"), chromedp.WaitVisible("#passkey-button"),
		chromedp.Click("#passkey-button"))
	restore()
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	browsertest.Do(t, ctx, "email form", chromedp.WaitVisible("#email-form"), chromedp.ScrollIntoView("#email"))
	checkHostedPage(t, ctx, hostedPage{name: "email-change-1-form", dark: true})

	// A malformed address is answered at the field, nothing sent.
	browsertest.Do(t, ctx, "a bad address", chromedp.SendKeys("#new-email", "not an address"), chromedp.Click("#email-save"),
		chromedp.WaitVisible("#new-email-error"))
	browsertest.WaitText(t, ctx, "#new-email-error", "Enter an email address")
	if invalid := browsertest.Eval[string](t, ctx, `document.getElementById("new-email").getAttribute("aria-invalid")`); invalid != "true" {
		t.Fatalf("the field is not marked invalid: %q", invalid)
	}
	checkHostedPage(t, ctx, hostedPage{name: "email-change-2-error"})
	browsertest.Eval[string](t, ctx, `document.getElementById("new-email").value = ""`)
	browsertest.Do(t, ctx, "the new address", chromedp.SendKeys("#new-email", next),
		chromedp.Click("#email-save"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=email_sent")
	browsertest.WaitText(t, ctx, "div.notice", "Check the inbox of the new address")
	if got, _ := env.Store.GetUser(context.Background(), u.ID); got.Email != old {
		t.Fatalf("the address changed before the link was used: %q", got.Email)
	}

	// The link mailed to the new address changes it when its button is
	// pressed (opening it alone does nothing, so mail scanners do not).
	_, confirm := env.mailFor(t, 2, next)
	if confirm == "" {
		t.Fatal("no link in the mail to the new address")
	}
	browsertest.Do(t, ctx, "open the link", chromedp.Navigate(env.Issuer+confirm), chromedp.WaitVisible("#account-link-apply"))
	checkHostedPage(t, ctx, hostedPage{name: "email-change-3-link", primary: "#account-link-apply", dark: true})
	if got, _ := env.Store.GetUser(context.Background(), u.ID); got.Email != old {
		t.Fatalf("opening the link changed the address: %q", got.Email)
	}
	// The link page has an h1 too: wait for the answer's words.
	browsertest.Do(t, ctx, "confirm", chromedp.Click("#account-link-apply"))
	browsertest.WaitText(t, ctx, "main", "Your account now uses "+next)
	checkHostedPage(t, ctx, hostedPage{name: "email-change-4-done"})
	if got, _ := env.Store.GetUser(context.Background(), u.ID); got.Email != next || !got.EmailVerified {
		t.Fatalf("after the link: %q verified %v, want %q verified", got.Email, got.EmailVerified, next)
	}
	notice, revert := env.mailFor(t, 3, old)
	if revert == "" || !strings.Contains(notice.Text, next) {
		t.Fatalf("the old address got no notice with a revert link:\n%s", notice.Text)
	}
	browsertest.Do(t, ctx, "account", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible("#delete"))
	browsertest.WaitText(t, ctx, "main", next)

	// Deletion: the box must be ticked; then the browser is signed out and
	// the page says when the account goes.
	browsertest.Do(t, ctx, "delete section", chromedp.ScrollIntoView("#delete"), chromedp.WaitVisible("#delete-form"))
	checkHostedPage(t, ctx, hostedPage{name: "delete-1-form"})
	if req := browsertest.Eval[bool](t, ctx, `document.getElementById("delete-confirm").required`); !req {
		t.Fatal("the confirmation box is not required")
	}
	browsertest.Do(t, ctx, "delete", chromedp.Click("#delete-confirm"), chromedp.Click("#delete-account"))
	browsertest.WaitText(t, ctx, "main", "will be deleted on")
	checkHostedPage(t, ctx, hostedPage{name: "delete-2-scheduled", dark: true})
	got, _ := env.Store.GetUser(context.Background(), u.ID)
	if got.DeletionDueAt == nil {
		t.Fatal("no deletion scheduled")
	}
	browsertest.Do(t, ctx, "signed out", chromedp.Navigate(env.Issuer+"/account"), chromedp.WaitVisible(`a.button.primary[href="/login"]`))
	if strings.Contains(browsertest.Eval[string](t, ctx, `document.body.innerText`), next) {
		t.Fatal("still signed in after asking for deletion")
	}

	// "Keep my account" from the mail, in the same browser, signed out.
	m, keep := env.mailFor(t, 4, next)
	if keep == "" || !strings.Contains(m.Text, "Keep my account") {
		t.Fatalf("deletion mail:\n%s", m.Text)
	}
	browsertest.Do(t, ctx, "open the keep link", chromedp.Navigate(env.Issuer+keep), chromedp.WaitVisible("#account-link-apply"))
	checkHostedPage(t, ctx, hostedPage{name: "delete-3-keep", primary: "#account-link-apply"})
	browsertest.Do(t, ctx, "keep", chromedp.Click("#account-link-apply"))
	browsertest.WaitText(t, ctx, "main", "deletion was cancelled")
	if got, _ := env.Store.GetUser(context.Background(), u.ID); got.DeletionDueAt != nil {
		t.Fatal("still scheduled after the keep link")
	}
}
