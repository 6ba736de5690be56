package authn_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// chromiumAttestation is browsertest.Attestation.
func chromiumAttestation(t *testing.T) (*x509.Certificate, string) { return browsertest.Attestation(t) }

// TestAssuranceLevelsInChromium proves the ordered acr scheme
// (models/acr.go) with Chromium's virtual authenticators configured for
// each fact — user verification on and off, backup eligible and state
// (synced) or not (device-bound), packed attestation with a certificate
// that chains to FIDO metadata (a BLOB signed by a test root, listing
// Chromium's authenticator as certified, verifying users by PIN) — and
// stock OIDC clients asking for levels with acr_values and a client's
// min_acr. Each token's acr and amr say exactly what happened; a session
// below the requested level re-prompts with only qualifying passkeys, and
// an account without one gets a page that enrols one.
func TestAssuranceLevelsInChromium(t *testing.T) {
	cert, aaguid := chromiumAttestation(t)
	signer := mdstest.NewSigner(t)
	blob := signer.Blob(t, mdstest.Entry{AAGUID: aaguid, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_full"},
		Roots: []string{signer.AnchorFor(t, cert)}, UV: []string{"presence_internal", "passcode_internal"}})
	first := true
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.NewLogged(t, os.Stderr, append(opts, servertest.UnverifiedEmails(), servertest.With(func(c *config.Config) {
			c.Attestation, c.MDSFile, c.MDSRoot = "direct", blob, signer.Root
		}))...)
		checkA11y := first
		first = false
		assuranceJourney(t, env, checkA11y)
	})
}

func assuranceJourney(t *testing.T, env *servertest.Env, checkA11y bool) {
	spec := clients.Spec{Name: "Ledger", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none"}
	plain := newRelyingParty(t, env, spec)
	spec.Name, spec.MinACR = "Vault", models.ACRAttested
	vault := newRelyingParty(t, env, spec)
	spec.Name, spec.MinACR, spec.SyncedPasskeys = "Strict", "", policy.SyncedBlock
	strict := newRelyingParty(t, env, spec)

	// Discovery lists the scheme, weakest first.
	if got := discoveredACRs(t, env); !slices.Equal(got, models.ACRLevels) {
		t.Fatalf("acr_values_supported = %v, want %v", got, models.ACRLevels)
	}

	ctx := browsertest.New(t)
	recordCSPViolations(t, ctx)
	// Autofill would answer at once with whichever credential; the modal
	// paths say which one signs in.
	defer browsertest.WithoutAutofill(t, ctx)()
	synced := &webauthn.VirtualAuthenticatorOptions{}
	*synced = *browsertest.Passkey()
	synced.DefaultBackupEligibility, synced.DefaultBackupState = true, true

	// 1. Sign up with a synced passkey (BE=1, BS=1, UV): user-verified
	// level, a software key; the metadata says the model verifies by PIN.
	syncedID := browsertest.AddAuthenticator(t, ctx, synced)
	a := plain.start()
	browsertest.Do(t, ctx, "open authorization", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	browsertest.Do(t, ctx, "go to sign-up", chromedp.Click(`a[href^="/signup"]`), chromedp.WaitVisible("#signup-form"))
	browsertest.Do(t, ctx, "sign up",
		chromedp.SendKeys("#email", "grace@example.com"), chromedp.SendKeys("#name", "Grace Hopper"), chromedp.Click("#signup-button"))
	claims := a.finish(t, browsertest.WaitLocation(t, ctx, plain.callback))
	wantLevel(t, "synced sign-up", claims, models.ACRUserVerified, "pop", "swk", "user", "mfa", "pin")
	syncedCred := browsertest.Credentials(t, ctx, syncedID)[0]

	// 2. The same app asks for a device-bound passkey (acr_values): the
	// session is below it and the account has none, so the login page
	// says so and offers to add one.
	a = plain.start(oauth2.SetAuthURLParam("acr_values", models.ACRDeviceBound))
	browsertest.Do(t, ctx, "ask for device-bound", chromedp.Navigate(a.url), chromedp.WaitVisible("#stepup-none"))
	browsertest.WaitText(t, ctx, "#stepup-level", "stays on one device")
	if browsertest.Eval[bool](t, ctx, `!!document.getElementById("email-form") || !!document.getElementById("passlink-link")`) {
		t.Fatal("the enrol page offers other sign-in methods")
	}
	if checkA11y {
		checkHostedPage(t, ctx, hostedPage{name: "stepup-enrol", primary: "#enrol-button", dark: true})
	}

	// 3. Add a device-bound passkey (BE=0) there: it is attested (packed,
	// chained to the metadata's root, certified) and signs in to the app at
	// once, at the attested level (above the one asked for).
	browsertest.RemoveAuthenticator(t, ctx, syncedID)
	boundID := browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.Do(t, ctx, "add a device-bound passkey", chromedp.Click("#enrol-button"))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, plain.callback))
	wantLevel(t, "enrolled on the step-up page", claims, models.ACRAttested, "pop", "hwk", "user", "mfa", "pin")
	boundCred := browsertest.Credentials(t, ctx, boundID)[0]
	u, err := env.Store.GetUserByEmail(context.Background(), "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := env.Store.ListUserCredentials(context.Background(), u.ID)
	if err != nil || len(creds) != 2 {
		t.Fatalf("credentials = %d, %v", len(creds), err)
	}
	for _, c := range creds {
		if c.AttestationFormat != "packed" || !c.Attested || c.BackupEligible != (c.ID == b64url(syncedCred.CredentialID)) {
			t.Errorf("credential %s: format %q attested %v BE %v", c.ID, c.AttestationFormat, c.Attested, c.BackupEligible)
		}
	}

	// 4. An authenticator without user verification holding the same
	// passkey signs in as one factor — basic, no mfa — for an app that
	// asks for nothing (the global policy prefers UV, it does not require
	// it).
	presence := &webauthn.VirtualAuthenticatorOptions{}
	*presence = *browsertest.Passkey()
	presence.HasUserVerification, presence.IsUserVerified = false, false
	presenceID := moveCredential(t, ctx, boundID, presence)
	a = plain.start(oauth2.SetAuthURLParam("prompt", "login"))
	// Username-first: the allow list names the credential (a discoverable
	// request would not reach it without UV).
	browsertest.Do(t, ctx, "sign in without UV", chromedp.Navigate(a.url), chromedp.WaitVisible("#email-form"),
		chromedp.SendKeys("#email", "grace@example.com"), chromedp.Click("#continue-button"))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, plain.callback))
	wantLevel(t, "presence only", claims, models.ACRBasic, "pop", "hwk", "user")
	boundID = moveCredential(t, ctx, presenceID, browsertest.Passkey())

	// 5. Vault's minimum is the attested level: the basic session is
	// below it, the account has a qualifying passkey, so the page asks for
	// it by name. When UV fails the authenticator cannot answer (the
	// options require it); with UV it signs in at the attested level.
	a = vault.start()
	browsertest.Do(t, ctx, "open vault", chromedp.Navigate(a.url), chromedp.WaitVisible("#passkey-button"))
	browsertest.WaitText(t, ctx, "#stepup-level", "certified security key")
	if checkA11y {
		checkHostedPage(t, ctx, hostedPage{name: "stepup-signin", primary: "#passkey-button"})
	}
	if ids := stepUpAllowed(t, ctx); !slices.Equal(ids, []string{b64url(boundCred.CredentialID)}) {
		t.Fatalf("step-up allowCredentials = %v, want only the attested passkey %s", ids, b64url(boundCred.CredentialID))
	}
	browsertest.SetUserVerified(t, ctx, boundID, false)
	browsertest.Do(t, ctx, "step up without UV", chromedp.Click("#passkey-button"))
	browsertest.WaitText(t, ctx, "#status", "No passkey was used")
	browsertest.SetUserVerified(t, ctx, boundID, true)
	browsertest.Do(t, ctx, "step up with UV", chromedp.Click("#passkey-button"))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, vault.callback))
	wantLevel(t, "vault", claims, models.ACRAttested, "pop", "hwk", "user", "mfa", "pin")

	// 6. A synced passkey picked for Vault (prompt=login, the usernameless
	// button) signs in, but below Vault's minimum: the browser comes back
	// to the step-up page, not to Vault, which offers only the attested
	// passkey; that one finishes.
	boundCred = browsertest.Credentials(t, ctx, boundID)[0] // its counter now
	browsertest.RemoveAuthenticator(t, ctx, boundID)
	syncedID = browsertest.AddAuthenticator(t, ctx, synced)
	browsertest.AddCredential(t, ctx, syncedID, syncedCred)
	a = vault.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "vault with a synced passkey", chromedp.Navigate(a.url), chromedp.WaitVisible("#email-form"), chromedp.Click("#passkey-button"))
	browsertest.WaitText(t, ctx, "#stepup-level", "certified security key")
	if loc := browsertest.Location(t, ctx); !strings.HasPrefix(loc, env.Issuer+"/login?interaction=") {
		t.Fatalf("a synced passkey for Vault went to %s", loc)
	}
	syncedCred = browsertest.Credentials(t, ctx, syncedID)[0] // its counter now
	browsertest.RemoveAuthenticator(t, ctx, syncedID)
	boundID = browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())
	browsertest.AddCredential(t, ctx, boundID, boundCred)
	browsertest.Do(t, ctx, "step up with the attested passkey", chromedp.Click("#passkey-button"))
	claims = a.finish(t, browsertest.WaitLocation(t, ctx, vault.callback))
	wantLevel(t, "vault after a synced passkey", claims, models.ACRAttested, "pop", "hwk", "user", "mfa", "pin")

	// 7. Strict blocks synced passkeys (a policy, not a level): the synced
	// one is refused with a clear message, and nothing signs in.
	browsertest.RemoveAuthenticator(t, ctx, boundID)
	syncedID = browsertest.AddAuthenticator(t, ctx, synced)
	browsertest.AddCredential(t, ctx, syncedID, syncedCred)
	a = strict.start(oauth2.SetAuthURLParam("prompt", "login"))
	browsertest.Do(t, ctx, "strict with a synced passkey", chromedp.Navigate(a.url), chromedp.WaitVisible("#email-form"), chromedp.Click("#passkey-button"))
	browsertest.WaitText(t, ctx, "#status", "Passkeys that sync between devices are not accepted here")
	if loc := browsertest.Location(t, ctx); strings.HasPrefix(loc, strict.callback) {
		t.Fatal("a synced passkey signed in to an app that blocks them")
	}
	for _, v := range browsertest.Eval[[]string](t, ctx, `window.__csp || []`) {
		t.Errorf("the page's CSP blocked %s", v)
	}
}

// moveCredential moves the one credential of authenticator from into a
// new authenticator with options o (the credential's flags follow o) and
// returns the new authenticator.
func moveCredential(t *testing.T, ctx context.Context, from webauthn.AuthenticatorID, o *webauthn.VirtualAuthenticatorOptions) webauthn.AuthenticatorID {
	t.Helper()
	c := browsertest.Credentials(t, ctx, from)[0]
	browsertest.RemoveAuthenticator(t, ctx, from)
	to := browsertest.AddAuthenticator(t, ctx, o)
	c.BackupEligibility, c.BackupState = o.DefaultBackupEligibility, o.DefaultBackupState
	browsertest.AddCredential(t, ctx, to, c)
	return to
}

func wantLevel(t *testing.T, what string, c idClaims, acr string, amr ...string) {
	t.Helper()
	if c.ACR != acr || !slices.Equal(c.AMR, amr) {
		t.Fatalf("%s: acr %q amr %v, want %q %v", what, c.ACR, c.AMR, acr, amr)
	}
}

// stepUpAllowed begins the step-up page's passkey sign-in the way its
// button does and returns the credential ids the options allow.
func stepUpAllowed(t *testing.T, ctx context.Context) []string {
	t.Helper()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/webauthn/login/options", {method: "POST", credentials: "same-origin",
		headers: {"Content-Type": "application/json", "X-CSRF-Token": document.getElementById("page").dataset.csrf},
		body: JSON.stringify({interaction: document.getElementById("page").dataset.interaction})
	}).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			Allow []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
			UserVerification string `json:"userVerification"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("options %s: %v", out, err)
	}
	if o.PublicKey.UserVerification != "required" {
		t.Errorf("step-up options ask for user verification %q, want required", o.PublicKey.UserVerification)
	}
	var ids []string
	for _, a := range o.PublicKey.Allow {
		ids = append(ids, a.ID)
	}
	return ids
}

func discoveredACRs(t *testing.T, env *servertest.Env) []string {
	t.Helper()
	resp, err := http.Get(env.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		ACRs []string `json:"acr_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d.ACRs
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
