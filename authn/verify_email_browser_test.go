package authn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/mail/mailtest"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestVerifiedEmailJourneyInChromium: a passkey sign-up in Chromium
// (virtual authenticator) under the default policy (require_verified_email)
// is held on the code page; the code arrives by real SMTP (the test's
// server, through the outbox's delivery loop), is typed on that page, and
// the sign-up goes on to the app, whose stock OIDC client gets an ID token
// with email_verified true — with the passkey made before the proof still
// signing in afterwards.
func TestVerifiedEmailJourneyInChromium(t *testing.T) {
	smtp := mailtest.Start(t)
	env := servertest.New(t, servertest.SMTP(smtp))
	env.DeliverMail()
	rp := newRelyingParty(t, env, clients.Spec{Name: "Acme Notes", SkipConsent: true})
	ctx := browsertest.New(t)
	auth := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())

	a := rp.start()
	signUpToCodePage(t, ctx, env, a.url, "grace@example.com", "Grace Hopper")
	browsertest.Screenshot(t, ctx, "verify-email-code")
	if n := len(browsertest.Credentials(t, ctx, auth)); n != 1 {
		t.Fatalf("the authenticator holds %d passkeys while the code is asked, want 1", n)
	}

	// The code, as the SMTP server received it.
	code := mailedCode(t, smtp, "grace@example.com")
	u, err := env.Store.GetUserByEmail(context.Background(), "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.EmailVerified {
		t.Fatal("the address counts as verified before the code was typed")
	}
	browsertest.Do(t, ctx, "type the code", chromedp.SendKeys("#code", code), chromedp.Click("#verify-button"))
	claims := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback))
	if claims.Email != "grace@example.com" || !claims.EmailVerified || claims.Name != "Grace Hopper" {
		t.Fatalf("ID token after the proof = %+v, want email_verified true", claims)
	}
	if claims.ACR != models.ACRDeviceBound || !strings.Contains(strings.Join(claims.AMR, " "), "pop") {
		t.Fatalf("the sign-up's passkey is not in the ID token: amr %v acr %q", claims.AMR, claims.ACR)
	}
	if u, err = env.Store.GetUserByEmail(context.Background(), "grace@example.com"); err != nil || !u.EmailVerified {
		t.Fatalf("stored user after the proof: %+v %v", u, err)
	}

	// The passkey made before the proof signs in; no second code is asked.
	restore := browsertest.WithoutAutofill(t, ctx)
	defer restore()
	a = rp.start()
	browsertest.Do(t, ctx, "sign in again", chromedp.Navigate(a.url+"&prompt=login"), chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	if again := a.finish(t, browsertest.WaitLocation(t, ctx, rp.callback)); again.Sub != claims.Sub || !again.EmailVerified {
		t.Fatalf("second sign-in = %+v", again)
	}
	if n := len(smtp.Messages()); n != 1 {
		t.Fatalf("%d mails sent, want the one code", n)
	}
}
