package sdktest

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/sdk/go/admin"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestAdminClientProvisions: the generated admin client, authenticated
// with client_credentials and the scope sesame:admin, provisions a client,
// a group and a membership on a real Sesame; a bad spec comes back as a
// typed 422 problem naming the field; a client without sesame:admin gets
// no token for it.
func TestAdminClientProvisions(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, opts ...servertest.Option) {
		env := servertest.New(t, opts...)
		ctx := context.Background()
		id, secret := env.CreateClient(clients.Spec{Name: "Automation", GrantTypes: []string{"client_credentials"}, Scopes: []string{admin.ScopeAdmin}})
		api, err := admin.New(ctx, admin.Config{Issuer: env.Issuer, ClientID: id, ClientSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		name, redirects := "Orders", []string{"https://orders.example.com/callback"}
		created, err := api.CreateClientWithResponse(ctx, admin.ClientSpec{ClientName: &name, RedirectUris: &redirects})
		if err != nil || created.JSON201 == nil || created.JSON201.ClientId == "" || created.JSON201.ClientSecret == nil {
			t.Fatalf("create client: %v %s %s", err, created.Status(), created.Body)
		}
		list, err := api.ListClientsWithResponse(ctx, nil)
		if err != nil || list.JSON200 == nil || !slices.ContainsFunc(list.JSON200.Items, func(c admin.Client) bool { return c.ClientId == created.JSON201.ClientId }) {
			t.Fatalf("list clients: %v %s %s", err, list.Status(), list.Body)
		}
		bad := []string{"javascript:alert(1)"}
		refused, err := api.CreateClientWithResponse(ctx, admin.ClientSpec{ClientName: &name, RedirectUris: &bad})
		if err != nil || refused.StatusCode() != http.StatusUnprocessableEntity || refused.ApplicationproblemJSON422 == nil {
			t.Fatalf("bad redirect URI: %v %s %s", err, refused.Status(), refused.Body)
		}

		desc := "Payroll"
		if g, err := api.CreateGroupWithResponse(ctx, admin.GroupSpec{Name: "staff", Description: &desc}); err != nil || g.StatusCode() != http.StatusCreated {
			t.Fatalf("create group: %v %s %s", err, g.Status(), g.Body)
		}
		u := env.CreateUser("ada-admin@example.com")
		if m, err := api.AddGroupMemberWithResponse(ctx, "staff", admin.NewMember{User: u.Email}); err != nil || m.StatusCode() != http.StatusCreated {
			t.Fatalf("add member: %v %s %s", err, m.Status(), m.Body)
		}
		groups, err := env.Store.UserGroups(ctx, u.ID)
		if err != nil || !slices.Contains(groups, "staff") {
			t.Fatalf("the user's groups in the store: %v %v", groups, err)
		}

		plainID, plainSecret := env.CreateClient(clients.Spec{Name: "Not admin", GrantTypes: []string{"client_credentials"}})
		plain, err := admin.New(ctx, admin.Config{Issuer: env.Issuer, ClientID: plainID, ClientSecret: plainSecret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plain.ListClientsWithResponse(ctx, nil); err == nil {
			t.Fatal("a client without sesame:admin listed clients")
		}
	})
}
