package oidc_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/servertest"
)

const redirectURI = "http://127.0.0.1:9999/callback"

// rp is a relying party built from stock libraries.
type rp struct {
	env      *servertest.Env
	provider *gooidc.Provider
	oauth    oauth2.Config
	clientID string
	secret   string
}

func newRP(t *testing.T, env *servertest.Env, spec clients.Spec) *rp {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "Test App"
	}
	if spec.RedirectURIs == nil {
		spec.RedirectURIs = []string{redirectURI}
	}
	id, secret := env.CreateClient(spec)
	ctx := context.Background()
	p, err := gooidc.NewProvider(ctx, env.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{
		env: env, provider: p, clientID: id, secret: secret,
		oauth: oauth2.Config{
			ClientID: id, ClientSecret: secret, Endpoint: p.Endpoint(),
			RedirectURL: spec.RedirectURIs[0], Scopes: []string{"openid", "profile", "email"},
		},
	}
}

func (r *rp) verifier(algs ...string) *gooidc.IDTokenVerifier {
	return r.provider.Verifier(&gooidc.Config{ClientID: r.clientID, SupportedSigningAlgs: algs})
}

// get follows redirects within the issuer and returns the last response.
func get(t *testing.T, b *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// interactionFrom extracts the interaction id from a /login or /consent URL.
func interactionFrom(t *testing.T, resp *http.Response, page string) string {
	t.Helper()
	u := resp.Request.URL
	if u.Path != page {
		t.Fatalf("expected to land on %s, got %s (status %d)", page, u, resp.StatusCode)
	}
	id := u.Query().Get("interaction")
	if id == "" {
		t.Fatalf("no interaction in %s", u)
	}
	return id
}

// callback asserts resp is a redirect to the client and returns its query.
func callback(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("expected a redirect to the client, got %d at %s", resp.StatusCode, resp.Request.URL)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("bad Location: %v", err)
	}
	if !strings.HasPrefix(loc.String(), redirectURI) && loc.Host != "127.0.0.1:9999" && loc.Scheme != "com.example.app" {
		t.Fatalf("redirected to %s, not the client", loc)
	}
	return loc.Query()
}

// formValue extracts the value of the hidden input name from HTML.
func formValue(t *testing.T, html, name string) string {
	t.Helper()
	marker := `name="` + name + `" value="`
	i := strings.Index(html, marker)
	if i < 0 {
		t.Fatalf("no input %q in page:\n%s", name, html)
	}
	rest := html[i+len(marker):]
	return htmlUnescape(rest[:strings.IndexByte(rest, '"')])
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+", "&#61;", "=")
	return r.Replace(s)
}

// rowCounts counts the rows of tables: what a refused request must leave
// as it was (nothing written).
func rowCounts(t testing.TB, env *servertest.Env, tables ...string) map[string]int {
	t.Helper()
	db, err := env.Store.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, table := range tables {
		var c int
		if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&c); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		n[table] = c
	}
	return n
}

// nothingWritten fails unless the tables of before have as many rows as
// then.
func nothingWritten(t testing.TB, env *servertest.Env, what string, before map[string]int) {
	t.Helper()
	tables := make([]string, 0, len(before))
	for table := range before {
		tables = append(tables, table)
	}
	if now := rowCounts(t, env, tables...); !maps.Equal(now, before) {
		t.Errorf("%s wrote rows: %v, was %v", what, now, before)
	}
}
