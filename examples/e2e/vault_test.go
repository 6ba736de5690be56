package e2e

import (
	"context"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	jwtauth "github.com/hashicorp/vault-plugin-auth-jwt"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/sesame-idp/sesame/internal/browsertest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// vaultCLICallback is where `vault login -method=oidc` listens; the guide
// registers it, and this test listens there as the CLI does.
const vaultCLICallback = "http://localhost:8250/oidc/callback"

// TestVaultGuideInChromium runs Vault's own OIDC auth method (the
// vault-plugin-auth-jwt backend that `vault auth enable oidc` mounts, driven
// through its logical API as Vault's HTTP API drives it) with exactly the
// settings of docs/integrations/vault.md against a real Sesame, as
// `vault login -method=oidc` does: auth_url, the browser signs in with a
// passkey, the CLI's local listener receives the code, the callback
// exchanges it. Vault's login names the user by sub; once the user is in
// vault-admins, the login carries that group alias, which the guide maps
// to Vault policies.
func TestVaultGuideInChromium(t *testing.T) {
	guide := vaultGuide(t)
	env := servertest.New(t, servertest.UnverifiedEmails())
	group(t, env, "vault-admins", nil)
	id, secret := env.CreateClient(clients.Spec{Name: "Vault", SkipConsent: guide.skipConsent,
		RedirectURIs: guide.redirectURIs, Scopes: guide.scopes})
	deployment := strings.NewReplacer("https://login.example.com", env.Issuer, "CLIENT_ID", id, "CLIENT_SECRET", secret)

	ctx := context.Background()
	storage := &logical.InmemStorage{}
	backend, err := jwtauth.Factory(ctx, &logical.BackendConfig{StorageView: storage, System: &logical.StaticSystemView{
		DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	vault := func(op logical.Operation, path string, data map[string]any) *logical.Response {
		t.Helper()
		resp, err := backend.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, Storage: storage,
			Connection: &logical.Connection{RemoteAddr: "127.0.0.1"}})
		if err != nil {
			t.Fatalf("vault %s %s: %v", op, path, err)
		}
		if resp != nil && resp.IsError() {
			t.Fatalf("vault %s %s: %v", op, path, resp.Error())
		}
		return resp
	}
	vault(logical.UpdateOperation, "config", guide.settings("config", deployment))
	// A write to a new role reaches the backend as a create (Vault core asks
	// its existence check first).
	vault(logical.CreateOperation, "role/sesame", guide.settings("role/sesame", deployment))

	callbacks := listenLikeVaultCLI(t)
	browser := browsertest.New(t)
	browsertest.AddAuthenticator(t, browser, browsertest.Passkey())
	email := newEmail("vault")

	login := func(first bool) *logical.Auth {
		t.Helper()
		resp := vault(logical.UpdateOperation, "oidc/auth_url", map[string]any{"role": "sesame", "redirect_uri": vaultCLICallback, "client_nonce": "cli-nonce"})
		authURL, _ := resp.Data["auth_url"].(string)
		if !strings.HasPrefix(authURL, env.Issuer+"/") {
			t.Fatalf("auth_url %q is not Sesame's", authURL)
		}
		browsertest.Do(t, browser, "open Vault's auth_url", chromedp.Navigate(authURL))
		if first {
			signUpWithPasskey(t, browser, env, email, "Ada Vault")
		}
		var q url.Values
		select {
		case q = <-callbacks:
		case <-time.After(60 * time.Second):
			t.Fatal("the CLI's listener never received the callback")
		}
		browsertest.WaitText(t, browser, "body", "Vault login complete")
		resp = vault(logical.ReadOperation, "oidc/callback", map[string]any{"state": q.Get("state"), "code": q.Get("code"), "client_nonce": "cli-nonce"})
		if resp == nil || resp.Auth == nil {
			t.Fatalf("Vault's callback signed nobody in: %+v", resp)
		}
		return resp.Auth
	}

	auth := login(true)
	u := userByEmail(t, env, email)
	if auth.Alias == nil || auth.Alias.Name != u.ID {
		t.Fatalf("Vault's entity alias is %+v, want the user's sub %s (user_claim=sub)", auth.Alias, u.ID)
	}
	if !slices.Equal(auth.Policies, []string{"default"}) {
		t.Fatalf("token policies %v, want the guide's [default]", auth.Policies)
	}
	if len(auth.GroupAliases) != 0 {
		t.Fatalf("a user in no group got group aliases %v", auth.GroupAliases)
	}

	group(t, env, "vault-admins", u)
	auth = login(false) // Sesame's session is still there: no second passkey prompt
	var groups []string
	for _, g := range auth.GroupAliases {
		groups = append(groups, g.Name)
	}
	if !slices.Contains(groups, "vault-admins") {
		t.Fatalf("group aliases %v lack vault-admins (groups_claim=groups)", groups)
	}
}

// listenLikeVaultCLI listens on localhost:8250 as `vault login
// -method=oidc` does and hands each callback's query to the test.
func listenLikeVaultCLI(t *testing.T) <-chan url.Values {
	t.Helper()
	got, _ := listenForCallbacksOn(t, "localhost:8250", "/oidc/callback", "Vault login complete")
	return got
}

// guide is what docs/integrations/vault.md tells people to run.
type guide struct {
	redirectURIs []string
	scopes       []string
	skipConsent  bool
	writes       map[string]map[string][]string // path under auth/oidc/ → key → values
}

var (
	shellBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")
	shellWord  = regexp.MustCompile(`[^\s"]+|"[^"]*"`)
)

// vaultGuide reads the guide's `sesame client create` and `vault write
// auth/oidc/…` commands.
func vaultGuide(t *testing.T) guide {
	t.Helper()
	raw, err := os.ReadFile("../../docs/integrations/vault.md")
	if err != nil {
		t.Fatal(err)
	}
	g := guide{writes: map[string]map[string][]string{}}
	for _, block := range shellBlock.FindAllStringSubmatch(string(raw), -1) {
		for _, cmd := range strings.Split(strings.ReplaceAll(block[1], "\\\n", " "), "\n") {
			words := shellWord.FindAllString(cmd, -1)
			for i := range words {
				words[i] = strings.Trim(words[i], `"`)
			}
			switch {
			case len(words) > 3 && words[0] == "sesame" && words[1] == "client" && words[2] == "create":
				for i := 3; i < len(words); i++ {
					switch words[i] {
					case "--redirect-uri":
						i++
						g.redirectURIs = append(g.redirectURIs, words[i])
					case "--scope":
						i++
						g.scopes = append(g.scopes, strings.Split(words[i], ",")...)
					case "--skip-consent":
						g.skipConsent = true
					}
				}
			case len(words) > 2 && words[0] == "vault" && words[1] == "write" && strings.HasPrefix(words[2], "auth/oidc/"):
				kv := map[string][]string{}
				for _, w := range words[3:] {
					if k, v, ok := strings.Cut(w, "="); ok {
						kv[k] = append(kv[k], v)
					}
				}
				g.writes[strings.TrimPrefix(words[2], "auth/oidc/")] = kv
			}
		}
	}
	if !slices.Contains(g.redirectURIs, vaultCLICallback) {
		t.Fatalf("the guide's client lacks the CLI's redirect URI %s: %v", vaultCLICallback, g.redirectURIs)
	}
	for _, p := range []string{"config", "role/sesame"} {
		if g.writes[p] == nil {
			t.Fatalf("the guide has no `vault write auth/oidc/%s`", p)
		}
	}
	if got := g.writes["role/sesame"]["allowed_redirect_uris"]; !slices.Contains(got, vaultCLICallback) {
		t.Fatalf("the guide's role allows %v, not the CLI's %s", got, vaultCLICallback)
	}
	return g
}

// settings are one `vault write`'s fields with the deployment's values
// (issuer, client) in place of the guide's placeholders.
func (g guide) settings(path string, deployment *strings.Replacer) map[string]any {
	out := map[string]any{}
	for k, vs := range g.writes[path] {
		for i := range vs {
			vs[i] = deployment.Replace(vs[i])
		}
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}
