package authn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestUpstreamGroupsFollowTheUpstream: the groups claim mapping applies
// on every sign-in, against a real upstream (a second Sesame whose
// groups change between sign-ins), over HTTP, on both dialects. The first
// sign-in creates the account with the mapped groups; later ones add what
// the upstream now asserts and remove what this provider granted and the
// upstream no longer asserts; a group an administrator gave (even one the
// provider also maps) and one another provider granted survive. Each
// change is in the audit log with the provider as its actor.
func TestUpstreamGroupsFollowTheUpstream(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		e := newUpstreamEnv(t, opts...)
		ctx := context.Background()
		actx := console.WithActor(ctx, console.CLIActor())
		cur, err := e.services.Upstreams.Get(actx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		spec := cur.Spec
		spec.GroupMap = map[string]string{"engineers": "staff", "oncall": "ops", "admins": "handpicked"}
		if _, err := e.services.Upstreams.Update(actx, "acme", spec); err != nil {
			t.Fatal(err)
		}
		for _, g := range []struct {
			env  *servertest.Env
			name string
		}{{e.Env, "ops"}, {e.Env, "handpicked"}, {e.Env, "partners"}, {e.idp, "oncall"}, {e.idp, "admins"}} {
			if err := g.env.Store.CreateGroup(ctx, &models.Group{ID: "g-" + g.name, Name: g.name}); err != nil {
				t.Fatal(err)
			}
		}
		alice := e.idp.CreateUser("alice-" + randomString()[:6] + "@acme.example")
		session := e.idp.LoginCookie(alice.ID, []string{"pop", "hwk"}, models.ACRPhishingResistant)
		upstreamGroups := func(add, remove []string) {
			t.Helper()
			for _, g := range add {
				if err := e.idp.Store.AddGroupMember(ctx, g, alice.ID); err != nil {
					t.Fatal(err)
				}
			}
			for _, g := range remove {
				if err := e.idp.Store.RemoveGroupMember(ctx, g, alice.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		// signIn goes through the upstream in a fresh browser signed in
		// there, and returns the account.
		signIn := func() *models.User {
			t.Helper()
			jar, _ := cookiejar.New(nil)
			idpURL, _ := url.Parse(e.idp.Issuer)
			jar.SetCookies(idpURL, []*http.Cookie{session})
			b := &http.Client{Jar: jar, Timeout: 30 * time.Second}
			resp, err := b.Get(e.Issuer + "/login/upstream?provider=acme")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/passlink/passkey" {
				t.Fatalf("upstream sign-in ended at %s (%d), want the passkey offer", resp.Request.URL, resp.StatusCode)
			}
			u, err := e.Store.GetUserByEmail(ctx, alice.Email)
			if err != nil {
				t.Fatalf("no account for %s: %v", alice.Email, err)
			}
			return u
		}
		wantGroups := func(step string, u *models.User, want map[string]string) {
			t.Helper()
			got, err := e.Store.GroupGrantors(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			ok := len(got) == len(want)
			for g, by := range want {
				ok = ok && got[g] == by
			}
			if !ok {
				t.Fatalf("%s: groups (granted by) %v, want %v", step, got, want)
			}
		}
		acme := models.GrantedByUpstream("acme")

		// 1. The first sign-in creates the account with engineers → staff.
		upstreamGroups([]string{"engineers"}, nil)
		u := signIn()
		wantGroups("first sign-in", u, map[string]string{"staff": acme})
		wantAudit(t, e.Store, "group.add_member", "staff", u.ID, 1)

		// An administrator gives handpicked by hand; another provider
		// granted partners.
		if _, err := e.services.Groups.AddMember(actx, "handpicked", u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Store.SyncGrantedGroups(ctx, u.ID, models.GrantedByUpstream("beta"), []string{"partners"}); err != nil {
			t.Fatal(err)
		}

		// 2. Alice left engineers, joined oncall and admins: staff goes,
		// ops comes, handpicked stays the administrator's.
		upstreamGroups([]string{"oncall", "admins"}, []string{"engineers"})
		signIn()
		wantGroups("second sign-in", u, map[string]string{"ops": acme, "handpicked": "", "partners": models.GrantedByUpstream("beta")})
		wantAudit(t, e.Store, "group.remove_member", "staff", u.ID, 1)
		wantAudit(t, e.Store, "group.add_member", "ops", u.ID, 1)

		// 3. Alice left every upstream group: only what acme granted goes.
		upstreamGroups(nil, []string{"oncall", "admins"})
		signIn()
		wantGroups("third sign-in", u, map[string]string{"handpicked": "", "partners": models.GrantedByUpstream("beta")})
		wantAudit(t, e.Store, "group.remove_member", "ops", u.ID, 1)
		// The same claims again: no change, nothing audited.
		signIn()
		wantAudit(t, e.Store, "group.remove_member", "ops", u.ID, 1)
		wantAudit(t, e.Store, "group.add_member", "handpicked", u.ID, 0)
	})
}

// wantAudit checks the audit log has n entries of action on group for
// the user, made by provider acme's group mapping (the provider as
// actor, the membership as before or after).
func wantAudit(t *testing.T, st *store.Store, action, group, userID string, n int) {
	t.Helper()
	es, err := st.ListAuditEntries(context.Background(), store.AuditFilter{Action: action, TargetType: "group", TargetID: group,
		ActorID: models.GrantedByUpstream("acme")}, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, e := range es {
		doc := e.AfterJSON
		if action == "group.remove_member" {
			doc = e.BeforeJSON
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("audit %s %s: %q: %v", action, group, doc, err)
		}
		if m["user_id"] == userID && e.ActorKind == models.ActorSystem && m["granted_by"] == models.GrantedByUpstream("acme") {
			got++
		}
	}
	if got != n {
		t.Fatalf("%d audit entries %s %s for %s by acme, want %d: %+v", got, action, group, userID, n, es)
	}
}
