package main

import (
	"context"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/console"
	"github.com/sesame-idp/sesame/internal/config"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/server"
)

// TestRegistrationCommands: the registration mode and limits and the
// initial access tokens from the CLI, on SQLite and PostgreSQL, through
// the console's services (audited as the CLI): a minted token is printed
// once and stored as the HMAC the server checks, bad input names every
// problem (exit 2), the list shows state and uses left, revoke stops it.
func TestRegistrationCommands(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, d storetest.Dialect) {
		cli, st := dialectCLI(t, d)
		ctx := context.Background()
		if r := mustOK(t, cli("registration", "show")); !strings.Contains(r.stdout, "mode") || !strings.Contains(r.stdout, "off") {
			t.Errorf("show by default: %s", r.stdout)
		}
		if r := cli("registration", "set"); r.code != 2 {
			t.Errorf("set without flags: exit %d %s", r.code, r.stderr)
		}
		r := cli("registration", "set", "--mode", "sometimes", "--redirect-scheme", "ftp", "--max-redirect-uris", "99")
		if r.code != 2 || !strings.Contains(r.stderr, "registration:") || !strings.Contains(r.stderr, "registration_redirect_schemes:") ||
			!strings.Contains(r.stderr, "registration_max_redirect_uris:") {
			t.Errorf("bad set: exit %d %s", r.code, r.stderr)
		}
		mustOK(t, cli("registration", "set", "--mode", "protected", "--grant-type", "authorization_code", "--redirect-scheme", "https,private-use", "--rate-ip", "50"))
		p, err := policy.New(st, config.Default()).Current(ctx)
		if err != nil || p.Registration != config.RegistrationProtected || strings.Join(p.RegistrationGrantTypes, ",") != "authorization_code" ||
			strings.Join(p.RegistrationRedirectSchemes, ",") != "https,private-use" || p.RegistrationRateIP != 50 || p.RegistrationMaxRedirectURIs != 10 {
			t.Errorf("stored policy after set: %+v %v", p, err)
		}

		if r := mustOK(t, cli("registration", "token", "list")); !strings.Contains(r.stdout, "No initial access tokens") {
			t.Errorf("empty list: %s", r.stdout)
		}
		r = cli("registration", "token", "create", "--label", "", "--expires-in", "10s", "--max-uses", "0")
		if r.code != 2 || !strings.Contains(r.stderr, "label") || !strings.Contains(r.stderr, "expires_in") || !strings.Contains(r.stderr, "max_uses") {
			t.Errorf("bad create: exit %d %s", r.code, r.stderr)
		}
		tok := decode[console.InitialTokenCreated](t, mustOK(t, cli("registration", "token", "create", "--label", "Partner Acme", "--expires-in", "48h", "--max-uses", "3", "--json")))
		if tok.Token == "" || tok.MaxUses != 3 || tok.State != console.TokenActive {
			t.Fatalf("created %+v", tok)
		}
		// Stored as the HMAC the server's registration endpoint looks up.
		secrets, err := server.ClientSecrets([]byte(testSecret), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := st.InitialAccessTokenByHash(ctx, secrets.Hash(tok.Token)); err != nil || got.ID != tok.ID || got.CreatedBy == "" {
			t.Errorf("token by its hash: %+v %v", got, err)
		}
		if r := mustOK(t, cli("registration", "token", "create", "--label", "CI")); !strings.Contains(r.stdout, "shown once") {
			t.Errorf("plain create: %s", r.stdout)
		}
		r = mustOK(t, cli("registration", "token", "list"))
		if !strings.Contains(r.stdout, tok.ID) || !strings.Contains(r.stdout, "active") || !strings.Contains(r.stdout, "0/3") || strings.Contains(r.stdout, tok.Token) {
			t.Errorf("list: %s", r.stdout)
		}
		mustOK(t, cli("registration", "token", "revoke", tok.ID))
		list := decode[[]console.InitialTokenView](t, mustOK(t, cli("registration", "tokens", "list", "--json")))
		for _, v := range list {
			if v.ID == tok.ID && (v.State != console.TokenRevoked || v.UsesLeft != 0) {
				t.Errorf("after revoke: %+v", v)
			}
		}
		if r := cli("registration", "token", "revoke", "nope"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
			t.Errorf("revoke unknown: exit %d %s", r.code, r.stderr)
		}
		entries, err := st.ListAuditEntries(ctx, store.AuditFilter{TargetType: "initial_access_token", TargetID: tok.ID}, 10)
		if err != nil || len(entries) != 2 || entries[0].ActorKind != models.ActorCLI {
			t.Errorf("audit: %+v %v", entries, err)
		}
		if entries, err := st.ListAuditEntries(ctx, store.AuditFilter{Action: "policy.update"}, 10); err != nil || len(entries) != 1 {
			t.Errorf("policy audit: %d entries, %v", len(entries), err)
		}
	})
}
