package authn_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/authn/passkey"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestSyncedPasskeyPolicy: a client that blocks synced passkeys (backup
// eligible) refuses them at sign-up and at sign-in — before any account
// or session exists — while a device-bound passkey of the same person
// signs in; under "grace" the synced one signs in and the event records
// why a block would have refused it; a client without its own policy
// follows the global one, changed live.
func TestSyncedPasskeyPolicy(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, append(opts, servertest.UnverifiedEmails())...)
		spec := clients.Spec{Name: "Strict", SkipConsent: true, Public: true, TokenEndpointAuthMethod: "none", SyncedPasskeys: policy.SyncedBlock}
		strict := newRelyingParty(t, env, spec)
		spec.Name, spec.SyncedPasskeys = "Lenient", policy.SyncedGrace
		grace := newRelyingParty(t, env, spec)
		spec.Name, spec.SyncedPasskeys = "Default", ""
		plain := newRelyingParty(t, env, spec)
		ctx := context.Background()

		// Sign-up for Strict with a synced passkey: refused, no account.
		synced := newAuthenticator() // BE=1, BS=1
		b := newBrowser(t, env)
		ia := b.openAuthorization(strict.start())
		o := b.options("/webauthn/register/options", map[string]string{"interaction": ia, "email": "ada@example.com", "name": "Ada"})
		wantAPIError(t, b.post("/webauthn/register/verify", verifyBody(o.Ceremony, synced.create(t, o.PublicKey, env.Issuer))),
			http.StatusForbidden, "synced_passkey_refused")
		if _, err := env.Store.GetUserByEmail(ctx, "ada@example.com"); err == nil {
			t.Fatal("a refused sign-up created the account")
		}

		// Sign-up through the default app (global policy: allow).
		b = newBrowser(t, env)
		b.signUp(b.openAuthorization(plain.start()), "ada@example.com", "Ada", synced)
		u, err := env.Store.GetUserByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}

		// Sign-in to Strict with it: refused, no session, a failure event.
		b = newBrowser(t, env)
		ia = b.openAuthorization(strict.start())
		o = b.options("/webauthn/login/options", map[string]string{"interaction": ia, "email": "ada@example.com"})
		wantAPIError(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, synced.get(t, o.PublicKey, env.Issuer))),
			http.StatusForbidden, "synced_passkey_refused")
		if sessions, err := env.Store.ListUserLoginSessions(ctx, u.ID); err != nil || len(sessions) != 1 {
			t.Fatalf("sessions after a refused sign-in: %d (%v), want the sign-up's only", len(sessions), err)
		}
		wantLastEvent(t, env, u.ID, models.ResultFailure, "synced_passkey_refused")

		// Grace: signed in, and recorded.
		b = newBrowser(t, env)
		a := grace.start()
		claims := a.finish(t, b.follow(b.signIn(b.openAuthorization(a), "ada@example.com", synced)))
		if claims.Sub != u.ID || claims.ACR != models.ACRUserVerified {
			t.Fatalf("grace claims %+v", claims)
		}
		wantLastEvent(t, env, u.ID, models.ResultSuccess, passkey.GraceSynced)

		// A device-bound passkey added on the account signs in to Strict.
		bound := newAuthenticator()
		bound.auth.Options.BackupEligible, bound.auth.Options.BackupState = false, false
		acct := newBrowser(t, env)
		acct.page("/login")
		acct.signIn("", "ada@example.com", synced)
		o = acct.options("/webauthn/register/options", map[string]string{})
		if r := redirectOf(t, acct.post("/webauthn/register/verify", verifyBody(o.Ceremony, bound.create(t, o.PublicKey, env.Issuer)))); r != "/account?done=passkey_added" {
			t.Fatalf("adding a device-bound passkey redirected to %q", r)
		}
		b = newBrowser(t, env)
		a = strict.start()
		claims = a.finish(t, b.follow(b.signIn(b.openAuthorization(a), "ada@example.com", bound)))
		if claims.Sub != u.ID || claims.ACR != models.ACRDeviceBound {
			t.Fatalf("strict claims with a device-bound passkey %+v", claims)
		}

		// The global policy turns to block: the default app follows, live;
		// the lenient one keeps its own grace.
		pols := env.Server.Console().Policies
		p, err := pols.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.SyncedPasskeys = policy.SyncedBlock
		if _, err := pols.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		b = newBrowser(t, env)
		ia = b.openAuthorization(plain.start())
		o = b.options("/webauthn/login/options", map[string]string{"interaction": ia, "email": "ada@example.com"})
		// Both passkeys are allowed credentials; the synced one is refused.
		wantAPIError(t, b.post("/webauthn/login/verify", verifyBody(o.Ceremony, synced.get(t, o.PublicKey, env.Issuer))),
			http.StatusForbidden, "synced_passkey_refused")
		b = newBrowser(t, env)
		a = grace.start()
		if r := b.signIn(b.openAuthorization(a), "ada@example.com", synced); !strings.HasPrefix(r, "/oauth2/authorize/resume") {
			t.Fatalf("the grace client under a global block redirected to %q", r)
		}
	})
}

// wantLastEvent checks the user's latest auth event.
func wantLastEvent(t *testing.T, env *servertest.Env, userID, result, reason string) {
	t.Helper()
	events, err := env.Store.ListAuthEvents(context.Background(), userID, 1)
	if err != nil || len(events) != 1 {
		t.Fatalf("events: %d (%v)", len(events), err)
	}
	if e := events[0]; e.Result != result || e.Reason != reason {
		t.Fatalf("last event %s/%s %q, want %s %q", e.Event, e.Result, e.Reason, result, reason)
	}
}
