package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// step bounds one browser action so a stuck page fails the test instead
// of hanging it.
func step(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 30*time.Second)
}

// Do runs actions in the tab, failing the test on error.
//
// The actions run one by one, each once the tab's document has finished
// loading: a page's scripts (deferred) attach their handlers before that,
// and a click that lands earlier, on a loaded machine, does nothing. One
// that finds its element gone (the document it was found in was replaced
// by a navigation still finishing) did nothing either, so it is tried once
// more when the page has loaded; any other error fails at once.
func Do(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	for _, a := range actions {
		waitComplete(sctx)
		err := chromedp.Do(sctx, a)
		if err != nil && staleNode(err) {
			waitComplete(sctx)
			err = chromedp.Do(sctx, a)
		}
		if err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("%s: %v\nat %s, page says:\n%s", what, err, loc, text)
		}
	}
}

// staleNode reports the DevTools errors of an element that left the page
// between being found and being used.
func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No node with given id found") || strings.Contains(msg, "Could not find node with given id")
}

// waitComplete waits (up to 5 s) for the tab's document to finish loading.
func waitComplete(ctx context.Context) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`)); err == nil && ok {
			return
		}
	}
}

// Location returns the tab's URL.
func Location(t testing.TB, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("location: %v", err)
	}
	return loc
}

// WaitLocation waits until the tab shows a document whose URL starts with
// prefix and which has finished loading, and returns the URL. (The URL
// alone changes before the new document is parsed: a query right after it
// could still see nothing, or the old page.)
func WaitLocation(t testing.TB, ctx context.Context, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var loc string
	for time.Now().Before(deadline) {
		loc, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? document.location.href : ""`))
		if loc != "" && strings.HasPrefix(loc, prefix) {
			return loc
		}
		time.Sleep(50 * time.Millisecond)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("waited for %s, still at %s; page says:\n%s", prefix, loc, text)
	return ""
}

// Eval evaluates a JavaScript expression.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := step(ctx)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// WaitTrue waits until the JavaScript expression is true. An evaluation
// that fails while the page navigates counts as not yet.
func WaitTrue(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	t.Fatalf("waited for %s (%s), still not so at %s", what, expr, loc)
}

// WaitText waits until the element's visible text contains want.
func WaitText(t testing.TB, ctx context.Context, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		got, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){var e=document.querySelector(`+jsString(sel)+`);return e&&!e.hidden?e.innerText:""})()`))
		if strings.Contains(got, want) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waited for %q in %s, got %q", want, sel, got)
	return ""
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// RemoveAuthenticator detaches a virtual authenticator.
func RemoveAuthenticator(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID) {
	t.Helper()
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
	})
	if err != nil {
		t.Fatalf("remove authenticator: %v", err)
	}
}

// SetUserVerified makes a virtual authenticator's user verification
// succeed (on) or fail (off) from now on.
func SetUserVerified(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID, on bool) {
	t.Helper()
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: on})
	})
	if err != nil {
		t.Fatalf("set user verified: %v", err)
	}
}

// AddCredential puts an exported credential into an authenticator (to
// simulate a passkey manager that still holds a credential).
func AddCredential(t testing.TB, ctx context.Context, id webauthn.AuthenticatorID, c *webauthn.Credential) {
	t.Helper()
	// Only the fields a credential is made of: an exported credential also
	// carries CMTG fields that authenticators without that extension
	// refuse even when empty.
	cred := map[string]any{
		"credentialId": c.CredentialID, "isResidentCredential": c.IsResidentCredential, "rpId": c.RpID,
		"privateKey": c.PrivateKey, "userHandle": c.UserHandle, "signCount": c.SignCount,
		"backupEligibility": c.BackupEligibility, "backupState": c.BackupState,
	}
	params := map[string]any{"authenticatorId": id, "credential": cred}
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		var out cdp.Empty
		return out, tg.Call(ctx, webauthn.CommandAddCredential, params, &out)
	})
	if err != nil {
		t.Fatalf("add credential: %v", err)
	}
}

// WithoutAutofill makes the tab's pages see a browser without
// conditional mediation (passkey autofill), until the returned func is
// called. Chromium's virtual authenticator answers an autofill request at
// once, so tests of the modal paths (button, username-first) switch it off
// to know which path signed in — which also exercises the pages' fallback
// for browsers without autofill.
func WithoutAutofill(t testing.TB, ctx context.Context) (restore func()) {
	t.Helper()
	const src = `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); }; }`
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (page.AddScriptToEvaluateOnNewDocumentResult, error) {
		return cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
	})
	if err != nil {
		t.Fatalf("disable autofill: %v", err)
	}
	return func() {
		_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
			return cdp.Call(ctx, tg, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: res.Identifier})
		})
		if err != nil {
			t.Fatalf("restore autofill: %v", err)
		}
	}
}

// WaitLoaded waits until the tab's document has finished loading (its
// deferred scripts have run), so a click is not lost to a page that is
// still wiring its handlers.
func WaitLoaded(t testing.TB, ctx context.Context) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`)); s == "complete" {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("page never finished loading: %s", Location(t, ctx))
}
