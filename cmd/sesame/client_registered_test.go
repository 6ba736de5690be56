package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server"
)

// TestClientListRegistered: "client list --registered" keeps the apps
// that registered themselves (RFC 7591, through the registrar the
// registration endpoint uses), --registered=admin those an admin created,
// in the table and in JSON; another value is a usage error. On SQLite and
// PostgreSQL.
func TestClientListRegistered(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		if r := mustOK(t, cli("client", "list", "--registered")); !strings.Contains(r.stdout, "No client registered itself.") {
			t.Fatalf("no self-registered client yet:\n%s", r.stdout)
		}
		admin := decode[clientView](t, mustOK(t, cli("client", "create", "--json", "--name", "Billing", "--redirect-uri", "https://billing.example/cb")))
		mustOK(t, cli("registration", "set", "--mode", "open"))
		secrets, err := server.ClientSecrets([]byte(testSecret), nil)
		if err != nil {
			t.Fatal(err)
		}
		reg := clients.NewRegistrar(clients.RegistrarConfig{Issuer: "http://localhost:8080", RegistrationPath: "/oauth2/register", Logger: slog.New(slog.DiscardHandler)},
			clients.NewService(st, secrets), st, secrets, policy.New(st, config.Default()))
		info, err := reg.Register(ctx, "", clients.Metadata{ClientName: "Partner Portal", RedirectURIs: []string{"https://partner.example/cb"}}, "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}

		ids := func(args ...string) []string {
			t.Helper()
			var out []string
			for _, v := range decode[[]clientView](t, mustOK(t, cli(append([]string{"client", "list", "--json"}, args...)...))) {
				out = append(out, v.ClientID)
				if v.Dynamic != (v.ClientID == info.ClientID) {
					t.Errorf("%s: dynamic %v", v.ClientID, v.Dynamic)
				}
			}
			slices.Sort(out)
			return out
		}
		both := []string{admin.ClientID, info.ClientID}
		slices.Sort(both)
		for _, c := range []struct {
			args []string
			want []string
		}{
			{nil, both},
			{[]string{"--registered"}, []string{info.ClientID}},
			{[]string{"--registered=dynamic"}, []string{info.ClientID}},
			{[]string{"--registered=admin"}, []string{admin.ClientID}},
		} {
			if got := ids(c.args...); !slices.Equal(got, c.want) {
				t.Errorf("client list %v = %v, want %v", c.args, got, c.want)
			}
		}
		r := mustOK(t, cli("client", "list", "--registered"))
		if !strings.Contains(r.stdout, "Partner Portal") || strings.Contains(r.stdout, "Billing") {
			t.Errorf("table of the self-registered:\n%s", r.stdout)
		}
		if r := cli("client", "list", "--registered=self"); r.code != exitUsage || !strings.Contains(r.stderr, `"self" is not one of`) {
			t.Errorf("--registered=self: exit %d %s", r.code, r.stderr)
		}
	})
}
