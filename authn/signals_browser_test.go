package authn_test

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/server/servertest"
)

// signalRecorder replaces PublicKeyCredential's signal methods, in every
// document of the tab before its scripts run, by recorders: each call is
// kept in sessionStorage (the pages navigate right after some of them)
// and resolves without touching the browser's passkeys. Exceptions of the
// pages are recorded too.
const signalRecorder = `(function () {
  function keep(name, arg) {
    var list = JSON.parse(sessionStorage.getItem("__signals") || "[]");
    list.push({ name: name, arg: arg });
    sessionStorage.setItem("__signals", JSON.stringify(list));
  }
  window.addEventListener("error", function (e) { keep("error", String(e.message)); });
  window.addEventListener("unhandledrejection", function (e) { keep("error", String(e.reason)); });
  if (!window.PublicKeyCredential) { return; }
  ["signalUnknownCredential", "signalAllAcceptedCredentials", "signalCurrentUserDetails"].forEach(function (name) {
    PublicKeyCredential[name] = function (arg) { keep(name, arg); return Promise.resolve(); };
  });
})();`

// withoutSignals is an older browser: no signal methods at all.
const withoutSignals = `(function () {
  if (!window.PublicKeyCredential) { return; }
  delete PublicKeyCredential.signalUnknownCredential;
  delete PublicKeyCredential.signalAllAcceptedCredentials;
  delete PublicKeyCredential.signalCurrentUserDetails;
  window.addEventListener("error", function (e) {
    var list = JSON.parse(sessionStorage.getItem("__signals") || "[]");
    list.push({ name: "error", arg: String(e.message) });
    sessionStorage.setItem("__signals", JSON.stringify(list));
  });
})();`

type signalCall struct {
	Name string `json:"name"`
	Arg  struct {
		RPID         string   `json:"rpId"`
		UserID       string   `json:"userId"`
		CredentialID string   `json:"credentialId"`
		Accepted     []string `json:"allAcceptedCredentialIds"`
		Name         string   `json:"name"`
		DisplayName  string   `json:"displayName"`
	} `json:"arg"`
}

func onNewDocument(t *testing.T, ctx context.Context, src string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		t.Fatalf("add script: %v", err)
	}
}

// takeSignals returns the calls recorded since the last take.
func takeSignals(t *testing.T, ctx context.Context) []signalCall {
	t.Helper()
	calls := browsertest.Eval[[]signalCall](t, ctx, `(function(){var l=JSON.parse(sessionStorage.getItem("__signals")||"[]");sessionStorage.removeItem("__signals");return l})()`)
	for _, c := range calls {
		if c.Name == "error" {
			t.Errorf("the page threw: %s", c.Arg)
		}
	}
	return calls
}

func onlySignal(t *testing.T, what string, calls []signalCall, name string) signalCall {
	t.Helper()
	if len(calls) != 1 || calls[0].Name != name {
		t.Fatalf("%s: signals %+v, want one %s", what, calls, name)
	}
	return calls[0]
}

// TestWebAuthnSignalsInChromium observes the pages' WebAuthn signal calls
// (WebAuthn L3 §5.1.10): signalAllAcceptedCredentials at each passkey
// sign-in and after a passkey is deleted, signalCurrentUserDetails after
// a name change, signalUnknownCredential after a sign-in with a deleted
// passkey — each with this RP ID, the account's user handle and the
// server's credential ids — and, in a browser without them (feature
// detection), the same pages work and throw nothing. On SQLite and
// PostgreSQL.
func TestWebAuthnSignalsInChromium(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		signalsJourney(t, servertest.New(t, append(opts, servertest.UnverifiedEmails())...))
	})
}

func signalsJourney(t *testing.T, env *servertest.Env) {
	ctx := browsertest.New(t)
	onNewDocument(t, ctx, signalRecorder)
	defer browsertest.WithoutAutofill(t, ctx)()
	first := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())

	browsertest.Do(t, ctx, "sign up", chromedp.Navigate(env.Issuer+"/signup"), chromedp.WaitVisible("#signup-form"),
		chromedp.SendKeys("#email", "ada@example.com"), chromedp.SendKeys("#name", "Ada Lovelace"), chromedp.Click("#signup-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	u, err := env.Store.GetUserByEmail(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	handle := base64.RawURLEncoding.EncodeToString([]byte(u.ID))
	firstID := b64url(browsertest.Credentials(t, ctx, first)[0].CredentialID)
	firstCred := browsertest.Credentials(t, ctx, first)[0]
	takeSignals(t, ctx)

	// A sign-in: the accepted list is the account's one passkey.
	browsertest.Do(t, ctx, "sign in", chromedp.Navigate(env.Issuer+"/login"), chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account")
	s := onlySignal(t, "sign-in", takeSignals(t, ctx), "signalAllAcceptedCredentials")
	if s.Arg.RPID != "localhost" || s.Arg.UserID != handle || !slices.Equal(s.Arg.Accepted, []string{firstID}) {
		t.Fatalf("sign-in signal %+v, want rp localhost, user %s, accepted [%s]", s.Arg, handle, firstID)
	}

	// A second passkey on another device, then the first deleted: the
	// accepted list is the second one only.
	browsertest.RemoveAuthenticator(t, ctx, first)
	second := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "add passkey", chromedp.WaitVisible("#add-passkey"), chromedp.Click("#add-passkey"))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=passkey_added")
	secondID := b64url(browsertest.Credentials(t, ctx, second)[0].CredentialID)
	if calls := takeSignals(t, ctx); len(calls) != 0 {
		t.Fatalf("adding a passkey signalled %+v", calls)
	}
	browsertest.Do(t, ctx, "delete the first passkey",
		chromedp.Click(`li[data-credential-id="`+firstID+`"] details.manage summary`),
		chromedp.Click(`li[data-credential-id="`+firstID+`"] form[action="/account/passkeys/delete"] button`))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=passkey_deleted")
	s = onlySignal(t, "deletion", takeSignals(t, ctx), "signalAllAcceptedCredentials")
	if s.Arg.UserID != handle || !slices.Equal(s.Arg.Accepted, []string{secondID}) {
		t.Fatalf("deletion signal %+v, want accepted [%s]", s.Arg, secondID)
	}

	// A new display name.
	browsertest.Do(t, ctx, "rename",
		chromedp.Clear("#display_name"), chromedp.SendKeys("#display_name", "Augusta Ada King"),
		chromedp.Click(`form[action="/account/name"] button`))
	browsertest.WaitLocation(t, ctx, env.Issuer+"/account?done=name")
	s = onlySignal(t, "name change", takeSignals(t, ctx), "signalCurrentUserDetails")
	if s.Arg.UserID != handle || s.Arg.Name != "ada@example.com" || s.Arg.DisplayName != "Augusta Ada King" {
		t.Fatalf("name signal %+v", s.Arg)
	}

	// The deleted passkey, still in a passkey manager, is refused and
	// named for removal.
	secondCred := browsertest.Credentials(t, ctx, second)[0]
	browsertest.RemoveAuthenticator(t, ctx, second)
	stale := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.AddCredential(t, ctx, stale, firstCred)
	browsertest.Do(t, ctx, "sign in with the deleted passkey", chromedp.Navigate(env.Issuer+"/login"), chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	waitSignals(t, ctx, 1)
	s = onlySignal(t, "unknown credential", takeSignals(t, ctx), "signalUnknownCredential")
	if s.Arg.RPID != "localhost" || s.Arg.CredentialID != firstID {
		t.Fatalf("unknown-credential signal %+v, want %s", s.Arg, firstID)
	}

	// An older browser without the signal methods: sign-in and the
	// account changes work the same, and nothing throws.
	browsertest.RemoveAuthenticator(t, ctx, stale)
	old := browsertest.NewTab(t, ctx)
	onNewDocument(t, old, withoutSignals)
	defer browsertest.WithoutAutofill(t, old)()
	current := browsertest.AddAuthenticator(t, old, browsertest.Passkey())
	browsertest.AddCredential(t, old, current, secondCred)
	browsertest.Do(t, old, "sign in without the signal methods", chromedp.Navigate(env.Issuer+"/login"), chromedp.WaitVisible("#passkey-button"), chromedp.Click("#passkey-button"))
	browsertest.WaitLocation(t, old, env.Issuer+"/account")
	browsertest.Do(t, old, "rename without the signal methods", chromedp.WaitVisible("#display_name"),
		chromedp.Clear("#display_name"), chromedp.SendKeys("#display_name", "Ada"), chromedp.Click(`form[action="/account/name"] button`))
	browsertest.WaitLocation(t, old, env.Issuer+"/account?done=name")
	browsertest.WaitLoaded(t, old)
	if calls := takeSignals(t, old); len(calls) != 0 {
		t.Fatalf("without signal methods: %+v", calls)
	}
}

// waitSignals waits until at least n calls are recorded.
func waitSignals(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	for range 200 {
		if browsertest.Eval[int](t, ctx, `JSON.parse(sessionStorage.getItem("__signals")||"[]").length`) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fewer than %d signal calls recorded", n)
}
