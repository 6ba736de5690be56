package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestPasskeyAssuranceConsoleInChromium, on SQLite and PostgreSQL, with
// FIDO metadata (a BLOB signed by a test root) that names Chromium's
// virtual authenticator: an admin enrols a passkey of that model through
// the setup link and signs in with it at /login; their user page names
// the model as the metadata does. Saving a stricter global policy
// (synced passkeys blocked) and a stricter client rule (the client's own
// enforced allow list) shows first who would be locked out (the lockout
// preview, console.Policies.Preview and console.Clients.Preview) and
// saves only once confirmed. A credential is suspended and its
// suspension lifted from the user's page, through the step-up-guarded
// admin API. Screenshots (SESAME_SCREENSHOTS=DIR) of every changed page.
func TestPasskeyAssuranceConsoleInChromium(t *testing.T) {
	const modelName = "Chromium Virtual Authenticator"
	const otherModel = "ee882879-721c-4913-9775-3dfcce97072a"
	cert, aaguid := browsertest.Attestation(t)
	signer := mdstest.NewSigner(t)
	blob := signer.Blob(t, mdstest.Entry{AAGUID: aaguid, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_full"},
		Roots: []string{signer.AnchorFor(t, cert)}, UV: []string{"presence_internal", "passcode_internal"}, Description: modelName})
	first := true
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		shots := first
		first = false
		check := func(ctx context.Context, name string) {
			t.Helper()
			if shots {
				checkConsolePage(t, ctx, name)
			}
		}
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails(), servertest.With(func(c *config.Config) {
			c.Attestation, c.MDSFile, c.MDSRoot = "direct", blob, signer.Root
		}))...)
		bg := context.Background()
		ctx := browsertest.New(t)
		browsertest.AddAuthenticator(t, ctx, browsertest.Passkey())

		// The admin's passkey: Chromium's model, device-bound, attested.
		link, err := console.Invite(bg, env.Store, env.Issuer, "root@example.test")
		must(t, err)
		browsertest.Do(t, ctx, "open the setup link", chromedp.Navigate(link), chromedp.WaitVisible("#console-action"))
		browsertest.Do(t, ctx, "create the admin's passkey", chromedp.Click("#console-action"))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/console")
		browsertest.Do(t, ctx, "see the dashboard", chromedp.WaitVisible("#feed"))
		if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		restore := browsertest.WithoutAutofill(t, ctx)
		defer restore()
		browsertest.Do(t, ctx, "open the console signed out", chromedp.Navigate(env.Issuer+"/console/users"), chromedp.WaitVisible("#passkey-button"))
		browsertest.Do(t, ctx, "sign in with the passkey", chromedp.Click("#passkey-button"))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/console/users")
		recordCSP(t, ctx)
		root, err := env.Store.GetUserByEmail(bg, "root@example.test")
		must(t, err)
		creds, err := env.Store.ListUserCredentials(bg, root.ID)
		must(t, err)
		if len(creds) != 1 || creds[0].AAGUID != aaguid || creds[0].AttestationFormat != "packed" || creds[0].BackupEligible {
			t.Fatalf("the admin's credential: %+v", creds)
		}
		open := func(path, waitFor string) {
			t.Helper()
			browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(env.Issuer+path), chromedp.WaitVisible(waitFor))
		}
		open("/console/users/"+root.ID, "#creds-h")
		browsertest.WaitText(t, ctx, "#creds-h + .table-wrap", modelName)
		check(ctx, "console-user-model-name")

		// People a stricter rule would lock out: one whose only passkey
		// syncs, one whose device-bound passkey is of another model.
		now := time.Now()
		cred := func(email, id string, synced bool, model string) *models.User {
			u := env.CreateUser(email)
			must(t, env.Store.CreateCredential(bg, &models.WebAuthnCredential{ID: id, UserID: u.ID, Kind: models.CredentialPasskey, Name: "Phone",
				PublicKey: "pk", BackupEligible: synced, BackupState: synced, AAGUID: model, AttestationFormat: "packed", CreatedAt: now, UpdatedAt: now}))
			return u
		}
		cred("synced@example.test", "cred-synced", true, aaguid)
		other := cred("other-model@example.test", "cred-other", false, otherModel)

		// The global policy: blocking synced passkeys names who first.
		open("/console/policies", "#synced_passkeys")
		browsertest.Do(t, ctx, "block synced passkeys", chromedp.SetValue("#synced_passkeys", policy.SyncedBlock),
			chromedp.Click(`main form button.primary[type=submit]`), chromedp.WaitVisible("#lockout"))
		lockout := browsertest.WaitText(t, ctx, "#lockout", "synced@example.test")
		if !strings.Contains(lockout, "leaves 1 person") || strings.Contains(lockout, "root@example.test") || strings.Contains(lockout, "other-model@example.test") {
			t.Errorf("policy lockout preview: %q", lockout)
		}
		if p, _ := env.Server.Console().Policies.Current(bg); p.SyncedPasskeys == policy.SyncedBlock {
			t.Fatal("an unconfirmed block was saved")
		}
		check(ctx, "console-policies-lockout")
		browsertest.Do(t, ctx, "confirm and save", chromedp.Click("#confirm_lockout"),
			chromedp.Click(`main form button.primary[type=submit]`))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/console/policies?done=policies_saved")
		if p, _ := env.Server.Console().Policies.Current(bg); p.SyncedPasskeys != policy.SyncedBlock {
			t.Fatalf("global synced_passkeys %q, want block", p.SyncedPasskeys)
		}

		// A client's own allow list (Chromium's model only), enforced:
		// the other model's owner is named, the admin keeps theirs.
		view, _, err := env.Server.Console().Clients.Create(console.WithActor(bg, console.CLIActor()),
			clients.Spec{Name: "Vault", RedirectURIs: []string{"https://vault.example/cb"}})
		must(t, err)
		open("/console/clients/"+view.ID, "#client_name")
		browsertest.Do(t, ctx, "set the app's allow list", chromedp.Click("details.advanced summary"),
			chromedp.SetValue("#aaguid_allow", aaguid), chromedp.SetValue("#aaguid_allow_mode", policy.ModelEnforce),
			chromedp.Click(`form.client-form button[type=submit]`), chromedp.WaitVisible("#lockout"))
		lockout = browsertest.WaitText(t, ctx, "#lockout", "other-model@example.test")
		if strings.Contains(lockout, "root@example.test") || !strings.Contains(lockout, "of an allowed model") {
			t.Errorf("client lockout preview: %q", lockout)
		}
		if got := browsertest.Eval[string](t, ctx, `document.querySelector("#aaguid_allow").value`); got != aaguid {
			t.Errorf("the form lost the allow list: %q", got)
		}
		check(ctx, "console-client-allow-lockout")
		browsertest.Do(t, ctx, "confirm and save", chromedp.Click("#confirm_lockout"), chromedp.Click(`form.client-form button[type=submit]`))
		browsertest.WaitLocation(t, ctx, env.Issuer+"/console/clients/"+view.ID+"?done=client_saved")
		c, err := env.Store.GetClient(bg, view.ID)
		must(t, err)
		if len(c.AAGUIDAllow) != 1 || c.AAGUIDAllow[0] != aaguid || c.AAGUIDAllowMode != policy.ModelEnforce {
			t.Fatalf("client allow list %v %q", c.AAGUIDAllow, c.AAGUIDAllowMode)
		}
		open("/console/clients/"+view.ID, "#client_name")
		browsertest.Do(t, ctx, "open the advanced settings", chromedp.Click("details.advanced summary"))
		browsertest.WaitText(t, ctx, "#aaguid_allow + .hint + .aaguid-names", modelName)

		// Suspend a credential from the user's page, then lift it: each
		// a confirmation, then the API asks for a fresh passkey.
		open("/console/users/"+other.ID, "#creds-h")
		browsertest.Do(t, ctx, "suspend", chromedp.Click(`button.suspend`))
		acceptConfirmation(t, ctx)
		browsertest.WaitLocation(t, ctx, env.Issuer+"/console/users/"+other.ID+"?done=cred_suspended")
		browsertest.Do(t, ctx, "see it suspended", chromedp.WaitVisible(`button.lift-suspension`))
		browsertest.WaitText(t, ctx, "#creds-h + .table-wrap", "Suspended")
		if got, _ := env.Store.GetCredential(bg, "cred-other"); got == nil || got.SuspendedAt == nil {
			t.Fatal("not suspended in the store")
		}
		check(ctx, "console-user-suspended")
		browsertest.Do(t, ctx, "lift the suspension", chromedp.Click(`button.lift-suspension`))
		acceptConfirmation(t, ctx)
		browsertest.WaitLocation(t, ctx, env.Issuer+"/console/users/"+other.ID+"?done=cred_unsuspended")
		browsertest.Do(t, ctx, "see it usable", chromedp.WaitVisible(`button.suspend`))
		if got, _ := env.Store.GetCredential(bg, "cred-other"); got == nil || got.SuspendedAt != nil {
			t.Fatal("still suspended in the store")
		}
		entries, err := env.Store.ListAuditEntries(bg, store.AuditFilter{}, 100)
		must(t, err)
		seen := map[string]bool{}
		for _, e := range entries {
			if e.ActorID == root.ID {
				seen[e.Action] = true
			}
		}
		for _, want := range []string{"policy.update", "client.update", "user.suspend_credential", "user.lift_credential_suspension"} {
			if !seen[want] {
				t.Errorf("no audit entry %s by the admin (%v)", want, seen)
			}
		}
	})
}
