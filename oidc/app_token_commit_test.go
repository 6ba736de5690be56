package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store/storetest"
	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

// TestAppTokenCommitRelaxed: an app's own opaque access token
// (client_credentials) commits without waiting for its flush (appToken);
// an app's JWT access token, and a person's tokens from a code's exchange
// and from a refresh, wait for theirs. Every token works either way.
func TestAppTokenCommitRelaxed(t *testing.T) {
	forEachDB(t, func(t *testing.T, env *servertest.Env) {
		pg := env.Store.Dialect() == "postgres"
		modes := func() map[string]string { return nil }
		if pg {
			modes = storetest.WatchCommitModes(t, env.Store)
		}
		type app struct {
			name, format, want string
			id, secret         string
		}
		apps := []*app{
			{name: "Machine", format: "opaque", want: "off"},
			{name: "JWT Machine", format: "jwt", want: "on"},
		}
		for _, a := range apps {
			a.id, a.secret = env.CreateClient(clients.Spec{Name: a.name, GrantTypes: []string{"client_credentials"},
				AccessTokenFormat: a.format})
			for range 2 {
				r := negToken(t, env, url.Values{"grant_type": {"client_credentials"}}, a.id, a.secret)
				tok, _ := r.Body["access_token"].(string)
				if r.Status != http.StatusOK || tok == "" {
					t.Fatalf("%s: token response %d %s", a.name, r.Status, r.Raw)
				}
				if a.format == "jwt" && strings.Count(tok, ".") != 2 {
					t.Fatalf("%s: the access token is not a JWT: %q", a.name, tok)
				}
				if !negIntrospect(t, env, a.id, a.secret, tok) {
					t.Fatalf("%s: its token is not active", a.name)
				}
			}
		}
		// A person's tokens.
		f := newE2EFlow(t, env, clients.Spec{SkipConsent: true,
			Scopes: []string{"openid", "offline_access"}})
		tok := f.tokens("openid", "offline_access")
		f.wantActive(tok.AccessToken, "", true)
		refreshed, err := f.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		f.wantActive(refreshed.AccessToken, "", true)
		if !pg {
			return
		}
		committed := modes()
		db, err := env.Store.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		check := func(who, clientID, kind, want string, n int) {
			t.Helper()
			rows, err := db.QueryContext(t.Context(), "SELECT signature FROM oauth2_requests WHERE client_id = $1 AND kind = $2", clientID, kind)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			seen := 0
			for rows.Next() {
				var sig string
				if err := rows.Scan(&sig); err != nil {
					t.Fatal(err)
				}
				seen++
				if got := committed["INSERT oauth2_requests "+sig]; got != want {
					t.Errorf("%s: a %s committed with synchronous_commit %q, want %q", who, kind, got, want)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if seen != n {
				t.Errorf("%s: %d %s records, want %d", who, seen, kind, n)
			}
		}
		for _, a := range apps {
			check(a.name, a.id, models.KindAccessToken, a.want, 2)
		}
		// The refresh deleted the first access token (fosite's rotation):
		// its record is gone, the refreshed one is checked.
		check("a person's app", f.r.clientID, models.KindAccessToken, "on", 1)
		check("a person's app", f.r.clientID, models.KindRefreshToken, "on", 2)
	})
}
