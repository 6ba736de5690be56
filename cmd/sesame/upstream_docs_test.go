package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server"
)

// TestDocsUpstreamCommands: the `sesame upstream add` lines of
// docs/upstream.md, and the examples of `sesame upstream add --help` (also
// in docs/cli.md), exactly as written, run against a fresh database with
// the reader's secret files; what they store is what the page promises:
// each preset expanded to its provider's issuer, scopes and claim mapping,
// the secret sealed (opened with the system secret's key, it is the
// file's or stdin's content), the generic provider with its domain and
// link-only provisioning.
func TestDocsUpstreamCommands(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(docsDir, "upstream.md"))
	if err != nil {
		t.Fatal(err)
	}
	add, _, err := newRootCmd().Find([]string{"upstream", "add"})
	if err != nil {
		t.Fatal(err)
	}
	oidcScopes := []string{"openid", "email", "profile"}
	for _, tc := range []struct {
		source string
		cmds   []docCommand
		want   map[string]models.UpstreamProvider
	}{
		{"docs/upstream.md", sesameCommands(string(raw)), map[string]models.UpstreamProvider{
			"google": {Name: "Google", Kind: models.UpstreamOIDC, Issuer: "https://accounts.google.com", ClientID: "1234.apps.googleusercontent.com",
				Scopes: models.StringList(oidcScopes), Provisioning: models.ProvisionCreate},
			"microsoft": {Name: "Microsoft", Kind: models.UpstreamOIDC, ClientID: "00001111-aaaa-2222-bbbb-3333cccc4444",
				Issuer: "https://login.microsoftonline.com/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0", Scopes: models.StringList(oidcScopes),
				Claims: models.StringMap{"email_verified": "xms_edov"}, Provisioning: models.ProvisionCreate},
			"github": {Name: "GitHub", Kind: models.UpstreamGitHub, Issuer: "https://github.com", ClientID: "Iv1.8a61f9b3a7aba766",
				Scopes: models.StringList{"read:user", "user:email"}, Provisioning: models.ProvisionCreate},
			"acme": {Name: "Acme SSO", Kind: models.UpstreamOIDC, Issuer: "https://sso.acme.example", ClientID: "sesame",
				Scopes: models.StringList(oidcScopes), Provisioning: models.ProvisionLink, Domains: models.StringList{"acme.example"}},
		}},
		{"sesame upstream add --help", commandLines(add.Example), map[string]models.UpstreamProvider{
			"google": {Name: "Google", Kind: models.UpstreamOIDC, Issuer: "https://accounts.google.com", ClientID: "123.apps.googleusercontent.com",
				Scopes: models.StringList(oidcScopes), Provisioning: models.ProvisionCreate},
			"acme": {Name: "Acme SSO", Kind: models.UpstreamOIDC, Issuer: "https://sso.acme.example", ClientID: "sesame",
				Scopes: models.StringList(oidcScopes), Provisioning: models.ProvisionLink, Domains: models.StringList{"acme.example"}},
		}},
	} {
		t.Run(tc.source, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"SESAME_SYSTEM_SECRET": testSecret, "SESAME_DATA_DIR": dir}
			readerFiles(t, tc.cmds)
			secrets := map[string]string{} // provider id → the secret's file
			for _, c := range tc.cmds {
				if len(c.args) < 2 || c.args[0] != "upstream" || c.args[1] != "add" {
					continue
				}
				id := flagValue(c.args, "--id")
				if id == "" {
					id = flagValue(c.args, "--preset")
				}
				secrets[id] = flagValue(c.args, "--client-secret-file")
				if secrets[id] == "-" {
					secrets[id] = c.stdin
				}
				if r := c.run(t, env); r.code != 0 {
					t.Fatalf("sesame %s: exit %d\n%s%s", strings.Join(c.args, " "), r.code, r.stdout, r.stderr)
				}
			}
			if len(secrets) != len(tc.want) {
				t.Fatalf("%d upstream add commands (%v), want %d", len(secrets), secrets, len(tc.want))
			}
			st := openTestStore(t, dir)
			box, err := server.UpstreamBox([]byte(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range tc.want {
				got, err := st.GetUpstreamProvider(context.Background(), id)
				if err != nil {
					t.Fatalf("provider %s: %v", id, err)
				}
				plain, err := box.Open(id, got.ClientSecretSealed)
				if err != nil || plain != secrets[id]+"'s secret" || strings.Contains(got.ClientSecretSealed, plain) {
					t.Errorf("%s: sealed secret %q opens to %q (%v), want the content of %s", id, got.ClientSecretSealed, plain, err, secrets[id])
				}
				want.ID = id
				got.ClientSecretSealed, got.CreatedAt, got.UpdatedAt = "", want.CreatedAt, want.UpdatedAt
				if len(got.Claims) == 0 {
					got.Claims = nil
				}
				if len(got.GroupMap) == 0 {
					got.GroupMap = nil
				}
				if len(got.Domains) == 0 {
					got.Domains = nil
				}
				if !reflect.DeepEqual(*got, want) {
					t.Errorf("provider %s:\n got %+v\nwant %+v", id, *got, want)
				}
			}
		})
	}
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}
