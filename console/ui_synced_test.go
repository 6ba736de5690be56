package console_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestConsoleSyncedPasskeyLockout: before a client's or the global
// synced-passkey policy becomes "block", the console names who it would
// leave without a passkey that signs in (people whose passkeys all sync)
// and saves only when the admin confirms; "grace" and an already blocked
// policy save at once. On SQLite and PostgreSQL.
func TestConsoleSyncedPasskeyLockout(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env, browser, _ := uiAdmin(t, opts...)
		ctx := context.Background()
		passkey := func(u *models.User, be bool) {
			t.Helper()
			now := time.Now()
			must(t, env.Store.CreateCredential(ctx, &models.WebAuthnCredential{ID: "cred-" + u.ID + strconv.FormatBool(be), UserID: u.ID,
				Kind: models.CredentialPasskey, PublicKey: "pk", BackupEligible: be, BackupState: be, CreatedAt: now, UpdatedAt: now}))
		}
		synced := env.CreateUser("synced-only@example.com")
		passkey(synced, true)
		mixed := env.CreateUser("mixed@example.com")
		passkey(mixed, true)
		passkey(mixed, false)

		id, _ := env.CreateClient(clients.Spec{Name: "Vault", RedirectURIs: []string{"https://vault.example/cb"}})
		csrf := csrfOf(t, getPage(t, browser, env.Issuer+"/console/clients/"+id, 200))
		form := url.Values{"csrf_token": {csrf}, "client_name": {"Vault"}, "redirect_uris": {"https://vault.example/cb"},
			"client_type": {"confidential"}, "token_endpoint_auth_method": {"client_secret_basic"},
			"grant_types": {"authorization_code"}, "scopes": {"openid"}, "allowed_login_methods": {"passkey"},
			"synced_passkeys": {policy.SyncedBlock}}
		res, body := postForm(t, browser, env, "/console/clients/"+id, form)
		if res.StatusCode != 409 || !strings.Contains(body, `id="lockout"`) || !strings.Contains(body, "synced-only@example.com") ||
			strings.Contains(body, "mixed@example.com") || !strings.Contains(body, "leaves 1 person") {
			t.Fatalf("blocking without confirmation: %d\n%s", res.StatusCode, body)
		}
		if c, _ := env.Store.GetClient(ctx, id); c.SyncedPasskeys != "" {
			t.Fatalf("an unconfirmed block was saved: %q", c.SyncedPasskeys)
		}
		form.Set("synced_passkeys", policy.SyncedGrace)
		if res, _ := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 {
			t.Fatalf("grace: %d", res.StatusCode)
		}
		form.Set("synced_passkeys", policy.SyncedBlock)
		form.Set("confirm_lockout", "on")
		if res, body := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 || !strings.Contains(body, "Client saved") {
			t.Fatalf("confirmed block: %d", res.StatusCode)
		}
		if c, _ := env.Store.GetClient(ctx, id); c.SyncedPasskeys != policy.SyncedBlock {
			t.Fatalf("stored %q, want block", c.SyncedPasskeys)
		}
		form.Del("confirm_lockout") // already blocked: nothing new to confirm
		if res, _ := postForm(t, browser, env, "/console/clients/"+id, form); res.StatusCode != 200 {
			t.Fatalf("saving an already blocked client: %d", res.StatusCode)
		}

		// The global policy, the same way.
		p, err := env.Server.Console().Policies.Current(ctx)
		must(t, err)
		pf := url.Values{"csrf_token": {csrfOf(t, getPage(t, browser, env.Issuer+"/console/policies", 200))},
			"default_login_methods": p.DefaultLoginMethods, "user_verification": {p.UserVerification}, "attestation": {p.Attestation},
			"passlink_rate_email": {strconv.Itoa(p.PasslinkRateEmail)}, "passlink_rate_ip": {strconv.Itoa(p.PasslinkRateIP)},
			"passlink_ttl": {time.Duration(p.PasslinkTTL).String()}, "login_session_ttl": {time.Duration(p.LoginSessionTTL).String()},
			"access_token_ttl": {time.Duration(p.AccessTokenTTL).String()}, "refresh_token_ttl": {time.Duration(p.RefreshTokenTTL).String()},
			"id_token_ttl": {time.Duration(p.IDTokenTTL).String()}, "synced_passkeys": {policy.SyncedBlock}}
		if p.SignupOpen {
			pf.Set("signup_open", "on")
		}
		if p.RequireVerifiedEmail {
			pf.Set("require_verified_email", "on")
		}
		res, body = postForm(t, browser, env, "/console/policies", pf)
		if res.StatusCode != 422 || !strings.Contains(body, `id="lockout"`) || !strings.Contains(body, "synced-only@example.com") {
			t.Fatalf("global block without confirmation: %d\n%s", res.StatusCode, body)
		}
		pf.Set("confirm_lockout", "on")
		if res, body := postForm(t, browser, env, "/console/policies", pf); res.StatusCode != 200 {
			t.Fatalf("confirmed global block: %d\n%s", res.StatusCode, body)
		}
		if p, _ := env.Server.Console().Policies.Current(ctx); p.SyncedPasskeys != policy.SyncedBlock {
			t.Fatalf("global policy %q, want block", p.SyncedPasskeys)
		}
	})
}
