package console_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// exerciseLockoutAPI: the lockout preview names who a stricter passkey
// policy (synced blocked, an enforced allow list, compromised models
// suspended; global and per client) would leave without a passkey that
// signs in, saves nothing, and a save that locks people out is refused
// (409 lockout, problem+json) until confirmed; a grace mode locks nobody
// out. Suspending and lifting a credential answer problem+json on every
// refusal (already, not suspended, still compromised, unknown).
func exerciseLockoutAPI(t *testing.T, env *servertest.Env, api *caller, s *spec) {
	t.Helper()
	p := console.APIPrefix
	ctx := t.Context()
	const allowed, other = "cb69481e-8ff7-4039-93ec-0a2729a154a8", "ee882879-721c-4913-9775-3dfcce97072a"
	cred := func(u *models.User, id string, be bool, aaguid, format, compromised string) {
		must(t, env.Store.CreateCredential(ctx, &models.WebAuthnCredential{ID: id, UserID: u.ID, Kind: models.CredentialPasskey, PublicKey: "pk",
			BackupEligible: be, AAGUID: aaguid, AttestationFormat: format, CompromisedStatus: compromised, CreatedAt: time.Now(), UpdatedAt: time.Now()}))
	}
	synced := env.CreateUser("lockout-synced@example.test")
	cred(synced, "lockout-synced-cred", true, allowed, "packed", "")
	otherModel := env.CreateUser("lockout-other@example.test")
	cred(otherModel, "lockout-other-cred", false, other, "packed", "")
	claimed := env.CreateUser("lockout-claimed@example.test")
	cred(claimed, "lockout-claimed-cred", false, allowed, "none", "")
	bad := env.CreateUser("lockout-compromised@example.test")
	cred(bad, "lockout-compromised-cred", false, allowed, "packed", "REVOKED")
	good := env.CreateUser("lockout-good@example.test")
	cred(good, "lockout-good-cred", false, allowed, "packed", "")

	var orig map[string]any
	must(t, json.Unmarshal(api.call(s, "GET", p+"/policies", nil, 200), &orig))
	delete(orig, "restart_required")
	with := func(kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range orig {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	preview := func(path string, body any) console.Lockout {
		t.Helper()
		var l console.Lockout
		must(t, json.Unmarshal(api.call(s, "POST", path, body, 200), &l))
		return l
	}
	wantOut := func(what string, l console.Lockout, in, out []*models.User) {
		t.Helper()
		emails := map[string]bool{}
		for _, u := range l.Users {
			emails[u.Email] = true
		}
		if l.Count < int64(len(in)) {
			t.Errorf("%s: count %d, want at least %d", what, l.Count, len(in))
		}
		for _, u := range in {
			if !emails[u.Email] {
				t.Errorf("%s: %s not named (%v)", what, u.Email, l.Users)
			}
		}
		for _, u := range out {
			if emails[u.Email] {
				t.Errorf("%s: %s named, but keeps a qualifying passkey", what, u.Email)
			}
		}
	}

	// Global: each stricter rule alone names exactly whom it locks out.
	l := preview(p+"/policies/preview", with("synced_passkeys", "block"))
	wantOut("block synced", l, []*models.User{synced}, []*models.User{otherModel, claimed, bad, good})
	if !l.Requirement.DeviceBound {
		t.Errorf("requirement %+v, want device-bound", l.Requirement)
	}
	allowList := with("attestation", "direct", "aaguid_allow", []string{allowed})
	wantOut("allow list", preview(p+"/policies/preview", allowList), []*models.User{otherModel, claimed}, []*models.User{synced, bad, good})
	wantOut("suspend compromised", preview(p+"/policies/preview", with("suspend_compromised_passkeys", true)), []*models.User{bad}, []*models.User{synced, otherModel, claimed, good})
	wantOut("grace", preview(p+"/policies/preview", with("attestation", "direct", "aaguid_allow", []string{allowed}, "aaguid_allow_mode", "grace")),
		nil, []*models.User{synced, otherModel, claimed, bad, good})
	api.call(s, "POST", p+"/policies/preview", with("aaguid_allow_mode", "sometimes"), 422)
	api.call(s, "POST", p+"/policies/preview", map[string]any{"typo": true}, 400)

	// A save that locks people out waits for confirmation; nothing changed.
	b := api.call(s, "PUT", p+"/policies", with("synced_passkeys", "block"), 409)
	if !strings.Contains(string(b), "lockout") || !strings.Contains(string(b), "confirm_lockout") {
		t.Errorf("409 without the lockout problem: %s", b)
	}
	var now map[string]any
	must(t, json.Unmarshal(api.call(s, "GET", p+"/policies", nil, 200), &now))
	if now["synced_passkeys"] == "block" {
		t.Fatal("a refused save changed the policy")
	}
	api.call(s, "PUT", p+"/policies?confirm_lockout=true", with("synced_passkeys", "block"), 200)
	// Grace locks nobody out: saved without confirmation.
	api.call(s, "PUT", p+"/policies", with("attestation", "direct", "aaguid_allow", []string{allowed}, "aaguid_allow_mode", "grace"), 200)
	api.call(s, "PUT", p+"/policies", orig, 200)

	// Per client: its own block and its own allow list (on top of the
	// global policy).
	var app struct {
		ID string `json:"client_id"`
	}
	base := clients.Spec{Name: "Lockout app", RedirectURIs: []string{"https://lockout.example/cb"}}
	must(t, json.Unmarshal(api.call(s, "POST", p+"/clients", base, 201), &app))
	strict := base
	strict.SyncedPasskeys = "block"
	wantOut("client block", preview(p+"/clients/"+app.ID+"/preview", strict), []*models.User{synced}, []*models.User{good})
	strict.AAGUIDAllow = []string{strings.ToUpper(allowed)}
	cl := preview(p+"/clients/"+app.ID+"/preview", strict)
	wantOut("client allow list", cl, []*models.User{synced, otherModel, claimed}, []*models.User{good})
	if len(cl.Requirement.AllowedAAGUIDs) != 1 || cl.Requirement.AllowedAAGUIDs[0] != allowed {
		t.Errorf("client requirement %+v, want the normalized model", cl.Requirement)
	}
	api.call(s, "PUT", p+"/clients/"+app.ID, strict, 409)
	api.call(s, "PUT", p+"/clients/"+app.ID+"?confirm_lockout=true", strict, 200)
	badSpec := base
	badSpec.AAGUIDAllow = []string{"not-a-model"}
	api.call(s, "POST", p+"/clients/"+app.ID+"/preview", badSpec, 422)
	api.call(s, "POST", p+"/clients/nope/preview", base, 404)
	api.call(s, "DELETE", p+"/clients/"+app.ID, nil, 204)

	// Suspension by hand, and lifting it.
	path := p + "/users/" + good.ID + "/credentials/lockout-good-cred"
	api.call(s, "POST", path+"/unsuspend", nil, 409)
	api.call(s, "POST", path+"/suspend", nil, 204)
	api.call(s, "POST", path+"/suspend", nil, 409)
	if c, err := env.Store.GetCredential(ctx, "lockout-good-cred"); err != nil || c.SuspendedAt == nil {
		t.Fatalf("not suspended: %+v %v", c, err)
	}
	api.call(s, "POST", path+"/unsuspend", nil, 204)
	if c, err := env.Store.GetCredential(ctx, "lockout-good-cred"); err != nil || c.SuspendedAt != nil {
		t.Fatalf("still suspended: %+v %v", c, err)
	}
	api.call(s, "POST", p+"/users/"+synced.ID+"/credentials/lockout-good-cred/suspend", nil, 404) // another's
	api.call(s, "POST", p+"/users/"+good.ID+"/credentials/nope/unsuspend", nil, 404)
	// A compromised model's suspension holds while the policy suspends them.
	api.call(s, "PUT", p+"/policies?confirm_lockout=true", with("suspend_compromised_passkeys", true), 200)
	badPath := p + "/users/" + bad.ID + "/credentials/lockout-compromised-cred"
	api.call(s, "POST", badPath+"/suspend", nil, 204)
	b = api.call(s, "POST", badPath+"/unsuspend", nil, 409)
	if !strings.Contains(string(b), "still-compromised") {
		t.Errorf("lifting a compromised model's suspension: %s", b)
	}
	api.call(s, "PUT", p+"/policies", orig, 200)
	api.call(s, "POST", badPath+"/unsuspend", nil, 204)
	entries, err := env.Store.ListAuditEntries(ctx, store.AuditFilter{Action: "user.lift_credential_suspension"}, 10)
	must(t, err)
	if len(entries) < 2 || !strings.Contains(entries[0].BeforeJSON, `"suspended":true`) || !strings.Contains(entries[0].AfterJSON, `"suspended":false`) {
		t.Errorf("audit of the lift: %+v", entries)
	}
}
