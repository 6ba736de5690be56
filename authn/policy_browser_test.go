package authn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestPasskeyPoliciesInChromium proves each passkey policy, on SQLite and
// PostgreSQL, with Chromium's virtual authenticators configured for the
// facts the policies judge — attestation format (none, when the policy
// asks for none; packed, chained to FIDO metadata that lists Chromium's
// model as verifying users by fingerprint) and backup eligibility and
// state (synced or device-bound):
//   - the global AAGUID allow list, enforced, refuses a passkey enrolled
//     without attestation (its model was never proven) and accepts an
//     attested one of the listed model; in grace mode the first signs
//     in, a warning is logged and the event records grace:aaguid_allow;
//   - a client's own allow list, enforced, refuses a model the global
//     list allows; the same list in grace mode signs in and records it;
//   - the global synced-passkey block refuses a synced passkey at
//     sign-up and at sign-in, with a clear message; a client in grace
//     mode accepts it, warns and records grace:synced_passkey;
//   - a client whose minimum is the user-verified level re-prompts a
//     session signed in without user verification (UV off), requiring it.
//
// Each token's acr and amr say what happened (fpt: the metadata says the
// model verifies users by fingerprint only).
func TestPasskeyPoliciesInChromium(t *testing.T) {
	cert, aaguid := chromiumAttestation(t)
	signer := mdstest.NewSigner(t)
	blob := signer.Blob(t, mdstest.Entry{AAGUID: aaguid, Status: "FIDO_CERTIFIED_L2", Types: []string{"basic_full"},
		Roots: []string{signer.AnchorFor(t, cert)}, UV: []string{"presence_internal", "fingerprint_internal"}})
	first := true
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		checkA11y := first
		first = false
		// Attestation "none" to start with; the admin's policy later asks
		// for it and names the metadata file (checked against this root).
		logs := &lockedBuffer{} // a grace mode warns in the log
		env := servertest.NewLogged(t, logs, append(opts, servertest.UnverifiedEmails(), servertest.With(func(c *config.Config) {
			c.Attestation, c.MDSRoot = "none", signer.Root
		}))...)
		policiesJourney(t, env, logs, aaguid, blob, checkA11y)
	})
}

func policiesJourney(t *testing.T, env *servertest.Env, logs *lockedBuffer, aaguid, blob string, checkA11y bool) {
	const otherModel = "ee882879-721c-4913-9775-3dfcce97072a"
	bg := context.Background()
	pols := env.Server.Console().Policies
	setPolicy := func(what string, change func(*policy.Policy)) {
		t.Helper()
		p, err := pols.Current(bg)
		if err != nil {
			t.Fatal(err)
		}
		change(&p)
		if _, err := pols.Update(bg, p); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	spec := clients.Spec{Name: "Ledger", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"}
	plain := newRelyingParty(t, env, spec)
	spec.Name, spec.AAGUIDAllow, spec.AAGUIDAllowMode = "Vault", []string{otherModel}, policy.ModelEnforce
	vault := newRelyingParty(t, env, spec)
	spec.Name, spec.AAGUIDAllowMode = "Trial", policy.ModelGrace
	trial := newRelyingParty(t, env, spec)
	spec.Name, spec.AAGUIDAllow, spec.AAGUIDAllowMode, spec.SyncedPasskeys = "Lenient", nil, "", policy.SyncedGrace
	lenient := newRelyingParty(t, env, spec)
	spec.Name, spec.SyncedPasskeys, spec.MinACR = "Notes", "", models.ACRUserVerified
	notes := newRelyingParty(t, env, spec)

	// Each person in a browser of their own, with one authenticator.
	browser := func(o *webauthn.VirtualAuthenticatorOptions) (context.Context, webauthn.AuthenticatorID) {
		ctx := browsertest.New(t)
		browsertest.WithoutAutofill(t, ctx) // the button's modal request says which passkey answers
		return ctx, browsertest.AddAuthenticator(t, ctx, o)
	}
	signUp := func(ctx context.Context, rp *relyingParty, email string) *authorization {
		t.Helper()
		a := rp.start()
		browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
		browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
		browsertest.WaitLoaded(t, ctx) // the form's script is wired
		browsertest.Do(t, ctx, "sign up", chromedp.SendKeys("#email", email), chromedp.SendKeys("#name", "Someone"), chromedp.Click("#signup-button"))
		return a
	}
	signIn := func(ctx context.Context, rp *relyingParty) *authorization {
		t.Helper()
		a := rp.start(oauth2.SetAuthURLParam("prompt", "login"))
		browsertest.Do(t, ctx, "open sign-in", chromedp.Navigate(a.url), chromedp.WaitVisible("#email-form"))
		browsertest.WaitLoaded(t, ctx)
		browsertest.Do(t, ctx, "sign in", chromedp.Click("#passkey-button"))
		return a
	}
	refused := func(ctx context.Context, rp *relyingParty, what, message string) {
		t.Helper()
		browsertest.WaitText(t, ctx, "#status", message)
		if loc := browsertest.Location(t, ctx); strings.HasPrefix(loc, rp.callback) {
			t.Fatalf("%s: signed in to the app", what)
		}
	}
	userID := func(email string) string {
		t.Helper()
		u, err := env.Store.GetUserByEmail(bg, email)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		return u.ID
	}
	const (
		notAllowed = "This kind of passkey or security key is not allowed here"
		noSynced   = "Passkeys that sync between devices are not accepted here"
	)

	// 1. Under attestation "none" Ann enrols a device-bound passkey: the
	// browser conveys no attestation (format none), so its model is not
	// proven — device-bound, not attested. (No metadata yet: no pin/fpt.)
	ann, annAuth := browser(browsertest.Passkey())
	a := signUp(ann, plain, "ann@example.com")
	wantLevel(t, "unattested sign-up", a.finish(t, browsertest.WaitLocation(t, ann, plain.callback)), models.ACRDeviceBound, "pop", "hwk", "user", "mfa")
	annID := userID("ann@example.com")
	if cs, err := env.Store.ListUserCredentials(bg, annID); err != nil || len(cs) != 1 || cs[0].AttestationFormat != "none" {
		t.Fatalf("Ann's credential: %+v %v", cs, err)
	}

	// 2. The global allow list names Chromium's model, enforced: Ann's
	// unattested passkey is refused; Bob's attested one (packed) signs up
	// at the attested level, fingerprint-verified.
	setPolicy("global allow list", func(p *policy.Policy) {
		p.Attestation, p.MDSFile, p.AAGUIDAllow, p.AAGUIDAllowMode = "direct", blob, []string{aaguid}, policy.ModelEnforce
	})
	signIn(ann, plain)
	refused(ann, plain, "unattested passkey under the allow list", notAllowed)
	wantLastEvent(t, env, annID, models.ResultFailure, "authenticator_not_allowed")
	bob, _ := browser(browsertest.Passkey())
	a = signUp(bob, plain, "bob@example.com")
	wantLevel(t, "attested sign-up", a.finish(t, browsertest.WaitLocation(t, bob, plain.callback)), models.ACRAttested, "pop", "hwk", "user", "mfa", "fpt")
	bobID := userID("bob@example.com")
	if cs, err := env.Store.ListUserCredentials(bg, bobID); err != nil || len(cs) != 1 || cs[0].AttestationFormat != "packed" || cs[0].AAGUID != aaguid {
		t.Fatalf("Bob's credential: %+v %v", cs, err)
	}

	// 3. The same list in grace mode: Ann signs in, and the event says an
	// enforced list would have refused her passkey.
	setPolicy("global allow list in grace", func(p *policy.Policy) { p.AAGUIDAllowMode = policy.ModelGrace })
	a = signIn(ann, plain)
	// Device-bound, not attested; the authenticator's AAGUID (claimed,
	// not proven) is Chromium's, whose metadata says fingerprint, as for
	// a self attestation (TestSelfAttestationIsNotAttested).
	wantLevel(t, "graced model", a.finish(t, browsertest.WaitLocation(t, ann, plain.callback)), models.ACRDeviceBound, "pop", "hwk", "user", "mfa", "fpt")
	wantLastEvent(t, env, annID, models.ResultSuccess, passkey.GraceModel)
	warned(t, logs, "off the AAGUID allow list accepted under the grace mode", annID)

	// 4. Vault's own list (another model), enforced: Bob's passkey does
	// not serve there though the global list allows it. Trial has the
	// same list in grace mode: Bob signs in, recorded.
	// Bob is signed in (Ledger) but his passkey cannot serve Vault: the
	// login page names the approved model and offers to add one, and
	// nothing else.
	a = vault.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, bob, "open vault", chromedp.Navigate(a.url), chromedp.WaitVisible("#stepup-none"))
	browsertest.WaitText(t, bob, "#stepup-level", "a model its administrator approved (YubiKey 5 Series)")
	if browsertest.Eval[bool](t, bob, `!!document.getElementById("passkey-button") || !!document.getElementById("email-form")`) {
		t.Fatal("Vault's page offers a way in with a passkey off its list")
	}
	if checkA11y {
		checkHostedPage(t, bob, hostedPage{name: "stepup-model", primary: "#enrol-button"})
	}
	// Signed out, Bob tries his passkey at Vault anyway: refused.
	if _, err := chromedp.Call(bob, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	signIn(bob, vault)
	refused(bob, vault, "a model off the client's list", notAllowed)
	wantLastEvent(t, env, bobID, models.ResultFailure, "authenticator_not_allowed")
	a = signIn(bob, trial)
	wantLevel(t, "client list in grace", a.finish(t, browsertest.WaitLocation(t, bob, trial.callback)), models.ACRAttested, "pop", "hwk", "user", "mfa", "fpt")
	wantLastEvent(t, env, bobID, models.ResultSuccess, passkey.GraceModel)

	// 5. The global policy blocks synced passkeys (the allow list off):
	// Cat's synced passkey (BE=1, BS=1) cannot sign up; through Lenient
	// (grace) it can, recorded; then the default app refuses it at
	// sign-in and Lenient still signs it in.
	setPolicy("block synced passkeys", func(p *policy.Policy) {
		p.AAGUIDAllow, p.AAGUIDAllowMode, p.SyncedPasskeys = nil, "", policy.SyncedBlock
	})
	synced := browsertest.Passkey()
	synced.DefaultBackupEligibility, synced.DefaultBackupState = true, true
	cat, catAuth := browser(synced)
	signUp(cat, plain, "cat@example.com")
	refused(cat, plain, "synced sign-up under a global block", noSynced)
	if _, err := env.Store.GetUserByEmail(bg, "cat@example.com"); err == nil {
		t.Fatal("a refused synced sign-up created the account")
	}
	// The refused passkey stays in the authenticator: a fresh one, so
	// the sign-ins below use the enrolled passkey.
	browsertest.RemoveAuthenticator(t, cat, catAuth)
	browsertest.AddAuthenticator(t, cat, synced)
	a = signUp(cat, lenient, "cat@example.com")
	wantLevel(t, "synced sign-up in grace", a.finish(t, browsertest.WaitLocation(t, cat, lenient.callback)), models.ACRUserVerified, "pop", "swk", "user", "mfa", "fpt")
	catID := userID("cat@example.com")
	events, err := env.Store.ListAuthEvents(bg, catID, 5)
	if err != nil || !hasReason(events, passkey.GraceSynced) {
		t.Fatalf("Cat's sign-up events %+v (%v): no %s", events, err, passkey.GraceSynced)
	}
	signIn(cat, plain)
	refused(cat, plain, "synced sign-in under a global block", noSynced)
	wantLastEvent(t, env, catID, models.ResultFailure, "synced_passkey_refused")
	a = signIn(cat, lenient)
	wantLevel(t, "synced sign-in in grace", a.finish(t, browsertest.WaitLocation(t, cat, lenient.callback)), models.ACRUserVerified, "pop", "swk", "user", "mfa", "fpt")
	wantLastEvent(t, env, catID, models.ResultSuccess, passkey.GraceSynced)
	warned(t, logs, "synced passkey accepted under the grace policy", catID)

	// 6. Notes' minimum is the user-verified level. Ann signs in to
	// Ledger with an authenticator that does not verify her (basic);
	// Notes then asks again, offering her passkey and requiring user
	// verification, and she reaches device-bound.
	presence := browsertest.Passkey()
	presence.HasUserVerification, presence.IsUserVerified = false, false
	annAuth = moveCredential(t, ann, annAuth, presence)
	a = plain.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ann, "open sign-in", chromedp.Navigate(a.url), chromedp.WaitVisible("#email-form"))
	browsertest.WaitLoaded(t, ann)
	browsertest.Do(t, ann, "sign in without UV", chromedp.SendKeys("#email", "ann@example.com"), chromedp.Click("#continue-button"))
	wantLevel(t, "presence only", a.finish(t, browsertest.WaitLocation(t, ann, plain.callback)), models.ACRBasic, "pop", "hwk", "user")
	moveCredential(t, ann, annAuth, browsertest.Passkey())
	a = notes.start()
	browsertest.Do(t, ann, "open notes", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	browsertest.WaitLoaded(t, ann)
	browsertest.WaitText(t, ann, "#stepup-level", "checks it's you")
	if ids := stepUpAllowed(t, ann); len(ids) != 1 {
		t.Fatalf("step-up allowCredentials = %v, want Ann's one passkey", ids)
	}
	browsertest.Do(t, ann, "step up with UV", chromedp.Click("#passkey-button"))
	wantLevel(t, "user-verified minimum", a.finish(t, browsertest.WaitLocation(t, ann, notes.callback)), models.ACRDeviceBound, "pop", "hwk", "user", "mfa", "fpt")
}

// warned checks that a warning with message (about the user) was logged.
func warned(t *testing.T, logs *lockedBuffer, message, userID string) {
	t.Helper()
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, message) && strings.Contains(line, userID) && strings.Contains(line, "WARN") {
			return
		}
	}
	t.Errorf("no warning %q about %s logged", message, userID)
}

func hasReason(events []models.AuthEvent, reason string) bool {
	for _, e := range events {
		if strings.Contains(e.Reason, reason) {
			return true
		}
	}
	return false
}
