package sdktest

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/server/servertest"
)

// serve runs h on a new loopback port; it returns the base URL. Apps run on
// 127.0.0.1 and Sesame on localhost: two sites, as in production.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// listenURL reserves a loopback port and returns its listener and URL (for
// apps whose redirect URI must be known before their handler exists).
func listenURL(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

func serveOn(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// browser is an HTTP client with cookies that follows every redirect.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// userInGroups adds a user who is a member of the groups (created as
// needed).
func userInGroups(t *testing.T, env *servertest.Env, groups ...string) *models.User {
	t.Helper()
	ctx := context.Background()
	u := env.CreateUser("u-" + rand.Text()[:8] + "@example.com")
	for _, g := range groups {
		if _, err := env.Store.GetGroup(ctx, g); err != nil {
			if err := env.Store.CreateGroup(ctx, &models.Group{ID: uuid.NewString(), Name: g, Description: g}); err != nil {
				t.Fatalf("create group %s: %v", g, err)
			}
		}
		if err := env.Store.AddGroupMember(ctx, g, u.ID); err != nil {
			t.Fatalf("add %s to %s: %v", u.Email, g, err)
		}
	}
	return u
}

// signIn gives browser a Sesame login session for u (as a passkey sign-in
// leaves it).
func signIn(env *servertest.Env, b *http.Client, u *models.User) {
	env.Login(b, u.ID, []string{"pop", "user", "mfa"}, "urn:sesame:acr:phr", time.Now())
}

// userTokens runs the authorization code flow (PKCE) for u with x/oauth2
// and returns the tokens.
func userTokens(t *testing.T, env *servertest.Env, u *models.User, clientID, secret, redirect string, scopes ...string) *oauth2.Token {
	t.Helper()
	return userTokensFor(t, env, u, clientID, secret, redirect, "", scopes...)
}

// userTokensFor is userTokens with a resource indicator (RFC 8707; ""
// for none).
func userTokensFor(t *testing.T, env *servertest.Env, u *models.User, clientID, secret, redirect, resource string, scopes ...string) *oauth2.Token {
	t.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, env.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect, Scopes: scopes}
	b := env.Browser()
	signIn(env, b, u)
	verifier, state := oauth2.GenerateVerifier(), rand.Text()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", resource))
	}
	resp, err := b.Get(conf.AuthCodeURL(state, opts...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		t.Fatalf("authorize answered %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}
